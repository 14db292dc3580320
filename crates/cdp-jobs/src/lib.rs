//! `cdp build`: profiles, tags and lifetime value per person (one_id) as of
//! the end of a day, from `resolved_events`, with DataFusion.
//!
//! The computations are SQL files an analyst reads and extends
//! (`pipelines/sql/`, compiled in); tag rules are `[[tag_group]]` sections of
//! the pipeline config (built-ins: `pipelines/builtin_tags.toml`); the LTV
//! models are `cdp-ltv`. A build writes every table under a new build id and
//! then makes it current with one atomic put of `builds/current.json`.
//!
//! Same lake and as-of day, same table contents: every query sorts its
//! output and breaks ties on values, never on arrival order.

pub mod error;
pub mod ltv;
pub mod ltv_models;
pub mod publish;
pub mod resolved_events;
pub mod session;
pub mod sql;
pub mod tags;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::datasource::MemTable;
use datafusion::execution::context::SessionContext;

use cdp_config::{PipelineConfig, TagGroupKind};
use cdp_lake::Lake;
use cdp_ltv::TimeUnit;

pub use error::{JobsError, Result};
pub use ltv::LtvSummary;
pub use publish::BuildManifest;

pub const PROFILES_TABLE: &str = "profiles";
pub const TAG_COVERAGE_TABLE: &str = "tag_coverage";
/// The tables a build writes (and whose older files it deletes).
pub const OUTPUT_TABLES: [&str; 5] = [
    PROFILES_TABLE,
    tags::TAGS_TABLE,
    TAG_COVERAGE_TABLE,
    ltv::LTV_TABLE,
    ltv::LTV_MODEL_TABLE,
];

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Everything as of the end of this day, UTC.
    pub as_of: NaiveDate,
    pub ltv_time_unit: TimeUnit,
    /// Profiles and tags only.
    pub skip_ltv: bool,
    /// Write the SQL that ran, parameters filled in, into this folder.
    pub emit_sql: Option<PathBuf>,
}

/// One row of the coverage report (the `tag_coverage` table).
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageRow {
    pub tag_group: String,
    pub kind: String,
    /// `None`: the group's row (distinct one_ids with any of its tags).
    pub tag: Option<String>,
    pub one_ids: u64,
    pub tag_rows: u64,
    pub all_one_ids: u64,
    pub share: f64,
}

#[derive(Debug, Clone)]
pub struct BuildReport {
    pub manifest: BuildManifest,
    pub resolved_event_files: usize,
    pub profiles: u64,
    pub tags: u64,
    pub coverage: Vec<CoverageRow>,
    pub thresholds: tags::Thresholds,
    /// `None` when LTV was skipped.
    pub ltv: Option<LtvSummary>,
    /// Files of older builds deleted after the commit.
    pub deleted_files: usize,
    /// (stage, seconds).
    pub timings: Vec<(&'static str, f64)>,
}

impl BuildReport {
    /// The coverage report as text: one line per group, its tags below.
    pub fn coverage_table(&self) -> String {
        let mut out = String::new();
        for row in &self.coverage {
            match &row.tag {
                None => out.push_str(&format!(
                    "{:<14} {:<9} {:>10} of {} one_ids ({:.2}%) in {} tag rows{}\n",
                    row.tag_group,
                    row.kind,
                    row.one_ids,
                    row.all_one_ids,
                    row.share * 100.0,
                    row.tag_rows,
                    if row.kind == "exclusive" {
                        ", exactly one each"
                    } else {
                        ""
                    },
                )),
                Some(tag) => out.push_str(&format!(
                    "    {:<28} {:>10}  {:>6.2}%\n",
                    tag,
                    row.one_ids,
                    row.share * 100.0
                )),
            }
        }
        out
    }

