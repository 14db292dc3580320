//! `cdp demo`: the main job on embedded defaults. Generates a world into a
//! folder, runs every stage that exists, and prints what came out.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use cdp_config::PipelineConfig;
use cdp_ingest::InputSpec;

use crate::cli::DemoArgs;
use crate::progress;

pub async fn run(args: DemoArgs, config: &PipelineConfig) -> Result<()> {
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
    let last_day = world_last_day(&world);
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
    let report = match &args.kafka {
        None => cdp_ingest::ingest_files(&lake, config, inputs)
            .await
            .context("ingest failed")?,
        Some(brokers) => through_kafka(brokers, config, inputs, &lake).await?,
    };
    println!(
        "2. ingested into the lake in {:.1}s{}:",
        started.elapsed().as_secs_f64(),
        if args.kafka.is_some() {
            " through Kafka"
        } else {
            ""
        }
    );
    print!("{}", indent(&report.to_table()));
    if !report.balanced {
        bail!("the ingest report does not balance");
    }
    let started = std::time::Instant::now();
    let identity = progress::spin(
        "resolve",
        cdp_identity::resolve(&lake, &config.identity_config()),
    )
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
    progress::spin("build", build_step(&lake, config, last_day)).await?;
    let report_path = root.join("report.html");
    let report = crate::report::write_report(&lake, &report_path).await?;
    println!(
        "5. wrote the report ({} charts): {}",
        report.charts.len(),
        report_path.display()
    );
    if let Some(url) = &args.clickhouse {
        let report = crate::load::load_lake(
            lake_dir.to_str().context("lake path is not UTF-8")?,
            url,
            None,
            false,
            config,
        )
        .await?;
        println!("6. loaded into ClickHouse at {url}:");
        print!("{}", indent(&report.to_table()));
    }
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

/// The last local day of the generated world's activity: the demo builds as
/// of it.
fn world_last_day(world: &cdp_generate::WorldConfig) -> chrono::NaiveDate {
    world.start_date + chrono::Days::new(u64::from(world.days))
}

/// Step 4, after ingest and resolve: profiles, tags and LTV as of `as_of`;
/// prints the tag coverage and the LTV summary.
async fn build_step(
    lake: &cdp_lake::Lake,
    config: &PipelineConfig,
    as_of: chrono::NaiveDate,
) -> Result<()> {
    let request = cdp_jobs::BuildRequest {
        as_of,
        ltv_time_unit: cdp_ltv::TimeUnit::Day,
        skip_ltv: false,
        emit_sql: None,
    };
    let started = std::time::Instant::now();
    let report = cdp_jobs::build(lake, config, &request)
        .await
        .context("cdp build failed")?;
    println!(
        "4. built profiles, tags and LTV in {:.1}s:",
        started.elapsed().as_secs_f64()
    );
    let mut text = String::new();
    text.push_str(&format!(
        "{} profiles, {} tags as of {}\ntag coverage:\n",
        report.profiles, report.tags, report.manifest.as_of
    ));
    text.push_str(&report.coverage_table());
    text.push_str("ltv:\n");
    text.push_str(&report.ltv_table());
    print!("{}", indent(&text));
    Ok(())
}

/// Produces the world to topics of its own (so that earlier demos' messages
/// are not read again), ingests them with a consumer group until idle, and
/// deletes the topics.
async fn through_kafka(
    brokers: &str,
    config: &PipelineConfig,
    inputs: Vec<InputSpec>,
    lake: &cdp_lake::Lake,
) -> Result<cdp_lake::IngestReport> {
    let tag = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut config = config.clone();
    config.kafka.topics = inputs
        .iter()
        .map(|i| {
            let source = i.format.source_name();
            (format!("cdp-demo-{tag}.{source}"), source.to_string())
        })
        .collect();
    config.kafka.dead_letter_topic = format!("cdp-demo-{tag}.dlq");
    // A demo group joins in seconds rather than the default ~25 s.
    for (key, value) in [
        ("session.timeout.ms", "6000"),
        ("max.poll.interval.ms", "30000"),
    ] {
        config
            .kafka
            .consumer_properties
            .entry(key.into())
            .or_insert_with(|| value.into());
    }
    let mut topics: Vec<String> = config.kafka.topics.keys().cloned().collect();
    topics.push(config.kafka.dead_letter_topic.clone());
    let topic_refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    cdp_ingest::kafka::admin::create_topics(brokers, &config.kafka, &topic_refs, 3).await?;

    let produced = {
        let (brokers, config) = (brokers.to_string(), config.clone());
        tokio::task::spawn_blocking(move || {
            cdp_ingest::kafka::produce::produce_files(&brokers, &config, &inputs)
        })
        .await?
        .context("producing the world to Kafka")?
    };
    println!(
        "   produced {} messages to {} in {:.1}s",
        produced.messages.values().sum::<u64>(),
        topics[..topics.len() - 1].join(", "),
        produced.elapsed.as_secs_f64()
    );
    let run = cdp_ingest::kafka::KafkaRun {
        brokers: brokers.to_string(),
        group: format!("cdp-demo-{tag}"),
        until_idle: Some(std::time::Duration::from_secs(5)),
    };
    let summary =
        cdp_ingest::kafka::ingest_kafka(lake, &config, &run, crate::shutdown::on_signal())
            .await
            .context("Kafka ingest failed")?;
    cdp_ingest::kafka::admin::delete_topics(brokers, &config.kafka, &topic_refs).await;
    Ok(summary.report)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}
