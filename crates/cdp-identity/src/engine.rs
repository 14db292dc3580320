//! Applies sets of co-occurring identifiers to the union-find under the
//! rules, in an order that makes the rules mean something:
//!
//! 1. **strong edges** first: within each set, every strong identifier is
//!    joined to the set's strongest one (its anchor);
//! 2. then **weak to strong**: each device or anonymous id is joined to its
//!    set's anchor — first the weak ids seen with one person only (a
//!    person's own phone), then those seen with several (a family tablet, a
//!    coupon hunter's phone), each group in order of first appearance;
//! 3. then **weak only**: sets without a strong identifier join their weak
//!    ids to the strongest of them.
//!
//! Every join is checked: per-type limits, the hard cap, the shared-device
//! rule (a weak edge never joins two persons who each already have a strong
//! identifier and a device), unbound identifiers. A refused join is recorded
//! as a conflict with both sides; a join of two one_ids that existed before
//! this run is recorded as a merge (the smaller key survives). Sets are
//! taken in order of first appearance, so the same input always gives the
//! same graph.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::components::Components;
use crate::nodes::{flag, Nodes};
use crate::one_id::OneKey;
use crate::rules::{Refusal, Rules, TYPES};
use crate::sets::Sets;

/// A refused join: `a` is the anchor side, `b` the identifier refused.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub reason: Refusal,
    pub a: u32,
    pub b: u32,
    /// The set (and so the first event time) that carried the edge.
    pub set: u32,
    /// How many sets of this run carried the same refused edge.
    pub sets: u32,
    pub detail: String,
}

/// Two one_ids that existed before this run, joined by the edge `a`–`b`.
#[derive(Debug, Clone)]
pub struct Merge {
    pub absorbed: OneKey,
    pub survivor: OneKey,
    pub a: u32,
    pub b: u32,
    pub set: u32,
}

/// Priority order, unbound identifiers last.
pub fn sort_members(nodes: &Nodes, rules: &Rules, members: &mut [u32]) {
    let unbound = |n: u32| nodes.flags(n) & flag::UNBOUND != 0;
    members.sort_by(|&a, &b| {
        unbound(a)
            .cmp(&unbound(b))
            .then_with(|| nodes.cmp_priority(rules, a, b))
    });
}

/// One unit of work: a set's members to join (a subset when replaying a
/// split), sorted by priority, excluded identifiers removed.
pub struct Work {
    pub set: u32,
    pub members: Vec<u32>,
}

pub struct Engine<'a> {
    nodes: &'a Nodes,
    sets: &'a Sets,
    rules: &'a Rules,
    pub comps: &'a mut Components,
    pub conflicts: Vec<Conflict>,
    conflict_ix: FxHashMap<(u32, u32, u8), usize>,
    pub merges: Vec<Merge>,
    pub refused: BTreeMap<Refusal, u64>,
    pub accepted: u64,
}

impl<'a> Engine<'a> {
    pub fn new(
        nodes: &'a Nodes,
        sets: &'a Sets,
        rules: &'a Rules,
        comps: &'a mut Components,
    ) -> Self {
        Self {
            nodes,
            sets,
            rules,
            comps,
            conflicts: Vec::new(),
            conflict_ix: FxHashMap::default(),
            merges: Vec::new(),
            refused: BTreeMap::new(),
            accepted: 0,
        }
    }

    /// The members of set `s` that take part in joins, in priority order;
    /// unbound ones last, so that they are never a set's anchor (their
    /// joins are refused).
    pub fn work_of(nodes: &Nodes, rules: &Rules, sets: &Sets, s: u32) -> Work {
        let mut members: Vec<u32> = sets
            .members(s)
            .iter()
            .copied()
            .filter(|&n| !nodes.is_excluded(n))
            .collect();
        sort_members(nodes, rules, &mut members);
        Work { set: s, members }
    }

