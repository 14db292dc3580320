//! The identifiers of the graph, interned once into compact integer node
//! ids: one byte of type, the value in one shared arena (hex hashes packed to
//! bytes: a sha256 takes 32 bytes, not 64), first and last seen, and a hash
//! table that stores node ids and 32 bits of their hash (so that growing it
//! does not chase every value again: that was a tenth of reading, profiled).
//!
//! Memory per identifier: 8 (type and arena offset) + the packed value
//! (about 20 bytes on average) + 16 (first/last seen) + 1 (flags) + 11 to 21
//! for the hash table (8-byte slots, grown at 3/4 full): roughly 60 bytes.

use std::cmp::Ordering;

use cdp_model::IdType;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::error::{IdentityError, Result};
use crate::id_table::IdTable;
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

/// How many lookups apart the stages of [`Nodes::intern_packed_distinct`] run:
/// far enough for a miss to be served before its stage comes, near enough
/// for what it fetched to still be in the cache.
const AHEAD: usize = 8;

/// Where node `n`'s value lies in an arena of `arena_len` bytes.
#[inline]
fn value_span(heads: &[Head], arena_len: usize, n: usize) -> std::ops::Range<usize> {
    let end = heads
        .get(n + 1)
        .map_or(arena_len, |next| next.start as usize);
    heads[n].start as usize..end
}

/// Node `n`'s tag and stored bytes.
#[inline]
fn stored_in<'a>(heads: &[Head], arena: &'a [u8], n: u32) -> (u8, &'a [u8]) {
    let n = n as usize;
    (heads[n].tag, &arena[value_span(heads, arena.len(), n)])
}

/// Appends a node's tag and stored bytes.
fn push_value(heads: &mut Vec<Head>, arena: &mut Vec<u8>, tag: u8, bytes: &[u8]) -> Result<()> {
    let too_large = || IdentityError::TooLarge {
        what: "identifier arena",
        limit: u64::from(u32::MAX),
    };
    let start = u32::try_from(arena.len()).map_err(|_| too_large())?;
    u32::try_from(arena.len() + bytes.len()).map_err(|_| too_large())?;
    arena.extend_from_slice(bytes);
    heads.push(Head { start, tag });
    Ok(())
}

/// 32 bits of a stored value's hash: the table keeps them beside each node.
fn hash_stored(tag: u8, bytes: &[u8]) -> u32 {
    (FxBuildHasher.hash_one((tag, bytes)) >> 32) as u32
}

/// Identifiers in the form nodes store them, with their hash: what
/// [`Nodes::intern_packed_distinct`] interns. Built where a file is decoded
/// (a worker thread), so that the thread that interns does not pack hex
/// digits and hash: that took about a sixth of its CPU off (measured).
#[derive(Default)]
pub(crate) struct Packed {
    tags: Vec<u8>,
    ends: Vec<u32>,
    bytes: Vec<u8>,
    hashes: Vec<u32>,
}

impl Packed {
    pub(crate) fn push(&mut self, t: IdType, value: &str) {
        let mut buf = [0u8; 32];
        let (tag, bytes) = pack(t, value, &mut buf);
        self.tags.push(tag);
        self.bytes.extend_from_slice(bytes);
        self.ends.push(self.bytes.len() as u32);
        self.hashes.push(hash_stored(tag, bytes));
    }

    pub(crate) fn len(&self) -> usize {
        self.tags.len()
    }

    fn get(&self, i: usize) -> (u8, &[u8]) {
        (self.tags[i], &self.bytes[span(&self.ends, i)])
    }
}

/// A node's type tag and where its value starts in the arena, side by side:
/// a lookup reads both, and apart they were two cache misses.
#[derive(Clone, Copy)]
struct Head {
    start: u32,
    tag: u8,
}

#[derive(Default)]
pub struct Nodes {
    /// Node n's value is `arena[heads[n].start..]` up to the next node's.
    heads: Vec<Head>,
    arena: Vec<u8>,
    pub(crate) first_seen: Vec<i64>,
    pub(crate) last_seen: Vec<i64>,
    pub(crate) flags: Vec<u8>,
    /// Every node not erased, by 32 bits of its hash.
    table: IdTable,
}

impl Nodes {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    /// Fetches node `n`'s type, value offset and times ahead of their use
    /// (a pass over nodes in another order than theirs misses the cache on
    /// each); only a hint.
    #[inline(always)]
    pub(crate) fn prefetch_node(&self, n: u32) {
        let n = n as usize;
        if n < self.heads.len() {
            prefetch(&self.heads[n]);
            prefetch(&self.first_seen[n]);
            prefetch(&self.last_seen[n]);
        }
    }

    /// Fetches node `n`'s value ahead of its use; best after
    /// [`Nodes::prefetch_node`] had time to bring its offset.
    #[inline(always)]
    pub(crate) fn prefetch_value(&self, n: u32) {
        if let Some(head) = self.heads.get(n as usize) {
            if let Some(byte) = self.arena.get(head.start as usize) {
                prefetch(byte);
            }
        }
    }

