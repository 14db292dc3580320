//! Reading the `events` table: which files exist, which partition each is
//! in, and each row's identifiers.

use arrow::array::{
    Array, ArrayRef, AsArray, GenericListArray, PrimitiveArray, RecordBatch, StringArray,
    StructArray,
};
use arrow::datatypes::{Int32Type, TimestampMicrosecondType};
use cdp_lake::partition::hive_value;
use cdp_lake::schema::EVENTS_TABLE;
use cdp_lake::Lake;
use cdp_model::IdType;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::error::{IdentityError, Result};
use crate::nodes::{span, Packed};

/// One events partition: `(source, dt)` as in the Hive path.
pub type Partition = (String, String);

/// Every events data file of the lake, sorted.
pub async fn list_event_files(lake: &Lake) -> Result<Vec<String>> {
    Ok(lake
        .list(EVENTS_TABLE)
        .await?
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect())
}

/// The partition of an events (or resolved_events) file path.
pub fn partition_of(path: &str) -> Partition {
    (
        hive_value(path, "source").unwrap_or("unknown").to_string(),
        hive_value(path, "dt").unwrap_or("unknown").to_string(),
    )
}

/// The identifier type named by an `id_type` cell; a `match` is several
/// times faster than a search of `IdType::ALL`, and it runs per identifier.
pub fn parse_type(s: &str) -> Option<IdType> {
    Some(match s {
        "phone" => IdType::Phone,
        "phone_md5" => IdType::PhoneMd5,
        "phone_sha256" => IdType::PhoneSha256,
        "email" => IdType::Email,
        "openid" => IdType::Openid,
        "unionid" => IdType::Unionid,
        "member_id" => IdType::MemberId,
        "anonymous_id" => IdType::AnonymousId,
        "wecom_external_userid" => IdType::WecomExternalUserid,
        "android_id" => IdType::AndroidId,
        "idfa" => IdType::Idfa,
        "idfa_md5" => IdType::IdfaMd5,
        "oaid" => IdType::Oaid,
        "oaid_md5" => IdType::OaidMd5,
        "imei_md5" => IdType::ImeiMd5,
        _ => return None,
    })
}

/// The identifier columns of the events files, for
/// [`cdp_lake::parquet_io::decode_with_dictionaries`]: read as dictionaries,
/// a file's identifiers are its dictionary pages plus a key per occurrence.
pub const DICTIONARY_FIELDS: &[&str] = &["id_type", "id_value"];

/// A string column as decoded: plain, or as a dictionary.
enum Strings<'a> {
    Plain(&'a StringArray),
    Dictionary {
        keys: &'a PrimitiveArray<Int32Type>,
        values: &'a StringArray,
    },
}

impl<'a> Strings<'a> {
    fn of(array: &'a ArrayRef) -> Option<Self> {
        if let Some(plain) = array.as_string_opt::<i32>() {
            return Some(Self::Plain(plain));
        }
        let dictionary = array.as_dictionary_opt::<Int32Type>()?;
        Some(Self::Dictionary {
            keys: dictionary.keys(),
            values: dictionary.values().as_string_opt::<i32>()?,
        })
    }

    /// Value `j`, with its dictionary key (`None`: no dictionary), unless
    /// null.
    #[inline]
    fn get(&self, j: usize) -> Option<(&'a str, Option<u32>)> {
        match self {
            Self::Plain(a) => (!a.is_null(j)).then(|| (a.value(j), None)),
            Self::Dictionary { keys, values } => {
                if keys.is_null(j) {
                    return None;
                }
                let k = keys.value(j) as usize;
                (k < values.len() && !values.is_null(k)).then(|| (values.value(k), Some(k as u32)))
            }
        }
    }

    /// Distinct keys a dictionary can give (0 when plain).
    fn dictionary_len(&self) -> usize {
        match self {
            Self::Plain(_) => 0,
            Self::Dictionary { values, .. } => values.len(),
        }
    }
}

/// The identifiers and event times of a decoded events batch.
pub struct IdColumns<'a> {
    pub offsets: &'a [i32],
    types: Strings<'a>,
    /// The type of each dictionary key of `types` (parsed once per batch).
    type_of_key: Vec<Option<IdType>>,
    values: Strings<'a>,
    pub times: Option<&'a [i64]>,
}

