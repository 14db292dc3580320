//! `identity_map` in memory: canonical identifier → one_key, compact.
//!
//! Per identifier type, every value lives in one byte arena (hashes of the
//! hex types stored as their 16 or 32 raw bytes, half their text), with its
//! end offset and one_key as `u32`s, and a hash table of `u32` entry numbers
//! over them: about 14 bytes per identifier plus its value's bytes, instead
//! of a `String` and a map node each.

use std::hash::{BuildHasher, RandomState};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use cdp_model::IdType;
use hashbrown::HashTable;

use crate::error::{Result, ServeError};

/// Types whose canonical value is lowercase hex (contract §3).
fn is_hex_type(t: IdType) -> bool {
    matches!(
        t,
        IdType::PhoneMd5
            | IdType::PhoneSha256
            | IdType::IdfaMd5
            | IdType::OaidMd5
            | IdType::ImeiMd5
    )
}

fn type_index(t: IdType) -> usize {
    IdType::ALL
        .iter()
        .position(|x| *x == t)
        .expect("every IdType is in ALL")
}

/// The identifiers of one type.
struct TypeIndex {
    /// Values stored as raw bytes of their hex text (all values of the type
    /// were lowercase hex of even length).
    hex: bool,
    arena: Vec<u8>,
    /// End of entry `i` in `arena` (its start is the previous end).
    ends: Vec<u32>,
    one_keys: Vec<u32>,
    table: HashTable<u32>,
}

impl TypeIndex {
    fn value(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.arena[start..self.ends[i] as usize]
    }

    fn memory_bytes(&self) -> usize {
        self.arena.capacity()
            + 4 * (self.ends.capacity() + self.one_keys.capacity())
            // hashbrown: a u32 slot and a control byte per bucket.
            + 5 * self.table.capacity()
    }
}

/// What loading `identity_map` found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IdentityLoadStats {
    pub identifiers: u64,
    /// Rows whose id_type is not one of the contract's (kept out: nobody can
    /// ask for them).
    pub unknown_types: u64,
    /// Rows repeating an identifier already seen (the first one_key wins).
    pub duplicates: u64,
}

/// Canonical identifier → one_key of one build.
pub struct IdentityIndex {
    types: Vec<TypeIndex>,
    hasher: RandomState,
    pub stats: IdentityLoadStats,
    max_key: u32,
}

/// Rows of one identifier type collected before the index is built.
#[derive(Default)]
struct Pending {
    arena: Vec<u8>,
    ends: Vec<u32>,
    one_keys: Vec<u32>,
    all_hex: bool,
}

