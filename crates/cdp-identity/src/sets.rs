//! The edges of the graph, kept as the distinct sets of identifiers that
//! occur together in one event (hyperedges). A person's thousand page views
//! carry the same few sets, so the lake's 10 events per person shrink to
//! about 3 sets; and a set keeps what a plain edge list loses: which
//! identifier was the event's strongest, so an edge refused today can be
//! explained, and a split (unbind, forget) can be replayed from the sets.
//!
//! Memory per set: its members (4 bytes each, about 4 per set) + 4 (offset)
//! + 16 (first/last seen) + 4 (events) + about 12 for the hash table.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::error::{IdentityError, Result};
use crate::nodes::{prefetch, span};

/// The table's 64-bit hash of a stored 32-bit one (as in `nodes`).
fn spread(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

#[derive(Default)]
pub struct Sets {
    /// `offsets[s]..offsets[s + 1]` are set s's node ids in `members`,
    /// ascending.
    offsets: Vec<u32>,
    members: Vec<u32>,
    pub(crate) first_seen: Vec<i64>,
    pub(crate) last_seen: Vec<i64>,
    /// Events that carried exactly this set.
    pub(crate) events: Vec<u32>,
    /// (set, hash32): growing the table needs no member lists.
    table: HashTable<(u32, u32)>,
    hasher: FxBuildHasher,
}

impl Sets {
    pub fn new() -> Self {
        Self {
            offsets: vec![0],
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.first_seen.len()
    }

    fn hash(&self, nodes: &[u32]) -> u32 {
        (self.hasher.hash_one(nodes) >> 32) as u32
    }

    pub fn is_empty(&self) -> bool {
        self.first_seen.is_empty()
    }

    pub fn members(&self, s: u32) -> &[u32] {
        let s = s as usize;
        &self.members[self.offsets[s] as usize..self.offsets[s + 1] as usize]
    }

    /// Records one event carrying `nodes` (sorted, distinct, at least two)
    /// at `time`; returns the set and whether it is new.
    pub fn add(&mut self, nodes: &[u32], time: i64) -> Result<(u32, bool)> {
        self.add_events(nodes, time, time, 1)
    }

    /// Records `events` events carrying `nodes` (sorted, distinct, at least
    /// two) seen from `first` to `last`: the same as `events` calls of
    /// [`Sets::add`], in one probe.
    pub fn add_events(
        &mut self,
        nodes: &[u32],
        first: i64,
        last: i64,
        events: u32,
    ) -> Result<(u32, bool)> {
        let h = self.hash(nodes);
        let Self {
            offsets,
            members,
            table,
            ..
        } = self;
        let slice = |s: u32| {
            let s = s as usize;
            &members[offsets[s] as usize..offsets[s + 1] as usize]
        };
        if let Some(&(s, _)) = table.find(spread(h), |&(s, hs)| hs == h && slice(s) == nodes) {
            self.count_events(s, first, last, events);
            return Ok((s, false));
        }
        let s = self.push(nodes, first, last, events)?;
        Ok((s, true))
    }

    /// Records sets distinct from one another (`ends[i - 1]..ends[i]` of
    /// `members` is set i: sorted, distinct, at least two), set i carried by
    /// `events[i]` events seen from `first[i]` to `last[i]`: the same as as
    /// many [`Sets::add_events`] calls, with every table probe first so that
    /// their cache misses overlap.
    pub fn add_distinct(
        &mut self,
        members: &[u32],
        ends: &[u32],
        first: &[i64],
        last: &[i64],
        events: &[u32],
    ) -> Result<Vec<(u32, bool)>> {
        let set = |i: usize| &members[span(ends, i)];
        let hashes: Vec<u32> = (0..ends.len()).map(|i| self.hash(set(i))).collect();
        let candidates: Vec<u32> = hashes
            .iter()
            .map(|&h| match self.table.find(spread(h), |&(_, hs)| hs == h) {
                Some(&(s, _)) => {
                    prefetch(&self.offsets[s as usize]);
                    prefetch(&self.first_seen[s as usize]);
                    s
                }
                None => u32::MAX,
            })
            .collect();
        let mut out = Vec::with_capacity(candidates.len());
        for (i, &s) in candidates.iter().enumerate() {
            let nodes = set(i);
            if s != u32::MAX && self.members(s) == nodes {
                self.count_events(s, first[i], last[i], events[i]);
                out.push((s, false));
            } else {
                // New, or another set shares the 32-bit hash: the full probe.
                out.push(self.add_events(nodes, first[i], last[i], events[i])?);
            }
        }
        Ok(out)
    }

    /// Set `s` carried by `events` more events, seen from `first` to `last`.
    fn count_events(&mut self, s: u32, first: i64, last: i64, events: u32) {
        let i = s as usize;
        self.first_seen[i] = self.first_seen[i].min(first);
        self.last_seen[i] = self.last_seen[i].max(last);
        self.events[i] = self.events[i].saturating_add(events);
    }

    /// Appends a set (from the stored state, or a new one).
    pub(crate) fn push(
        &mut self,
        nodes: &[u32],
        first: i64,
        last: i64,
        events: u32,
    ) -> Result<u32> {
        let s = u32::try_from(self.first_seen.len()).map_err(|_| IdentityError::TooLarge {
            what: "set ids",
            limit: u64::from(u32::MAX),
        })?;
        self.members.extend_from_slice(nodes);
        let end = u32::try_from(self.members.len()).map_err(|_| IdentityError::TooLarge {
            what: "set members",
            limit: u64::from(u32::MAX),
        })?;
        self.offsets.push(end);
        self.first_seen.push(first);
        self.last_seen.push(last);
        self.events.push(events);
        let h = self.hash(nodes);
        self.table
            .insert_unique(spread(h), (s, h), |&(_, hm)| spread(hm));
        Ok(s)
    }

    /// Every (set, member) incidence, for the stored state.
    pub(crate) fn flat(&self) -> (&[u32], &[u32]) {
        (&self.offsets, &self.members)
    }

    pub fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.members.capacity() + self.events.capacity()) * 4
            + (self.first_seen.capacity() + self.last_seen.capacity()) * 8
            + self.table.capacity() * 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_set_is_stored_once_with_its_span_and_count() {
        let mut s = Sets::new();
        let (a, new_a) = s.add(&[1, 5, 9], 100).unwrap();
        let (b, new_b) = s.add(&[1, 5], 50).unwrap();
        let (a2, new_a2) = s.add(&[1, 5, 9], 40).unwrap();
        assert!(new_a && new_b && !new_a2);
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_eq!(s.members(a), &[1, 5, 9]);
        assert_eq!(
            (s.first_seen[a as usize], s.last_seen[a as usize]),
            (40, 100)
        );
        assert_eq!(s.events[a as usize], 2);
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn adding_distinct_sets_at_once_equals_one_by_one() {
        let mut one = Sets::new();
        let mut all = Sets::new();
        for s in [&mut one, &mut all] {
            s.add(&[1, 5, 9], 100).unwrap();
            s.add(&[2, 3], 10).unwrap();
        }
        let batch: [(&[u32], i64, i64, u32); 3] = [
            (&[2, 3], 5, 20, 2),
            (&[4, 7], 30, 30, 1),
            (&[1, 5, 9], 200, 300, 3),
        ];
        let expected: Vec<(u32, bool)> = batch
            .iter()
            .map(|&(m, f, l, e)| one.add_events(m, f, l, e).unwrap())
            .collect();
        let members: Vec<u32> = batch.iter().flat_map(|b| b.0.iter().copied()).collect();
        let ends: Vec<u32> = batch
            .iter()
            .scan(0, |end, b| {
                *end += b.0.len() as u32;
                Some(*end)
            })
            .collect();
        let got = all
            .add_distinct(
                &members,
                &ends,
                &batch.map(|b| b.1),
                &batch.map(|b| b.2),
                &batch.map(|b| b.3),
            )
            .unwrap();
        assert_eq!(got, expected);
        assert_eq!(got, [(1, false), (2, true), (0, false)]);
        for s in 0..3usize {
            assert_eq!(one.members(s as u32), all.members(s as u32));
            assert_eq!(
                (one.first_seen[s], one.last_seen[s], one.events[s]),
                (all.first_seen[s], all.last_seen[s], all.events[s])
            );
        }
    }
}
