//! Union-find over node ids, with what the rules need per component: how
//! many identifiers of each type it holds, and its one_key.
//!
//! Memory per identifier: parent (4) + key (8) + slot (4); plus 64 bytes per
//! component of more than one identifier for its counts.

use crate::nodes::NONE;
use crate::one_id::OneKey;
use crate::rules::{Rules, TYPES};

/// Identifiers per type in one component, and in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub per_type: [u32; TYPES],
    pub total: u32,
}

impl Counts {
    fn single(type_ix: u8) -> Self {
        let mut c = Self::default();
        c.per_type[usize::from(type_ix)] = 1;
        c.total = 1;
        c
    }

    fn add(&mut self, other: &Counts) {
        for (a, b) in self.per_type.iter_mut().zip(other.per_type) {
            *a += b;
        }
        self.total += other.total;
    }

    pub fn strong(&self, rules: &Rules) -> u32 {
        (0..TYPES)
            .filter(|&t| rules.is_strong_ix(t as u8))
            .map(|t| self.per_type[t])
            .sum()
    }

    pub fn weak(&self, rules: &Rules) -> u32 {
        self.total - self.strong(rules)
    }
}

pub struct Components {
    parent: Vec<u32>,
    /// Type of each node (copied from `Nodes` so that singletons need no slot).
    type_ix: Vec<u8>,
    /// Index into `counts` for roots of components of two or more.
    slot: Vec<u32>,
    counts: Vec<Counts>,
    free: Vec<u32>,
    /// one_key of each root (0: not allocated yet).
    key: Vec<OneKey>,
}

impl Components {
    /// Every node its own component, with `keys` as given (0 = none).
    pub fn singletons(type_ix: Vec<u8>) -> Self {
        let n = type_ix.len();
        Self {
            parent: (0..n as u32).collect(),
            type_ix,
            slot: vec![NONE; n],
            counts: Vec::new(),
            free: Vec::new(),
            key: vec![0; n],
        }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Adds a node as its own component.
    pub fn push(&mut self, type_ix: u8) {
        self.parent.push(self.parent.len() as u32);
        self.type_ix.push(type_ix);
        self.slot.push(NONE);
        self.key.push(0);
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        // Path halving: every other node on the way points to its grandparent.
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
        x
    }

    /// The root without compressing paths (for shared borrows).
    pub fn find_const(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            x = self.parent[x as usize];
        }
        x
    }

    pub fn counts(&self, root: u32) -> Counts {
        match self.slot[root as usize] {
            NONE => Counts::single(self.type_ix[root as usize]),
            s => self.counts[s as usize],
        }
    }

    pub fn key(&self, root: u32) -> OneKey {
        self.key[root as usize]
    }

    pub fn set_key(&mut self, root: u32, key: OneKey) {
        self.key[root as usize] = key;
    }

    /// Joins the components of two roots; the larger root stays root and the
    /// smaller non-zero key survives. Returns the new root.
    pub fn union_roots(&mut self, a: u32, b: u32) -> u32 {
        debug_assert!(a != b && self.parent[a as usize] == a && self.parent[b as usize] == b);
        let (ca, cb) = (self.counts(a), self.counts(b));
        let (root, child) = if ca.total >= cb.total { (a, b) } else { (b, a) };
        let mut merged = ca;
        merged.add(&cb);
        // The child's slot is freed; the root gets one if it had none.
        let child_slot = self.slot[child as usize];
        if child_slot != NONE {
            self.free.push(child_slot);
            self.slot[child as usize] = NONE;
        }
        let s = match self.slot[root as usize] {
            NONE => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        self.counts.push(Counts::default());
                        (self.counts.len() - 1) as u32
                    }
                };
                self.slot[root as usize] = s;
                s
            }
            s => s,
        };
        self.counts[s as usize] = merged;
        let (ka, kb) = (self.key[a as usize], self.key[b as usize]);
        self.key[root as usize] = match (ka, kb) {
            (0, k) | (k, 0) => k,
            (x, y) => x.min(y),
        };
        self.key[child as usize] = 0;
        self.parent[child as usize] = root;
        root
    }

    pub fn heap_bytes(&self) -> usize {
        self.parent.capacity() * 4
            + self.type_ix.capacity()
            + self.slot.capacity() * 4
            + self.key.capacity() * 8
            + self.counts.capacity() * std::mem::size_of::<Counts>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_add_counts_and_keep_the_smaller_key() {
        let mut c = Components::singletons(vec![0, 0, 6, 7]);
        c.set_key(0, 9);
        c.set_key(2, 4);
        let r = c.union_roots(0, 1);
        assert_eq!(c.key(r), 9);
        assert_eq!(c.counts(r).per_type[0], 2);
        let (x, y) = (c.find(1), c.find(2));
        let r2 = c.union_roots(x, y);
        assert_eq!(c.key(r2), 4, "the older one_id survives");
        assert_eq!(c.counts(r2).total, 3);
        assert_eq!(c.find(0), c.find(2));
        assert_ne!(c.find(3), c.find(0));
        let r3 = c.find(3);
        assert_eq!(c.counts(r3).per_type[7], 1);
    }
}