    /// Applies `work` (in the order given: callers sort by first appearance).
    pub fn apply(&mut self, work: &[Work]) {
        let strong_of = |w: &Work| -> usize {
            w.members
                .iter()
                .take_while(|&&n| {
                    self.rules.is_strong_ix(self.nodes.type_ix(n))
                        && self.nodes.flags(n) & flag::UNBOUND == 0
                })
                .count()
        };
        let split: Vec<usize> = work.iter().map(strong_of).collect();

        // 1. Strong edges: each strong id to the set's strongest one.
        for (w, &strong) in work.iter().zip(&split) {
            if strong >= 2 {
                let anchor = w.members[0];
                for &b in &w.members[1..strong] {
                    self.attempt(anchor, b, false, w.set);
                }
            }
        }

        // 2. Weak ids to their set's anchor: those seen with one person
        //    first, shared ones after, each in order of first appearance.
        let mut seen_with: FxHashMap<u32, (u32, bool)> = FxHashMap::default();
        for (w, &strong) in work.iter().zip(&split) {
            if strong == 0 {
                continue;
            }
            let anchor_root = self.comps.find(w.members[0]);
            for &weak in &w.members[strong..] {
                let own_root = self.comps.find(weak);
                let entry = seen_with.entry(weak).or_insert_with(|| {
                    // A weak id already attached to a person counts that person.
                    if self.comps.counts(own_root).strong(self.rules) > 0 {
                        (own_root, false)
                    } else {
                        (anchor_root, false)
                    }
                });
                if entry.0 != anchor_root {
                    entry.1 = true;
                }
            }
        }
        // (shared, work index) packed in one u64, the anchor read from the
        // work: 16 bytes an edge where the tuple took 24 (peak memory).
        let mut weak_edges: Vec<(u64, u32)> = Vec::new();
        for (i, (w, &strong)) in work.iter().zip(&split).enumerate() {
            if strong == 0 {
                continue;
            }
            for &weak in &w.members[strong..] {
                let shared = seen_with.get(&weak).is_some_and(|e| e.1);
                weak_edges.push(((u64::from(shared) << 63) | i as u64, weak));
            }
        }
        drop(seen_with);
        weak_edges.sort_by_key(|&(order, _)| order);
        for (order, weak) in weak_edges {
            let w = &work[(order & !(1 << 63)) as usize];
            self.attempt(w.members[0], weak, true, w.set);
        }

        // 3. Sets of weak ids only.
        for (w, &strong) in work.iter().zip(&split) {
            if strong == 0 && w.members.len() >= 2 {
                let anchor = w.members[0];
                for &b in &w.members[1..] {
                    self.attempt(anchor, b, true, w.set);
                }
            }
        }
    }

    /// Tries to join the components of `a` (the anchor side) and `b`.
    fn attempt(&mut self, a: u32, b: u32, weak_edge: bool, set: u32) {
        if (self.nodes.flags(a) | self.nodes.flags(b)) & flag::UNBOUND != 0 {
            let ra = self.comps.find(a);
            let rb = self.comps.find(b);
            if ra != rb {
                self.refuse(Refusal::Unbound, a, b, set, String::new());
            }
            return;
        }
        let ra = self.comps.find(a);
        let rb = self.comps.find(b);
        if ra == rb {
            return;
        }
        let (ca, cb) = (self.comps.counts(ra), self.comps.counts(rb));
        // Limits, checked in priority order so the reason is deterministic.
        let limits = self.rules.limits();
        let mut over = None;
        for (t, &limit) in limits.iter().enumerate().take(TYPES) {
            let sum = ca.per_type[t] + cb.per_type[t];
            if sum > limit && (ca.per_type[t] > 0 && cb.per_type[t] > 0) {
                let rank = self.rules.rank_ix(t as u8);
                if over.is_none_or(|(r, _, _)| rank < r) {
                    over = Some((rank, t, sum));
                }
            }
        }
        if let Some((_, t, sum)) = over {
            let id_type = crate::rules::type_of(t as u8);
            let detail = format!("{sum} {id_type} > limit {}", limits[t]);
            self.refuse(Refusal::Limit(id_type), a, b, set, detail);
            return;
        }
        if ca.total + cb.total > self.rules.cap {
            let detail = format!(
                "{} identifiers > cap {}",
                ca.total + cb.total,
                self.rules.cap
            );
            self.refuse(Refusal::Cap, a, b, set, detail);
            return;
        }
        if weak_edge
            && self.rules.shared_device
            && ca.strong(self.rules) > 0
            && cb.strong(self.rules) > 0
            && ca.weak(self.rules) > 0
            && cb.weak(self.rules) > 0
        {
            let detail = "both sides already have a person's identifiers and a device".to_string();
            self.refuse(Refusal::SharedDevice, a, b, set, detail);
            return;
        }
        let (ka, kb) = (self.comps.key(ra), self.comps.key(rb));
        if ka != 0 && kb != 0 && ka != kb {
            self.merges.push(Merge {
                absorbed: ka.max(kb),
                survivor: ka.min(kb),
                a,
                b,
                set,
            });
        }
        self.comps.union_roots(ra, rb);
        self.accepted += 1;
    }