impl IdentityIndex {
    /// Builds the index from `identity_map` batches (`id_type`, `id_value`,
    /// `one_key`; other columns are not needed). `file` names the source in
    /// errors.
    pub fn build(batches: &[(String, RecordBatch)]) -> Result<Self> {
        let mut pending: Vec<Pending> = (0..IdType::ALL.len())
            .map(|_| Pending {
                all_hex: true,
                ..Default::default()
            })
            .collect();
        let mut stats = IdentityLoadStats::default();
        let mut max_key = 0u32;
        for (file, batch) in batches {
            let column = |name: &'static str| {
                batch.column_by_name(name).ok_or_else(|| {
                    ServeError::table("identity_map", file, format!("no column {name}"))
                })
            };
            let types = column("id_type")?;
            let values = column("id_value")?;
            let keys = column("one_key")?;
            let types = types.as_string_opt::<i32>().ok_or_else(|| {
                ServeError::table(
                    "identity_map",
                    file,
                    format!("id_type is {} instead of Utf8", types.data_type()),
                )
            })?;
            let values = values.as_string_opt::<i32>().ok_or_else(|| {
                ServeError::table(
                    "identity_map",
                    file,
                    format!("id_value is {} instead of Utf8", values.data_type()),
                )
            })?;
            if keys.data_type() != &DataType::Int64 {
                return Err(ServeError::table(
                    "identity_map",
                    file,
                    format!("one_key is {} instead of Int64", keys.data_type()),
                ));
            }
            let keys = keys.as_primitive::<Int64Type>();
            // The id_type column holds a handful of distinct values: parse
            // each run once.
            let mut last: Option<(&str, Option<IdType>)> = None;
            for row in 0..batch.num_rows() {
                if types.is_null(row) || values.is_null(row) || keys.is_null(row) {
                    return Err(ServeError::table(
                        "identity_map",
                        file,
                        format!("row {row} has a null id_type, id_value or one_key"),
                    ));
                }
                let t = types.value(row);
                let parsed = match last {
                    Some((prev, parsed)) if prev == t => parsed,
                    _ => {
                        let parsed = t.parse::<IdType>().ok();
                        last = Some((t, parsed));
                        parsed
                    }
                };
                let Some(id_type) = parsed else {
                    stats.unknown_types += 1;
                    continue;
                };
                let key = checked_key(keys.value(row), file)?;
                max_key = max_key.max(key);
                let p = &mut pending[type_index(id_type)];
                let v = values.value(row).as_bytes();
                if p.all_hex && is_hex_type(id_type) {
                    p.all_hex = is_lower_hex(v);
                }
                p.arena.extend_from_slice(v);
                p.ends.push(u32::try_from(p.arena.len()).map_err(|_| {
                    ServeError::table(
                        "identity_map",
                        file,
                        format!("more than 4 GiB of {id_type} values"),
                    )
                })?);
                p.one_keys.push(key);
            }
        }
        let hasher = RandomState::new();
        let mut types = Vec::with_capacity(pending.len());
        for (i, p) in pending.into_iter().enumerate() {
            let hex = p.all_hex && is_hex_type(IdType::ALL[i]) && !p.ends.is_empty();
            let (arena, ends) = if hex {
                unhex_arena(&p.arena, &p.ends)
            } else {
                (p.arena, p.ends)
            };
            let mut index = TypeIndex {
                hex,
                arena,
                ends,
                one_keys: p.one_keys,
                table: HashTable::with_capacity(0),
            };
            let mut table = HashTable::with_capacity(index.ends.len());
            let mut keep_ends = Vec::with_capacity(index.ends.len());
            let mut keep_keys = Vec::with_capacity(index.ends.len());
            let mut arena = Vec::with_capacity(index.arena.len());
            for e in 0..index.ends.len() as u32 {
                let value = index.value(e);
                let hash = hasher.hash_one(value);
                let seen = table
                    .find(hash, |&j: &u32| {
                        let j = j as usize;
                        let start = if j == 0 { 0 } else { keep_ends[j - 1] as usize };
                        &arena[start..keep_ends[j] as usize] == value
                    })
                    .is_some();
                if seen {
                    stats.duplicates += 1;
                    continue;
                }
                arena.extend_from_slice(value);
                keep_ends.push(arena.len() as u32);
                keep_keys.push(index.one_keys[e as usize]);
                let n = (keep_ends.len() - 1) as u32;
                table.insert_unique(hash, n, |&j| {
                    let j = j as usize;
                    let start = if j == 0 { 0 } else { keep_ends[j - 1] as usize };
                    hasher.hash_one(&arena[start..keep_ends[j] as usize])
                });
            }
            stats.identifiers += keep_ends.len() as u64;
            arena.shrink_to_fit();
            keep_ends.shrink_to_fit();
            keep_keys.shrink_to_fit();
            index.arena = arena;
            index.ends = keep_ends;
            index.one_keys = keep_keys;
            index.table = table;
            types.push(index);
        }
        Ok(Self {
            types,
            hasher,
            stats,
            max_key,
        })
    }

    /// The one_key of a canonical identifier.
    pub fn lookup(&self, id_type: IdType, canonical: &str) -> Option<i64> {
        let index = &self.types[type_index(id_type)];
        if index.ends.is_empty() {
            return None;
        }
        let mut raw = [0u8; 64];
        let probe: &[u8] = if index.hex {
            let n = canonical.len() / 2;
            if !canonical.len().is_multiple_of(2)
                || n > raw.len()
                || !is_lower_hex(canonical.as_bytes())
            {
                return None;
            }
            hex::decode_to_slice(canonical, &mut raw[..n]).ok()?;
            &raw[..n]
        } else {
            canonical.as_bytes()
        };
        let hash = self.hasher.hash_one(probe);
        index
            .table
            .find(hash, |&j| index.value(j) == probe)
            .map(|&j| i64::from(index.one_keys[j as usize]))
    }

    /// Whether some identifier belongs to `one_key`.
    pub fn max_key(&self) -> i64 {
        i64::from(self.max_key)
    }

    pub fn memory_bytes(&self) -> usize {
        self.types.iter().map(TypeIndex::memory_bytes).sum()
    }

    /// Every one_key that has an identifier, as a bitmap indexed by key.
    pub fn key_bitmap(&self) -> Vec<u64> {
        let mut bits = vec![0u64; self.max_key as usize / 64 + 1];
        for t in &self.types {
            for &k in &t.one_keys {
                bits[k as usize / 64] |= 1 << (k % 64);
            }
        }
        bits
    }
}

