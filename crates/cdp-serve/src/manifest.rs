//! `builds/current.json`: the one pointer to the current build
//! (docs/architecture.md, "builds"). Every reader here reads only the files
//! it lists, so two builds are never mixed.

use std::collections::BTreeMap;

use arrow::array::RecordBatch;
use bytes::Bytes;
use cdp_lake::Lake;
use serde::{Deserialize, Serialize};

use crate::error::{Result, ServeError};

pub const BUILD_MANIFEST: &str = "builds/current.json";

pub const PROFILES: &str = "profiles";
pub const TAGS: &str = "tags";
pub const LTV: &str = "ltv";
pub const IDENTITY_MAP: &str = "identity_map";
pub const IDENTITY_MERGES: &str = "identity_merges";

/// `{build_id, as_of, ltv_time_unit, finished_at, tables: {name: [files]}}`;
/// fields added later by `cdp build` are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildManifest {
    pub build_id: String,
    /// YYYY-MM-DD.
    pub as_of: String,
    #[serde(default)]
    pub ltv_time_unit: Option<String>,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Files of each table, relative to the lake root.
    pub tables: BTreeMap<String, Vec<String>>,
}

impl BuildManifest {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| ServeError::Manifest {
            path: BUILD_MANIFEST.into(),
            reason: format!("not a build manifest: {e}"),
        })?;
        if manifest.build_id.trim().is_empty() {
            return Err(ServeError::Manifest {
                path: BUILD_MANIFEST.into(),
                reason: "build_id is empty".into(),
            });
        }
        Ok(manifest)
    }

    /// The files of `table`; none when the build does not list it.
    pub fn files(&self, table: &str) -> &[String] {
        self.tables.get(table).map_or(&[], Vec::as_slice)
    }

    /// The `cdp resolve` run whose identity_map the build lists, from its
    /// file names (`identity_map/part-<run_id>-<n>.parquet`); `None` when
    /// there is none or the names do not say.
    pub fn identity_run_id(&self) -> Option<String> {
        let mut runs = self.files(IDENTITY_MAP).iter().filter_map(|f| run_id_of(f));
        let first = runs.next()?;
        runs.all(|r| r == first).then(|| first.to_string())
    }
}

/// `<table>/part-<run_id>-<n>.parquet` → `run_id` (which may itself hold
/// dashes).
pub fn run_id_of(file: &str) -> Option<&str> {
    let name = file.rsplit('/').next()?;
    let stem = name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    let (run_id, n) = stem.rsplit_once('-')?;
    (!run_id.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(run_id)
}

/// The current manifest and its bytes; `None` before the first build.
pub async fn read_current(lake: &Lake) -> Result<Option<(BuildManifest, Bytes)>> {
    match lake.get_opt(BUILD_MANIFEST).await? {
        Some(bytes) => Ok(Some((BuildManifest::parse(&bytes)?, bytes))),
        None => Ok(None),
    }
}

/// Every row of the listed files of `table` (optionally some columns), with
/// the file each batch came from. Files are decoded one after the other on a
/// blocking thread, so that a background load leaves the other core to the
/// requests being served.
pub async fn read_table(
    lake: &Lake,
    manifest: &BuildManifest,
    table: &str,
    columns: Option<&[&str]>,
) -> Result<Vec<(String, RecordBatch)>> {
    let mut out = Vec::new();
    for file in manifest.files(table) {
        let bytes = lake.get(file).await?;
        let file = file.clone();
        let columns: Option<Vec<String>> =
            columns.map(|c| c.iter().map(|s| s.to_string()).collect());
        let batches = tokio::task::spawn_blocking(move || {
            let names: Option<Vec<&str>> = columns
                .as_ref()
                .map(|c| c.iter().map(String::as_str).collect());
            cdp_lake::parquet_io::decode(&file, bytes, names.as_deref()).map(|b| (file, b))
        })
        .await
        .map_err(|e| ServeError::Internal(format!("decoding task: {e}")))??;
        let (file, batches) = batches;
        out.extend(batches.into_iter().map(|b| (file.clone(), b)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_run_is_read_from_file_names() {
        assert_eq!(
            run_id_of("identity_map/part-20261125T204748123Z-1-0.parquet"),
            Some("20261125T204748123Z-1")
        );
        assert_eq!(run_id_of("identity_map/part-r1-12.parquet"), Some("r1"));
        assert_eq!(run_id_of("identity_map/other.parquet"), None);
        let m = BuildManifest::parse(
            br#"{"build_id":"b1","as_of":"2026-11-30","tables":{"identity_map":["identity_map/part-r7-0.parquet","identity_map/part-r7-1.parquet"]},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(m.identity_run_id().as_deref(), Some("r7"));
        assert!(m.files("ltv").is_empty());
    }

    #[test]
    fn a_manifest_without_a_build_id_is_refused() {
        let err = BuildManifest::parse(br#"{"as_of":"2026-11-30","tables":{}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("build_id"), "{err}");
    }
}
