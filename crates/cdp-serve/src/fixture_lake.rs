//! **Test fixture**: a lake as `cdp resolve` and `cdp build` leave it
//! (`identity_map`, `identity_merges`, `profiles`, `tags`, `ltv`, and
//! `builds/current.json` listing one build's files), written directly for
//! this crate's tests and load benchmark while those stages are being
//! written. It follows docs/architecture.md ("Interfaces between stages")
//! and schemas/lake_tables.md; the profile and LTV columns are a stand-in
//! (the readers serve whatever columns a build has). Not a pipeline stage.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, ListBuilder, RecordBatch, StringArray,
    StringBuilder, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use cdp_lake::Lake;
use cdp_model::{IdType, JunkList};

use crate::error::{Result, ServeError};
use crate::manifest::{
    BuildManifest, BUILD_MANIFEST, IDENTITY_MAP, IDENTITY_MERGES, LTV, PROFILES, TAGS,
};
use crate::snapshot::one_id;

/// One person of a fixture build.
#[derive(Debug, Clone, Default)]
pub struct FixturePerson {
    pub one_key: i64,
    /// Canonical identifiers (see [`phone_identifiers`] for a phone and the
    /// hashes the identity stage derives from it).
    pub identifiers: Vec<(IdType, String)>,
    pub orders: i64,
    /// Net revenue in fen (written as decimal(18,2) yuan).
    pub net_revenue_fen: i64,
    pub first_channel_code: Option<String>,
    pub stores_visited: Vec<String>,
    /// `(tag_group, tag)`.
    pub tags: Vec<(String, String)>,
    /// `(p_alive, predicted_clv_365d)` for customers.
    pub ltv: Option<(f64, f64)>,
}

/// An identity merge recorded by the fixture's identity run.
#[derive(Debug, Clone)]
pub struct FixtureMerge {
    pub absorbed: i64,
    pub survivor: i64,
}

/// One build: its persons, and the identity run its identity_map comes from.
#[derive(Debug, Clone)]
pub struct FixtureBuild {
    pub build_id: String,
    pub as_of: String,
    /// Names the identity_map files (`part-<run>-<n>.parquet`) and the merges file.
    pub identity_run_id: String,
    pub persons: Vec<FixturePerson>,
    /// Merges of this identity run (written to `identity_merges/`).
    pub merges: Vec<FixtureMerge>,
    /// Rows per file, so that tests see tables of several files.
    pub rows_per_file: usize,
}

/// The canonical phone and the hashes the identity stage derives from it
/// (contract §3), through the same code as ingest.
pub fn phone_identifiers(raw: &str) -> Vec<(IdType, String)> {
    let mut out = Vec::new();
    cdp_model::identifier::canonicalise_into(IdType::Phone, raw, &JunkList::default(), &mut out);
    out.into_iter().map(|i| (i.id_type, i.value)).collect()
}

const FIRST_SEEN_MICROS: i64 = 1_793_491_200_000_000; // 2026-11-01T00:00:00Z

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn ts(values: Vec<i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"))
}

fn strings<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn one_ids(keys: &[i64]) -> ArrayRef {
    strings(keys.iter().map(|k| one_id(*k)))
}

fn batch(schema: SchemaRef, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema, columns)
        .map_err(|e| ServeError::Internal(format!("fixture batch: {e}")))
}

fn identity_map_batch(build: &FixtureBuild) -> Result<RecordBatch> {
    let mut rows: Vec<(&str, &str, i64)> = build
        .persons
        .iter()
        .flat_map(|p| {
            p.identifiers
                .iter()
                .map(move |(t, v)| (t.as_str(), v.as_str(), p.one_key))
        })
        .collect();
    // The identity stage sorts by (id_type, id_value).
    rows.sort_unstable();
    let keys: Vec<i64> = rows.iter().map(|r| r.2).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id_type", DataType::Utf8, false),
        Field::new("id_value", DataType::Utf8, false),
        Field::new("one_id", DataType::Utf8, false),
        Field::new("one_key", DataType::Int64, false),
        Field::new("first_seen", ts_type(), false),
        Field::new("last_seen", ts_type(), false),
    ]));
    batch(
        schema,
        vec![
            strings(rows.iter().map(|r| r.0)),
            strings(rows.iter().map(|r| r.1)),
            one_ids(&keys),
            Arc::new(Int64Array::from(keys.clone())),
            ts(vec![FIRST_SEEN_MICROS; keys.len()]),
            ts(vec![FIRST_SEEN_MICROS + 86_400_000_000; keys.len()]),
        ],
    )
}

