//! Audience packs: a segment's phones hashed as ad platforms take them
//! (md5/sha256 lowercase hex of the 11-digit national number), one row per
//! (one_id, phone), from the current build.

use std::collections::BTreeSet;

use arrow::array::AsArray;
use cdp_serve::export::{export, ExportFormat, ExportSpec, PhoneHash};

use crate::support::*;

fn spec(
    dir: &std::path::Path,
    group: &str,
    tag: &str,
    format: ExportFormat,
    hash: PhoneHash,
    name: &str,
) -> ExportSpec {
    ExportSpec {
        tag_group: group.into(),
        tag: tag.into(),
        format,
        hash,
        out: Some(dir.join(name)),
    }
}

fn national(k: i64) -> String {
    match k {
        1 => "13800138000".into(),
        _ => format!("1370000{k:04}"),
    }
}

#[tokio::test]
async fn a_segment_exports_its_hashed_phones_in_every_format() {
    let (dir, lake) = lake_with(&build("b1", "r1", persons(40), vec![])).await;

    // loyal: 1 and the even keys; 2 (Bob) has only a Hong Kong number.
    let csv = spec(
        dir.path(),
        "lifecycle",
        "loyal",
        ExportFormat::Csv,
        PhoneHash::Md5,
        "loyal.csv",
    );
    let summary = export(&lake, &csv).await.unwrap();
    let expected: BTreeSet<(String, String)> = std::iter::once(1)
        .chain((4..=40).step_by(2))
        .map(|k| (format!("OID{k:012}"), md5_hex(&national(k))))
        .collect();
    let text = std::fs::read_to_string(csv.out.as_ref().unwrap()).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("one_id,phone_md5"));
    let got: BTreeSet<(String, String)> = lines
        .map(|l| {
            let (a, b) = l.split_once(',').unwrap();
            (a.to_string(), b.to_string())
        })
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        text.lines().count() - 1,
        expected.len(),
        "one row per (one_id, phone)"
    );
    assert_eq!(summary.build_id, "b1");
    assert_eq!(summary.members, 21);
    assert_eq!(summary.members_with_phone, 20);
    assert_eq!(summary.rows, 20);
    assert_eq!(summary.non_mainland_phones, 1);

    // dormant: odd keys ≥ 3; Carol (3) is known by an ad platform's md5 only.
    let jsonl = spec(
        dir.path(),
        "lifecycle",
        "dormant",
        ExportFormat::Jsonl,
        PhoneHash::Md5,
        "dormant.jsonl",
    );
    export(&lake, &jsonl).await.unwrap();
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(jsonl.out.as_ref().unwrap())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[0]["one_id"], "OID000000000003");
    assert_eq!(rows[0]["phone_md5"], md5_hex(CAROL_NATIONAL));
    assert_eq!(rows.len(), 19);

    // sha256: Carol's md5 cannot become a sha256; she is left out.
    let parquet = spec(
        dir.path(),
        "lifecycle",
        "dormant",
        ExportFormat::Parquet,
        PhoneHash::Sha256,
        "dormant.parquet",
    );
    let summary = export(&lake, &parquet).await.unwrap();
    let bytes = bytes::Bytes::from(std::fs::read(parquet.out.as_ref().unwrap()).unwrap());
    let batches = cdp_lake::parquet_io::decode("dormant.parquet", bytes, None).unwrap();
    let got: BTreeSet<(String, String)> = batches
        .iter()
        .flat_map(|b| {
            let ids = b
                .column_by_name("one_id")
                .unwrap()
                .as_string::<i32>()
                .clone();
            let hashes = b
                .column_by_name("phone_sha256")
                .unwrap()
                .as_string::<i32>()
                .clone();
            (0..b.num_rows()).map(move |i| (ids.value(i).to_string(), hashes.value(i).to_string()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = (5..=40)
        .step_by(2)
        .map(|k| (format!("OID{k:012}"), sha256_hex(&national(k))))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(summary.members, 19);
    assert_eq!(summary.members_with_phone, 18);
}

#[tokio::test]
async fn an_unknown_segment_or_a_parquet_without_file_is_refused() {
    let (dir, lake) = lake_with(&build("b1", "r1", persons(5), vec![])).await;
    let err = export(
        &lake,
        &spec(
            dir.path(),
            "lifecycle",
            "nosuch",
            ExportFormat::Csv,
            PhoneHash::Md5,
            "x.csv",
        ),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("lifecycle=nosuch"), "{err}");
    assert!(!dir.path().join("x.csv").exists(), "nothing written");
    let mut no_file = spec(
        dir.path(),
        "lifecycle",
        "loyal",
        ExportFormat::Parquet,
        PhoneHash::Md5,
        "x",
    );
    no_file.out = None;
    let err = export(&lake, &no_file).await.unwrap_err().to_string();
    assert!(err.contains("--out"), "{err}");
}
