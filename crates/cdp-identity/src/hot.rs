//! The hot-value detector: a value seen together with implausibly many
//! distinct strong identifiers of one type (a store's own phone typed for
//! every walk-in next to their member cards; an `unknown`-like value a
//! system invented) is not a person's. It is reported and excluded, before
//! any join, so it never glues strangers together — not even the first two.
//!
//! Counting distinct co-occurring identifiers for every value would need a
//! set per value; instead a cheap first pass counts, per value, the sets it
//! shares with a strong identifier, and only values with at least
//! `threshold` such sets are counted exactly.

use rustc_hash::FxHashMap;

use crate::nodes::{flag, Nodes};
use crate::rules::{type_of, Rules};
use crate::run::HotValue;
use crate::sets::Sets;

/// Values newly found hot (not flagged hot already), in node order.
pub(crate) fn detect(nodes: &Nodes, sets: &Sets, rules: &Rules) -> Vec<HotValue> {
    let threshold = rules.hot_threshold;
    let usable = |n: u32| nodes.flags(n) & (flag::ERASED | flag::JUNK) == 0;
    let strong = |n: u32| rules.is_strong_ix(nodes.type_ix(n));
    // Pass 1: how many sets each value shares with a strong identifier.
    let mut shared_sets = vec![0u32; nodes.len()];
    for s in 0..sets.len() as u32 {
        let members = sets.members(s);
        let strong_count = members.iter().filter(|&&m| usable(m) && strong(m)).count();
        if strong_count == 0 {
            continue;
        }
        for &m in members {
            let others = strong_count - usize::from(strong(m));
            if others > 0 && usable(m) {
                shared_sets[m as usize] = shared_sets[m as usize].saturating_add(1);
            }
        }
    }
    let candidates: FxHashMap<u32, usize> = shared_sets
        .iter()
        .enumerate()
        .filter(|&(n, &c)| {
            c >= threshold && nodes.flags(n as u32) & flag::HOT == 0 && usable(n as u32)
        })
        .enumerate()
        .map(|(i, (n, _))| (n as u32, i))
        .collect();
    drop(shared_sets);
    if candidates.is_empty() {
        return Vec::new();
    }
    // Pass 2: the distinct strong identifiers each candidate was seen with.
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for s in 0..sets.len() as u32 {
        let members = sets.members(s);
        for &c in members {
            if !candidates.contains_key(&c) {
                continue;
            }
            for &m in members {
                if m != c && usable(m) && strong(m) {
                    pairs.push((c, m));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut hot = Vec::new();
    let mut i = 0;
    while i < pairs.len() {
        let c = pairs[i].0;
        let mut per_type = [0u32; crate::rules::TYPES];
        while i < pairs.len() && pairs[i].0 == c {
            per_type[usize::from(nodes.type_ix(pairs[i].1))] += 1;
            i += 1;
        }
        // The type seen most; ties by type order, so the report is stable.
        let (t, &distinct) = per_type
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(&a.0)))
            .expect("15 types");
        if distinct >= threshold {
            hot.push(HotValue {
                node: c,
                id_type: type_of(t as u8),
                distinct,
            });
        }
    }
    hot
}

#[cfg(test)]
mod tests {
    use super::*;
    use cdp_model::IdType;

    #[test]
    fn a_store_phone_next_to_many_member_cards_is_hot_and_the_cards_are_not() {
        let mut nodes = Nodes::new();
        let mut sets = Sets::new();
        let store = nodes.intern(IdType::Phone, "+8613911112222", 0).unwrap();
        let rules = Rules::default();
        for i in 0..rules.hot_threshold {
            let card = nodes.intern(IdType::MemberId, &format!("M{i}"), 0).unwrap();
            // The card also appears with its own phone: not hot.
            let own = nodes
                .intern(IdType::Phone, &format!("+86139000000{i:02}"), 0)
                .unwrap();
            let mut a = [store, card];
            a.sort_unstable();
            sets.add(&a, 0).unwrap();
            let mut b = [own, card];
            b.sort_unstable();
            sets.add(&b, 0).unwrap();
        }
        let hot = detect(&nodes, &sets, &rules);
        assert_eq!(hot.len(), 1);
        assert_eq!(hot[0].node, store);
        assert_eq!(hot[0].id_type, IdType::MemberId);
        assert_eq!(hot[0].distinct, rules.hot_threshold);
    }

    #[test]
    fn a_family_tablet_with_four_people_is_not_hot() {
        let mut nodes = Nodes::new();
        let mut sets = Sets::new();
        let tablet = nodes.intern(IdType::AnonymousId, "ipad-1", 0).unwrap();
        for i in 0..4 {
            let phone = nodes
                .intern(IdType::Phone, &format!("+86139000000{i:02}"), 0)
                .unwrap();
            for t in 0..5 {
                let mut a = [tablet, phone];
                a.sort_unstable();
                sets.add(&a, t).unwrap();
            }
        }
        assert!(detect(&nodes, &sets, &Rules::default()).is_empty());
    }
}
