//! A generated world produced to topics of its own, `cdp ingest` processes
//! to start, kill and signal, and the checks that the lake holds the world
//! exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use cdp_config::PipelineConfig;
use cdp_generate::{WorldConfig, WorldSummary};
use cdp_ingest::InputSpec;
use cdp_lake::offsets::{totals_by_source, PartitionManifest};
use cdp_lake::{parquet_io, Lake};

/// The broker list under test, from `CDP_TEST_KAFKA_BROKERS`.
pub fn brokers() -> String {
    std::env::var("CDP_TEST_KAFKA_BROKERS")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .expect("CDP_TEST_KAFKA_BROKERS is not set: run `make test`, which starts a local Kafka-compatible broker (deploy/local/kafka.sh)")
}

/// The world every Kafka test ingests: produced once per test run to topics
/// of its own; each test consumes it with its own group into its own lake.
pub struct ProducedWorld {
    pub summary: WorldSummary,
    pub config_path: PathBuf,
}

static WORLD: tokio::sync::OnceCell<ProducedWorld> = tokio::sync::OnceCell::const_new();

/// ≥ 200k messages, malformed ones and redeliveries included.
const PERSONS: u64 = 20_000;

/// Generates the world over 30 days (fewer daily partitions keep the tests
/// short), creates its topics with 3 partitions, and produces it — once.
pub async fn produced_world() -> &'static ProducedWorld {
    WORLD.get_or_init(produce_world).await
}

async fn produce_world() -> ProducedWorld {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("kafka-world-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let world_dir = dir.join("world");
    let summary = cdp_generate::generate(
        &WorldConfig {
            persons: PERSONS,
            seed: 11,
            days: 30,
            ..Default::default()
        },
        &world_dir,
    )
    .unwrap();
    let prefix = format!("it-{}-{:08x}", std::process::id(), rand::random::<u32>());
    let config_path = dir.join("pipeline.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[kafka]
dead_letter_topic = "{prefix}.dlq"
workers = 2

[kafka.topics]
"{prefix}.online" = "online"
"{prefix}.offline" = "offline"
"{prefix}.ad" = "ad"
"{prefix}.transaction" = "transaction"

# A group (re)join in seconds instead of ~25 s.
[kafka.consumer_properties]
"session.timeout.ms" = "6000"
"max.poll.interval.ms" = "10000"
"heartbeat.interval.ms" = "1000"

# One message per record batch: tansu 0.6 answers a fetch from an offset
# inside a batch with the *next* batch (Kafka returns the batch and the
# client skips the records before the offset), which would skip messages
# whenever a consumer resumes mid-batch. Nothing in cdp relies on this.
[kafka.producer_properties]
"batch.num.messages" = "1"

# Small, frequent flushes: kills land between them and before them.
[kafka.roll]
max_records = 20000
max_age_secs = 1
"#
        ),
    )
    .unwrap();
    let config = PipelineConfig::load_with_env(Some(&config_path), []).unwrap();
    let mut topics: Vec<String> = config.kafka.topics.keys().cloned().collect();
    topics.push(config.kafka.dead_letter_topic.clone());
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    cdp_ingest::kafka::admin::create_topics(&brokers(), &config.kafka, &topic_refs, 3)
        .await
        .unwrap();
    let inputs = InputSpec::reference_files(&world_dir);
    let produced = tokio::task::spawn_blocking(move || {
        cdp_ingest::kafka::produce::produce_files(&brokers(), &config, &inputs)
    })
    .await
    .unwrap()
    .unwrap();
    let lines: u64 = summary.sources.iter().map(|s| s.lines).sum();
    assert_eq!(produced.messages.values().sum::<u64>(), lines);
    ProducedWorld {
        summary,
        config_path,
    }
}

/// One test's consumer group and lake over the produced world. Tests take
/// turns: consumer groups on a loaded 2-core machine rebalance slowly, and
/// tansu's group coordinator mishandles members that come and go at once.
pub struct Scenario {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    pub dir: tempfile::TempDir,
    pub world: &'static ProducedWorld,
    pub group: String,
    pub lake_dir: PathBuf,
}

