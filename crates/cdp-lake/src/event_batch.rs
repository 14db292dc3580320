//! Turns canonical events into Arrow record batches of the `events` schema.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, Int32Builder, Int64Builder, ListBuilder, RecordBatch,
    StringBuilder, StructBuilder, TimestampMicrosecondBuilder,
};
use cdp_model::CanonicalEvent;

use crate::error::{LakeError, Result};
use crate::schema::{events_schema, identifier_fields, AD_COST_TYPE, AMOUNT_TYPE, EVENTS_TABLE};

/// Column builders for the `events` table; append events, then `finish`.
pub struct EventBatchBuilder {
    event_id: StringBuilder,
    source: StringBuilder,
    event_type: StringBuilder,
    event_time: TimestampMicrosecondBuilder,
    identifiers: ListBuilder<StructBuilder>,
    amount: Decimal128Builder,
    ad_cost: Decimal128Builder,
    currency: StringBuilder,
    channel: StringBuilder,
    platform: StringBuilder,
    channel_code: StringBuilder,
    utm_source: StringBuilder,
    utm_campaign: StringBuilder,
    store_id: StringBuilder,
    guide_id: StringBuilder,
    campaign_id: StringBuilder,
    order_id: StringBuilder,
    properties: StringBuilder,
    origin: StringBuilder,
    partition: Int32Builder,
    offset: Int64Builder,
    rows: usize,
    /// Rough bytes held, to roll files by size.
    approx_bytes: usize,
}

impl Default for EventBatchBuilder {
    fn default() -> Self {
        let item = arrow::datatypes::Field::new(
            "item",
            arrow::datatypes::DataType::Struct(identifier_fields()),
            false,
        );
        let ids = StructBuilder::new(
            identifier_fields(),
            vec![
                Box::new(StringBuilder::new()),
                Box::new(StringBuilder::new()),
            ],
        );
        Self {
            event_id: StringBuilder::new(),
            source: StringBuilder::new(),
            event_type: StringBuilder::new(),
            event_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            identifiers: ListBuilder::new(ids).with_field(Arc::new(item)),
            amount: Decimal128Builder::new().with_data_type(AMOUNT_TYPE),
            ad_cost: Decimal128Builder::new().with_data_type(AD_COST_TYPE),
            currency: StringBuilder::new(),
            channel: StringBuilder::new(),
            platform: StringBuilder::new(),
            channel_code: StringBuilder::new(),
            utm_source: StringBuilder::new(),
            utm_campaign: StringBuilder::new(),
            store_id: StringBuilder::new(),
            guide_id: StringBuilder::new(),
            campaign_id: StringBuilder::new(),
            order_id: StringBuilder::new(),
            properties: StringBuilder::new(),
            origin: StringBuilder::new(),
            partition: Int32Builder::new(),
            offset: Int64Builder::new(),
            rows: 0,
            approx_bytes: 0,
        }
    }
}

impl EventBatchBuilder {
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes
    }

    pub fn append(&mut self, e: &CanonicalEvent) {
        self.event_id.append_value(&e.event_id);
        self.source.append_value(&e.source);
        self.event_type.append_value(&e.event_type);
        self.event_time.append_value(e.event_time_us);
        let ids = self.identifiers.values();
        let mut id_bytes = 0;
        for id in &e.identifiers {
            ids.field_builder::<StringBuilder>(0)
                .expect("id_type builder")
                .append_value(id.id_type.as_str());
            ids.field_builder::<StringBuilder>(1)
                .expect("id_value builder")
                .append_value(&id.value);
            ids.append(true);
            id_bytes += id.value.len() + 12;
        }
        self.identifiers.append(true);
        self.amount.append_option(e.amount_fen.map(i128::from));
        self.ad_cost.append_option(e.ad_cost_e4.map(i128::from));
        let mut text_bytes = 0;
        for (builder, value) in [
            (&mut self.currency, &e.currency),
            (&mut self.channel, &e.channel),
            (&mut self.platform, &e.platform),
            (&mut self.channel_code, &e.channel_code),
            (&mut self.utm_source, &e.utm_source),
            (&mut self.utm_campaign, &e.utm_campaign),
            (&mut self.store_id, &e.store_id),
            (&mut self.guide_id, &e.guide_id),
            (&mut self.campaign_id, &e.campaign_id),
            (&mut self.order_id, &e.order_id),
            (&mut self.properties, &e.properties),
        ] {
            text_bytes += value.as_ref().map_or(0, String::len);
            builder.append_option(value.as_deref());
        }
        self.origin.append_value(&e.provenance.origin);
        self.partition.append_option(e.provenance.partition);
        self.offset.append_value(e.provenance.offset);
        self.rows += 1;
        self.approx_bytes += 64 + e.event_id.len() + e.event_type.len() + id_bytes + text_bytes;
    }

    /// The batch of everything appended so far; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.event_time.finish()),
            Arc::new(self.identifiers.finish()),
            Arc::new(self.amount.finish()),
            Arc::new(self.ad_cost.finish()),
            Arc::new(self.currency.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.platform.finish()),
            Arc::new(self.channel_code.finish()),
            Arc::new(self.utm_source.finish()),
            Arc::new(self.utm_campaign.finish()),
            Arc::new(self.store_id.finish()),
            Arc::new(self.guide_id.finish()),
            Arc::new(self.campaign_id.finish()),
            Arc::new(self.order_id.finish()),
            Arc::new(self.properties.finish()),
            Arc::new(self.origin.finish()),
            Arc::new(self.partition.finish()),
            Arc::new(self.offset.finish()),
        ];
        self.rows = 0;
        self.approx_bytes = 0;
        RecordBatch::try_new(events_schema(), columns).map_err(|source| LakeError::Arrow {
            table: EVENTS_TABLE,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use cdp_model::{IdType, Identifier, Provenance};

    #[test]
    fn an_event_becomes_one_row_with_its_identifiers_and_amount() {
        let mut e = CanonicalEvent::new(
            "O-1:paid".into(),
            "transaction".into(),
            "paid".into(),
            1_795_160_100_123_000,
            Provenance::file_line("t.jsonl", 1),
        );
        e.identifiers = vec![
            Identifier::new(IdType::MemberId, "M1"),
            Identifier::new(IdType::Phone, "+8613800138000"),
        ];
        e.amount_fen = Some(10_980);
        let mut b = EventBatchBuilder::default();
        b.append(&e);
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 1);
        let amount = batch
            .column_by_name("amount")
            .unwrap()
            .as_primitive::<arrow::datatypes::Decimal128Type>();
        assert_eq!(amount.value_as_string(0), "109.80");
        let ids = batch
            .column_by_name("identifiers")
            .unwrap()
            .as_list::<i32>();
        let first = ids.value(0);
        let first = first.as_struct();
        assert_eq!(first.len(), 2);
        assert_eq!(first.column(0).as_string::<i32>().value(1), "phone");
        assert_eq!(
            first.column(1).as_string::<i32>().value(1),
            "+8613800138000"
        );
        assert!(b.is_empty());
    }
}
