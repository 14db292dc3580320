//! The input of every job: `resolved_events/source=…/dt=…/*.parquet`,
//! written by `cdp resolve` (docs/architecture.md, "Interfaces between
//! stages"): every event with its `one_key`/`one_id` and the analytic
//! columns of `events`, rows in the order of the events files.

use std::sync::{Arc, OnceLock};

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionContext;

use cdp_lake::partition::hive_value;
use cdp_lake::Lake;

use crate::error::{JobsError, Result};

pub const TABLE: &str = "resolved_events";

/// The columns the jobs read, by name (the files may hold more, in any
/// order). Strings are read as views: no copy of the bytes per value.
pub fn read_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let text = |name: &str| Field::new(name, DataType::Utf8View, true);
            Arc::new(Schema::new(vec![
                Field::new("one_key", DataType::Int64, true),
                text("source"),
                text("event_type"),
                Field::new(
                    "event_time",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true,
                ),
                Field::new("amount", DataType::Decimal128(18, 2), true),
                text("platform"),
                text("channel_code"),
                text("utm_source"),
                text("utm_campaign"),
                text("store_id"),
                text("campaign_id"),
                text("order_id"),
            ]))
        })
        .clone()
}

/// The files a build as of `as_of` needs: those `identity/current.json`
/// names (a resolve that is publishing or sweeping may leave others beside
/// them), or every file of the table when no manifest is there; all but
/// the `dt=` partitions after that day (their events are later by
/// construction).
pub async fn files_as_of(lake: &Lake, as_of: NaiveDate) -> Result<Vec<String>> {
    let as_of = as_of.format("%Y-%m-%d").to_string();
    let all = match crate::publish::identity_manifest(lake).await? {
        Some(manifest) => manifest.resolved_events,
        None => lake.list(TABLE).await?,
    };
    let files: Vec<String> = all
        .into_iter()
        .filter(|path| path.ends_with(".parquet"))
        .filter(|path| hive_value(path, "dt").is_none_or(|dt| dt <= as_of.as_str()))
        .collect();
    Ok(files)
}

/// Registers `resolved_events` (the files as of `as_of`) in `ctx`; returns
/// the number of files. A lake without the table is an error that says to
/// run `cdp resolve`; a table with no file up to `as_of` is an empty table.
pub async fn register(ctx: &SessionContext, lake: &Lake, as_of: NaiveDate) -> Result<usize> {
    let all = lake.list(TABLE).await?;
    if !all.iter().any(|p| p.ends_with(".parquet")) {
        return Err(JobsError::NoResolvedEvents {
            lake: lake.url().to_string(),
        });
    }
    let files = files_as_of(lake, as_of).await?;
    let root = url::Url::parse(lake.url()).map_err(|e| JobsError::Manifest {
        path: lake.url().to_string(),
        reason: format!("not a URL: {e}"),
    })?;
    let mut urls = Vec::with_capacity(files.len());
    for file in &files {
        let url = root.join(file).map_err(|e| JobsError::Manifest {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        urls.push(
            ListingTableUrl::parse(url.as_str())
                .map_err(JobsError::query(format!("registering {TABLE}")))?,
        );
    }
    let options =
        ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let table: Arc<dyn datafusion::catalog::TableProvider> = if urls.is_empty() {
        Arc::new(datafusion::datasource::empty::EmptyTable::new(read_schema()))
    } else {
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(read_schema());
        Arc::new(
            ListingTable::try_new(config).map_err(JobsError::query(format!("reading {TABLE}")))?,
        )
    };
    ctx.register_table(TABLE, table)
        .map_err(JobsError::query(format!("registering {TABLE}")))?;
    Ok(files.len())
}
