//! A hash table of ids (the nodes') kept beside 32 bits of their hash,
//! with open addressing and linear probing, whose slot for a hash is known
//! before it is read, so that a batch of lookups can fetch the slots of the
//! lookups ahead while it compares the current one.
//!
//! At 1M persons the nodes' table and the nodes it points to are far larger
//! than the cache: each lookup waits for a miss on its slot, then on the
//! node's type, value and times. hashbrown's `HashTable` does not say where a
//! hash's bucket lies, so those misses could only overlap as far as the
//! processor ran ahead by itself (profiled: interning was most of the main
//! thread's reading time). Here [`IdTable::prefetch`] brings a slot in, and
//! [`IdTable::candidate`] reads it without comparing anything.
//!
//! The table stores no keys: the caller compares the value an id stands for.
//! A slot is 8 bytes; the table grows at 3/4 full, so 11 to 21 bytes per id.

use crate::nodes::prefetch;

/// An empty slot's id.
const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Slot {
    id: u32,
    hash: u32,
}

const VACANT: Slot = Slot { id: EMPTY, hash: 0 };

pub(crate) struct IdTable {
    slots: Vec<Slot>,
    len: usize,
    /// A hash's home slot is its top bits: `hash >> shift`.
    shift: u32,
}

impl Default for IdTable {
    fn default() -> Self {
        Self::with_slots(16)
    }
}

impl IdTable {
    fn with_slots(slots: usize) -> Self {
        debug_assert!(slots.is_power_of_two() && slots >= 2);
        Self {
            slots: vec![VACANT; slots],
            len: 0,
            shift: 32 - slots.trailing_zeros(),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>()
    }

    #[inline(always)]
    fn home(&self, hash: u32) -> usize {
        // The top bits of an Fx hash are its best mixed.
        (u64::from(hash) >> self.shift) as usize
    }

    #[inline(always)]
    fn next(&self, i: usize) -> usize {
        (i + 1) & (self.slots.len() - 1)
    }

    /// Fetches the home slot of `hash` ahead of a lookup; only a hint.
    #[inline(always)]
    pub fn prefetch(&self, hash: u32) {
        prefetch(&self.slots[self.home(hash)]);
    }

    /// The first id stored with `hash`, compared with nothing: the likely
    /// match, whose value a batch fetches ahead of comparing it.
    #[inline]
    pub fn candidate(&self, hash: u32) -> Option<u32> {
        self.find(hash, |_| true)
    }

    /// The id stored with `hash` for which `is` holds.
    #[inline]
    pub fn find(&self, hash: u32, is: impl FnMut(u32) -> bool) -> Option<u32> {
        self.slot_of(hash, is).map(|i| self.slots[i].id)
    }

    /// Where the id stored with `hash` for which `is` holds lies.
    #[inline]
    fn slot_of(&self, hash: u32, mut is: impl FnMut(u32) -> bool) -> Option<usize> {
        let mut i = self.home(hash);
        loop {
            let slot = self.slots[i];
            if slot.id == EMPTY {
                return None;
            }
            if slot.hash == hash && is(slot.id) {
                return Some(i);
            }
            i = self.next(i);
        }
    }

    /// Room for `additional` more ids without growing.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self.len + additional;
        if needed * 4 > self.slots.len() * 3 {
            let slots = (needed * 4 / 3 + 1).next_power_of_two().max(16);
            self.regrow(slots);
        }
    }

    /// Stores `id` with `hash`; the caller knows no equal id is stored.
    pub fn insert(&mut self, hash: u32, id: u32) {
        debug_assert_ne!(id, EMPTY);
        self.reserve(1);
        self.place(Slot { id, hash });
    }

    fn place(&mut self, slot: Slot) {
        let mut i = self.home(slot.hash);
        while self.slots[i].id != EMPTY {
            i = self.next(i);
        }
        self.slots[i] = slot;
        self.len += 1;
    }

    fn regrow(&mut self, slots: usize) {
        let old = std::mem::replace(self, Self::with_slots(slots));
        for slot in old.slots {
            if slot.id != EMPTY {
                self.place(slot);
            }
        }
    }

    /// Removes `id`, stored with `hash`; true if it was there.
    pub fn remove(&mut self, hash: u32, id: u32) -> bool {
        let Some(i) = self.slot_of(hash, |stored| stored == id) else {
            return false;
        };
        // Backward shift: every later slot of the run that may live at the
        // hole (its home is not between the hole and itself) moves there, so
        // that lookups never stop early at it.
        let mut hole = i;
        let mut j = self.next(i);
        while self.slots[j].id != EMPTY {
            let home = self.home(self.slots[j].hash);
            let mask = self.slots.len() - 1;
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[j];
                hole = j;
            }
            j = self.next(j);
        }
        self.slots[hole] = VACANT;
        self.len -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A weak hash on purpose: few bits, many collisions and long runs.
    fn weak(id: u32) -> u32 {
        (id % 7) << 29
    }

    #[test]
    fn finds_what_was_inserted_and_not_what_was_not() {
        let mut t = IdTable::default();
        for id in 0..1000 {
            t.insert(weak(id), id);
        }
        assert_eq!(t.len(), 1000);
        for id in 0..1000 {
            assert_eq!(t.find(weak(id), |x| x == id), Some(id));
        }
        assert_eq!(t.find(weak(5000), |x| x == 5000), None);
        assert!(t.candidate(weak(3)).is_some());
        assert!(t.bytes() >= 1000 * 8 * 4 / 3);
    }

    proptest! {
        /// Any sequence of inserts and removals leaves exactly the ids that
        /// were inserted and not removed findable, however they collide.
        #[test]
        fn removal_keeps_every_other_id_findable(
            ops in proptest::collection::vec((0u32..200, any::<bool>()), 0..600),
            bits in 1u32..8,
        ) {
            let hash = |id: u32| (id.wrapping_mul(2_654_435_761) >> (32 - bits)) << (32 - bits);
            let mut t = IdTable::default();
            let mut present = std::collections::BTreeSet::new();
            for (id, add) in ops {
                if add && !present.contains(&id) {
                    t.insert(hash(id), id);
                    present.insert(id);
                } else if !add {
                    prop_assert_eq!(t.remove(hash(id), id), present.remove(&id));
                }
            }
            prop_assert_eq!(t.len(), present.len());
            for id in 0..200 {
                prop_assert_eq!(t.find(hash(id), |x| x == id).is_some(), present.contains(&id));
            }
        }
    }
}
