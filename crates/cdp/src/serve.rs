//! `cdp serve`: the profile API over the current build until SIGTERM/SIGINT.

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs, config: &PipelineConfig) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake)?;
    let mut serve = config.serve.clone();
    if let Some(listen) = args.listen {
        serve.listen = listen;
    }
    let tokens = serve
        .bearer_tokens(|var| std::env::var(var).ok())
        .context("reading bearer tokens")?;
    let options = cdp_serve::ServeOptions {
        lake,
        listen: serve.listen.clone(),
        tokens,
        junk: config.junk_list()?,
        config: serve,
    };
    let server = cdp_serve::start(options, crate::shutdown::on_signal())
        .await
        .context("starting cdp serve")?;
    println!(
        "cdp serve listening on http://{} (lake {})",
        server.addr, args.lake
    );
    server.wait().await.context("cdp serve")?;
    println!("cdp serve stopped");
    Ok(())
}