    /// The LTV summary as text.
    pub fn ltv_table(&self) -> String {
        let Some(s) = &self.ltv else {
            return "LTV skipped (--skip-ltv)\n".to_string();
        };
        let mut out = format!(
            "customers {}, mean P(alive) {:.4}, expected purchases next 365 days {:.1}, predicted CLV 365 days {:.2}\n",
            s.customers, s.mean_p_alive, s.expected_purchases_365d, s.predicted_clv_365d
        );
        for p in &s.params {
            out.push_str(&format!(
                "    {:<12} {:<6} {:>12.6}   log-likelihood {:.2} on {} customers\n",
                p.model, p.param, p.value, p.log_likelihood, p.customers
            ));
        }
        let bands: Vec<String> = s
            .churn_risk
            .iter()
            .map(|(b, n)| format!("{b} {n}"))
            .collect();
        out.push_str(&format!("    churn risk: {}\n", bands.join(", ")));
        out
    }
}

/// A build id that sorts by time and differs from the current one.
fn new_build_id(current: Option<&BuildManifest>) -> String {
    loop {
        let id = Utc::now().format("%Y%m%dT%H%M%S%3fZ").to_string();
        if current.is_none_or(|c| c.build_id < id) {
            return id;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn threads(config: &PipelineConfig) -> usize {
    config.build.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
    })
}

/// Runs `sql` and keeps its rows in memory as table `name`, in the stored
/// types: each batch is converted as it arrives, so that no batch pins the
/// buffers of the data it was computed from (see
/// [`publish::to_stored_batch`]). `sorted_by`: the column the query orders
/// its rows by, declared so that queries over the table sort no more.
async fn materialise(
    ctx: &SessionContext,
    name: &str,
    query: &str,
    sql: &str,
    sorted_by: &str,
) -> Result<(datafusion::arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
    use futures::TryStreamExt;
    let df = ctx.sql(sql).await.map_err(JobsError::query(query))?;
    let schema = publish::stored_schema(&Arc::new(df.schema().as_arrow().clone()));
    let mut stream = df.execute_stream().await.map_err(JobsError::query(query))?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.try_next().await.map_err(JobsError::query(query))? {
        batches.push(publish::to_stored_batch(&schema, batch)?);
    }
    // One partition per thread, each a contiguous run of the sorted rows (so
    // sorted too): a single sorted partition is split by the planner, which
    // then loses the order and sorts again. No rows: one empty partition, as
    // a MemTable needs at least one.
    let per_partition = batches
        .len()
        .div_ceil(ctx.state().config().target_partitions())
        .max(1);
    let partitions: Vec<Vec<RecordBatch>> = if batches.is_empty() {
        vec![Vec::new()]
    } else {
        batches.chunks(per_partition).map(<[_]>::to_vec).collect()
    };
    let table = MemTable::try_new(schema.clone(), partitions)
        .map_err(JobsError::query(query))?
        .with_sort_order(vec![vec![
            datafusion::prelude::col(sorted_by).sort(true, false)
        ]]);
    ctx.register_table(name, Arc::new(table))
        .map_err(JobsError::query(query))?;
    Ok((schema, batches))
}

/// A table being written beside the rest of the build. Dropped unfinished
/// (the build failed), it starts no further file; files already written are
/// deleted by the next build's commit, as after any failed build.
struct WriteOnTheSide(
    tokio::task::JoinHandle<Result<std::collections::BTreeMap<String, Vec<String>>>>,
);

impl WriteOnTheSide {
    async fn finish(mut self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        (&mut self.0)
            .await
            .map_err(|e| JobsError::Task(e.to_string()))?
    }
}

impl Drop for WriteOnTheSide {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn rows(batches: &[RecordBatch]) -> u64 {
    batches.iter().map(|b| b.num_rows() as u64).sum()
}

/// Builds every table as of `request.as_of` and makes the build current.
pub async fn build(
    lake: &Lake,
    config: &PipelineConfig,
    request: &BuildRequest,
) -> Result<BuildReport> {
    use tracing::Instrument;
    let span = tracing::info_span!("build", as_of = %request.as_of);
    build_in_span(lake, config, request).instrument(span).await
}

async fn build_in_span(
    lake: &Lake,
    config: &PipelineConfig,
    request: &BuildRequest,
) -> Result<BuildReport> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |stage: &'static str, timings: &mut Vec<(&'static str, f64)>| {
        timings.push((stage, clock.elapsed().as_secs_f64()));
        clock = Instant::now();
    };

    let previous = publish::current(lake).await?;
    let build_id = new_build_id(previous.as_ref());
    let threads = threads(config);
    let ctx = session::new_session(lake, threads)?;
    let params = sql::SqlParams::for_as_of(request.as_of);
    let files = resolved_events::register(&ctx, lake, request.as_of).await?;
    tracing::info!(files, threads, build_id = %build_id, "reading resolved_events");
    let mut emitted: Vec<(String, String)> = Vec::new();

    // Orders, then profiles.
    let orders_sql = sql::ORDERS.render(&params);
    ctx.sql(&format!("CREATE VIEW orders AS {orders_sql}"))
        .await
        .map_err(JobsError::query(sql::ORDERS.name))?;
    emitted.push((sql::ORDERS.name.into(), orders_sql));
    let profiles_sql = sql::PROFILES.render(&params);
    let (profiles_schema, profiles) = materialise(
        &ctx,
        PROFILES_TABLE,
        sql::PROFILES.name,
        &profiles_sql,
        "one_key",
    )
    .await?;
    emitted.push((sql::PROFILES.name.into(), profiles_sql));
    let profile_count = rows(&profiles);
    tracing::info!(profiles = profile_count, "profiles computed");
    lap("profiles", &mut timings);
    // The profiles are final: they are encoded while tags and LTV compute.
    let profiles_written = WriteOnTheSide(tokio::spawn({
        let (lake, build_id) = (lake.clone(), build_id.clone());
        let table = publish::OutputTable {
            name: PROFILES_TABLE,
            schema: profiles_schema.clone(),
            batches: profiles,
        };
        let max_rows = config.build.max_rows_per_file;
        async move { publish::write_tables(&lake, &build_id, vec![table], max_rows).await }
    }));

    // Tags and their coverage.
    let groups = config.tag_groups();
    let thresholds = tags::thresholds(&ctx, &config.build, &params).await?;
    emitted.push((
        sql::TAG_CUTOFFS.name.into(),
        sql::TAG_CUTOFFS.render(&params),
    ));
    let df_schema = datafusion::common::DFSchema::try_from(profiles_schema.as_ref().clone())
        .map_err(JobsError::query("profiles schema"))?;
    tags::check_rules(&ctx, &df_schema, &groups, &thresholds)?;
    let (tag_statements, tags) = tags::compute(&ctx, &groups, &thresholds).await?;
    emitted.push(("tags.sql".into(), tag_statements.join(";\n\n") + ";\n"));
    let tag_count = rows(&tags.batches);
    ctx.register_table(
        tags::TAGS_TABLE,
        Arc::new(
            MemTable::try_new(tags.schema.clone(), vec![tags.batches.clone()])
                .map_err(JobsError::query("tags"))?,
        ),
    )
    .map_err(JobsError::query("tags"))?;
    tags::register_groups(&ctx, &groups)?;
    let coverage_table = tags::run(&ctx, &sql::TAG_COVERAGE, &params).await?;
    emitted.push((
        sql::TAG_COVERAGE.name.into(),
        sql::TAG_COVERAGE.render(&params),
    ));
    let coverage = coverage_rows(&coverage_table.batches)?;
    for row in coverage
        .iter()
        .filter(|r| r.tag.is_none() && r.kind == TagGroupKind::Exclusive.as_str())
    {
        if row.one_ids != row.all_one_ids || row.tag_rows != row.all_one_ids {
            return Err(JobsError::Coverage {
                group: row.tag_group.clone(),
                one_ids: row.all_one_ids,
                tagged: row.one_ids,
                rows: row.tag_rows,
            });
        }
    }
    tracing::info!(tags = tag_count, groups = groups.len(), "tags computed");
    lap("tags", &mut timings);

    // LTV.
    let mut outputs = vec![
        publish::OutputTable {
            name: tags::TAGS_TABLE,
            schema: tags.schema,
            batches: tags.batches,
        },
        publish::OutputTable {
            name: TAG_COVERAGE_TABLE,
            schema: coverage_table.schema,
            batches: coverage_table.batches,
        },
    ];
    let ltv_summary = if request.skip_ltv {
        None
    } else {
        let (ltv, model, summary) = ltv::compute(
            &ctx,
            &params,
            request.as_of,
            request.ltv_time_unit,
            config.build.ltv_discount_rate,
            config.build.threads.unwrap_or(0),
        )
        .await?;
        emitted.push((sql::PURCHASES.name.into(), sql::PURCHASES.render(&params)));
        emitted.push((sql::LTV.name.into(), sql::LTV.render(&params)));
        outputs.push(publish::OutputTable {
            name: ltv::LTV_TABLE,
            schema: ltv.schema,
            batches: ltv.batches,
        });
        outputs.push(publish::OutputTable {
            name: ltv::LTV_MODEL_TABLE,
            schema: model.schema(),
            batches: vec![model],
        });
        tracing::info!(customers = summary.customers, "ltv computed");
        lap("ltv", &mut timings);
        Some(summary)
    };
    if let Some(dir) = &request.emit_sql {
        emit_sql(dir, &emitted)?;
    }

    // Write, then commit.
    let mut stored = Vec::with_capacity(outputs.len());
    for t in outputs {
        let (schema, batches) = publish::to_stored(&t.schema, t.batches)?;
        stored.push(publish::OutputTable {
            name: t.name,
            schema,
            batches,
        });
    }
    let mut tables =
        publish::write_tables(lake, &build_id, stored, config.build.max_rows_per_file).await?;
    tables.extend(profiles_written.finish().await?);
    if let Some(identity) = publish::identity_manifest(lake).await? {
        tables.insert(publish::IDENTITY_MAP.to_string(), identity.identity_map);
    }
    let manifest = BuildManifest {
        build_id,
        as_of: request.as_of.format("%Y-%m-%d").to_string(),
        ltv_time_unit: (!request.skip_ltv).then(|| request.ltv_time_unit.as_str().to_string()),
        finished_at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        tables,
    };
    let deleted_files = publish::commit(lake, &manifest, &OUTPUT_TABLES).await?;
    lap("write", &mut timings);
    tracing::info!(deleted_files, "build committed");
    Ok(BuildReport {
        manifest,
        resolved_event_files: files,
        profiles: profile_count,
        tags: tag_count,
        coverage,
        thresholds,
        ltv: ltv_summary,
        deleted_files,
        timings,
    })
}

fn emit_sql(dir: &std::path::Path, statements: &[(String, String)]) -> Result<()> {
    let io = |path: &std::path::Path, e: std::io::Error| JobsError::Manifest {
        path: path.display().to_string(),
        reason: format!("cannot write the emitted SQL: {e}"),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, sql) in statements {
        let path = dir.join(name);
        std::fs::write(&path, sql).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

fn coverage_rows(batches: &[RecordBatch]) -> Result<Vec<CoverageRow>> {
    let mut out = Vec::new();
    for b in batches {
        let col = |name: &'static str| {
            b.column_by_name(name).ok_or(JobsError::Column {
                table: "tag_coverage",
                column: name,
                reason: "missing from tag_coverage.sql".into(),
            })
        };
        let strings = |name: &'static str| -> Result<Vec<Option<String>>> {
            let c = datafusion::arrow::compute::cast(
                col(name)?,
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .map_err(|e| JobsError::Column {
                table: "tag_coverage",
                column: name,
                reason: e.to_string(),
            })?;
            Ok(c.as_string::<i32>()
                .iter()
                .map(|s| s.map(str::to_string))
                .collect())
        };
        let ints = |name: &'static str| -> Result<Vec<u64>> {
            let c = col(name)?;
            let c = c
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| JobsError::Column {
                    table: "tag_coverage",
                    column: name,
                    reason: format!("{} instead of BIGINT", c.data_type()),
                })?;
            Ok(c.values().iter().map(|v| *v as u64).collect())
        };
        let group = strings("tag_group")?;
        let kind = strings("kind")?;
        let tag = strings("tag")?;
        let one_ids = ints("one_ids")?;
        let tag_rows = ints("tag_rows")?;
        let all = ints("all_one_ids")?;
        let share = col("share")?.as_primitive::<Float64Type>().clone();
        for i in 0..b.num_rows() {
            out.push(CoverageRow {
                tag_group: group[i].clone().unwrap_or_default(),
                kind: kind[i].clone().unwrap_or_default(),
                tag: tag[i].clone(),
                one_ids: one_ids[i],
                tag_rows: tag_rows[i],
                all_one_ids: all[i],
                share: share.value(i),
            });
        }
    }
    Ok(out)
}
