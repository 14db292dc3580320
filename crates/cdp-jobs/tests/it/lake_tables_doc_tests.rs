//! schemas/lake_tables.md documents the tables `cdp build` writes; this
//! keeps the page and the files in step (column names and nullability).

use cdp_config::PipelineConfig;
use cdp_lake::schema::doc::{documented_columns as documented, schema_columns as actual};

use crate::support::read_table;

#[tokio::test]
async fn profiles_tags_and_coverage_match_the_doc() {
    let (_dir, lake, _) = crate::fixture_build(&PipelineConfig::default()).await;
    for table in ["profiles", "tags", "tag_coverage"] {
        let batches = read_table(&lake, table).await;
        assert_eq!(
            documented(&format!("{table} —")),
            actual(&batches[0].schema()),
            "{table}"
        );
    }
}

#[test]
fn ltv_and_ltv_model_match_the_doc() {
    assert_eq!(
        documented("ltv_model —"),
        actual(&cdp_jobs::ltv::model_schema())
    );
    // ltv.sql selects every prediction column after five profile columns.
    let ltv: Vec<String> = documented("ltv —").into_iter().map(|(c, _)| c).collect();
    let predictions: Vec<String> = cdp_jobs::ltv::predictions_schema()
        .fields()
        .iter()
        .skip(1)
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        ltv[..5],
        [
            "one_key",
            "one_id",
            "historical_net_revenue",
            "orders",
            "purchase_days"
        ]
    );
    assert_eq!(ltv[5..], predictions[..]);
}
