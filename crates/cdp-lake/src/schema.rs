//! Arrow schemas of the lake tables this crate writes (contract §4). The same
//! shapes are documented in `schemas/lake_tables.md`.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

pub const EVENTS_TABLE: &str = "events";
pub const DEAD_LETTERS_TABLE: &str = "dlq";

/// `amount`: yuan with two decimals, the contract's decimal(18,2).
pub const AMOUNT_TYPE: DataType = DataType::Decimal128(18, 2);
/// `ad_cost`: yuan with four decimals; impressions cost less than one fen.
pub const AD_COST_TYPE: DataType = DataType::Decimal128(18, 4);

pub fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub fn identifier_fields() -> Fields {
    Fields::from(vec![
        Field::new("id_type", DataType::Utf8, false),
        Field::new("id_value", DataType::Utf8, false),
    ])
}

pub fn identifiers_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(identifier_fields()),
        false,
    )))
}

fn provenance_fields() -> [Field; 3] {
    [
        Field::new("provenance_origin", DataType::Utf8, false),
        Field::new("provenance_partition", DataType::Int32, true),
        Field::new("provenance_offset", DataType::Int64, false),
    ]
}

/// The `events` table. `dt` lives only in the Hive path; `source` is in the
/// path and, as a string like the path implies, in the file.
pub fn events_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields = vec![
                Field::new("event_id", DataType::Utf8, false),
                Field::new("source", DataType::Utf8, false),
                Field::new("event_type", DataType::Utf8, false),
                Field::new("event_time", utc_micros(), false),
                Field::new("identifiers", identifiers_type(), false),
                Field::new("amount", AMOUNT_TYPE, true),
                Field::new("ad_cost", AD_COST_TYPE, true),
                Field::new("currency", DataType::Utf8, true),
                Field::new("channel", DataType::Utf8, true),
                Field::new("platform", DataType::Utf8, true),
                Field::new("channel_code", DataType::Utf8, true),
                Field::new("utm_source", DataType::Utf8, true),
                Field::new("utm_campaign", DataType::Utf8, true),
                Field::new("store_id", DataType::Utf8, true),
                Field::new("guide_id", DataType::Utf8, true),
                Field::new("campaign_id", DataType::Utf8, true),
                Field::new("order_id", DataType::Utf8, true),
                Field::new("properties", DataType::Utf8, true),
            ];
            fields.extend(provenance_fields());
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The `dlq` table: what was rejected, why, and where it came from.
pub fn dead_letters_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields = vec![
                Field::new("source", DataType::Utf8, false),
                Field::new("raw", DataType::Binary, false),
                Field::new("reason", DataType::Utf8, false),
                Field::new("field", DataType::Utf8, true),
            ];
            fields.extend(provenance_fields());
            fields.push(Field::new("received_at", utc_micros(), false));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// `schemas/lake_tables.md` read as data: the page documents every lake
/// table for people outside the project, and each crate's tests compare it
/// with the schemas that crate writes.
pub mod doc {
    use arrow::datatypes::SchemaRef;

    const LAKE_TABLES: &str = include_str!("../../../schemas/lake_tables.md");

    /// (column, nullable) rows of the table under the heading that starts
    /// with `heading`.
    pub fn documented_columns(heading: &str) -> Vec<(String, bool)> {
        let section = LAKE_TABLES
            .split("\n## ")
            .find(|s| s.starts_with(heading))
            .unwrap_or_else(|| panic!("no section {heading} in lake_tables.md"));
        section
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| column") && !l.starts_with("|---"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].to_string(), cells[3] == "yes")
            })
            .collect()
    }

    /// (column, nullable) of a schema, to compare with [`documented_columns`].
    pub fn schema_columns(schema: &SchemaRef) -> Vec<(String, bool)> {
        schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.is_nullable()))
            .collect()
    }
}

#[cfg(test)]
mod schema_doc_tests {
    //! `schemas/lake_tables.md` documents these schemas for people outside
    //! the project; these tests keep the page and the code in step.

    use super::doc::{documented_columns as documented, schema_columns as actual};
    use super::*;

    #[test]
    fn events_schema_matches_the_doc() {
        assert_eq!(documented("events"), actual(&events_schema()));
    }

    #[test]
    fn dead_letters_schema_matches_the_doc() {
        assert_eq!(documented("dlq"), actual(&dead_letters_schema()));
    }
}
