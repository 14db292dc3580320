//! The identifiers of the graph, interned once into compact integer node
//! ids: one byte of type, the value in one shared arena (hex hashes packed to
//! bytes: a sha256 takes 32 bytes, not 64), first and last seen, and a hash
//! table that stores node ids and 32 bits of their hash (so that growing it
//! does not chase every value again: that was a tenth of reading, profiled).
//!
//! Memory per identifier: 1 (type) + 4 (arena offset) + the packed value
//! (about 20 bytes on average) + 16 (first/last seen) + 1 (flags) + about 12
//! for the hash table (8 bytes a slot): roughly 54 bytes.

use std::cmp::Ordering;

use cdp_model::IdType;
use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::error::{IdentityError, Result};
use crate::rules::{type_index, type_of, Rules};

/// No node.
pub(crate) const NONE: u32 = u32::MAX;

/// Flag bits of a node.
pub mod flag {
    /// Seen with implausibly many strong identifiers: excluded from merging.
    pub const HOT: u8 = 1;
    /// Detached by `cdp identity unbind`: never merged with anything.
    pub const UNBOUND: u8 = 2;
    /// Erased by `cdp forget`: its value is gone.
    pub const ERASED: u8 = 4;
    /// Junk under the current junk list (extended after it was ingested).
    pub const JUNK: u8 = 8;
    /// Any of these keeps a node out of every merge and out of identity_map.
    pub const EXCLUDED: u8 = HOT | ERASED | JUNK;
}

/// Rank of each type (by `IdType::ALL` index) in the order of its name.
fn name_order() -> &'static [u8; 15] {
    static ORDER: std::sync::OnceLock<[u8; 15]> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let mut rank = [0u8; 15];
        for (i, t) in IdType::ALL.iter().enumerate() {
            rank[i] = IdType::ALL
                .iter()
                .filter(|o| o.as_str() < t.as_str())
                .count() as u8;
        }
        rank
    })
}

/// The packed value's bytes are hex digits turned into bytes.
const PACKED: u8 = 0x80;

