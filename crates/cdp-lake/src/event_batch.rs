//! Turns normalised events (views or owned) into Arrow record batches of
//! the `events` schema.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, Decimal128Builder, Int32Builder, Int64Builder, ListArray, RecordBatch,
    StringBuilder, StructArray, TimestampMicrosecondBuilder,
};
use arrow::buffer::OffsetBuffer;
use cdp_model::{CanonicalEvent, EventView};

use crate::error::{LakeError, Result};
use crate::schema::{
    events_schema, identifier_fields, identifiers_type, AD_COST_TYPE, AMOUNT_TYPE, EVENTS_TABLE,
};

/// Where an event was read: the provenance columns of its row.
#[derive(Debug, Clone, Copy)]
pub struct RowOrigin<'a> {
    /// File path or Kafka topic.
    pub origin: &'a str,
    /// Kafka partition; `None` for files.
    pub partition: Option<i32>,
    /// Kafka offset, or the 1-based line number in a file.
    pub offset: i64,
}

impl<'a> From<&'a cdp_model::Provenance> for RowOrigin<'a> {
    fn from(p: &'a cdp_model::Provenance) -> Self {
        Self {
            origin: &p.origin,
            partition: p.partition,
            offset: p.offset,
        }
    }
}

/// Column builders for the `events` table; append events, then `finish`.
pub struct EventBatchBuilder {
    event_id: StringBuilder,
    source: StringBuilder,
    event_type: StringBuilder,
    event_time: TimestampMicrosecondBuilder,
    // The identifiers list is assembled at `finish` from its two child
    // columns and its offsets: cheaper than a ListBuilder<StructBuilder>,
    // which looks its children up by type on every value.
    id_type: StringBuilder,
    id_value: StringBuilder,
    id_offsets: Vec<i32>,
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
        Self {
            event_id: StringBuilder::new(),
            source: StringBuilder::new(),
            event_type: StringBuilder::new(),
            event_time: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            id_type: StringBuilder::new(),
            id_value: StringBuilder::new(),
            id_offsets: vec![0],
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

    /// Appends an owned event.
    pub fn append(&mut self, e: &CanonicalEvent) {
        self.append_view(&e.view(), (&e.provenance).into());
    }

    /// Appends a normalised event read at `at`: the hot path, no
    /// allocation per event.
    pub fn append_view(&mut self, e: &EventView<'_>, at: RowOrigin<'_>) {
        self.event_id.append_value(&e.event_id);
        self.source.append_value(e.source);
        self.event_type.append_value(&e.event_type);
        self.event_time.append_value(e.event_time_us);
        let mut id_bytes = 0;
        let (id_type, id_value) = (&mut self.id_type, &mut self.id_value);
        e.identifiers.for_each(|t, v| {
            id_type.append_value(t.as_str());
            id_value.append_value(v);
            id_bytes += v.len() + 20;
        });
        self.id_offsets.push(self.id_type.len() as i32);
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
            text_bytes += value.as_ref().map_or(0, |v| v.len());
            builder.append_option(value.as_deref());
        }
        self.origin.append_value(at.origin);
        self.partition.append_option(at.partition);
        self.offset.append_value(at.offset);
        self.rows += 1;
        self.approx_bytes +=
            64 + e.event_id.len() + e.event_type.len() + at.origin.len() + id_bytes + text_bytes;
    }

    /// The batch of everything appended so far; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let id_offsets = std::mem::replace(&mut self.id_offsets, vec![0]);
        let ids = StructArray::new(
            identifier_fields(),
            vec![
                Arc::new(self.id_type.finish()) as ArrayRef,
                Arc::new(self.id_value.finish()),
            ],
            None,
        );
        let arrow::datatypes::DataType::List(item) = identifiers_type() else {
            unreachable!("identifiers is a list");
        };
        let identifiers = ListArray::new(
            item,
            OffsetBuffer::new(id_offsets.into()),
            Arc::new(ids),
            None,
        );
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.event_time.finish()),
            Arc::new(identifiers),
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
