//! `cdp export`: an audience pack (人群包) — the phones of a segment's
//! members, hashed the way ad platforms take them (contract §3: lowercase
//! hex md5 or sha256 of the 11-digit national number), from the build
//! `builds/current.json` names.
//!
//! A member's hashes come from its identity_map rows: each mainland `phone`
//! hashed here, and the `phone_md5` / `phone_sha256` values themselves (the
//! identity stage derives them from every phone, and ad platforms send them
//! for people whose number we never saw in clear). One row per distinct
//! (one_id, hash), sorted by one_key. Numbers outside the mainland have no
//! national number to hash and are counted, not exported.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use cdp_lake::Lake;
use md5::Md5;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, ServeError};
use crate::manifest::{self, IDENTITY_MAP, TAGS};
use crate::row_json::write_str;
use crate::snapshot::one_id;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

impl std::str::FromStr for ExportFormat {
    type Err = ServeError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            "parquet" => Ok(Self::Parquet),
            other => Err(ServeError::Argument {
                arg: "--format",
                reason: format!("{other:?}: expected csv, jsonl or parquet"),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneHash {
    Md5,
    Sha256,
}

impl PhoneHash {
    /// The column name, which is also the id_type carrying such hashes.
    pub fn column(self) -> &'static str {
        match self {
            Self::Md5 => "phone_md5",
            Self::Sha256 => "phone_sha256",
        }
    }

    /// Lowercase hex of the hash of a national number.
    pub fn hex(self, national: &str) -> String {
        match self {
            Self::Md5 => hex::encode(Md5::digest(national.as_bytes())),
            Self::Sha256 => hex::encode(Sha256::digest(national.as_bytes())),
        }
    }
}

impl std::str::FromStr for PhoneHash {
    type Err = ServeError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "md5" => Ok(Self::Md5),
            "sha256" => Ok(Self::Sha256),
            other => Err(ServeError::Argument {
                arg: "--hash",
                reason: format!("{other:?}: expected md5 or sha256"),
            }),
        }
    }
}

/// `GROUP=TAG` of `--segment`.
pub fn parse_segment(spec: &str) -> Result<(String, String)> {
    match spec.split_once('=') {
        Some((g, t)) if !g.trim().is_empty() && !t.trim().is_empty() => {
            Ok((g.trim().to_string(), t.trim().to_string()))
        }
        _ => Err(ServeError::Argument {
            arg: "--segment",
            reason: format!("{spec:?}: expected TAG_GROUP=TAG, e.g. lifecycle=dormant"),
        }),
    }
}

#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub tag_group: String,
    pub tag: String,
    pub format: ExportFormat,
    pub hash: PhoneHash,
    /// The output file; stdout when absent (not for Parquet).
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportSummary {
    pub build_id: String,
    pub tag_group: String,
    pub tag: String,
    /// one_ids carrying the tag.
    pub members: usize,
    /// Members with at least one exported hash.
    pub members_with_phone: usize,
    /// Rows written: distinct (one_id, hash).
    pub rows: usize,
    /// Phones of members outside the mainland (no national number to hash).
    pub non_mainland_phones: usize,
}

/// Writes the audience file of `spec` from the current build.
pub async fn export(lake: &Lake, spec: &ExportSpec) -> Result<ExportSummary> {
    if spec.format == ExportFormat::Parquet && spec.out.is_none() {
        return Err(ServeError::Argument {
            arg: "--out",
            reason: "Parquet is written to a file: pass --out FILE".into(),
        });
    }
    let (manifest, _) = manifest::read_current(lake)
        .await?
        .ok_or_else(|| ServeError::NoBuild(manifest::BUILD_MANIFEST.into()))?;
    let members = segment_members(lake, &manifest, &spec.tag_group, &spec.tag).await?;
    if members.is_empty() {
        return Err(ServeError::Argument {
            arg: "--segment",
            reason: format!(
                "no one_id of build {} has {}={} (see GET /v1/segments)",
                manifest.build_id, spec.tag_group, spec.tag
            ),
        });
    }
    let hashed_type = spec.hash.column();
    let mut rows: BTreeSet<(i64, String)> = BTreeSet::new();
    let mut non_mainland = 0usize;
    for (file, batch) in manifest::read_table(
        lake,
        &manifest,
        IDENTITY_MAP,
        Some(&["id_type", "id_value", "one_key"]),
    )
    .await?
    {
        let (types, values, keys) = identity_columns(&file, &batch)?;
        for row in 0..batch.num_rows() {
            if keys.is_null(row) || !members.contains(&keys.value(row)) {
                continue;
            }
            let t = types.value(row);
            let v = values.value(row);
            if t == "phone" {
                match v.strip_prefix("+86").filter(|n| is_mainland_mobile(n)) {
                    Some(national) => {
                        rows.insert((keys.value(row), spec.hash.hex(national)));
                    }
                    None => non_mainland += 1,
                }
            } else if t == hashed_type {
                rows.insert((keys.value(row), v.to_ascii_lowercase()));
            }
        }
    }
    let members_with_phone = rows.iter().map(|(k, _)| *k).collect::<BTreeSet<_>>().len();
    write_rows(spec, &rows)?;
    Ok(ExportSummary {
        build_id: manifest.build_id,
        tag_group: spec.tag_group.clone(),
        tag: spec.tag.clone(),
        members: members.len(),
        members_with_phone,
        rows: rows.len(),
        non_mainland_phones: non_mainland,
    })
}