/// Hex-valued types and their hex length.
fn hex_len(t: IdType) -> Option<usize> {
    match t {
        IdType::PhoneMd5 | IdType::IdfaMd5 | IdType::OaidMd5 | IdType::ImeiMd5 => Some(32),
        IdType::PhoneSha256 => Some(64),
        _ => None,
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The tag and stored bytes of a value: lowercase hex of the expected length
/// is packed, anything else is kept as it is.
fn pack<'a>(t: IdType, value: &'a str, buf: &'a mut [u8; 32]) -> (u8, &'a [u8]) {
    let tag = type_index(t) as u8;
    if let Some(len) = hex_len(t) {
        let v = value.as_bytes();
        if v.len() == len {
            let mut ok = true;
            for (i, pair) in v.chunks_exact(2).enumerate() {
                match (hex_digit(pair[0]), hex_digit(pair[1])) {
                    (Some(h), Some(l)) => buf[i] = h << 4 | l,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                return (tag | PACKED, &buf[..len / 2]);
            }
        }
    }
    (tag, value.as_bytes())
}

fn unpack(tag: u8, bytes: &[u8]) -> String {
    if tag & PACKED != 0 {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        s
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// The table's 64-bit hash of a stored 32-bit one: its low bits pick the
/// bucket, its top bits are the tag hashbrown compares first.
fn spread(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

/// Fetches the cache line of `x` ahead of its use; only a hint.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and reads nothing; `x` is a valid reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Where item `i` lies in a buffer of items laid end to end, `ends[i]`
/// being where item i ends (the layout of packed values and of sets).
#[inline]
pub(crate) fn span(ends: &[u32], i: usize) -> std::ops::Range<usize> {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    start..ends[i] as usize
}

/// Identifiers packed for [`Nodes::intern_distinct`].
#[derive(Default)]
struct Packed {
    tags: Vec<u8>,
    ends: Vec<u32>,
    bytes: Vec<u8>,
    hashes: Vec<u32>,
}

impl Packed {
    fn push(&mut self, tag: u8, bytes: &[u8], hash: u32) {
        self.tags.push(tag);
        self.bytes.extend_from_slice(bytes);
        self.ends.push(self.bytes.len() as u32);
        self.hashes.push(hash);
    }

    fn get(&self, i: usize) -> (u8, &[u8]) {
        (self.tags[i], &self.bytes[span(&self.ends, i)])
    }
}

#[derive(Default)]
pub struct Nodes {
    tags: Vec<u8>,
    /// `offsets[n]..offsets[n + 1]` is node n's value in `arena`.
    offsets: Vec<u32>,
    arena: Vec<u8>,
    pub(crate) first_seen: Vec<i64>,
    pub(crate) last_seen: Vec<i64>,
    pub(crate) flags: Vec<u8>,
    /// (node, hash32) of every node not erased.
    table: HashTable<(u32, u32)>,
    hasher: FxBuildHasher,
}

impl Nodes {
    pub fn new() -> Self {
        Self {
            offsets: vec![0],
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Fetches node `n`'s type, value offsets and times ahead of their use
    /// (a pass over nodes in another order than theirs misses the cache on
    /// each); only a hint.
    #[inline(always)]
    pub(crate) fn prefetch_node(&self, n: u32) {
        let n = n as usize;
        if n < self.tags.len() {
            prefetch(&self.tags[n]);
            prefetch(&self.offsets[n]);
            prefetch(&self.first_seen[n]);
            prefetch(&self.last_seen[n]);
        }
    }

    /// Fetches node `n`'s value ahead of its use; best after
    /// [`Nodes::prefetch_node`] had time to bring its offsets.
    #[inline(always)]
    pub(crate) fn prefetch_value(&self, n: u32) {
        if let Some(&start) = self.offsets.get(n as usize) {
            if let Some(byte) = self.arena.get(start as usize) {
                prefetch(byte);
            }
        }
    }

    /// 32 bits of the value's hash: the table keeps them beside each node.
    fn hash(&self, tag: u8, bytes: &[u8]) -> u32 {
        (self.hasher.hash_one((tag, bytes)) >> 32) as u32
    }

    fn stored(&self, n: u32) -> (u8, &[u8]) {
        let n = n as usize;
        let (a, b) = (self.offsets[n] as usize, self.offsets[n + 1] as usize);
        (self.tags[n], &self.arena[a..b])
    }

    /// The node of an identifier, if interned.
    pub fn find(&self, t: IdType, value: &str) -> Option<u32> {
        let mut buf = [0u8; 32];
        let (tag, bytes) = pack(t, value, &mut buf);
        let h = self.hash(tag, bytes);
        self.table
            .find(spread(h), |&(n, hn)| {
                hn == h && self.stored(n) == (tag, bytes)
            })
            .map(|&(n, _)| n)
    }

    /// Interns an identifier seen at `time`, widening its first/last seen.
    pub fn intern(&mut self, t: IdType, value: &str, time: i64) -> Result<u32> {
        self.intern_seen(t, value, time, time)
    }

    /// Interns an identifier seen from `first` to `last`: the same as
    /// interning it at each of its times, in one probe.
    pub fn intern_seen(&mut self, t: IdType, value: &str, first: i64, last: i64) -> Result<u32> {
        let mut buf = [0u8; 32];
        let (tag, bytes) = pack(t, value, &mut buf);
        let h = self.hash(tag, bytes);
        self.intern_packed(tag, bytes, h, first, last)
    }

    fn intern_packed(
        &mut self,
        tag: u8,
        bytes: &[u8],
        h: u32,
        first: i64,
        last: i64,
    ) -> Result<u32> {
        let Self {
            table,
            tags,
            offsets,
            arena,
            ..
        } = self;
        let stored = |n: u32| {
            let n = n as usize;
            (
                tags[n],
                &arena[offsets[n] as usize..offsets[n + 1] as usize],
            )
        };
        if let Some(&(n, _)) =
            table.find(spread(h), |&(n, hn)| hn == h && stored(n) == (tag, bytes))
        {
            self.widen_seen(n, first, last);
            return Ok(n);
        }
        let n = u32::try_from(tags.len()).ok().filter(|&n| n < NONE).ok_or(
            IdentityError::TooLarge {
                what: "node ids",
                limit: u64::from(NONE),
            },
        )?;
        arena.extend_from_slice(bytes);
        let end = u32::try_from(arena.len()).map_err(|_| IdentityError::TooLarge {
            what: "identifier arena",
            limit: u64::from(u32::MAX),
        })?;
        offsets.push(end);
        tags.push(tag);
        table.insert_unique(spread(h), (n, h), |&(_, hm)| spread(hm));
        self.first_seen.push(first);
        self.last_seen.push(last);
        self.flags.push(0);
        Ok(n)
    }

    /// Node `n` seen from `first` to `last` as well.
    fn widen_seen(&mut self, n: u32, first: i64, last: i64) {
        let i = n as usize;
        self.first_seen[i] = self.first_seen[i].min(first);
        self.last_seen[i] = self.last_seen[i].max(last);
    }

    /// Interns distinct identifiers `ids` in order, identifier i seen from
    /// `first[i]` to `last[i]`: the same node ids as as many
    /// [`Self::intern_seen`] calls, 1.7 times faster at 1M persons
    /// (measured). One by one, each probe waits in turn for about six cache
    /// misses (table, type, offsets, value, first and last seen: at 1M
    /// persons all far larger than the cache), and interning was the largest
    /// cost of a resolve (profiled). Here every table probe runs first, each
    /// independent of the others so that their misses overlap, and
    /// prefetches what the comparison reads; then candidates are compared
    /// and new identifiers inserted, in order.
    pub fn intern_distinct<'v>(
        &mut self,
        ids: impl Iterator<Item = (IdType, &'v str)>,
        first: &[i64],
        last: &[i64],
    ) -> Result<Vec<u32>> {
        let mut packed = Packed::default();
        for (t, v) in ids {
            let mut buf = [0u8; 32];
            let (tag, bytes) = pack(t, v, &mut buf);
            packed.push(tag, bytes, self.hash(tag, bytes));
        }
        let candidates: Vec<u32> = packed
            .hashes
            .iter()
            .map(|&h| match self.table.find(spread(h), |&(_, hn)| hn == h) {
                Some(&(n, _)) => {
                    self.prefetch_node(n);
                    n
                }
                None => NONE,
            })
            .collect();
        let mut out = Vec::with_capacity(candidates.len());
        for (i, &n) in candidates.iter().enumerate() {
            if let Some(&ahead) = candidates.get(i + 8).filter(|&&a| a != NONE) {
                self.prefetch_value(ahead);
            }
            let (tag, bytes) = packed.get(i);
            if n != NONE && self.stored(n) == (tag, bytes) {
                self.widen_seen(n, first[i], last[i]);
                out.push(n);
            } else {
                // New, or another value shares the 32-bit hash: the full probe.
                out.push(self.intern_packed(tag, bytes, packed.hashes[i], first[i], last[i])?);
            }
        }
        Ok(out)
    }

    /// Adds a node from the stored state (already packed), keeping order.
    pub(crate) fn push_stored(
        &mut self,
        tag: u8,
        bytes: &[u8],
        first_seen: i64,
        last_seen: i64,
        flags: u8,
    ) -> Result<u32> {
        let n = self.tags.len() as u32;
        self.arena.extend_from_slice(bytes);
        let end = u32::try_from(self.arena.len()).map_err(|_| IdentityError::TooLarge {
            what: "identifier arena",
            limit: u64::from(u32::MAX),
        })?;
        self.offsets.push(end);
        self.tags.push(tag);
        self.first_seen.push(first_seen);
        self.last_seen.push(last_seen);
        self.flags.push(flags);
        if flags & flag::ERASED == 0 {
            let h = self.hash(tag, bytes);
            self.table
                .insert_unique(spread(h), (n, h), |&(_, hm)| spread(hm));
        }
        Ok(n)
    }

    /// The stored form (tag, packed bytes) of a node, for the state file.
    pub(crate) fn stored_form(&self, n: u32) -> (u8, &[u8]) {
        self.stored(n)
    }

    pub fn id_type(&self, n: u32) -> IdType {
        type_of(self.tags[n as usize] & !PACKED)
    }

    pub(crate) fn type_ix(&self, n: u32) -> u8 {
        self.tags[n as usize] & !PACKED
    }

    /// The canonical value (hashes back in lowercase hex).
    pub fn value(&self, n: u32) -> String {
        let (tag, bytes) = self.stored(n);
        unpack(tag, bytes)
    }

    /// Writes the canonical value into `out` (no allocation when it has room).
    pub fn write_value(&self, n: u32, out: &mut String) {
        let (tag, bytes) = self.stored(n);
        if tag & PACKED != 0 {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for b in bytes {
                out.push(char::from(DIGITS[usize::from(b >> 4)]));
                out.push(char::from(DIGITS[usize::from(b & 15)]));
            }
        } else {
            // Values were interned from `&str`: the check (with its ASCII
            // fast path) always passes; the lossy form would walk them slower.
            match std::str::from_utf8(bytes) {
                Ok(text) => out.push_str(text),
                Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
            }
        }
    }

    /// A key whose order agrees with [`Nodes::cmp_canonical`] wherever it
    /// differs: the type's rank by name, then the first 15 bytes of the
    /// canonical text (shorter values padded with zero bytes, which sort
    /// first like a shorter string does).
    pub fn sort_prefix(&self, n: u32) -> u128 {
        let (tag, bytes) = self.stored(n);
        let mut key = [0u8; 16];
        key[0] = name_order()[usize::from(tag & !PACKED)];
        if tag & PACKED != 0 {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for (i, b) in bytes.iter().take(8).enumerate() {
                let (hi, lo) = (DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]);
                if 1 + 2 * i < 16 {
                    key[1 + 2 * i] = hi;
                }
                if 2 + 2 * i < 16 {
                    key[2 + 2 * i] = lo;
                }
            }
        } else {
            for (i, &b) in bytes.iter().take(15).enumerate() {
                key[1 + i] = b;
            }
        }
        u128::from_be_bytes(key)
    }

    /// `TYPE:VALUE`.
    pub fn display(&self, n: u32) -> String {
        format!("{}:{}", self.id_type(n), self.value(n))
    }

    pub fn flags(&self, n: u32) -> u8 {
        self.flags[n as usize]
    }

    pub fn is_excluded(&self, n: u32) -> bool {
        self.flags[n as usize] & flag::EXCLUDED != 0
    }

    /// Forgets a node's value: the arena bytes are zeroed and it can no
    /// longer be found; its id stays so that sets keep their shape.
    pub(crate) fn erase(&mut self, n: u32) {
        let (tag, bytes) = self.stored(n);
        let h = self.hash(tag, bytes);
        if let Ok(entry) = self.table.find_entry(spread(h), |&(m, _)| m == n) {
            entry.remove();
        }
        let i = n as usize;
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        self.arena[a..b].fill(0);
        self.flags[i] |= flag::ERASED;
    }

    /// The canonical order of identifiers: type name, then value (the
    /// order one_key ties are broken by, and identity_map's row order).
    pub fn cmp_canonical(&self, a: u32, b: u32) -> Ordering {
        let (ta, va) = self.stored(a);
        let (tb, vb) = self.stored(b);
        let (xa, xb) = (ta & !PACKED, tb & !PACKED);
        if xa != xb {
            let order = name_order();
            return order[usize::from(xa)].cmp(&order[usize::from(xb)]);
        }
        if ta == tb {
            // Same packing: packed hex compares like its hex text.
            return va.cmp(vb);
        }
        self.value(a).cmp(&self.value(b))
    }

    /// The priority order of the rules: strongest type first, then the
    /// canonical order. The first non-excluded node of an event in this
    /// order is the event's anchor: the event belongs to its one_id.
    pub fn cmp_priority(&self, rules: &Rules, a: u32, b: u32) -> Ordering {
        rules
            .rank_ix(self.type_ix(a))
            .cmp(&rules.rank_ix(self.type_ix(b)))
            .then_with(|| self.cmp_canonical(a, b))
    }

    /// Bytes held, for the memory figure of the summary.
    pub fn heap_bytes(&self) -> usize {
        self.tags.capacity()
            + self.offsets.capacity() * 4
            + self.arena.capacity()
            + (self.first_seen.capacity() + self.last_seen.capacity()) * 8
            + self.flags.capacity()
            + self.table.capacity() * 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_one_id_per_identifier_and_widens_seen_times() {
        let mut n = Nodes::new();
        let a = n.intern(IdType::Phone, "+8613800138000", 20).unwrap();
        let b = n.intern(IdType::Openid, "+8613800138000", 5).unwrap();
        assert_ne!(a, b, "same value, other type: another identifier");
        assert_eq!(n.intern(IdType::Phone, "+8613800138000", 10).unwrap(), a);
        assert_eq!(
            (n.first_seen[a as usize], n.last_seen[a as usize]),
            (10, 20)
        );
        assert_eq!(n.find(IdType::Openid, "+8613800138000"), Some(b));
        assert_eq!(n.find(IdType::Email, "+8613800138000"), None);
        assert_eq!(n.display(a), "phone:+8613800138000");
    }

    #[test]
    fn interning_distinct_identifiers_at_once_equals_one_by_one() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let ids = [
            (IdType::Phone, "+8613800138000", 7, 9),
            (IdType::PhoneMd5, md5, 1, 2),
            (IdType::Openid, "o-new", 3, 3),
            (IdType::PhoneMd5, "NOT-HEX", 4, 5),
        ];
        let (mut one, mut all) = (Nodes::new(), Nodes::new());
        for n in [&mut one, &mut all] {
            n.intern(IdType::Phone, "+8613800138000", 20).unwrap();
            n.intern(IdType::PhoneMd5, md5, 0).unwrap();
        }
        let expected: Vec<u32> = ids
            .iter()
            .map(|&(t, v, f, l)| one.intern_seen(t, v, f, l).unwrap())
            .collect();
        let first: Vec<i64> = ids.iter().map(|i| i.2).collect();
        let last: Vec<i64> = ids.iter().map(|i| i.3).collect();
        let got = all
            .intern_distinct(ids.iter().map(|&(t, v, _, _)| (t, v)), &first, &last)
            .unwrap();
        assert_eq!(got, expected);
        assert_eq!(got, [0, 1, 2, 3]);
        assert_eq!(all.len(), one.len());
        for n in 0..all.len() as u32 {
            assert_eq!(all.display(n), one.display(n));
            let i = n as usize;
            assert_eq!(
                (all.first_seen[i], all.last_seen[i]),
                (one.first_seen[i], one.last_seen[i])
            );
        }
        assert_eq!((all.first_seen[0], all.last_seen[0]), (7, 20));
        assert_eq!(all.find(IdType::Openid, "o-new"), Some(2));
    }

    #[test]
    fn hex_hashes_are_packed_and_read_back() {
        let mut n = Nodes::new();
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let a = n.intern(IdType::PhoneSha256, sha, 0).unwrap();
        assert_eq!(n.value(a), sha);
        assert_eq!(n.stored_form(a).1.len(), 32);
        // Not hex of the right length: kept as it is, still found.
        let b = n.intern(IdType::PhoneMd5, "NOT-HEX", 0).unwrap();
        assert_eq!(n.value(b), "NOT-HEX");
        assert_eq!(n.find(IdType::PhoneMd5, "NOT-HEX"), Some(b));
    }

    #[test]
    fn canonical_order_is_type_name_then_value_text() {
        let mut n = Nodes::new();
        let md5_b = n.intern(IdType::PhoneMd5, &"b".repeat(32), 0).unwrap();
        let md5_a = n.intern(IdType::PhoneMd5, &"a".repeat(32), 0).unwrap();
        let phone = n.intern(IdType::Phone, "+8613900000001", 0).unwrap();
        assert_eq!(n.cmp_canonical(md5_a, md5_b), Ordering::Less);
        assert_eq!(
            n.cmp_canonical(phone, md5_a),
            Ordering::Less,
            "phone < phone_md5"
        );
        let rules = Rules::default();
        let member = n.intern(IdType::MemberId, "M9", 0).unwrap();
        assert_eq!(n.cmp_priority(&rules, member, phone), Ordering::Less);
    }

    #[test]
    fn the_sort_prefix_agrees_with_the_canonical_order() {
        let mut n = Nodes::new();
        let ids = [
            (IdType::Phone, "+8613900000001"),
            (IdType::Phone, "+8613900000001999"),
            (IdType::Phone, "+861390000000"),
            (IdType::PhoneMd5, "0123456789abcdef0123456789abcdef"),
            (IdType::PhoneMd5, "0123456789abcdef0123456789abcdee"),
            (IdType::PhoneMd5, "NOT-HEX"),
            (IdType::Email, "a@b.cn"),
            (IdType::AnonymousId, "wxa-0000000000000001"),
            (IdType::AnonymousId, "wxa-0000000000000000"),
        ];
        let nodes: Vec<u32> = ids
            .iter()
            .map(|(t, v)| n.intern(*t, v, 0).unwrap())
            .collect();
        for &a in &nodes {
            for &b in &nodes {
                let by_prefix = n.sort_prefix(a).cmp(&n.sort_prefix(b));
                if by_prefix != Ordering::Equal {
                    assert_eq!(
                        by_prefix,
                        n.cmp_canonical(a, b),
                        "{} vs {}",
                        n.display(a),
                        n.display(b)
                    );
                }
            }
        }
    }

    #[test]
    fn erased_nodes_keep_their_id_but_lose_their_value() {
        let mut n = Nodes::new();
        let a = n.intern(IdType::Email, "li@example.com", 0).unwrap();
        let b = n.intern(IdType::Email, "wang@example.com", 0).unwrap();
        n.erase(a);
        assert_eq!(n.find(IdType::Email, "li@example.com"), None);
        assert_eq!(n.find(IdType::Email, "wang@example.com"), Some(b));
        assert!(!n.value(a).contains("li"));
        assert!(n.is_excluded(a));
    }
}
