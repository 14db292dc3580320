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
    if args.clickhouse.is_some() {
        bail!("cdp demo --clickhouse: not implemented yet (issue: ClickHouse for BI analysts)");
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
    let started = std::time::Instant::now();
    let identity = cdp_identity::resolve(&lake, &config.identity_config())
        .await
        .context("resolve failed")?;
    println!(
        "3. resolved identities in {:.1}s:",
        started.elapsed().as_secs_f64()
    );
    print!("{}", indent(&identity.to_string()));
    println!();
    let truth = world_dir.join("truth");
    let quality = cdp_identity::eval(&lake, &config.identity_config(), &truth)
        .await
        .context("evaluating identities against the world's truth")?;
    print!("{}", indent(&quality.to_string()));
    println!();
    println!("4. build, load: not implemented yet");
    println!("\ntables:");
    for table in [
        "events",
        "dlq",
        "ingest_reports",
        "identity_map",
        "resolved_events",
        "identity_merges",
        "identity_conflicts",
    ] {
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
