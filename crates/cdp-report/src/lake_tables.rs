//! The lake tables the report reads, registered in a DataFusion session.
//!
//! `events`, `dlq`, `identity_merges` and `identity_conflicts` are every
//! Parquet file of their folder (the whole history); `identity_map`,
//! `profiles`, `tag_coverage` and `ltv` are the files `builds/current.json`
//! lists, so the report never mixes two builds (docs/architecture.md,
//! "builds"). Each table is declared with only the columns the report reads,
//! by name; a table with no file is an empty table of those columns, so a
//! lake without dead letters or a build without LTV still has a report.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::TableProvider;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::context::SessionContext;

use cdp_jobs::BuildManifest;
use cdp_lake::Lake;

use crate::error::{ReportError, Result};

/// Where a table's files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    /// Every `.parquet` below the table's folder.
    Folder,
    /// The files the current build lists for the table.
    Build,
}

/// One table the report reads.
pub struct LakeTable {
    pub name: &'static str,
    pub files: Files,
    pub columns: fn() -> Vec<Field>,
}

fn text(name: &str) -> Field {
    Field::new(name, DataType::Utf8View, true)
}
fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}
fn float(name: &str) -> Field {
    Field::new(name, DataType::Float64, true)
}
fn time(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

/// Every table the report's queries name (columns: schemas/lake_tables.md).
pub const TABLES: [LakeTable; 8] = [
    LakeTable {
        name: "events",
        files: Files::Folder,
        columns: || vec![text("source")],
    },
    LakeTable {
        name: "dlq",
        files: Files::Folder,
        columns: || vec![text("source"), text("reason"), text("field")],
    },
    LakeTable {
        name: "identity_merges",
        files: Files::Folder,
        columns: || vec![text("run_id"), time("recorded_at"), text("kind")],
    },
    LakeTable {
        name: "identity_conflicts",
        files: Files::Folder,
        columns: || vec![text("run_id"), text("reason"), int("sets")],
    },
    LakeTable {
        name: "identity_map",
        files: Files::Build,
        columns: || {
            vec![
                text("id_type"),
                text("one_id"),
                int("one_key"),
                time("first_seen"),
                time("last_seen"),
            ]
        },
    },
    LakeTable {
        name: "profiles",
        files: Files::Build,
        columns: || {
            vec![
                int("one_key"),
                text("first_channel_code"),
                text("first_utm_source"),
                time("member_since"),
                int("orders"),
                Field::new("net_revenue", DataType::Decimal128(18, 2), true),
            ]
        },
    },
    LakeTable {
        name: "tag_coverage",
        files: Files::Build,
        columns: || {
            vec![
                text("tag_group"),
                text("kind"),
                text("tag"),
                int("one_ids"),
                int("tag_rows"),
                int("all_one_ids"),
                float("share"),
            ]
        },
    },
    LakeTable {
        name: "ltv",
        files: Files::Build,
        columns: || {
            vec![
                int("one_key"),
                float("p_alive"),
                float("predicted_clv_365d"),
            ]
        },
    },
];

/// What was registered: files per table, for the report's footer.
#[derive(Debug, Clone, Default)]
pub struct Registered {
    pub files: Vec<(&'static str, usize)>,
}

impl Registered {
    pub fn files_of(&self, table: &str) -> usize {
        self.files
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }
}

/// Registers every table of [`TABLES`] in `ctx`.
pub async fn register_all(
    ctx: &SessionContext,
    lake: &Lake,
    build: &BuildManifest,
) -> Result<Registered> {
    let mut registered = Registered::default();
    for table in &TABLES {
        let files: Vec<String> = match table.files {
            Files::Folder => lake
                .list(table.name)
                .await?
                .into_iter()
                .filter(|p| p.ends_with(".parquet"))
                .collect(),
            Files::Build => build.tables.get(table.name).cloned().unwrap_or_default(),
        };
        register(ctx, lake, table, &files)?;
        registered.files.push((table.name, files.len()));
    }
    Ok(registered)
}

fn register(ctx: &SessionContext, lake: &Lake, table: &LakeTable, files: &[String]) -> Result<()> {
    let schema: SchemaRef = Arc::new(Schema::new((table.columns)()));
    let failed = ReportError::query;
    let provider: Arc<dyn TableProvider> = if files.is_empty() {
        Arc::new(EmptyTable::new(schema))
    } else {
        let root = url::Url::parse(lake.url()).map_err(|e| cdp_jobs::JobsError::Manifest {
            path: lake.url().to_string(),
            reason: format!("not a URL: {e}"),
        })?;
        let mut urls = Vec::with_capacity(files.len());
        for file in files {
            let url = root.join(file).map_err(|e| cdp_jobs::JobsError::Manifest {
                path: file.clone(),
                reason: e.to_string(),
            })?;
            urls.push(
                ListingTableUrl::parse(url.as_str())
                    .map_err(failed(format!("registering {}", table.name)))?,
            );
        }
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        Arc::new(ListingTable::try_new(config).map_err(failed(format!("reading {}", table.name)))?)
    };
    ctx.register_table(table.name, provider)
        .map_err(failed(format!("registering {}", table.name)))?;
    Ok(())
}
