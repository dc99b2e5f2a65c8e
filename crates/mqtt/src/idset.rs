//! A set of packet identifiers with O(1) operations, so allocation stays cheap even with a
//! large in-flight window.

use alloc::vec::Vec;

use crate::types::PacketId;

const WORDS: usize = 65_536 / 64;

/// Bitset over all 16-bit ids; the 8 KiB table is allocated on first insert.
#[derive(Debug, Default, Clone)]
pub(crate) struct PacketIdSet {
    words: Vec<u64>,
    len: usize,
}

impl PacketIdSet {
    fn slot(id: PacketId) -> (usize, u64) {
        let v = usize::from(id.get());
        (v / 64, 1u64 << (v % 64))
    }

    pub(crate) fn contains(&self, id: PacketId) -> bool {
        let (w, bit) = Self::slot(id);
        self.words.get(w).is_some_and(|word| word & bit != 0)
    }

    /// Inserts `id`; returns whether it was absent.
    pub(crate) fn insert(&mut self, id: PacketId) -> bool {
        if self.words.is_empty() {
            self.words.resize(WORDS, 0);
        }
        let (w, bit) = Self::slot(id);
        match self.words.get_mut(w) {
            Some(word) if *word & bit == 0 => {
                *word |= bit;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// Removes `id`; returns whether it was present.
    pub(crate) fn remove(&mut self, id: PacketId) -> bool {
        let (w, bit) = Self::slot(id);
        match self.words.get_mut(w) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn clear(&mut self) {
        if self.len > 0 {
            self.words.iter_mut().for_each(|w| *w = 0);
            self.len = 0;
        }
    }

    /// The first id at or after `start` (wrapping, skipping 0) that is not in the set.
    pub(crate) fn first_free_from(&self, start: PacketId) -> Option<PacketId> {
        if self.len >= usize::from(u16::MAX) {
            return None;
        }
        let mut id = start;
        // At most `len` ids are skipped before a free one is found.
        for _ in 0..=self.len {
            if !self.contains(id) {
                return Some(id);
            }
            id = id.next();
        }
        None
    }
}