impl<'a> IdColumns<'a> {
    pub fn of(location: &str, batch: &'a RecordBatch) -> Result<Self> {
        let bad = |column: &'static str, reason: &str| IdentityError::BadColumn {
            location: location.to_string(),
            column,
            reason: reason.to_string(),
        };
        let list: &GenericListArray<i32> = batch
            .column_by_name("identifiers")
            .ok_or_else(|| bad("identifiers", "missing"))?
            .as_list_opt::<i32>()
            .ok_or_else(|| bad("identifiers", "not a list"))?;
        let items: &StructArray = list
            .values()
            .as_struct_opt()
            .ok_or_else(|| bad("identifiers", "items are not structs"))?;
        let strings = |name: &'static str| -> Result<Strings<'a>> {
            let col = items
                .column_by_name(name)
                .ok_or_else(|| bad("identifiers", "no id_type / id_value"))?;
            Strings::of(col).ok_or_else(|| bad("identifiers", "id_type / id_value not Utf8"))
        };
        let times = match batch.column_by_name("event_time") {
            None => None,
            Some(t) => Some(
                t.as_primitive_opt::<TimestampMicrosecondType>()
                    .ok_or_else(|| bad("event_time", "not a timestamp"))?
                    .values()
                    .as_ref(),
            ),
        };
        let types = strings("id_type")?;
        let type_of_key = match &types {
            Strings::Plain(_) => Vec::new(),
            Strings::Dictionary { values, .. } => values
                .iter()
                .map(|name| name.and_then(parse_type))
                .collect(),
        };
        Ok(Self {
            offsets: list.value_offsets(),
            types,
            type_of_key,
            values: strings("id_value")?,
            times,
        })
    }

    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The (type, value) pairs of row `i`; unknown types are skipped.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (IdType, &'a str)> + '_ {
        self.row_keyed(i).map(|(t, v, _)| (t, v))
    }

    /// As [`IdColumns::row`], with each value's dictionary key (`None`
    /// when the values are not a dictionary): within the batch, equal keys
    /// are equal values.
    pub fn row_keyed(&self, i: usize) -> impl Iterator<Item = (IdType, &'a str, Option<u32>)> + '_ {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        (a..b).filter_map(move |j| {
            let t = match &self.types {
                Strings::Plain(types) => {
                    if types.is_null(j) {
                        return None;
                    }
                    parse_type(types.value(j))?
                }
                Strings::Dictionary { keys, .. } => {
                    if keys.is_null(j) {
                        return None;
                    }
                    (*self.type_of_key.get(keys.value(j) as usize)?)?
                }
            };
            let (v, key) = self.values.get(j)?;
            Some((t, v, key))
        })
    }

    /// Distinct keys [`IdColumns::row_keyed`] can give.
    pub fn value_keys(&self) -> usize {
        self.values.dictionary_len()
    }
}

/// No set: the row carries no identifier of a known type.
pub const NO_SET: u32 = u32::MAX;

/// The identifiers of one events file, deduplicated where the file is
/// decoded (a worker thread), so that the graph, which is built on one
/// thread, probes each distinct identifier and each distinct set of a file
/// once instead of once per event: a file holds each identifier about 2.4
/// times and each set about twice (1M-person world), and those probes were
/// the largest cost of reading (profiled).
///
/// Identifiers and sets are numbered in order of first occurrence (rows in
/// order, a row's identifiers in order), so that interning them in that
/// order gives the same node and set ids as interning event by event.
#[derive(Default)]
pub struct FileIds {
    types: Vec<IdType>,
    /// `value_ends[i - 1]..value_ends[i]` is identifier i's value in `text`.
    value_ends: Vec<u32>,
    text: String,
    /// First and last event time of each identifier.
    pub first_seen: Vec<i64>,
    pub last_seen: Vec<i64>,
    /// `set_ends[s - 1]..set_ends[s]` are set s's identifiers in
    /// `set_members`, ascending and distinct (at least one).
    set_ends: Vec<u32>,
    set_members: Vec<u32>,
    pub set_first_seen: Vec<i64>,
    pub set_last_seen: Vec<i64>,
    /// Events carrying exactly that set.
    pub set_events: Vec<u32>,
    /// The set of each row, or [`NO_SET`].
    pub row_sets: Vec<u32>,
    /// The identifiers as nodes store them, hashed.
    pub(crate) packed: Packed,
}

impl FileIds {
    /// The identifiers of the decoded batches of file `location`.
    pub fn of(location: &str, batches: &[RecordBatch]) -> Result<Self> {
        let hasher = FxBuildHasher;
        let mut out = Self::default();
        let mut ids_table: HashTable<u32> = HashTable::new();
        let mut sets_table: HashTable<u32> = HashTable::new();
        let mut row: Vec<u32> = Vec::with_capacity(16);
        // The identifier of each dictionary key of the batch's values, with
        // its type (`type + 1`; 0: not seen yet): an occurrence whose key
        // and type were seen is found without hashing its value.
        let mut by_key: Vec<(u8, u32)> = Vec::new();
        for batch in batches {
            let cols = IdColumns::of(location, batch)?;
            let times = cols.times.ok_or_else(|| IdentityError::BadColumn {
                location: location.to_string(),
                column: "event_time",
                reason: "missing".into(),
            })?;
            by_key.clear();
            by_key.resize(cols.value_keys(), (0, 0));
            // A batch has at most as many identifiers as its values'
            // dictionary has keys, and at most a set per row: sized once,
            // the tables never grow and rehash (profiled: 2.4% of a
            // resolve's CPU, the tables starting empty for every file).
            ids_table.reserve(cols.value_keys(), |&j| out.id_hash(j));
            sets_table.reserve(cols.rows(), |&s| out.set_hash(s));
            out.row_sets.reserve(cols.rows());
            for (i, &time) in times.iter().enumerate().take(cols.rows()) {
                row.clear();
                for (t, v, key) in cols.row_keyed(i) {
                    if let Some(&(seen, j)) = key.and_then(|k| by_key.get(k as usize)) {
                        if seen == t as u8 + 1 {
                            out.seen_at(j, time);
                            row.push(j);
                            continue;
                        }
                    }
                    let h = hasher.hash_one((t as u8, v));
                    let found = ids_table
                        .find(h, |&j| out.types[j as usize] == t && out.value(j) == v)
                        .copied();
                    let j = match found {
                        Some(j) => {
                            out.seen_at(j, time);
                            j
                        }
                        None => {
                            let j = out.types.len() as u32;
                            out.types.push(t);
                            out.text.push_str(v);
                            out.value_ends.push(out.text.len() as u32);
                            out.first_seen.push(time);
                            out.last_seen.push(time);
                            out.packed.push(t, v);
                            ids_table.insert_unique(h, j, |&k| out.id_hash(k));
                            j
                        }
                    };
                    if let Some(k) = key {
                        by_key[k as usize] = (t as u8 + 1, j);
                    }
                    row.push(j);
                }
                row.sort_unstable();
                row.dedup();
                if row.is_empty() {
                    out.row_sets.push(NO_SET);
                    continue;
                }
                let h = hasher.hash_one(row.as_slice());
                let found = sets_table
                    .find(h, |&s| out.set(s) == row.as_slice())
                    .copied();
                let s = match found {
                    Some(s) => {
                        let s_ = s as usize;
                        out.set_first_seen[s_] = out.set_first_seen[s_].min(time);
                        out.set_last_seen[s_] = out.set_last_seen[s_].max(time);
                        out.set_events[s_] = out.set_events[s_].saturating_add(1);
                        s
                    }
                    None => {
                        let s = out.set_events.len() as u32;
                        out.set_members.extend_from_slice(&row);
                        out.set_ends.push(out.set_members.len() as u32);
                        out.set_first_seen.push(time);
                        out.set_last_seen.push(time);
                        out.set_events.push(1);
                        sets_table.insert_unique(h, s, |&k| out.set_hash(k));
                        s
                    }
                };
                out.row_sets.push(s);
            }
        }
        Ok(out)
    }

    /// The table hash of identifier `j`: what its `(type, value)` was
    /// probed with.
    fn id_hash(&self, j: u32) -> u64 {
        FxBuildHasher.hash_one((self.types[j as usize] as u8, self.value(j)))
    }

    /// The table hash of set `s`: what its members were probed with.
    fn set_hash(&self, s: u32) -> u64 {
        FxBuildHasher.hash_one(self.set(s))
    }

    /// Identifier `j` occurs again, at `time`.
    #[inline]
    fn seen_at(&mut self, j: u32, time: i64) {
        let j = j as usize;
        self.first_seen[j] = self.first_seen[j].min(time);
        self.last_seen[j] = self.last_seen[j].max(time);
    }

    /// Distinct identifiers.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    pub fn id_type(&self, i: u32) -> IdType {
        self.types[i as usize]
    }

    pub fn value(&self, i: u32) -> &str {
        &self.text[span(&self.value_ends, i as usize)]
    }

    /// Distinct sets.
    pub fn sets(&self) -> usize {
        self.set_events.len()
    }

    /// The identifiers of set `s`, ascending.
    pub fn set(&self, s: u32) -> &[u32] {
        &self.set_members[span(&self.set_ends, s as usize)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_parses() {
        for t in IdType::ALL {
            assert_eq!(parse_type(t.as_str()), Some(t));
        }
        assert_eq!(parse_type("imei"), None);
    }

    #[test]
    fn partitions_come_from_the_hive_path() {
        assert_eq!(
            partition_of("events/source=ad/dt=2026-03-01/part-1.parquet"),
            ("ad".to_string(), "2026-03-01".to_string())
        );
    }
}