fn profiles_batch(build: &FixtureBuild) -> Result<RecordBatch> {
    let persons = &build.persons;
    let keys: Vec<i64> = persons.iter().map(|p| p.one_key).collect();
    let mut stores = ListBuilder::new(StringBuilder::new());
    for p in persons {
        if p.stores_visited.is_empty() {
            stores.append_null();
        } else {
            for s in &p.stores_visited {
                stores.values().append_value(s);
            }
            stores.append(true);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("one_key", DataType::Int64, true),
        Field::new("one_id", DataType::Utf8, true),
        Field::new("build_id", DataType::Utf8, false),
        Field::new("first_seen", ts_type(), true),
        Field::new("days_since_last_seen", DataType::Int64, true),
        Field::new("orders", DataType::Int64, false),
        Field::new("net_revenue", DataType::Decimal128(18, 2), false),
        Field::new("first_channel_code", DataType::Utf8, true),
        Field::new(
            "stores_visited",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]));
    batch(
        schema,
        vec![
            Arc::new(Int64Array::from(keys.clone())),
            one_ids(&keys),
            strings(persons.iter().map(|_| build.build_id.as_str())),
            ts(persons
                .iter()
                .map(|p| FIRST_SEEN_MICROS + p.one_key)
                .collect()),
            Arc::new(Int64Array::from(vec![3; persons.len()])),
            Arc::new(Int64Array::from_iter_values(
                persons.iter().map(|p| p.orders),
            )),
            Arc::new(
                Decimal128Array::from_iter_values(
                    persons.iter().map(|p| i128::from(p.net_revenue_fen)),
                )
                .with_precision_and_scale(18, 2)
                .map_err(|e| ServeError::Internal(e.to_string()))?,
            ),
            Arc::new(StringArray::from_iter(
                persons.iter().map(|p| p.first_channel_code.as_deref()),
            )),
            Arc::new(stores.finish()),
        ],
    )
}

fn tags_batch(build: &FixtureBuild) -> Result<RecordBatch> {
    let rows: Vec<(i64, &str, &str)> = build
        .persons
        .iter()
        .flat_map(|p| {
            p.tags
                .iter()
                .map(move |(g, t)| (p.one_key, g.as_str(), t.as_str()))
        })
        .collect();
    let keys: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("one_key", DataType::Int64, true),
        Field::new("one_id", DataType::Utf8, true),
        Field::new("tag_group", DataType::Utf8, false),
        Field::new("tag", DataType::Utf8, false),
    ]));
    batch(
        schema,
        vec![
            Arc::new(Int64Array::from(keys.clone())),
            one_ids(&keys),
            strings(rows.iter().map(|r| r.1)),
            strings(rows.iter().map(|r| r.2)),
        ],
    )
}

fn ltv_batch(build: &FixtureBuild) -> Result<RecordBatch> {
    let rows: Vec<(i64, f64, f64)> = build
        .persons
        .iter()
        .filter_map(|p| p.ltv.map(|(a, c)| (p.one_key, a, c)))
        .collect();
    let keys: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("one_key", DataType::Int64, true),
        Field::new("one_id", DataType::Utf8, true),
        Field::new("build_id", DataType::Utf8, false),
        Field::new("p_alive", DataType::Float64, false),
        Field::new("predicted_clv_365d", DataType::Float64, false),
        Field::new("churn_risk", DataType::Utf8, false),
    ]));
    batch(
        schema,
        vec![
            Arc::new(Int64Array::from(keys.clone())),
            one_ids(&keys),
            strings(rows.iter().map(|_| build.build_id.as_str())),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.2))),
            strings(rows.iter().map(|r| {
                if r.1 > 0.7 {
                    "low"
                } else if r.1 > 0.3 {
                    "medium"
                } else {
                    "high"
                }
            })),
        ],
    )
}

