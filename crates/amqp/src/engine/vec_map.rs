//! A small ordered map over a sorted `VecDeque`.
//!
//! For the engine's tables (sessions, channels, links, CBS requests, unsettled deliveries):
//! every distinct `BTreeMap<K, V>` brings its own copy of the B-tree code into a wasm build,
//! several KB each, while a sorted ring buffer with binary search costs a fraction of that.
//! The tables are small, or (unsettled deliveries) filled at the back in delivery-id order and
//! settled mostly from the front, which a ring buffer does in O(1). Iteration is in key order,
//! as with `BTreeMap`.

use alloc::collections::VecDeque;

#[derive(Debug, Clone)]
pub(crate) struct VecMap<K, V> {
    entries: VecDeque<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self {
            entries: VecDeque::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, v)| core::mem::replace(v, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key).ok()?;
        self.entries.remove(i).map(|(_, v)| v)
    }

    /// Keeps the entries `keep` returns true for.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// Keys in `lo..=hi`, in order.
    pub(crate) fn keys_in(&self, lo: &K, hi: &K) -> impl Iterator<Item = &K> + '_ {
        let start = self.entries.partition_point(|(k, _)| k < lo);
        let end = self.entries.partition_point(|(k, _)| k <= hi).max(start);
        self.entries.range(start..end).map(|(k, _)| k)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = alloc::collections::vec_deque::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;

    #[test]
    fn behaves_like_btreemap() {
        let mut m = VecMap::new();
        let mut b = BTreeMap::new();
        // A fixed pseudo-random sequence of inserts and removes over a small key space.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let key = (x >> 16) % 37;
            if x % 3 == 0 {
                assert_eq!(m.remove(&key), b.remove(&key));
            } else {
                assert_eq!(m.insert(key, x), b.insert(key, x));
            }
            assert_eq!(m.len(), b.len());
            assert_eq!(m.get(&key), b.get(&key));
            assert_eq!(m.contains_key(&key), b.contains_key(&key));
        }
        assert!(m.iter().eq(b.iter()));
        assert!(m.keys().eq(b.keys()));
        if let Some(v) = m.get_mut(&3) {
            *v = 7;
        }
        if let Some(v) = b.get_mut(&3) {
            *v = 7;
        }
        assert!(m.values().eq(b.values()));
        for (lo, hi) in [(0, 36), (3, 9), (9, 3), (40, 50), (5, 5)] {
            assert!(m
                .keys_in(&lo, &hi)
                .eq(b.keys().filter(|k| (lo..=hi).contains(*k))));
        }
        m.retain(|k, v| {
            *v += 1;
            k % 2 == 0
        });
        b.retain(|k, v| {
            *v += 1;
            k % 2 == 0
        });
        assert!(m.clone().into_iter().eq(b.clone().into_iter()));
        m.clear();
        assert_eq!(m.len(), 0);
    }
}
