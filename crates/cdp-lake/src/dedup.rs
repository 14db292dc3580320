//! Which records the lake already holds, so that a redelivery — in this run or
//! a later one — is counted as a duplicate and never stored twice (contract §2).
//!
//! Each data file has a companion key file under `_index/` listing the 128-bit
//! hashes of its records' keys. The key file is written after its data file,
//! so a crash in between leaves a data file without keys; `load` rebuilds
//! those from the data itself. The data files are the truth; the key files
//! only make start-up fast.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Int32Type;
use arrow::datatypes::Int64Type;
use bytes::Bytes;
use rustc_hash::FxHashSet;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

use crate::error::{LakeError, Result};
use crate::parquet_io;
use crate::root::Lake;
use crate::schema::{DEAD_LETTERS_TABLE, EVENTS_TABLE};

const INDEX_DIR: &str = "_index";

/// A 128-bit key: collisions among billions of records are negligible.
pub type RecordKey = u128;

fn hash_parts(parts: &[&[u8]]) -> RecordKey {
    let mut h = Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.digest128()
}

/// Key of an event: its source and event id.
pub fn event_key(source: &str, event_id: &str) -> RecordKey {
    // One call over the bytes `hash_parts` streams (the same hash): the
    // streaming hasher's setup costs more than hashing an id.
    let mut buf = [0u8; 256];
    let len = 16 + source.len() + event_id.len();
    if len > buf.len() {
        return hash_parts(&[source.as_bytes(), event_id.as_bytes()]);
    }
    let mut at = 0;
    for part in [source.as_bytes(), event_id.as_bytes()] {
        buf[at..at + 8].copy_from_slice(&(part.len() as u64).to_le_bytes());
        buf[at + 8..at + 8 + part.len()].copy_from_slice(part);
        at += 8 + part.len();
    }
    xxh3_128(&buf[..len])
}

/// Key of a dead letter: its source and the place it was read from.
pub fn dead_letter_key(
    source: &str,
    origin: &str,
    partition: Option<i32>,
    offset: i64,
) -> RecordKey {
    let partition = partition.unwrap_or(-1).to_le_bytes();
    hash_parts(&[
        source.as_bytes(),
        origin.as_bytes(),
        &partition,
        &offset.to_le_bytes(),
    ])
}

/// The keys of one table already in the lake.
#[derive(Debug, Default)]
pub struct KeyIndex {
    table: &'static str,
    keys: FxHashSet<RecordKey>,
    /// Data files whose keys are in `keys`.
    files: FxHashSet<String>,
}

impl KeyIndex {
    /// Loads the keys of `table` (`events` or `dlq`), rebuilding any key file
    /// a crash left missing.
    pub async fn load(lake: &Lake, table: &'static str) -> Result<Self> {
        let mut index = Self {
            table,
            ..Self::default()
        };
        index.refresh(lake).await?;
        Ok(index)
    }

    /// Adds the keys of data files that appeared since the index was loaded
    /// (written by another process, e.g. another consumer of the group);
    /// returns how many files were added.
    pub async fn refresh(&mut self, lake: &Lake) -> Result<usize> {
        let table = self.table;
        let data_files: Vec<String> = lake
            .list(table)
            .await?
            .into_iter()
            .filter(|p| p.ends_with(".parquet") && !self.files.contains(p))
            .collect();
        if data_files.is_empty() {
            return Ok(0);
        }
        let index_files: FxHashSet<String> = lake
            .list(&format!("{INDEX_DIR}/{table}"))
            .await?
            .into_iter()
            .collect();
        for data in &data_files {
            let key_file = key_file_for(data);
            let keys = if index_files.contains(&key_file) {
                decode_keys(&lake.get(&key_file).await?)
            } else {
                let keys = keys_of_file(lake, table, data).await?;
                tracing::info!(file = %data, keys = keys.len(), "rebuilt a missing dedup key file");
                lake.put(&key_file, encode_keys(&keys)).await?;
                keys
            };
            self.keys.extend(keys);
            self.files.insert(data.clone());
        }
        Ok(data_files.len())
    }

    /// Deletes a data file that was never committed (a crash left it behind)
    /// with its key file, and forgets its keys.
    pub async fn delete_file(&mut self, lake: &Lake, data_file: &str) -> Result<()> {
        let key_file = key_file_for(data_file);
        let keys = match lake.get_opt(&key_file).await? {
            Some(bytes) => decode_keys(&bytes),
            None => keys_of_file(lake, self.table, data_file).await?,
        };
        for key in keys {
            self.keys.remove(&key);
        }
        self.files.remove(data_file);
        lake.delete(data_file).await?;
        lake.delete(&key_file).await
    }

