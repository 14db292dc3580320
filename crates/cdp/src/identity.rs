//! `cdp identity explain|unbind`: look into and correct the identity graph.

use anyhow::{Context, Result};
use cdp_config::PipelineConfig;

use crate::cli::{IdentifierArgs, IdentityCommand};

/// The lake and the canonical identifier named on the command line.
pub fn target(
    args: &IdentifierArgs,
    config: &PipelineConfig,
) -> Result<(cdp_lake::Lake, cdp_model::Identifier)> {
    let junk = cdp_model::JunkList::with_extra(&config.junk.extra)?;
    let id = cdp_identity::parse_identifier(&args.identifier, &junk)?;
    let lake = cdp_lake::Lake::open(&args.lake).context("opening the lake")?;
    Ok((lake, id))
}

pub async fn run(command: IdentityCommand, config: &PipelineConfig) -> Result<()> {
    match command {
        IdentityCommand::Explain(args) => {
            let (lake, id) = target(&args.target, config)?;
            let explanation = cdp_identity::explain(&lake, &config.identity_config(), &id)
                .await
                .context("explain failed")?;
            if args.dot {
                println!("{}", explanation.to_dot());
            } else {
                print!("{}", explanation.to_text());
            }
        }
        IdentityCommand::Unbind(args) => {
            let (lake, id) = target(&args, config)?;
            let outcome = cdp_identity::unbind(&lake, &config.identity_config(), &id)
                .await
                .context("unbind failed")?;
            if !outcome.changed {
                println!(
                    "{id} is already kept apart by an unbind rule ({})",
                    outcome.to_one_id.unwrap_or_default()
                );
                return Ok(());
            }
            println!(
                "{id} detached from {} → {} (rule kept in identity/rules.json; splits in identity_merges/)",
                outcome.from_one_id.as_deref().unwrap_or("(no one_id)"),
                outcome.to_one_id.as_deref().unwrap_or("(no one_id)")
            );
            if let Some(summary) = outcome.summary {
                println!("{summary}");
            }
        }
    }
    Ok(())
}
