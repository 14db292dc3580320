//! `cdp load` through the binary: clear errors and a non-zero exit for a
//! wrong URL or credentials; a load killed (SIGKILL) at any publishing step
//! leaves the analysts' tables as they were, and the next load settles it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    new_null_array, ArrayRef, Decimal128Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use cdp_clickhouse::{quote_ident, ClickHouseConfig};

const CDP: &str = env!("CARGO_BIN_EXE_cdp");

fn clickhouse_url() -> String {
    std::env::var("CDP_TEST_CLICKHOUSE_URL").unwrap_or_else(|_| {
        panic!("CDP_TEST_CLICKHOUSE_URL is not set: run `make test`, which starts ClickHouse and sets it")
    })
}

fn database(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

fn cdp_load(lake: &Path, url: &str, database: &str) -> Command {
    let mut cmd = Command::new(CDP);
    cmd.args(["load", "--lake"])
        .arg(lake)
        .args(["--clickhouse", url, "--database", database])
        .env_remove("CDP_LOAD_HALT_AT");
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("run cdp")
}

/// A tiny lake as `cdp resolve` writes it: resolved_events and identity_map.
/// (The columns are those docs/architecture.md fixes for these tables.)
struct TinyLake {
    root: PathBuf,
}

fn resolved_schema() -> SchemaRef {
    let ts = DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()));
    let mut fields = vec![
        Field::new("one_key", DataType::Int64, true),
        Field::new("one_id", DataType::Utf8, true),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("event_time", ts, false),
        Field::new("amount", DataType::Decimal128(18, 2), true),
        Field::new("ad_cost", DataType::Decimal128(18, 4), true),
    ];
    for name in [
        "currency",
        "channel",
        "platform",
        "channel_code",
        "utm_source",
        "utm_campaign",
        "store_id",
        "guide_id",
        "campaign_id",
        "order_id",
    ] {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    Arc::new(Schema::new(fields))
}

/// Events: (event_id, source, type, day of 2026 as "MM-DD", one_key, amount in fen).
type Event<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<i64>,
    Option<i128>,
);

impl TinyLake {
    fn write(&self, relative: &str, schema: SchemaRef, columns: Vec<ArrayRef>) {
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        let path = self.root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            cdp_lake::parquet_io::encode(relative, schema, &[batch]).unwrap(),
        )
        .unwrap();
    }

    fn events(&self, relative: &str, events: &[Event]) {
        let schema = resolved_schema();
        let n = events.len();
        let time = |day: &str| {
            chrono::NaiveDateTime::parse_from_str(
                &format!("2026-{day} 10:00:00"),
                "%Y-%m-%d %H:%M:%S",
            )
            .unwrap()
            .and_utc()
            .timestamp_micros()
        };
        let mut given: BTreeMap<&str, ArrayRef> = BTreeMap::new();
        given.insert(
            "one_key",
            Arc::new(events.iter().map(|e| e.4).collect::<Int64Array>()),
        );
        given.insert(
            "one_id",
            Arc::new(
                events
                    .iter()
                    .map(|e| e.4.map(|k| format!("OID{k:012}")))
                    .collect::<StringArray>(),
            ),
        );
        given.insert(
            "event_id",
            Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.0))),
        );
        given.insert(
            "source",
            Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.1))),
        );
        given.insert(
            "event_type",
            Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.2))),
        );
        given.insert(
            "event_time",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(events.iter().map(|e| time(e.3)))
                    .with_timezone("UTC"),
            ),
        );
        given.insert(
            "amount",
            Arc::new(
                events
                    .iter()
                    .map(|e| e.5)
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(18, 2)
                    .unwrap(),
            ),
        );
        given.insert(
            "order_id",
            Arc::new(
                events
                    .iter()
                    .map(|e| e.5.map(|_| format!("o-{}", e.0)))
                    .collect::<StringArray>(),
            ),
        );
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                given
                    .get(f.name().as_str())
                    .cloned()
                    .unwrap_or_else(|| new_null_array(f.data_type(), n))
            })
            .collect();
        self.write(relative, schema, columns);
    }

    fn identity_map(&self, run: &str, rows: &[(&str, i64)]) {
        let dir = self.root.join("identity_map");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let ts = DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id_type", DataType::Utf8, false),
            Field::new("id_value", DataType::Utf8, false),
            Field::new("one_id", DataType::Utf8, false),
            Field::new("one_key", DataType::Int64, false),
            Field::new("first_seen", ts.clone(), false),
            Field::new("last_seen", ts, false),
        ]));
        let t =
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|_| 1_767_225_600_000_000))
                .with_timezone("UTC");
        self.write(
            &format!("identity_map/part-{run}-0.parquet"),
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|_| "member_id"),
                )),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| format!("OID{:012}", r.1)),
                )),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(t.clone()),
                Arc::new(t),
            ],
        );
    }

    fn remove(&self, relative: &str) {
        std::fs::remove_file(self.root.join(relative)).unwrap();
    }
}