fn merges_batch(build: &FixtureBuild) -> Result<RecordBatch> {
    let n = build.merges.len();
    let from: Vec<i64> = build.merges.iter().map(|m| m.absorbed).collect();
    let to: Vec<i64> = build.merges.iter().map(|m| m.survivor).collect();
    let nulls = || -> ArrayRef { Arc::new(StringArray::from(vec![None::<&str>; n])) };
    let schema = Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("recorded_at", ts_type(), false),
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
        Field::new("edge_first_seen", ts_type(), true),
    ]));
    batch(
        schema,
        vec![
            strings(vec![build.identity_run_id.as_str(); n]),
            ts(vec![FIRST_SEEN_MICROS + 2 * 86_400_000_000; n]),
            strings(vec!["merge"; n]),
            Arc::new(Int64Array::from(from.clone())),
            one_ids(&from),
            Arc::new(Int64Array::from(to.clone())),
            one_ids(&to),
            strings(vec!["edge"; n]),
            strings(vec!["phone"; n]),
            // The fixture's merges are not about real identifiers.
            nulls(),
            strings(vec!["openid"; n]),
            nulls(),
            Arc::new(TimestampMicrosecondArray::from(vec![None; n]).with_timezone("UTC")),
        ],
    )
}

/// Writes `batch` as `<table>/part-<id>-<n>.parquet` files of at most
/// `rows_per_file` rows (one file when empty); returns their paths.
pub async fn write_table(
    lake: &Lake,
    table: &str,
    id: &str,
    batch: RecordBatch,
    rows_per_file: usize,
) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut offset = 0;
    let mut n = 0;
    loop {
        let len = rows_per_file.max(1).min(batch.num_rows() - offset);
        let part = batch.slice(offset, len);
        let path = format!("{table}/part-{id}-{n}.parquet");
        let schema = batch.schema();
        let encoded = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                cdp_lake::parquet_io::encode(&path, schema, &[part])
            })
            .await
            .map_err(|e| ServeError::Internal(e.to_string()))??
        };
        lake.put(&path, encoded).await?;
        files.push(path);
        offset += len;
        n += 1;
        if offset >= batch.num_rows() {
            return Ok(files);
        }
    }
}

/// Writes every table of `build` and its merges, without pointing
/// `builds/current.json` at it yet (see [`publish`]).
pub async fn write_build(lake: &Lake, build: &FixtureBuild) -> Result<BuildManifest> {
    let identity_map = write_table(
        lake,
        IDENTITY_MAP,
        &build.identity_run_id,
        identity_map_batch(build)?,
        build.rows_per_file,
    )
    .await?;
    if !build.merges.is_empty() {
        // The identity stage writes one merges file per run; builds do not list it.
        write_table(
            lake,
            IDENTITY_MERGES,
            &build.identity_run_id,
            merges_batch(build)?,
            usize::MAX,
        )
        .await?;
    }
    write_build_over(lake, build, identity_map).await
}

/// Writes the build tables of `build` (profiles, tags, ltv) over an
/// identity_map written elsewhere (by `cdp resolve`: the files its
/// `identity/current.json` names), as `cdp build` lists them; the persons'
/// identifiers, `identity_run_id` and merges are not used. Does not point
/// `builds/current.json` at it yet (see [`publish`]).
pub async fn write_build_over(
    lake: &Lake,
    build: &FixtureBuild,
    identity_map_files: Vec<String>,
) -> Result<BuildManifest> {
    let rows = build.rows_per_file;
    let id = &build.build_id;
    let mut tables = BTreeMap::new();
    tables.insert(IDENTITY_MAP.to_string(), identity_map_files);
    tables.insert(
        PROFILES.to_string(),
        write_table(lake, PROFILES, id, profiles_batch(build)?, rows).await?,
    );
    tables.insert(
        TAGS.to_string(),
        write_table(lake, TAGS, id, tags_batch(build)?, rows).await?,
    );
    tables.insert(
        LTV.to_string(),
        write_table(lake, LTV, id, ltv_batch(build)?, rows).await?,
    );
    Ok(BuildManifest {
        build_id: build.build_id.clone(),
        as_of: build.as_of.clone(),
        ltv_time_unit: Some("day".into()),
        finished_at: Some(chrono::Utc::now().to_rfc3339()),
        tables,
    })
}

/// Points `builds/current.json` at `manifest` (one atomic put).
pub async fn publish(lake: &Lake, manifest: &BuildManifest) -> Result<()> {
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|e| ServeError::Internal(e.to_string()))?;
    lake.put(BUILD_MANIFEST, Bytes::from(json)).await?;
    Ok(())
}

/// [`write_build`], then [`publish`].
pub async fn write_and_publish(lake: &Lake, build: &FixtureBuild) -> Result<BuildManifest> {
    let manifest = write_build(lake, build).await?;
    publish(lake, &manifest).await?;
    Ok(manifest)
}
