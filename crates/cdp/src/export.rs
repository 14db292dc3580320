//! `cdp export`: an audience pack (人群包) of a segment's hashed phones.

use anyhow::Result;
use cdp_serve::export::{export, parse_segment, ExportSpec};

use crate::cli::ExportArgs;

pub async fn run(args: ExportArgs) -> Result<()> {
    let lake = cdp_lake::Lake::open(&args.lake)?;
    let (tag_group, tag) = parse_segment(&args.segment)?;
    let spec = ExportSpec {
        tag_group,
        tag,
        format: args.format.parse()?,
        hash: args.hash.parse()?,
        out: args.out.clone(),
    };
    let summary = export(&lake, &spec).await?;
    // The file may be stdout: the summary goes to stderr.
    eprintln!(
        "{}={} of build {}: {} one_ids, {} with a mainland phone, {} rows ({}){}{}",
        summary.tag_group,
        summary.tag,
        summary.build_id,
        summary.members,
        summary.members_with_phone,
        summary.rows,
        spec.hash.column(),
        args.out
            .as_ref()
            .map(|p| format!(" → {}", p.display()))
            .unwrap_or_default(),
        if summary.non_mainland_phones > 0 {
            format!(
                "; {} phones outside the mainland not exported",
                summary.non_mainland_phones
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