struct Analyst {
    client: cdp_clickhouse::clickhouse::Client,
}

impl Analyst {
    fn new(url: &str, database: &str) -> Self {
        let config = ClickHouseConfig::from_url_and_env(url).with_database(database);
        Self {
            client: cdp_clickhouse::connect(&config).unwrap(),
        }
    }

    /// A whole table as text, in key order.
    async fn table(&self, name: &str, order: &str) -> String {
        let bytes = self
            .client
            .query(&format!("SELECT * FROM {name} ORDER BY {order}"))
            .fetch_bytes("TSV")
            .unwrap()
            .collect()
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn number(&self, sql: &str) -> u64 {
        self.client.query(sql).fetch_one::<u64>().await.unwrap()
    }

    async fn events(&self) -> String {
        self.table("resolved_events", "source, event_id").await
    }

    async fn map(&self) -> String {
        self.table("identity_map", "id_type, id_value").await
    }
}

/// Starts a load that halts at `point` (see cdp_clickhouse::load::HALT_ENV),
/// waits until it is there, and kills it with SIGKILL.
fn kill_load_at(lake: &Path, url: &str, database: &str, point: &str, dir: &Path) {
    let marker = dir.join(format!("halted-{}", point.replace(':', "-")));
    let mut cmd = cdp_load(lake, url, database);
    cmd.env("CDP_LOAD_HALT_AT", format!("{point}:{}", marker.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn cdp load");
    let started = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            panic!("cdp load exited ({status}) before reaching {point}:\n{stderr}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "cdp load never reached {point}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_killed_at_any_publishing_step_leaves_the_analysts_tables_as_they_were() {
    let url = clickhouse_url();
    let db = database("cdp_cli_kill");
    let dir = tempfile::tempdir().unwrap();
    let lake = TinyLake {
        root: dir.path().join("lake"),
    };
    // v1: two months of events, three people.
    lake.identity_map("r1", &[("M1", 1), ("M2", 2), ("M3", 3)]);
    lake.events(
        "resolved_events/source=online/dt=2026-01-05/part-r1-0.parquet",
        &[
            ("e1", "online", "page_view", "01-05", Some(1), None),
            ("e2", "online", "register", "01-05", Some(2), None),
            ("e3", "online", "page_view", "01-05", None, None),
        ],
    );
    lake.events(
        "resolved_events/source=transaction/dt=2026-02-10/part-r1-0.parquet",
        &[
            (
                "t1:paid",
                "transaction",
                "paid",
                "02-10",
                Some(1),
                Some(1050),
            ),
            ("t2:paid", "transaction", "paid", "02-10", Some(3), Some(99)),
        ],
    );
    let out = run(cdp_load(&lake.root, &url, &db));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("resolved_events") && stdout.contains("identity_map"),
        "{stdout}"
    );
    let analyst = Analyst::new(&url, &db);
    let (events_v1, map_v1) = (analyst.events().await, analyst.map().await);
    assert_eq!(events_v1.lines().count(), 5);

    // v2: person 2 merged into 1 (January rewritten), March added, a new map.
    lake.identity_map("r2", &[("M1", 1), ("M2", 1), ("M3", 3), ("M4", 4)]);
    lake.remove("resolved_events/source=online/dt=2026-01-05/part-r1-0.parquet");
    lake.events(
        "resolved_events/source=online/dt=2026-01-05/part-r2-0.parquet",
        &[
            ("e1", "online", "page_view", "01-05", Some(1), None),
            ("e2", "online", "register", "01-05", Some(1), None),
            ("e3", "online", "page_view", "01-05", None, None),
        ],
    );
    lake.events(
        "resolved_events/source=online/dt=2026-03-01/part-r2-0.parquet",
        &[("e4", "online", "page_view", "03-01", Some(4), None)],
    );

    // Killed before the first swap: nothing changed.
    kill_load_at(
        &lake.root,
        &url,
        &db,
        "before_publish:identity_map",
        dir.path(),
    );
    assert_eq!(analyst.map().await, map_v1);
    assert_eq!(analyst.events().await, events_v1);

    // Killed before the first month is published: the events are as they
    // were (identity_map, published before, is wholly the new one).
    kill_load_at(
        &lake.root,
        &url,
        &db,
        "before_publish:resolved_events",
        dir.path(),
    );
    assert_eq!(analyst.events().await, events_v1);
    let map_v2 = analyst.map().await;
    assert_eq!(map_v2.lines().count(), 4);
    assert!(map_v2.contains("M2\tOID000000000001"), "{map_v2}");

    // Killed right after January was replaced, before the log said so: the
    // table holds the new January and the old February, never a mix inside a
    // month; the next load finds out what happened and finishes.
    kill_load_at(
        &lake.root,
        &url,
        &db,
        "after_publish:resolved_events",
        dir.path(),
    );
    assert_eq!(
        analyst.number("SELECT count() FROM resolved_events").await,
        5
    );
    assert_eq!(
        analyst
            .number("SELECT count() FROM resolved_events WHERE one_key = 2")
            .await,
        0
    );

    let out = run(cdp_load(&lake.root, &url, &db));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("settled an interrupted load") && stdout.contains("had happened"),
        "{stdout}"
    );
    assert_eq!(
        analyst.number("SELECT count() FROM resolved_events").await,
        6
    );
    assert_eq!(
        analyst
            .number("SELECT count() FROM resolved_events FINAL")
            .await,
        6
    );
    assert_eq!(
        analyst
            .number("SELECT count() FROM resolved_events WHERE one_key = 4")
            .await,
        1
    );
    assert_eq!(analyst.map().await, map_v2);
    assert_eq!(
        analyst
            .number(&format!("SELECT count() FROM system.tables WHERE database = '{db}' AND name LIKE '_cdp_%' AND name NOT IN ('_cdp_load_log', '_cdp_migrations')"))
            .await,
        0,
        "staging or retired tables left behind"
    );

    // And once more: nothing left to do.
    let out = run(cdp_load(&lake.root, &url, &db));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("unchanged"));
    analyst
        .client
        .query(&format!("DROP DATABASE {}", quote_ident(&db)))
        .execute()
        .await
        .unwrap();
}

#[test]
fn a_wrong_url_fails_with_a_clear_error_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the discard port.
    let out = run(cdp_load(dir.path(), "http://127.0.0.1:9", "cdp_never"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: connecting to ClickHouse at http://127.0.0.1:9"),
        "{stderr}"
    );

    let out = run(cdp_load(dir.path(), "tcp://127.0.0.1:9000", "cdp_never"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scheme must be http or https"), "{stderr}");
}

#[test]
fn wrong_credentials_fail_with_a_clear_error_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = cdp_load(dir.path(), &clickhouse_url(), "cdp_never");
    cmd.env("CDP_CLICKHOUSE_USER", "no_such_cdp_user")
        .env("CDP_CLICKHOUSE_PASSWORD", "nope");
    let out = run(cmd);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused user `no_such_cdp_user`"),
        "{stderr}"
    );
    assert!(stderr.contains("CDP_CLICKHOUSE_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("nope"), "password leaked: {stderr}");
}
