//! schemas/lake_tables.md documents the tables `cdp build` writes; this
//! keeps the page and the files in step (column names and nullability).

use cdp_config::PipelineConfig;
use datafusion::arrow::datatypes::SchemaRef;

use crate::support::read_table;

const DOC: &str = include_str!("../../../../schemas/lake_tables.md");

/// (column, null) rows of the table under the heading that starts with `heading`.
fn documented(heading: &str) -> Vec<(String, bool)> {
    let section = DOC
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading} in lake_tables.md"));
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| column") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[3] == "yes")
        })
        .collect()
}

fn actual(schema: &SchemaRef) -> Vec<(String, bool)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.is_nullable()))
        .collect()
}

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
