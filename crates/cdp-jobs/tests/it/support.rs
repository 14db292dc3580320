//! Test support: a writer of hand-made `resolved_events` files with the
//! schema of docs/architecture.md ("Interfaces between stages") for the
//! hand-computed fixture, and readers of the build output.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, AsArray, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};

use cdp_lake::Lake;

/// The resolved_events columns: every analytic column of `events` (all but
/// identifiers, properties and provenance), then one_key and one_id.
pub fn resolved_events_schema() -> SchemaRef {
    let text = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        text("event_id", false),
        text("source", false),
        text("event_type", false),
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("amount", DataType::Decimal128(18, 2), true),
        Field::new("ad_cost", DataType::Decimal128(18, 4), true),
        text("currency", true),
        text("channel", true),
        text("platform", true),
        text("channel_code", true),
        text("utm_source", true),
        text("utm_campaign", true),
        text("store_id", true),
        text("guide_id", true),
        text("campaign_id", true),
        text("order_id", true),
        Field::new("one_key", DataType::Int64, true),
        text("one_id", true),
    ]))
}

/// One resolved event; only what a test sets.
#[derive(Debug, Clone, Default)]
pub struct Ev {
    pub one_key: Option<i64>,
    pub source: &'static str,
    pub event_type: &'static str,
    /// RFC 3339.
    pub time: String,
    /// Yuan with two decimals, in fen.
    pub amount_fen: Option<i64>,
    pub platform: Option<&'static str>,
    pub channel_code: Option<&'static str>,
    pub utm_source: Option<&'static str>,
    pub utm_campaign: Option<&'static str>,
    pub store_id: Option<&'static str>,
    pub campaign_id: Option<String>,
    pub order_id: Option<String>,
    /// Defaults to a unique id per row.
    pub event_id: Option<String>,
}

pub fn micros(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp_micros()
}

pub fn one_id(key: i64) -> String {
    format!("OID{key:012}")
}

fn batch(rows: &[&Ev], first_id: usize) -> RecordBatch {
    let s = |f: fn(&Ev) -> Option<&str>| -> Arc<dyn Array> {
        Arc::new(rows.iter().map(|e| f(e)).collect::<StringArray>())
    };
    let ids: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, e)| {
            e.event_id
                .clone()
                .unwrap_or_else(|| format!("ev-{}", first_id + i))
        })
        .collect();
    let currency: Vec<Option<&str>> = rows.iter().map(|e| e.amount_fen.map(|_| "CNY")).collect();
    RecordBatch::try_new(
        resolved_events_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(ids.iter())),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|e| e.source))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|e| e.event_type),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|e| micros(&e.time)))
                    .with_timezone("UTC"),
            ),
            Arc::new(
                rows.iter()
                    .map(|e| e.amount_fen.map(i128::from))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(18, 2)
                    .unwrap(),
            ),
            Arc::new(
                std::iter::repeat_n(None::<i128>, rows.len())
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(18, 4)
                    .unwrap(),
            ),
            Arc::new(currency.into_iter().collect::<StringArray>()),
            s(|_| None),
            s(|e| e.platform),
            s(|e| e.channel_code),
            s(|e| e.utm_source),
            s(|e| e.utm_campaign),
            s(|e| e.store_id),
            s(|_| None),
            s(|e| e.campaign_id.as_deref()),
            s(|e| e.order_id.as_deref()),
            Arc::new(rows.iter().map(|e| e.one_key).collect::<Int64Array>()),
            Arc::new(
                rows.iter()
                    .map(|e| e.one_key.map(one_id))
                    .collect::<StringArray>(),
            ),
        ],
    )
    .unwrap()
}

/// Writes `events` as `resolved_events/source=…/dt=…/part-fixture-….parquet`,
/// one file per partition, as `cdp resolve` does (rows sorted by one_key
/// then event_time: the jobs assume no order).
pub async fn write_resolved_events(lake: &Lake, events: &[Ev]) {
    let mut partitions: BTreeMap<(&str, String), Vec<&Ev>> = BTreeMap::new();
    for e in events {
        let dt = cdp_lake::partition::day_of(micros(&e.time));
        partitions.entry((e.source, dt)).or_default().push(e);
    }
    let mut first_id = 0;
    for ((source, dt), mut rows) in partitions {
        rows.sort_by_key(|e| (e.one_key.unwrap_or(i64::MAX), micros(&e.time)));
        let b = batch(&rows, first_id);
        first_id += rows.len();
        let location = format!("resolved_events/source={source}/dt={dt}/part-fixture-0.parquet");
        let bytes = cdp_lake::parquet_io::encode(&location, b.schema(), &[b]).unwrap();
        lake.put(&location, bytes).await.unwrap();
    }
}

/// Every row of a table of the current build, as read back from its files.
pub async fn read_table(lake: &Lake, table: &str) -> Vec<RecordBatch> {
    let manifest = cdp_jobs::publish::current(lake)
        .await
        .unwrap()
        .expect("a build");
    let mut out = Vec::new();
    for file in &manifest.tables[table] {
        let bytes = lake.get(file).await.unwrap();
        out.extend(cdp_lake::parquet_io::decode(file, bytes, None).unwrap());
    }
    out
}

/// A table as rows of display strings keyed by column name (tests compare
/// values as text: `null` for nulls).
pub fn rows_by_name(batches: &[RecordBatch]) -> Vec<BTreeMap<String, String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default().with_null("null");
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for i in 0..b.num_rows() {
            out.push(
                schema
                    .fields()
                    .iter()
                    .zip(&formatters)
                    .map(|(f, fmt)| (f.name().clone(), fmt.value(i).to_string()))
                    .collect(),
            );
        }
    }
    out
}

/// The Int64 column `name` of `batches`.
pub fn int_column(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"))
                .as_primitive::<Int64Type>()
                .values()
                .to_vec()
        })
        .collect()
}
