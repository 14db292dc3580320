//! Which lake files make up the current version of a table, and where a
//! file belongs (its Hive partition and month).

use std::collections::BTreeMap;

use cdp_lake::Lake;

use crate::error::ClickHouseError;
use crate::tables::{Listing, TableSpec};

/// Written by `cdp resolve`: the files of its latest run, one array per table.
pub const IDENTITY_MANIFEST: &str = "identity/current.json";
/// Written by `cdp build`: `{build_id, as_of, …, tables: {name: [files]}}`.
pub const BUILDS_MANIFEST: &str = "builds/current.json";

/// The files of `table`'s current version, relative to the lake root and
/// sorted; `None` when the lake does not have the table yet.
pub async fn current_files(
    lake: &Lake,
    table: &TableSpec,
) -> Result<Option<Vec<String>>, ClickHouseError> {
    let lake_err = |source| ClickHouseError::Lake {
        table: table.name.to_string(),
        source,
    };
    let manifest = match table.listing {
        Listing::Identity => IDENTITY_MANIFEST,
        Listing::Build => BUILDS_MANIFEST,
    };
    let listed = match lake.get_opt(manifest).await.map_err(lake_err)? {
        Some(bytes) => {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| ClickHouseError::Manifest {
                    location: manifest.to_string(),
                    reason: format!("not JSON: {e}"),
                })?;
            let pointer = match table.listing {
                Listing::Identity => format!("/{}", table.name),
                Listing::Build => format!("/tables/{}", table.name),
            };
            match value.pointer(&pointer) {
                None => None,
                Some(serde_json::Value::Array(files)) => Some(
                    files
                        .iter()
                        .map(|f| {
                            f.as_str().map(str::to_string).ok_or_else(|| {
                                ClickHouseError::Manifest {
                                    location: manifest.to_string(),
                                    reason: format!("{pointer} holds a non-string entry {f}"),
                                }
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(other) => {
                    return Err(ClickHouseError::Manifest {
                        location: manifest.to_string(),
                        reason: format!("{pointer} is not an array of files but {other}"),
                    })
                }
            }
        }
        None => None,
    };
    let mut files = match (listed, table.listing) {
        (Some(files), _) => files,
        // A build's tables exist only as the manifest lists them.
        (None, Listing::Build) => return Ok(None),
        // Before the identity stage writes its manifest (or for a table it
        // does not list), every Parquet file under the folder.
        (None, Listing::Identity) => {
            let found = lake.list(table.name).await.map_err(lake_err)?;
            let parquet: Vec<String> = found
                .into_iter()
                .filter(|f| f.ends_with(".parquet"))
                .collect();
            if parquet.is_empty() {
                return Ok(None);
            }
            parquet
        }
    };
    files.sort();
    files.dedup();
    Ok(Some(files))
}

/// The Hive partition of a file: every `key=value` folder of its path, in
/// order (`source=online/dt=2026-03-01`).
pub fn partition_of(path: &str) -> Vec<(String, String)> {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts
        .into_iter()
        .filter_map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// The month (YYYYMM) of a file from its `dt=YYYY-MM-DD` folder.
pub fn month_of(path: &str) -> Result<u32, ClickHouseError> {
    let bad = || ClickHouseError::Manifest {
        location: path.to_string(),
        reason: "a month-partitioned table's file must sit under dt=YYYY-MM-DD/".into(),
    };
    let dt = cdp_lake::partition::hive_value(path, "dt").ok_or_else(bad)?;
    let date = chrono::NaiveDate::parse_from_str(dt, "%Y-%m-%d").map_err(|_| bad())?;
    Ok(chrono::Datelike::year(&date) as u32 * 100 + chrono::Datelike::month(&date))
}

/// Files grouped by month.
pub fn by_month(files: &[String]) -> Result<BTreeMap<u32, Vec<String>>, ClickHouseError> {
    let mut months: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for f in files {
        months.entry(month_of(f)?).or_default().push(f.clone());
    }
    Ok(months)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn partitions_and_months_come_from_the_path() {
        let f = "resolved_events/source=online/dt=2026-03-01/part-r1-0.parquet";
        assert_eq!(
            partition_of(f),
            vec![
                ("source".into(), "online".into()),
                ("dt".into(), "2026-03-01".into())
            ]
        );
        assert_eq!(month_of(f).unwrap(), 202603);
        assert!(month_of("resolved_events/part-0.parquet").is_err());
    }

    #[tokio::test]
    async fn manifests_name_the_files_and_folders_stand_in_before_identity_runs() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let spec = |name| *crate::tables::table(name).unwrap();
        assert_eq!(
            current_files(&lake, &spec("identity_map")).await.unwrap(),
            None
        );
        assert_eq!(current_files(&lake, &spec("profiles")).await.unwrap(), None);

        lake.put("identity_map/part-a-0.parquet", Bytes::from_static(b"x"))
            .await
            .unwrap();
        lake.put("identity_map/part-b-0.parquet", Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert_eq!(
            current_files(&lake, &spec("identity_map"))
                .await
                .unwrap()
                .unwrap(),
            [
                "identity_map/part-a-0.parquet",
                "identity_map/part-b-0.parquet"
            ]
        );

        lake.put(
            IDENTITY_MANIFEST,
            Bytes::from_static(
                br#"{"run_id":"b","identity_map":["identity_map/part-b-0.parquet"]}"#,
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            current_files(&lake, &spec("identity_map"))
                .await
                .unwrap()
                .unwrap(),
            ["identity_map/part-b-0.parquet"]
        );

        lake.put(
            BUILDS_MANIFEST,
            Bytes::from_static(
                br#"{"build_id":"x","tables":{"profiles":["profiles/part-x-0.parquet"]}}"#,
            ),
        )
        .await
        .unwrap();
        assert_eq!(
            current_files(&lake, &spec("profiles"))
                .await
                .unwrap()
                .unwrap(),
            ["profiles/part-x-0.parquet"]
        );
        assert_eq!(current_files(&lake, &spec("tags")).await.unwrap(), None);
    }
}
