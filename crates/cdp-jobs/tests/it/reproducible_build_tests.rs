//! Same lake, same as-of day: identical tables, whatever the build id.

use cdp_config::PipelineConfig;

use crate::support::read_table;

#[tokio::test]
async fn building_twice_gives_identical_tables() {
    let (_dir, lake, first) = crate::fixture_build(&PipelineConfig::default()).await;
    let mut before = Vec::new();
    for table in ["profiles", "tags", "tag_coverage"] {
        before.push(read_table(&lake, table).await);
    }
    let second = cdp_jobs::build(&lake, &PipelineConfig::default(), &crate::fixture_request())
        .await
        .unwrap();
    assert_ne!(first.manifest.build_id, second.manifest.build_id);
    for (i, table) in ["profiles", "tags", "tag_coverage"].into_iter().enumerate() {
        let after = read_table(&lake, table).await;
        assert_eq!(before[i], after, "{table} differs between two builds");
        assert!(!after.is_empty() && after.iter().any(|b| b.num_rows() > 0));
    }
}