/// one_keys are ≥ 1 and, here, below 2^32: four billion persons.
fn checked_key(key: i64, file: &str) -> Result<u32> {
    u32::try_from(key).ok().filter(|k| *k >= 1).ok_or_else(|| {
        ServeError::table(
            "identity_map",
            file,
            format!("one_key {key} is outside 1..2^32 (docs/architecture.md: one_key ≥ 1)"),
        )
    })
}

fn is_lower_hex(v: &[u8]) -> bool {
    v.len().is_multiple_of(2) && v.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The arena with every hex value replaced by its bytes.
fn unhex_arena(arena: &[u8], ends: &[u32]) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::with_capacity(arena.len() / 2);
    let mut out_ends = Vec::with_capacity(ends.len());
    let mut start = 0usize;
    for &end in ends {
        let text = &arena[start..end as usize];
        let n = out.len();
        out.resize(n + text.len() / 2, 0);
        hex::decode_to_slice(text, &mut out[n..]).expect("checked: lowercase hex of even length");
        out_ends.push(out.len() as u32);
        start = end as usize;
    }
    (out, out_ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn batch(rows: &[(&str, &str, i64)]) -> (String, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id_type", DataType::Utf8, false),
            Field::new("id_value", DataType::Utf8, false),
            Field::new("one_key", DataType::Int64, false),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            ],
        )
        .unwrap();
        ("identity_map/part-test-0.parquet".into(), b)
    }

    #[test]
    fn canonical_values_find_their_one_key() {
        let md5 = "e10adc3949ba59abbe56e057f20f883e";
        let index = IdentityIndex::build(&[batch(&[
            ("phone", "+8613800138000", 1),
            ("phone_md5", md5, 1),
            ("openid", "oAbC", 2),
            ("future_type", "x", 3),
            ("openid", "oAbC", 9),
        ])])
        .unwrap();
        assert_eq!(index.lookup(IdType::Phone, "+8613800138000"), Some(1));
        assert_eq!(index.lookup(IdType::PhoneMd5, md5), Some(1));
        assert_eq!(index.lookup(IdType::Openid, "oAbC"), Some(2));
        assert_eq!(index.lookup(IdType::Openid, "oabc"), None, "case is kept");
        assert_eq!(index.lookup(IdType::Phone, "+8613800138001"), None);
        assert_eq!(index.lookup(IdType::Email, "a@b.c"), None);
        assert_eq!(index.stats.unknown_types, 1);
        assert_eq!(index.stats.duplicates, 1, "the first one_key wins");
        assert!(index.types[type_index(IdType::PhoneMd5)].hex);
        assert_eq!(index.types[type_index(IdType::PhoneMd5)].arena.len(), 16);
    }

    #[test]
    fn a_hex_type_with_a_non_hex_value_is_stored_as_text() {
        let index = IdentityIndex::build(&[batch(&[
            ("imei_md5", "not-hex", 4),
            ("imei_md5", "0123456789abcdef0123456789abcdef", 5),
        ])])
        .unwrap();
        assert_eq!(index.lookup(IdType::ImeiMd5, "not-hex"), Some(4));
        assert_eq!(
            index.lookup(IdType::ImeiMd5, "0123456789abcdef0123456789abcdef"),
            Some(5)
        );
    }

    #[test]
    fn a_key_outside_the_interface_is_refused() {
        let err = IdentityIndex::build(&[batch(&[("openid", "o", 0)])])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("one_key 0"), "{err}");
        assert!(
            !err.contains("\"o\""),
            "no identifier value in errors: {err}"
        );
    }
}
