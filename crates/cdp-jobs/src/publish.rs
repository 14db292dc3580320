//! How a build becomes visible (docs/architecture.md, "builds"): every table
//! as `<table>/part-<build_id>-<n>.parquet`, then `builds/current.json` —
//! naming every file of the build, `identity_map` included — in one atomic
//! put; then the files of older builds, which no manifest lists any more,
//! are deleted.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use cdp_lake::Lake;

use crate::error::{JobsError, Result};

pub const MANIFEST: &str = "builds/current.json";
pub const IDENTITY_MANIFEST: &str = "identity/current.json";
pub const IDENTITY_MAP: &str = "identity_map";

/// `builds/current.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildManifest {
    pub build_id: String,
    /// YYYY-MM-DD.
    pub as_of: String,
    /// `day` or `week`; null when the build skipped LTV.
    pub ltv_time_unit: Option<String>,
    /// RFC 3339, UTC.
    pub finished_at: String,
    /// Files of each table, relative to the lake root.
    pub tables: BTreeMap<String, Vec<String>>,
}

/// Columns of the output tables with a distinct value per row (per tag
/// group in `tags`): written without a dictionary.
const UNIQUE_COLUMNS: [&str; 2] = ["one_key", "one_id"];

/// One output table of a build, in memory.
pub struct OutputTable {
    pub name: &'static str,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl OutputTable {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// The type a table is stored with: string views and lists of them become
/// plain strings, which every reader of the lake knows.
fn stored_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) => {
            DataType::List(Arc::new(Field::new(
                f.name(),
                stored_type(f.data_type()),
                f.is_nullable(),
            )))
        }
        other => other.clone(),
    }
}

/// `schema` with the stored types (see [`stored_type`]).
pub fn stored_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                f.as_ref()
                    .clone()
                    .with_data_type(stored_type(f.data_type()))
            })
            .collect::<Vec<_>>(),
    ))
}

/// One batch converted to `stored` (from [`stored_schema`]). The copy holds
/// only its own strings, where a string view of a query's output can keep
/// alive the whole buffers of the data it was computed from.
pub fn to_stored_batch(stored: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    if batch.schema() == *stored {
        return Ok(batch);
    }
    batch
        .columns()
        .iter()
        .zip(stored.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<Result<Vec<ArrayRef>, _>>()
        .and_then(|columns| RecordBatch::try_new(stored.clone(), columns))
        .map_err(|e| JobsError::Column {
            table: "output",
            column: "*",
            reason: format!("cannot convert to stored types: {e} (our bug)"),
        })
}

/// `batches` with the stored types (see [`stored_type`]).
pub fn to_stored(
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let stored = stored_schema(schema);
    let batches = batches
        .into_iter()
        .map(|b| to_stored_batch(&stored, b))
        .collect::<Result<Vec<_>>>()?;
    Ok((stored, batches))
}

/// Splits `batches` into runs of at most `max_rows` rows.
fn split_rows(batches: &[RecordBatch], max_rows: usize) -> Vec<Vec<RecordBatch>> {
    let mut parts = vec![Vec::new()];
    let mut rows_in_part = 0;
    for batch in batches {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if rows_in_part == max_rows {
                parts.push(Vec::new());
                rows_in_part = 0;
            }
            let take = (max_rows - rows_in_part).min(batch.num_rows() - offset);
            parts
                .last_mut()
                .expect("one part")
                .push(batch.slice(offset, take));
            offset += take;
            rows_in_part += take;
        }
    }
    parts
}

/// Encodes and puts every table's files (two encodings at once: one per
/// core); returns the files per table. An empty table still gets one file,
/// so that readers see its schema.
pub async fn write_tables(
    lake: &Lake,
    build_id: &str,
    tables: Vec<OutputTable>,
    max_rows_per_file: usize,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut jobs = Vec::new();
    for table in tables {
        for (n, part) in split_rows(&table.batches, max_rows_per_file)
            .into_iter()
            .enumerate()
        {
            let location = format!("{}/part-{build_id}-{n}.parquet", table.name);
            files
                .entry(table.name.to_string())
                .or_default()
                .push(location.clone());
            jobs.push((location, table.schema.clone(), part));
        }
    }
    let semaphore = Arc::new(tokio::sync::Semaphore::new(2));
    let mut handles = Vec::new();
    for (location, schema, part) in jobs {
        let lake = lake.clone();
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        handles.push(tokio::spawn(async move {
            let encoded = {
                let location = location.clone();
                tokio::task::spawn_blocking(move || {
                    cdp_lake::parquet_io::encode_with_unique_columns(
                        &location,
                        schema,
                        &part,
                        &UNIQUE_COLUMNS,
                    )
                })
                .await
                .map_err(|e| JobsError::Task(e.to_string()))??
            };
            lake.put(&location, encoded).await?;
            drop(permit);
            Ok::<_, JobsError>(())
        }));
    }
    for h in handles {
        h.await.map_err(|e| JobsError::Task(e.to_string()))??;
    }
    Ok(files)
}

/// What a build needs of `identity/current.json` (written by `cdp resolve`,
/// crate cdp-identity; its other fields are the resolver's own).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct IdentityManifest {
    pub run_id: String,
    /// Every file of the `identity_map` table of that run.
    pub identity_map: Vec<String>,
    /// Every file of the `resolved_events` table of that run.
    pub resolved_events: Vec<String>,
}

/// The latest `cdp resolve`'s manifest, when one has run.
pub async fn identity_manifest(lake: &Lake) -> Result<Option<IdentityManifest>> {
    let Some(bytes) = lake.get_opt(IDENTITY_MANIFEST).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| JobsError::Manifest {
            path: IDENTITY_MANIFEST.to_string(),
            reason: format!("not the manifest of `cdp resolve`: {e}"),
        })
}

/// Puts the manifest (one atomic put: the build becomes current), then
/// deletes every file of `tables` that it does not list.
pub async fn commit(lake: &Lake, manifest: &BuildManifest, own_tables: &[&str]) -> Result<usize> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| JobsError::Manifest {
        path: MANIFEST.to_string(),
        reason: format!("cannot encode: {e} (our bug)"),
    })?;
    lake.put(MANIFEST, Bytes::from(json)).await?;
    let mut deleted = 0;
    for table in own_tables {
        let listed = manifest.tables.get(*table);
        for file in lake.list(table).await? {
            if !listed.is_some_and(|l| l.contains(&file)) {
                lake.delete(&file).await?;
                deleted += 1;
            }
        }
    }
    Ok(deleted)
}

/// The manifest of the current build, if any.
pub async fn current(lake: &Lake) -> Result<Option<BuildManifest>> {
    let Some(bytes) = lake.get_opt(MANIFEST).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| JobsError::Manifest {
            path: MANIFEST.to_string(),
            reason: format!("not a build manifest: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    fn batch(values: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values))]).unwrap()
    }

    #[test]
    fn rows_are_split_into_parts_of_at_most_max_rows() {
        let parts = split_rows(&[batch(vec![1, 2, 3]), batch(vec![4, 5])], 2);
        let sizes: Vec<usize> = parts
            .iter()
            .map(|p| p.iter().map(RecordBatch::num_rows).sum())
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(split_rows(&[], 2).len(), 1, "an empty table keeps one file");
    }

    #[test]
    fn views_are_stored_as_plain_strings() {
        let list_of_views = DataType::List(Arc::new(Field::new("item", DataType::Utf8View, true)));
        assert_eq!(
            stored_type(&list_of_views),
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
        );
    }
}