    fn stored(&self, n: u32) -> (u8, &[u8]) {
        stored_in(&self.heads, &self.arena, n)
    }

    /// The node of an identifier, if interned.
    pub fn find(&self, t: IdType, value: &str) -> Option<u32> {
        let mut buf = [0u8; 32];
        let (tag, bytes) = pack(t, value, &mut buf);
        let h = hash_stored(tag, bytes);
        self.table.find(h, |n| self.stored(n) == (tag, bytes))
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
        let h = hash_stored(tag, bytes);
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
            heads,
            arena,
            ..
        } = self;
        if let Some(n) = table.find(h, |n| stored_in(heads, arena, n) == (tag, bytes)) {
            self.widen_seen(n, first, last);
            return Ok(n);
        }
        let n = u32::try_from(heads.len())
            .ok()
            .filter(|&n| n < NONE)
            .ok_or(IdentityError::TooLarge {
                what: "node ids",
                limit: u64::from(NONE),
            })?;
        push_value(heads, arena, tag, bytes)?;
        table.insert(h, n);
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

    /// Interns distinct identifiers `packed` in order, identifier i seen from
    /// `first[i]` to `last[i]`: the same node ids as as many
    /// [`Self::intern_seen`] calls, faster. One by one, each lookup waits
    /// in turn for about five cache misses (table slot, type and offset,
    /// value, first and last seen: at 1M persons all far larger than the
    /// cache), and interning was the largest cost of reading events
    /// (profiled). Here the lookups run as a pipeline:
    /// the slot of the identifier [`AHEAD`] × 3 places on is fetched, the
    /// node in the slot of the one 2 × [`AHEAD`] on, the value of the one
    /// [`AHEAD`] on, and the current one is interned as by `intern_seen`
    /// from what is by then in the cache. The fetches are only hints: a
    /// node inserted meanwhile is found by the lookup that counts.
    pub(crate) fn intern_packed_distinct(
        &mut self,
        packed: &Packed,
        first: &[i64],
        last: &[i64],
    ) -> Result<Vec<u32>> {
        let len = packed.len();
        // Grown now, not midway, the table keeps the slots fetched ahead.
        self.table.reserve(len);
        let mut candidates = vec![NONE; len];
        let mut out = Vec::with_capacity(len);
        for i in 0..len + 3 * AHEAD {
            if let Some(&h) = packed.hashes.get(i) {
                self.table.prefetch(h);
            }
            if let Some(j) = i.checked_sub(AHEAD).filter(|&j| j < len) {
                if let Some(n) = self.table.candidate(packed.hashes[j]) {
                    candidates[j] = n;
                    self.prefetch_node(n);
                }
            }
            if let Some(j) = i.checked_sub(2 * AHEAD).filter(|&j| j < len) {
                if candidates[j] != NONE {
                    self.prefetch_value(candidates[j]);
                }
            }
            if let Some(j) = i.checked_sub(3 * AHEAD).filter(|&j| j < len) {
                let (tag, bytes) = packed.get(j);
                out.push(self.intern_packed(tag, bytes, packed.hashes[j], first[j], last[j])?);
            }
        }
        Ok(out)
    }

    /// Room for `nodes` more nodes with `value_bytes` of stored values, so
    /// that loading a state of known size never grows the table (each
    /// growth re-places every node) nor copies the arrays.
    pub(crate) fn reserve(&mut self, nodes: usize, value_bytes: usize) {
        self.heads.reserve(nodes);
        self.arena.reserve(value_bytes);
        self.first_seen.reserve(nodes);
        self.last_seen.reserve(nodes);
        self.flags.reserve(nodes);
        self.table.reserve(nodes);
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
        let n = self.heads.len() as u32;
        push_value(&mut self.heads, &mut self.arena, tag, bytes)?;
        self.first_seen.push(first_seen);
        self.last_seen.push(last_seen);
        self.flags.push(flags);
        if flags & flag::ERASED == 0 {
            let h = hash_stored(tag, bytes);
            self.table.insert(h, n);
        }
        Ok(n)
    }

    /// The stored form (tag, packed bytes) of a node, for the state file.
    pub(crate) fn stored_form(&self, n: u32) -> (u8, &[u8]) {
        self.stored(n)
    }

    pub fn id_type(&self, n: u32) -> IdType {
        type_of(self.heads[n as usize].tag & !PACKED)
    }

    pub(crate) fn type_ix(&self, n: u32) -> u8 {
        self.heads[n as usize].tag & !PACKED
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
        let h = hash_stored(tag, bytes);
        self.table.remove(h, n);
        let i = n as usize;
        let value = value_span(&self.heads, self.arena.len(), i);
        self.arena[value].fill(0);
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
        self.heads.capacity() * std::mem::size_of::<Head>()
            + self.arena.capacity()
            + (self.first_seen.capacity() + self.last_seen.capacity()) * 8
            + self.flags.capacity()
            + self.table.bytes()
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
        let mut packed = Packed::default();
        for &(t, v, _, _) in &ids {
            packed.push(t, v);
        }
        let got = all.intern_packed_distinct(&packed, &first, &last).unwrap();
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
