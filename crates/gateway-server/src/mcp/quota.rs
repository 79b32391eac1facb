//! Places held per key against a limit: open HTTP+SSE connections (per replica, per
//! principal) and dedicated upstream sessions (per template, per principal and template).
//! A [`Permit`] gives its place back when dropped, and a key whose count falls to zero is
//! forgotten, so the table holds only keys with places taken.
//!
//! Per-principal limits apply with authentication on only. With it off there is no
//! principal, and an address is no stand-in: loopback and reverse proxies put every
//! client behind one address, and one local client (a test suite, an IDE) legitimately
//! opens dozens of sessions. The per-replica and per-template limits still apply.

use std::{collections::HashMap, hash::Hash, sync::Arc};

type Counts<K> = Arc<parking_lot::Mutex<HashMap<K, usize>>>;

/// Places taken per key.
pub(crate) struct Quota<K>(Counts<K>);

impl<K> Default for Quota<K> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<K: Eq + Hash + Clone> Quota<K> {
    /// Takes a place for `key` unless `max` are taken.
    pub(crate) fn try_take(&self, key: K, max: usize) -> Option<Permit<K>> {
        let mut counts = self.0.lock();
        let taken = counts.entry(key.clone()).or_insert(0);
        if *taken >= max {
            if *taken == 0 {
                counts.remove(&key);
            }
            return None;
        }
        *taken += 1;
        Some(Permit {
            counts: self.0.clone(),
            key,
        })
    }

    /// Places taken, per key with any.
    pub(crate) fn snapshot(&self) -> Vec<(K, usize)> {
        self.0.lock().iter().map(|(k, n)| (k.clone(), *n)).collect()
    }

    /// Places taken for `key`.
    #[cfg(test)]
    pub(crate) fn taken(&self, key: &K) -> usize {
        self.0.lock().get(key).copied().unwrap_or(0)
    }

    /// Keys with places taken.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> usize {
        self.0.lock().len()
    }
}

/// One place under a [`Quota`], given back on drop.
pub(crate) struct Permit<K: Eq + Hash> {
    counts: Counts<K>,
    key: K,
}

impl<K: Eq + Hash> Drop for Permit<K> {
    fn drop(&mut self) {
        let mut counts = self.counts.lock();
        if let Some(taken) = counts.get_mut(&self.key) {
            *taken = taken.saturating_sub(1);
            if *taken == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_per_key_and_given_back() {
        let quota = Quota::<&str>::default();
        let a1 = quota.try_take("a", 2).unwrap();
        let a2 = quota.try_take("a", 2).unwrap();
        assert!(quota.try_take("a", 2).is_none(), "a holds its two places");
        let b = quota.try_take("b", 2).unwrap();
        assert_eq!((quota.taken(&"a"), quota.taken(&"b")), (2, 1));
        drop(a1);
        let _a3 = quota.try_take("a", 2).expect("a place came back");
        drop((a2, b));
        assert_eq!(quota.keys(), 1, "b is forgotten once it holds nothing");
    }

    #[test]
    fn a_refusal_leaves_no_entry() {
        let quota = Quota::<u8>::default();
        assert!(quota.try_take(1, 0).is_none());
        assert_eq!(quota.keys(), 0);
    }
}
