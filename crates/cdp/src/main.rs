//! `cdp`: the command line of the pipeline. Parses, loads config, calls the
//! stage's library, prints a summary. Everything else lives in the crates.

mod cli;
mod demo;
mod logging;

use anyhow::{bail, Context, Result};
use clap::Parser;
use cli::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // The cause chain on one line, each cause once (library errors
            // quote their cause in their own message); a backtrace is for our
            // bugs, not for an operator's wrong path.
            let mut message = String::new();
            for cause in err.chain().map(ToString::to_string) {
                if !message.contains(&cause) {
                    message.push_str(if message.is_empty() { "" } else { ": " });
                    message.push_str(&cause);
                }
            }
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    logging::init(cli.log_format);
    match cli.command {
        Command::Generate(args) => {
            let summary = tokio::task::spawn_blocking(move || {
                cdp_generate::generate(&args.world(), &args.out)
            })
            .await?
            .context("generate failed")?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Command::Ingest(args) => {
            let config = cdp_ingest::PipelineConfig::load(args.config.as_deref())
                .context("loading the pipeline config")?;
            if args.kafka.is_some() || args.input.is_empty() {
                bail!("cdp ingest from Kafka: not implemented yet (issue: Kafka consumers); pass --input KIND=PATH");
            }
            let inputs = args
                .input
                .iter()
                .map(|spec| cdp_ingest::InputSpec::parse(spec, &config))
                .collect::<Result<Vec<_>, _>>()?;
            let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
            let report = cdp_ingest::ingest_files(&lake, &config, inputs)
                .await
                .context("ingest failed")?;
            print!("{}", report.to_table());
            println!(
                "report: {}ingest_reports/{}.json",
                lake.url(),
                report.run_id
            );
            if !report.balanced {
                bail!("the ingest report does not balance: received != accepted + duplicates + dead-lettered");
            }
        }
        Command::Resolve(_) => {
            bail!("cdp resolve: not implemented yet (issue: OneID identity graph)")
        }
        Command::Build(_) => {
            bail!("cdp build: not implemented yet (issue: profiles, tags and LTV)")
        }
        Command::Load(_) => {
            bail!("cdp load: not implemented yet (issue: ClickHouse for BI analysts)")
        }
        Command::Demo(args) => demo::run(args).await?,
    }
    Ok(())
}