    /// Records that `data_file`, holding records whose keys were inserted,
    /// is now in the lake (so `refresh` does not load it again).
    pub fn add_file(&mut self, data_file: &str) {
        self.files.insert(data_file.to_string());
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn contains(&self, key: RecordKey) -> bool {
        self.keys.contains(&key)
    }

    pub fn reserve(&mut self, additional: usize) {
        self.keys.reserve(additional);
    }

    /// Records a key; false when it was already there.
    pub fn insert(&mut self, key: RecordKey) -> bool {
        self.keys.insert(key)
    }

    /// Writes the key file of a data file that was just made durable.
    pub async fn persist(lake: &Lake, data_file: &str, keys: &[RecordKey]) -> Result<()> {
        lake.put(&key_file_for(data_file), encode_keys(keys)).await
    }
}

pub fn key_file_for(data_file: &str) -> String {
    format!("{INDEX_DIR}/{data_file}.keys")
}

fn encode_keys(keys: &[RecordKey]) -> Bytes {
    let mut buf = Vec::with_capacity(keys.len() * 16);
    for k in keys {
        buf.extend_from_slice(&k.to_le_bytes());
    }
    Bytes::from(buf)
}

fn decode_keys(bytes: &[u8]) -> Vec<RecordKey> {
    bytes
        .chunks_exact(16)
        .map(|c| u128::from_le_bytes(c.try_into().expect("16-byte chunk")))
        .collect()
}

/// The keys of a batch of the given table, in row order.
pub fn keys_of_batch(
    location: &str,
    table: &'static str,
    batch: &RecordBatch,
) -> Result<Vec<RecordKey>> {
    let column = |name: &'static str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| LakeError::BadColumn {
                location: location.to_string(),
                column: name,
                reason: "missing".into(),
            })
    };
    let strings = |name: &'static str| -> Result<_> {
        column(name)?
            .as_string_opt::<i32>()
            .cloned()
            .ok_or_else(|| LakeError::BadColumn {
                location: location.to_string(),
                column: name,
                reason: "not Utf8".into(),
            })
    };
    let source = strings("source")?;
    match table {
        EVENTS_TABLE => {
            let id = strings("event_id")?;
            Ok((0..batch.num_rows())
                .map(|i| event_key(source.value(i), id.value(i)))
                .collect())
        }
        DEAD_LETTERS_TABLE => {
            let origin = strings("provenance_origin")?;
            let partition = column("provenance_partition")?
                .as_primitive::<Int32Type>()
                .clone();
            let offset = column("provenance_offset")?
                .as_primitive::<Int64Type>()
                .clone();
            Ok((0..batch.num_rows())
                .map(|i| {
                    let p = (!partition.is_null(i)).then(|| partition.value(i));
                    dead_letter_key(source.value(i), origin.value(i), p, offset.value(i))
                })
                .collect())
        }
        other => unreachable!("no dedup keys for table {other}"),
    }
}

async fn keys_of_file(lake: &Lake, table: &'static str, data: &str) -> Result<Vec<RecordKey>> {
    let columns: &[&str] = match table {
        EVENTS_TABLE => &["source", "event_id"],
        _ => &[
            "source",
            "provenance_origin",
            "provenance_partition",
            "provenance_offset",
        ],
    };
    let mut keys = Vec::new();
    for batch in parquet_io::decode(data, lake.get(data).await?, Some(columns))? {
        keys.extend(keys_of_batch(data, table, &batch)?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_source_and_id_unambiguously() {
        assert_ne!(event_key("ab", "c"), event_key("a", "bc"));
        assert_eq!(event_key("online", "e1"), event_key("online", "e1"));
        assert_ne!(
            dead_letter_key("ad", "f", None, 1),
            dead_letter_key("ad", "f", None, 2)
        );
        assert_ne!(
            dead_letter_key("ad", "t", Some(0), 1),
            dead_letter_key("ad", "t", Some(1), 1)
        );
    }

    #[test]
    fn event_keys_are_the_streamed_hash_at_any_length() {
        for id in [
            "",
            "e1",
            &"x".repeat(231),
            &"y".repeat(232),
            &"z".repeat(1000),
        ] {
            assert_eq!(
                event_key("online", id),
                hash_parts(&[b"online", id.as_bytes()]),
                "{}",
                id.len()
            );
        }
    }

    #[test]
    fn key_files_round_trip() {
        let keys = vec![1u128, u128::MAX, 42];
        assert_eq!(decode_keys(&encode_keys(&keys)), keys);
    }
}
