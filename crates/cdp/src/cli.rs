use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::logging::LogFormat;

/// A customer data platform pipeline: sources → lake → OneID → profiles,
/// tags, LTV → ClickHouse.
#[derive(Debug, Parser)]
#[command(name = "cdp", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr; the level comes from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Pipeline config (pipelines/*.toml) with every stage's settings;
    /// CDP__SECTION__KEY environment variables override it. Optional: the
    /// reference sources need none.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Normalise sources into the lake: JSONL files (--input) or Kafka (--kafka / --config).
    Ingest(IngestArgs),
    /// Replay reference JSONL files into their Kafka topics (demos, tests, benchmarks).
    Produce(ProduceArgs),
    /// Build the identity graph: identity_map, resolved_events, merges, conflicts.
    Resolve(LakeArgs),
    /// Inspect or correct the identity graph: explain, unbind.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Erase a person (right to erasure): their identifiers, events and one_id.
    Forget(IdentifierArgs),
    /// Pairwise precision and recall of identity_map against a generated world's truth.
    Eval(EvalArgs),
    /// Compute profiles, tags and LTV as of the end of a day (UTC).
    Build(BuildArgs),
    /// Load every table into ClickHouse.
    Load(LoadArgs),
    /// Serve unified profiles over HTTP: lookup by identifier or one_id, segments.
    Serve(ServeArgs),
    /// Write an audience file (人群包): a segment's phones, hashed for ad platforms.
    Export(ExportArgs),
    /// Publish the current build's changes (profiles, identity merges) to Kafka.
    PublishChanges(PublishChangesArgs),
    /// Write one self-contained HTML report with charts of the lake's current build.
    Report(ReportArgs),
    /// Run the whole pipeline on a generated world, needing no services.
    Demo(DemoArgs),
    /// Write a synthetic world as the four reference sources, with its ground truth.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct LakeArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// The one_id of an identifier, its identifiers and why each edge was accepted or refused.
    Explain(ExplainArgs),
    /// Detach an identifier from its one_id (a wrong merge), and keep it apart in later runs.
    Unbind(IdentifierArgs),
}

#[derive(Debug, Args)]
pub struct IdentifierArgs {
    /// The identifier, TYPE:VALUE (e.g. phone:+8613800138000, member_id:M000123).
    #[arg(value_name = "TYPE:VALUE")]
    pub identifier: String,
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub target: IdentifierArgs,
    /// Print a Graphviz DOT graph instead of text.
    #[arg(long)]
    pub dot: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// The `truth/` folder of a world written by `cdp generate`.
    #[arg(long)]
    pub truth: PathBuf,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// A source file: KIND=PATH, KIND one of online, offline, ad, transaction
    /// or a mapped source of --config; plain or .gz JSONL. Repeatable.
    #[arg(long, value_name = "KIND=PATH")]
    pub input: Vec<String>,
    /// Kafka bootstrap servers: consume the configured topics (default the
    /// four reference topics) until SIGTERM/SIGINT. Overrides kafka.brokers.
    #[arg(long, value_name = "BROKERS", conflicts_with = "input")]
    pub kafka: Option<String>,
    /// Kafka consumer group (default kafka.group, `cdp-ingest`).
    #[arg(long)]
    pub group: Option<String>,
    /// Kafka: exit 0 once no message has arrived for this many seconds and
    /// everything is durable and committed.
    #[arg(long, value_name = "SECS")]
    pub until_idle: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// Kafka bootstrap servers (default kafka.brokers of --config).
    #[arg(long)]
    pub brokers: Option<String>,
    /// A source file: KIND=PATH (plain or .gz JSONL), produced to KIND's
    /// topic ([kafka.topics], default cdp.KIND). Repeatable.
    #[arg(long, value_name = "KIND=PATH", required = true)]
    pub input: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[arg(long)]
    pub lake: String,
    /// Compute as of the end of this day (UTC), YYYY-MM-DD.
    #[arg(long)]
    pub as_of: String,
    /// Time unit of the LTV models.
    #[arg(long, value_parser = ["day", "week"], default_value = "day")]
    pub ltv_time_unit: String,
    /// Build profiles and tags only, without the ltv and ltv_model tables.
    #[arg(long)]
    pub skip_ltv: bool,
    /// Also write the SQL that ran, parameters filled in, into this folder.
    #[arg(long, value_name = "DIR")]
    pub emit_sql: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE", default_value = "report.html")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// ClickHouse HTTP URL, e.g. http://127.0.0.1:8123; user and password from
    /// CDP_CLICKHOUSE_USER / CDP_CLICKHOUSE_PASSWORD.
    #[arg(long)]
    pub clickhouse: String,
    /// Database of the analysts' tables (created if missing); default: the
    /// config's clickhouse.database, `cdp`.
    #[arg(long)]
    pub database: Option<String>,
    /// Reload every table and month from the lake, not only what changed.
    #[arg(long)]
    pub full_reload: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// Listen address (default serve.listen, 127.0.0.1:8080). Bearer tokens
    /// come from CDP_SERVE_TOKENS (comma-separated) or [serve] tokens.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// The segment: TAG_GROUP=TAG, e.g. lifecycle=dormant.
    #[arg(long, value_name = "GROUP=TAG")]
    pub segment: String,
    #[arg(long, value_parser = ["csv", "jsonl", "parquet"], default_value = "csv")]
    pub format: String,
    /// Hash of the 11-digit national number, lowercase hex (contract §3).
    #[arg(long, value_parser = ["md5", "sha256"], default_value = "md5")]
    pub hash: String,
    /// Output file (default stdout; required for parquet).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishChangesArgs {
    /// Lake root: a folder or an object-store URL (file://…).
    #[arg(long)]
    pub lake: String,
    /// Kafka bootstrap servers (default kafka.brokers of --config).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Topic (default serve.change_topic, cdp.profile_updates).
    #[arg(long)]
    pub topic: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Persons in the generated world.
    #[arg(long, default_value_t = 50_000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to put the world and the lake (default: a new temp folder, kept).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Go through Kafka at these brokers: produce the world to its topics,
    /// then ingest it with the consumer group.
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// Load the result into ClickHouse at this HTTP URL (database `cdp`,
    /// credentials from CDP_CLICKHOUSE_USER / CDP_CLICKHOUSE_PASSWORD).
    #[arg(long)]
    pub clickhouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 50_000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl GenerateArgs {
    pub fn world(&self) -> cdp_generate::WorldConfig {
        cdp_generate::WorldConfig {
            persons: self.persons,
            seed: self.seed,
            ..Default::default()
        }
    }
}
