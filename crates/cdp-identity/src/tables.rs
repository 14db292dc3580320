//! Arrow schemas of the tables this stage writes. `schemas/lake_tables.md`
//! documents them; `schema_doc_tests` keeps the page and this code in step.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use cdp_lake::schema::{events_schema, utc_micros};

pub const IDENTITY_MAP: &str = "identity_map";
pub const RESOLVED_EVENTS: &str = "resolved_events";
pub const IDENTITY_MERGES: &str = "identity_merges";
pub const IDENTITY_CONFLICTS: &str = "identity_conflicts";
/// The stage's own folder: `current.json`, run summaries, graph state,
/// unbind rules, erasure records.
pub const IDENTITY_DIR: &str = "identity";

/// The columns of `events` that `resolved_events` does not carry.
pub const NOT_RESOLVED: [&str; 5] = [
    "identifiers",
    "properties",
    "provenance_origin",
    "provenance_partition",
    "provenance_offset",
];

fn one_id_fields(nullable: bool) -> [Field; 2] {
    [
        Field::new("one_key", DataType::Int64, nullable),
        Field::new("one_id", DataType::Utf8, nullable),
    ]
}

/// `identity_map`: every identifier of the graph and its person.
pub fn identity_map_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let [key, id] = one_id_fields(false);
        Arc::new(Schema::new(vec![
            Field::new("id_type", DataType::Utf8, false),
            Field::new("id_value", DataType::Utf8, false),
            id,
            key,
            Field::new("first_seen", utc_micros(), false),
            Field::new("last_seen", utc_micros(), false),
        ]))
    })
    .clone()
}

/// `resolved_events`: one_key and one_id, then the analytic columns of events.
pub fn resolved_events_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let mut fields: Vec<Field> = one_id_fields(true).into();
        fields.extend(
            events_schema()
                .fields()
                .iter()
                .filter(|f| !NOT_RESOLVED.contains(&f.name().as_str()))
                .map(|f| f.as_ref().clone()),
        );
        Arc::new(Schema::new(fields))
    })
    .clone()
}

/// `identity_merges`: one_ids joined (`merge`) or divided (`split`).
pub fn merges_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Utf8, false),
            Field::new("recorded_at", utc_micros(), false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("from_one_key", DataType::Int64, false),
            Field::new("from_one_id", DataType::Utf8, false),
            Field::new("to_one_key", DataType::Int64, false),
            Field::new("to_one_id", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, false),
            Field::new("a_type", DataType::Utf8, true),
            Field::new("a_value", DataType::Utf8, true),
            Field::new("b_type", DataType::Utf8, true),
            Field::new("b_value", DataType::Utf8, true),
            Field::new("edge_first_seen", utc_micros(), true),
        ]))
    })
    .clone()
}

/// `identity_conflicts`: refused edges, both sides and the reason.
pub fn conflicts_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("run_id", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, false),
            Field::new("a_type", DataType::Utf8, false),
            Field::new("a_value", DataType::Utf8, false),
            Field::new("a_one_id", DataType::Utf8, true),
            Field::new("b_type", DataType::Utf8, true),
            Field::new("b_value", DataType::Utf8, true),
            Field::new("b_one_id", DataType::Utf8, true),
            Field::new("first_seen", utc_micros(), true),
            Field::new("sets", DataType::Int64, false),
            Field::new("detail", DataType::Utf8, false),
        ]))
    })
    .clone()
}

/// Graph state: one row per node, in node id order.
pub(crate) fn state_nodes_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new("tag", DataType::UInt8, false),
            Field::new("value", DataType::Binary, false),
            Field::new("first_seen", DataType::Int64, false),
            Field::new("last_seen", DataType::Int64, false),
            Field::new("flags", DataType::UInt8, false),
            Field::new("one_key", DataType::Int64, false),
        ]))
    })
    .clone()
}

/// Graph state: one row per set, in set id order.
pub(crate) fn state_sets_schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        Arc::new(Schema::new(vec![
            Field::new(
                "members",
                DataType::List(Arc::new(Field::new("item", DataType::UInt32, false))),
                false,
            ),
            Field::new("first_seen", DataType::Int64, false),
            Field::new("last_seen", DataType::Int64, false),
            Field::new("events", DataType::UInt32, false),
        ]))
    })
    .clone()
}

#[cfg(test)]
mod schema_doc_tests {
    //! `schemas/lake_tables.md` documents these schemas for people outside
    //! the project; these tests keep the page and the code in step.

    use super::*;
    use cdp_lake::schema::doc::{documented_columns as documented, schema_columns as actual};

    #[test]
    fn identity_tables_match_the_doc() {
        assert_eq!(documented("identity_map"), actual(&identity_map_schema()));
        assert_eq!(
            documented("resolved_events"),
            actual(&resolved_events_schema())
        );
        assert_eq!(documented("identity_merges"), actual(&merges_schema()));
        assert_eq!(
            documented("identity_conflicts"),
            actual(&conflicts_schema())
        );
    }
}
