//! `cdp generate`: a synthetic world as the four reference sources.

use anyhow::{Context, Result};

use crate::cli::GenerateArgs;

pub async fn run(args: GenerateArgs) -> Result<()> {
    let summary =
        tokio::task::spawn_blocking(move || cdp_generate::generate(&args.world(), &args.out))
            .await?
            .context("generate failed")?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