/// 11 digits starting with 1 (contract §3).
fn is_mainland_mobile(n: &str) -> bool {
    n.len() == 11 && n.starts_with('1') && n.bytes().all(|b| b.is_ascii_digit())
}

type IdentityColumns<'a> = (
    &'a arrow::array::StringArray,
    &'a arrow::array::StringArray,
    &'a arrow::array::Int64Array,
);

fn identity_columns<'a>(file: &str, batch: &'a RecordBatch) -> Result<IdentityColumns<'a>> {
    let get = |name: &'static str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| ServeError::table("identity_map", file, format!("no column {name}")))
    };
    let types = get("id_type")?
        .as_string_opt::<i32>()
        .ok_or_else(|| ServeError::table("identity_map", file, "id_type is not Utf8"))?;
    let values = get("id_value")?
        .as_string_opt::<i32>()
        .ok_or_else(|| ServeError::table("identity_map", file, "id_value is not Utf8"))?;
    let keys = get("one_key")?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| ServeError::table("identity_map", file, "one_key is not Int64"))?;
    Ok((types, values, keys))
}

/// one_keys of the build's `tags` rows with `(tag_group, tag)`.
async fn segment_members(
    lake: &Lake,
    manifest: &manifest::BuildManifest,
    tag_group: &str,
    tag: &str,
) -> Result<BTreeSet<i64>> {
    let mut members = BTreeSet::new();
    for (file, batch) in
        manifest::read_table(lake, manifest, TAGS, Some(&["one_key", "tag_group", "tag"])).await?
    {
        let get = |name: &'static str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| ServeError::table("tags", &file, format!("no column {name}")))
        };
        let keys = get("one_key")?
            .as_primitive_opt::<Int64Type>()
            .ok_or_else(|| ServeError::table("tags", &file, "one_key is not Int64"))?;
        let groups = arrow::compute::cast(get("tag_group")?, &DataType::Utf8)
            .map_err(|e| ServeError::table("tags", &file, format!("tag_group: {e}")))?;
        let tags = arrow::compute::cast(get("tag")?, &DataType::Utf8)
            .map_err(|e| ServeError::table("tags", &file, format!("tag: {e}")))?;
        let (groups, tags) = (groups.as_string::<i32>(), tags.as_string::<i32>());
        for row in 0..batch.num_rows() {
            if keys.is_valid(row)
                && groups.is_valid(row)
                && tags.is_valid(row)
                && groups.value(row) == tag_group
                && tags.value(row) == tag
            {
                members.insert(keys.value(row));
            }
        }
    }
    Ok(members)
}

fn write_rows(spec: &ExportSpec, rows: &BTreeSet<(i64, String)>) -> Result<()> {
    let column = spec.hash.column();
    let bytes = match spec.format {
        ExportFormat::Csv => {
            let mut out = format!("one_id,{column}\n").into_bytes();
            for (k, h) in rows {
                out.extend_from_slice(one_id(*k).as_bytes());
                out.push(b',');
                out.extend_from_slice(h.as_bytes());
                out.push(b'\n');
            }
            out
        }
        ExportFormat::Jsonl => {
            let mut out = Vec::new();
            for (k, h) in rows {
                out.extend_from_slice(b"{\"one_id\":");
                write_str(&mut out, &one_id(*k));
                out.extend_from_slice(format!(",\"{column}\":").as_bytes());
                write_str(&mut out, h);
                out.extend_from_slice(b"}\n");
            }
            out
        }
        ExportFormat::Parquet => {
            let schema = Arc::new(Schema::new(vec![
                Field::new("one_id", DataType::Utf8, false),
                Field::new(column, DataType::Utf8, false),
            ]));
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|(k, _)| one_id(*k)),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|(_, h)| h.as_str()),
                    )),
                ],
            )
            .map_err(|e| ServeError::Internal(format!("audience batch: {e}")))?;
            let location = spec
                .out
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default();
            cdp_lake::parquet_io::encode(&location, schema, &[batch])?.to_vec()
        }
    };
    match &spec.out {
        Some(path) => write_file(path, &bytes),
        None => std::io::stdout()
            .lock()
            .write_all(&bytes)
            .map_err(|source| ServeError::Output {
                path: "stdout".into(),
                source,
            }),
    }
}

/// Writes a temp file beside `path` and renames it: a reader never sees
/// half an audience.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| ServeError::Output {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_those_of_the_national_number() {
        assert_eq!(
            PhoneHash::Md5.hex("13800138000"),
            "7945bd83237335e5376ff44d62e4f0ae"
        );
        assert_eq!(
            PhoneHash::Sha256.hex("13800138000"),
            "a6942f9771d67f34034d2f1926988ed3fad3bf1b4e7cedb9a31f31398dea43bc"
        );
    }

    #[test]
    fn a_segment_is_group_equals_tag() {
        assert_eq!(
            parse_segment("lifecycle=dormant").unwrap(),
            ("lifecycle".into(), "dormant".into())
        );
        for bad in ["lifecycle", "=x", "x=", ""] {
            let err = parse_segment(bad).unwrap_err().to_string();
            assert!(err.contains("--segment"), "{err}");
        }
    }
}
