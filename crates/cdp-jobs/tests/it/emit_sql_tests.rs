//! `cdp build --emit-sql DIR` writes every query the build ran, parameters
//! filled in, so that another engine can run the same SQL
//! (benches/build_vs_duckdb.py reads tag_cutoffs.sql and tag_coverage.sql).

use cdp_config::PipelineConfig;

#[tokio::test]
async fn every_query_of_a_build_is_emitted_with_its_parameters() {
    let (_dir, lake, _) = crate::fixture_build(&PipelineConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    let request = cdp_jobs::BuildRequest {
        emit_sql: Some(out.path().to_path_buf()),
        ..crate::fixture_request()
    };
    cdp_jobs::build(&lake, &PipelineConfig::default(), &request)
        .await
        .unwrap();
    let mut emitted: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    emitted.sort();
    // LTV is skipped by the fixture request, so purchases.sql and ltv.sql are not run.
    assert_eq!(
        emitted,
        [
            "orders.sql",
            "profiles.sql",
            "tag_coverage.sql",
            "tag_cutoffs.sql",
            "tags.sql"
        ]
    );
    for name in &emitted {
        let sql = std::fs::read_to_string(out.path().join(name)).unwrap();
        assert!(!sql.contains("${"), "{name} keeps a parameter");
        assert!(
            sql.to_uppercase().contains("SELECT"),
            "{name} is not a query"
        );
    }
}
