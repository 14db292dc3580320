//! `cdp demo`: the main job on embedded defaults. Generates a world into a
//! folder, runs every stage that exists, and prints what came out.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cdp_config::PipelineConfig;
use cdp_ingest::InputSpec;

use crate::cli::DemoArgs;

pub async fn run(args: DemoArgs, config: &PipelineConfig) -> Result<()> {
    if args.kafka.is_some() {
        bail!("cdp demo --kafka: not implemented yet (issue: Kafka consumers)");
    }
    if let Some(url) = &args.clickhouse {
        // A wrong URL is refused before minutes of generating and ingesting.
        cdp_clickhouse::ClickHouseConfig::from_url_and_env(url.as_str())
            .with_database(config.clickhouse.database.as_str())
            .validate()
            .context("checking --clickhouse")?;
    }
    let root = match args.out {
        Some(dir) => dir,
        None => tempfile::Builder::new()
            .prefix("cdp-demo-")
            .tempdir()?
            .keep(),
    };
    let world_dir = root.join("world");
    let lake_dir = root.join("lake");
    println!(
        "cdp demo: {} persons, seed {}, in {}",
        args.persons,
        args.seed,
        root.display()
    );

    let world = cdp_generate::WorldConfig {
        persons: args.persons,
        seed: args.seed,
        ..Default::default()
    };
    let generated = {
        let dir = world_dir.clone();
        tokio::task::spawn_blocking(move || cdp_generate::generate(&world, &dir))
            .await?
            .context("generating the world")?
    };
    let lines: u64 = generated.sources.iter().map(|s| s.lines).sum();
    println!(
        "1. generated {lines} source lines in {:.1}s → {}",
        generated.elapsed_ms as f64 / 1e3,
        world_dir.display()
    );

    let inputs = InputSpec::reference_files(&world_dir);
    let lake = cdp_lake::Lake::open(lake_dir.to_str().context("lake path is not UTF-8")?)?;
    let started = std::time::Instant::now();
    let report = cdp_ingest::ingest_files(&lake, config, inputs)
        .await
        .context("ingest failed")?;
    println!(
        "2. ingested into the lake in {:.1}s:",
        started.elapsed().as_secs_f64()
    );
    print!("{}", indent(&report.to_table()));
    if !report.balanced {
        bail!("the ingest report does not balance");
    }
    println!("3. resolve, build: not implemented yet");
    if let Some(url) = &args.clickhouse {
        let report = crate::load::load_lake(
            lake_dir.to_str().context("lake path is not UTF-8")?,
            url,
            None,
            false,
            config,
        )
        .await?;
        println!("4. loaded into ClickHouse at {url}:");
        print!("{}", indent(&report.to_table()));
    }
    println!("\ntables:");
    for table in ["events", "dlq", "ingest_reports"] {
        println!(
            "  {table:<16} {}",
            PathBuf::from(&lake_dir).join(table).display()
        );
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}