/// tansu 0.6 keeps a SIGKILLed member in the group when another member
/// joins before the dead one's session expired (Kafka evicts it when the
/// rebalance times out): a restart waits out the session (6 s) first.
pub const SESSION_EXPIRY: Duration = Duration::from_secs(8);

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn scenario(name: &str) -> Scenario {
    let world = produced_world().await;
    let turn = TURN.lock().await;
    let dir = tempfile::tempdir().unwrap();
    Scenario {
        _turn: turn,
        group: format!(
            "it-{name}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ),
        lake_dir: dir.path().join("lake"),
        world,
        dir,
    }
}

impl Scenario {
    /// `cdp ingest` from Kafka as a child process; its stderr goes to a log
    /// file named `label` in the scenario folder.
    pub fn spawn_ingest(&self, label: &str, until_idle_secs: u64) -> Ingest {
        self.spawn_ingest_with_env(label, until_idle_secs, &[])
    }

    pub fn spawn_ingest_with_env(
        &self,
        label: &str,
        until_idle_secs: u64,
        env: &[(&str, String)],
    ) -> Ingest {
        let log = std::fs::File::create(self.dir.path().join(format!("{label}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_cdp"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args([
                "--config",
                self.world.config_path.to_str().unwrap(),
                "ingest",
                "--lake",
            ])
            .arg(&self.lake_dir)
            .args(["--kafka", &brokers(), "--group", &self.group])
            .args(["--until-idle", &until_idle_secs.to_string()])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map(Ingest)
            .expect("start cdp ingest")
    }

    pub fn config(&self) -> PipelineConfig {
        PipelineConfig::load_with_env(Some(&self.world.config_path), []).unwrap()
    }

    pub fn log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{label}.log"))).unwrap_or_default()
    }

    pub fn lake(&self) -> Lake {
        Lake::open(self.lake_dir.to_str().unwrap()).unwrap()
    }

    /// Messages the lake holds as durable, over every partition.
    pub async fn durable_messages(&self) -> u64 {
        let Ok(manifests) = PartitionManifest::load_all(&self.lake()).await else {
            return 0;
        };
        manifests.iter().map(|m| m.counts.received).sum()
    }

    pub fn total_messages(&self) -> u64 {
        self.world.summary.sources.iter().map(|s| s.lines).sum()
    }

    /// Waits until the lake holds at least `messages` durable messages.
    pub async fn wait_for_progress(&self, messages: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.durable_messages().await < messages {
            assert!(
                Instant::now() < deadline,
                "no progress to {messages} durable messages within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The lake holds every accepted event exactly once and every malformed
    /// line as a dead letter, and the offsets manifests' counts equal the
    /// world's: `received = accepted + duplicates + dead-lettered` per source.
    pub async fn assert_exactly_once(&self) {
        let lake = self.lake();
        let totals: BTreeMap<String, cdp_lake::SourceReport> =
            totals_by_source(&PartitionManifest::load_all(&lake).await.unwrap())
                .into_iter()
                .map(|r| (r.source.clone(), r))
                .collect();
        let events = count_by_source(&lake, "events", "event_id").await;
        let letters = count_by_source(&lake, "dlq", "provenance_offset").await;
        for expected in &self.world.summary.sources {
            let source = expected.source.as_str();
            let got = &totals[source];
            assert!(got.balances(), "{source}: {got:?}");
            assert_eq!(got.received, expected.lines, "{source}: received");
            assert_eq!(got.accepted, expected.accepted(), "{source}: accepted");
            assert_eq!(got.duplicates, expected.duplicates, "{source}: duplicates");
            assert_eq!(
                got.dead_lettered, expected.malformed,
                "{source}: dead-lettered"
            );
            let (rows, distinct) = events.get(source).copied().unwrap_or_default();
            assert_eq!(
                rows,
                expected.accepted(),
                "{source}: event rows in the lake"
            );
            assert_eq!(distinct, rows, "{source}: an event stored twice");
            let (rows, distinct) = letters.get(source).copied().unwrap_or_default();
            assert_eq!(rows, expected.malformed, "{source}: dead-letter rows");
            assert_eq!(distinct, rows, "{source}: a dead letter stored twice");
        }
    }
}

/// Per source: rows of `table`, and distinct values of `column` (with the
/// Kafka partition for offsets, which are per partition).
async fn count_by_source(lake: &Lake, table: &str, column: &str) -> BTreeMap<String, (u64, u64)> {
    let mut seen: BTreeMap<String, (u64, BTreeSet<String>)> = BTreeMap::new();
    for file in lake.list(table).await.unwrap() {
        if !file.ends_with(".parquet") {
            continue;
        }
        let source = cdp_lake::partition::hive_value(&file, "source")
            .unwrap()
            .to_string();
        let bytes = lake.get(&file).await.unwrap();
        let columns = ["provenance_partition", column];
        for batch in parquet_io::decode(&file, bytes, Some(&columns)).unwrap() {
            let entry = seen.entry(source.clone()).or_default();
            entry.0 += batch.num_rows() as u64;
            let partition = batch.column_by_name("provenance_partition").unwrap();
            let partition = partition.as_primitive::<arrow::datatypes::Int32Type>();
            let values = batch.column_by_name(column).unwrap();
            for i in 0..batch.num_rows() {
                let value = match values.data_type() {
                    arrow::datatypes::DataType::Int64 => {
                        values.as_primitive::<Int64Type>().value(i).to_string()
                    }
                    _ => values.as_string::<i32>().value(i).to_string(),
                };
                entry.1.insert(if column == "provenance_offset" {
                    format!("{}:{value}", partition.value(i))
                } else {
                    value
                });
            }
        }
    }
    seen.into_iter()
        .map(|(s, (rows, distinct))| (s, (rows, distinct.len() as u64)))
        .collect()
}

/// A `cdp ingest` process, killed if a failing test leaves it running.
pub struct Ingest(Child);

impl std::ops::Deref for Ingest {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Ingest {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Kills a child the hard way (SIGKILL: no flush, no commit, no goodbye).
pub fn kill_9(child: &mut Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Sends SIGTERM.
pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for a child to exit, at most `timeout`.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
