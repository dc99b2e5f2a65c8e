//! A small ordered map over a sorted `Vec`, for the gateway's per-device tables.
//!
//! Every distinct `BTreeMap<K, V>` (and `BTreeSet`) brings its own copy of the B-tree code into
//! the wasm; a sorted vector with binary search costs a fraction of that, and a gateway carries
//! tens to hundreds of devices, not millions. Iteration is in key order, as with `BTreeMap`.

use core::borrow::Borrow;

#[derive(Debug)]
pub(crate) struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    pub(crate) fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    pub(crate) fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
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

    pub(crate) fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.iter().map(|(_, v)| v)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = &'a (K, V);
    type IntoIter = core::slice::Iter<'a, (K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn behaves_like_btreemap() {
        let mut m = VecMap::new();
        let mut b = BTreeMap::new();
        // A fixed pseudo-random sequence of inserts and removes over a small key space.
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let key = format!("dev{}", (x >> 16) % 37);
            if x % 3 == 0 {
                assert_eq!(m.remove(key.as_str()), b.remove(key.as_str()));
            } else {
                assert_eq!(m.insert(key.clone(), x), b.insert(key.clone(), x));
            }
            assert_eq!(m.len(), b.len());
            assert_eq!(m.get(key.as_str()), b.get(key.as_str()));
            assert_eq!(m.contains_key(key.as_str()), b.contains_key(key.as_str()));
        }
        assert!(m.keys().eq(b.keys()));
        for v in m.values_mut() {
            *v += 1;
        }
        for v in b.values_mut() {
            *v += 1;
        }
        if let (Some(a), Some(c)) = (m.get_mut("dev3"), b.get_mut("dev3")) {
            *a = 7;
            *c = 7;
        }
        assert!(m.values().eq(b.values()));
        assert!((&m).into_iter().map(|(k, v)| (k, v)).eq(b.iter()));
        assert!(m.iter().eq(b.iter()));
        assert!(m.into_iter().eq(b));
    }
}
