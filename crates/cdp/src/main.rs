//! `cdp`: the command line of the pipeline. Parses, loads config, calls the
//! stage's library, prints a summary. Everything else lives in the crates.

mod build;
mod cli;
mod demo;
mod eval;
mod export;
mod forget;
mod generate;
mod identity;
mod ingest;
mod load;
mod logging;
mod produce;
mod progress;
mod publish_changes;
mod report;
mod resolve;
mod serve;
mod shutdown;

use anyhow::{Context, Result};
use clap::Parser;
use cli::{Cli, Command};

/// Aggregations, the identity graph and the Parquet writers allocate per
/// group and per value; mimalloc keeps that off glibc malloc's slow paths.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Threads of tokio's blocking pool for the commands that run DataFusion:
/// 4 per core, at least 8. With tokio's default (512), DataFusion's local
/// file reads (one `spawn_blocking` each) started 512 threads in a `cdp
/// build`, each with its own allocator heap: 6.4 GB peak RSS instead of
/// 1.7 GB, a third of the CPU in the kernel zeroing pages, and a build
/// 1.5–2× slower (profiled). The other commands keep tokio's default.
fn blocking_threads(command: &Command) -> Option<usize> {
    match command {
        Command::Build(_) | Command::Demo(_) | Command::Report(_) => {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            Some((cores * 4).max(8))
        }
        _ => None,
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = blocking_threads(&cli.command) {
        runtime.max_blocking_threads(threads);
    }
    match runtime.build() {
        Ok(runtime) => runtime.block_on(async_main(cli)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn async_main(cli: Cli) -> std::process::ExitCode {
    match run(cli).await {
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
    // One config file for every stage, validated before anything connects.
    let config = cdp_config::PipelineConfig::load(cli.config.as_deref())
        .context("loading the pipeline config")?;
    match cli.command {
        Command::Generate(args) => generate::run(args).await,
        Command::Ingest(args) => ingest::run(args, &config).await,
        Command::Produce(args) => produce::run(args, &config).await,
        Command::Resolve(args) => resolve::run(args, &config).await,
        Command::Identity(command) => identity::run(command, &config).await,
        Command::Forget(args) => forget::run(args, &config).await,
        Command::Eval(args) => eval::run(args, &config).await,
        Command::Build(args) => build::run(args, &config).await,
        Command::Load(args) => load::run(args, &config).await,
        Command::Serve(args) => serve::run(args, &config).await,
        Command::Export(args) => export::run(args).await,
        Command::PublishChanges(args) => publish_changes::run(args, &config).await,
        Command::Report(args) => report::run(args).await,
        Command::Demo(args) => demo::run(args, &config).await,
    }
}
