//! The generated world every test reports on, made once per test binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cdp_config::PipelineConfig;
use cdp_ingest::InputSpec;
use cdp_lake::Lake;

const PERSONS: u64 = 3_000;
/// Events of these days and later arrive after the first resolve.
const LATER: &str = "2026-10-01";

pub struct World {
    pub lake_dir: PathBuf,
    pub report: cdp_report::Report,
    /// The report as written by `cdp_report::write`.
    pub html_path: PathBuf,
    pub ltv_built: bool,
}

/// Where the tests keep what a person looks at afterwards (the HTML and the
/// screenshot): `<target>/tmp/cdp-report/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cdp-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        // Its own runtime: the tests are plain #[test]s sharing this world.
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(make_world())
    })
}

/// Moves the events partitions of `LATER` and after from `from` to `to`.
fn move_later_events(from: &Path, to: &Path) -> usize {
    let mut moved = 0;
    for source in std::fs::read_dir(from.join("events")).unwrap() {
        let source = source.unwrap().path();
        for day in std::fs::read_dir(&source).unwrap() {
            let day = day.unwrap().path();
            let name = day.file_name().unwrap().to_str().unwrap().to_string();
            if name.strip_prefix("dt=").is_some_and(|dt| dt >= LATER) {
                let target = to
                    .join("events")
                    .join(source.file_name().unwrap())
                    .join(&name);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::rename(&day, &target).unwrap();
                moved += 1;
            }
        }
    }
    moved
}

async fn make_world() -> World {
    let root = tempfile::Builder::new()
        .prefix("cdp-report-world-")
        .tempdir()
        .unwrap()
        .keep();
    let world_dir = root.join("world");
    let lake_dir = root.join("lake");
    let held = root.join("held");
    let world = cdp_generate::WorldConfig {
        persons: PERSONS,
        seed: 11,
        ..Default::default()
    };
    cdp_generate::generate(&world, &world_dir).expect("generate the world");
    let config = PipelineConfig::default();
    let lake = Lake::open(lake_dir.to_str().unwrap()).unwrap();
    let ingest = cdp_ingest::ingest_files(&lake, &config, InputSpec::reference_files(&world_dir))
        .await
        .expect("ingest");
    assert!(ingest.balanced);

    // Two resolve runs: the later months join some one_ids of the earlier ones.
    assert!(move_later_events(&lake_dir, &held) > 0);
    cdp_identity::resolve(&lake, &config.identity_config())
        .await
        .expect("first resolve");
    move_later_events(&held, &lake_dir);
    let second = cdp_identity::resolve(&lake, &config.identity_config())
        .await
        .expect("second resolve");
    assert!(second.merges > 0, "the second run merges: {second}");

    // The models are wired (cdp-ltv): every chart, LTV included, must be drawn.
    let ltv_built = true;
    let request = cdp_jobs::BuildRequest {
        as_of: world.start_date + chrono::Days::new(u64::from(world.days)),
        ltv_time_unit: cdp_ltv::TimeUnit::Day,
        skip_ltv: !ltv_built,
        emit_sql: None,
    };
    cdp_jobs::build(&lake, &config, &request)
        .await
        .expect("build");

    let html_path = artifacts_dir().join("report.html");
    let mut steps = 0;
    let report = cdp_report::write(&lake, &html_path, &mut |done, total, _| {
        assert!(done <= total);
        steps = done;
    })
    .await
    .expect("report");
    assert_eq!(steps, cdp_report::queries::ALL.len());
    eprintln!("report of the test world: {}", html_path.display());
    World {
        lake_dir,
        report,
        html_path,
        ltv_built,
    }
}
