//! The edges of the graph, kept as the distinct sets of identifiers that
//! occur together in one event (hyperedges). A person's thousand page views
//! carry the same few sets, so the lake's 10 events per person shrink to
//! about 3 sets; and a set keeps what a plain edge list loses: which
//! identifier was the event's strongest, so an edge refused today can be
//! explained, and a split (unbind, forget) can be replayed from the sets.
//!
//! Memory per set: its members (4 bytes each, about 4 per set) + 4 (offset)
//! + 16 (first/last seen) + 4 (events) + about 6 for the hash table.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::error::{IdentityError, Result};

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
    table: HashTable<u32>,
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
        let h = self.hasher.hash_one(nodes);
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
        if let Some(&s) = table.find(h, |&s| slice(s) == nodes) {
            let i = s as usize;
            self.first_seen[i] = self.first_seen[i].min(time);
            self.last_seen[i] = self.last_seen[i].max(time);
            self.events[i] = self.events[i].saturating_add(1);
            return Ok((s, false));
        }
        let s = self.push(nodes, time, time, 1)?;
        Ok((s, true))
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
        let h = self.hasher.hash_one(nodes);
        let Self {
            offsets,
            members,
            table,
            hasher,
            ..
        } = self;
        table.insert_unique(h, s, |&m| {
            let m = m as usize;
            hasher.hash_one(&members[offsets[m] as usize..offsets[m + 1] as usize])
        });
        Ok(s)
    }

    /// Every (set, member) incidence, for the stored state.
    pub(crate) fn flat(&self) -> (&[u32], &[u32]) {
        (&self.offsets, &self.members)
    }

    pub fn heap_bytes(&self) -> usize {
        (self.offsets.capacity() + self.members.capacity() + self.events.capacity()) * 4
            + (self.first_seen.capacity() + self.last_seen.capacity()) * 8
            + self.table.capacity() * 5
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
}
