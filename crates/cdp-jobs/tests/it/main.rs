//! Integration tests of `cdp build` (one binary: see docs/architecture.md).

mod build_manifest_tests;
mod cdnow_acceptance_tests;
mod emit_sql_tests;
mod fixture;
mod lake_tables_doc_tests;
mod profile_columns_tests;
mod reproducible_build_tests;
mod support;
mod tag_rules_tests;

use cdp_config::PipelineConfig;
use cdp_lake::Lake;

/// A lake holding the hand-computed fixture, built as of its day (profiles
/// and tags; the LTV models are tested by the CDNOW acceptance test).
pub async fn fixture_build(
    config: &PipelineConfig,
) -> (tempfile::TempDir, Lake, cdp_jobs::BuildReport) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    support::write_resolved_events(&lake, &fixture::events()).await;
    let report = cdp_jobs::build(&lake, config, &fixture_request())
        .await
        .unwrap();
    (dir, lake, report)
}

pub fn fixture_request() -> cdp_jobs::BuildRequest {
    cdp_jobs::BuildRequest {
        as_of: fixture::as_of(),
        ltv_time_unit: cdp_ltv::TimeUnit::Day,
        skip_ltv: true,
        emit_sql: None,
    }
}