    fn refuse(&mut self, reason: Refusal, a: u32, b: u32, set: u32, detail: String) {
        *self.refused.entry(reason).or_default() += 1;
        let key = (a, b, reason.code());
        match self.conflict_ix.get(&key) {
            Some(&i) => self.conflicts[i].sets += 1,
            None => {
                self.conflict_ix.insert(key, self.conflicts.len());
                self.conflicts.push(Conflict {
                    reason,
                    a,
                    b,
                    set,
                    sets: 1,
                    detail,
                });
            }
        }
    }

    pub fn sets(&self) -> &Sets {
        self.sets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdp_model::IdType;

    struct Fixture {
        nodes: Nodes,
        sets: Sets,
        rules: Rules,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                nodes: Nodes::new(),
                sets: Sets::new(),
                rules: Rules::default(),
            }
        }
        fn id(&mut self, s: &str) -> u32 {
            let (t, v) = s.split_once(':').unwrap();
            self.nodes
                .intern(t.parse::<IdType>().unwrap(), v, 0)
                .unwrap()
        }
        /// One event per entry, at increasing times.
        fn events(&mut self, events: &[&[&str]]) -> Vec<u32> {
            let mut out = Vec::new();
            for (t, ids) in events.iter().enumerate() {
                let mut nodes: Vec<u32> = ids.iter().map(|s| self.id(s)).collect();
                nodes.sort_unstable();
                let (s, new) = self.sets.add(&nodes, t as i64).unwrap();
                if new {
                    out.push(s);
                }
            }
            out
        }
        fn run(&self, sets: &[u32]) -> (Components, Vec<Conflict>) {
            let types = (0..self.nodes.len() as u32)
                .map(|n| self.nodes.type_ix(n))
                .collect();
            let mut comps = Components::singletons(types);
            let work: Vec<Work> = sets
                .iter()
                .map(|&s| Engine::work_of(&self.nodes, &self.rules, &self.sets, s))
                .collect();
            let mut e = Engine::new(&self.nodes, &self.sets, &self.rules, &mut comps);
            e.apply(&work);
            let conflicts = e.conflicts;
            (comps, conflicts)
        }
        fn same(&self, comps: &mut Components, a: &str, b: &str) -> bool {
            let (ta, va) = a.split_once(':').unwrap();
            let (tb, vb) = b.split_once(':').unwrap();
            let na = self.nodes.find(ta.parse().unwrap(), va).unwrap();
            let nb = self.nodes.find(tb.parse().unwrap(), vb).unwrap();
            comps.find(na) == comps.find(nb)
        }
    }

    #[test]
    fn a_member_limit_refuses_the_second_card_and_records_both_sides() {
        let mut f = Fixture::new();
        let sets = f.events(&[
            &["member_id:M1", "phone:+8613900000001"],
            &["member_id:M2", "phone:+8613900000001"],
        ]);
        let (mut c, conflicts) = f.run(&sets);
        assert!(f.same(&mut c, "member_id:M1", "phone:+8613900000001"));
        assert!(!f.same(&mut c, "member_id:M2", "phone:+8613900000001"));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].reason, Refusal::Limit(IdType::MemberId));
        assert_eq!(f.nodes.display(conflicts[0].a), "member_id:M2");
    }

    #[test]
    fn strong_edges_go_first_so_the_refusal_falls_on_the_weak_edge() {
        let mut f = Fixture::new();
        // The weak edge comes first in time; the strong one still wins.
        let sets = f.events(&[
            &["anonymous_id:a1", "member_id:M1"],
            &["anonymous_id:a1", "member_id:M2"],
            &["member_id:M2", "phone:+8613900000002"],
            &["member_id:M1", "phone:+8613900000002"],
        ]);
        let (mut c, conflicts) = f.run(&sets);
        // M2–phone (strong, earlier among strong edges) holds; M1–phone refused.
        assert!(f.same(&mut c, "member_id:M2", "phone:+8613900000002"));
        assert!(!f.same(&mut c, "member_id:M1", "member_id:M2"));
        assert!(conflicts
            .iter()
            .any(|k| k.reason == Refusal::Limit(IdType::MemberId)));
    }

    #[test]
    fn a_household_tablet_does_not_join_two_people_with_their_own_phones() {
        let mut f = Fixture::new();
        let sets = f.events(&[
            &["phone:+8613900000001", "anonymous_id:own-a", "idfa:A"],
            &["phone:+8613900000002", "anonymous_id:own-b", "oaid:b"],
            &["phone:+8613900000001", "anonymous_id:tablet"],
            &["phone:+8613900000002", "anonymous_id:tablet"],
        ]);
        let (mut c, conflicts) = f.run(&sets);
        assert!(!f.same(&mut c, "phone:+8613900000001", "phone:+8613900000002"));
        assert!(f.same(&mut c, "phone:+8613900000001", "anonymous_id:tablet"));
        assert!(f.same(&mut c, "phone:+8613900000002", "oaid:b"));
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].reason, Refusal::SharedDevice);
    }

    #[test]
    fn a_coupon_hunters_phones_on_one_device_are_one_person() {
        let mut f = Fixture::new();
        let sets = f.events(&[
            &["phone:+8613900000001", "anonymous_id:and-1", "oaid:x"],
            &["phone:+8613900000002", "anonymous_id:and-1", "oaid:x"],
            &["phone:+8613900000003", "anonymous_id:and-1", "oaid:x"],
        ]);
        let (mut c, conflicts) = f.run(&sets);
        assert!(f.same(&mut c, "phone:+8613900000001", "phone:+8613900000003"));
        assert!(conflicts.is_empty(), "{conflicts:?}");
    }

    #[test]
    fn a_phone_limit_stops_a_crowd_on_one_device() {
        let mut f = Fixture::new();
        let phones: Vec<String> = (1..=6).map(|i| format!("phone:+861390000000{i}")).collect();
        let events: Vec<Vec<&str>> = phones
            .iter()
            .map(|p| vec![p.as_str(), "anonymous_id:kiosk"])
            .collect();
        let refs: Vec<&[&str]> = events.iter().map(Vec::as_slice).collect();
        let sets = f.events(&refs);
        let (mut c, conflicts) = f.run(&sets);
        let limit = f.rules.limit(IdType::Phone).unwrap() as usize;
        let joined = phones
            .iter()
            .filter(|p| f.same(&mut c, p, "anonymous_id:kiosk"))
            .count();
        assert_eq!(joined, limit);
        assert_eq!(conflicts.len(), 6 - limit);
        assert!(conflicts
            .iter()
            .all(|k| k.reason == Refusal::Limit(IdType::Phone)));
    }

    #[test]
    fn the_cap_is_the_last_guard() {
        let mut f = Fixture::new();
        f.rules.cap = 3;
        let sets = f.events(&[
            &["email:a@x.cn", "anonymous_id:1"],
            &["email:a@x.cn", "anonymous_id:2"],
            &["email:a@x.cn", "anonymous_id:3"],
        ]);
        let (_, conflicts) = f.run(&sets);
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].reason, Refusal::Cap);
    }

    #[test]
    fn unbound_identifiers_are_never_joined() {
        let mut f = Fixture::new();
        let sets = f.events(&[&["phone:+8613900000001", "anonymous_id:tablet"]]);
        let tablet = f.nodes.find(IdType::AnonymousId, "tablet").unwrap();
        f.nodes.flags[tablet as usize] |= flag::UNBOUND;
        let (mut c, conflicts) = f.run(&sets);
        assert!(!f.same(&mut c, "phone:+8613900000001", "anonymous_id:tablet"));
        assert_eq!(conflicts[0].reason, Refusal::Unbound);
    }
}
