//! builds/current.json: written last, lists every file (identity_map
//! included), and older builds' files are deleted once it no longer lists them.

use cdp_config::PipelineConfig;

#[tokio::test]
async fn the_manifest_lists_each_table_and_older_files_are_deleted() {
    let (_dir, lake, first) = crate::fixture_build(&PipelineConfig::default()).await;
    let m = &first.manifest;
    assert_eq!(m.as_of, "2026-03-31");
    assert_eq!(m.ltv_time_unit, None, "built with --skip-ltv");
    for table in ["profiles", "tags", "tag_coverage"] {
        let files = &m.tables[table];
        assert_eq!(files, &[format!("{table}/part-{}-0.parquet", m.build_id)]);
        assert_eq!(lake.list(table).await.unwrap(), *files);
    }
    assert!(!m.tables.contains_key("identity_map"), "no resolve ran");

    // A resolve has run since: its identity_map files join the next build.
    // (The manifest as cdp-identity writes it, trimmed to what a build
    // reads; it names the fixture's resolved_events files.)
    let resolved = lake.list("resolved_events").await.unwrap();
    let manifest = serde_json::json!({
        "run_id": "r1",
        "identity_map": ["identity_map/part-r1-0.parquet"],
        "resolved_events": resolved,
    });
    lake.put(
        "identity/current.json",
        bytes::Bytes::from(serde_json::to_vec(&manifest).unwrap()),
    )
    .await
    .unwrap();
    let second = cdp_jobs::build(&lake, &PipelineConfig::default(), &crate::fixture_request())
        .await
        .unwrap();
    assert_eq!(second.deleted_files, 3, "the first build's files");
    assert_eq!(
        second.manifest.tables["identity_map"],
        ["identity_map/part-r1-0.parquet"]
    );
    let stored = cdp_jobs::publish::current(&lake).await.unwrap().unwrap();
    assert_eq!(stored, second.manifest);
    for table in ["profiles", "tags", "tag_coverage"] {
        assert_eq!(lake.list(table).await.unwrap(), stored.tables[table]);
    }
}

#[tokio::test]
async fn a_lake_without_resolved_events_says_to_run_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    let err = cdp_jobs::build(&lake, &PipelineConfig::default(), &crate::fixture_request())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cdp resolve"), "{err}");
}

/// The fixture's 5 buyers (2 repeaters) do not identify BG/NBD: the build
/// fails naming the model and how to build without LTV, and leaves no
/// build behind. (The CDNOW tests cover a build with LTV.)
#[tokio::test]
async fn ltv_on_too_few_customers_fails_naming_the_model_and_skip_ltv() {
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    crate::support::write_resolved_events(&lake, &crate::fixture::events()).await;
    let request = cdp_jobs::BuildRequest {
        skip_ltv: false,
        ..crate::fixture_request()
    };
    let err = cdp_jobs::build(&lake, &PipelineConfig::default(), &request)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("LTV: "), "{err}");
    assert!(err.contains("--skip-ltv"), "{err}");
    assert!(cdp_jobs::publish::current(&lake).await.unwrap().is_none());
}

/// As of a day before every event, a build has nobody to profile: it writes
/// empty tables with their columns (it used to fail taking the tags' schema
/// from a first batch that an empty query does not return).
#[tokio::test]
async fn a_build_before_any_event_writes_empty_tables() {
    let dir = tempfile::tempdir().unwrap();
    let lake = cdp_lake::Lake::open(dir.path().to_str().unwrap()).unwrap();
    crate::support::write_resolved_events(&lake, &crate::fixture::events()).await;
    let request = cdp_jobs::BuildRequest {
        as_of: chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        ..crate::fixture_request()
    };
    let report = cdp_jobs::build(&lake, &PipelineConfig::default(), &request)
        .await
        .unwrap();
    assert_eq!((report.profiles, report.tags), (0, 0));
    for table in ["profiles", "tags", "tag_coverage"] {
        let files = &report.manifest.tables[table];
        assert_eq!(files.len(), 1, "{table}");
        let bytes = lake.get(&files[0]).await.unwrap();
        let file =
            datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                bytes,
            )
            .unwrap();
        let column = if table == "tag_coverage" {
            "tag_group"
        } else {
            "one_key"
        };
        assert!(file.schema().field_with_name(column).is_ok(), "{table}");
        let rows = file.metadata().file_metadata().num_rows();
        if table == "tag_coverage" {
            assert_eq!(rows, 3, "one row per built-in group, each of 0 one_ids");
        } else {
            assert_eq!(rows, 0, "{table}");
        }
    }
    assert!(report
        .coverage
        .iter()
        .all(|r| r.one_ids == 0 && r.all_one_ids == 0));
}
