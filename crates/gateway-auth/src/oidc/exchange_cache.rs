//! [`ExchangeCache`]: tokens obtained by token exchange, per user and template (and the
//! exchange's parameters), kept until shortly before they expire. Bounded: beyond
//! [`MAX_ENTRIES`], expired entries are dropped, then all.

use std::{collections::HashMap, time::Instant};

use parking_lot::Mutex;

use super::cache::Digest32;
use crate::Secret;

/// Most cached exchanged tokens.
pub(crate) const MAX_ENTRIES: usize = 10_000;

struct Entry {
    token: Secret,
    /// When it stops being used (some time before the token expires).
    until: Instant,
}

#[derive(Default)]
pub(crate) struct ExchangeCache {
    entries: Mutex<HashMap<Digest32, Entry>>,
}

impl ExchangeCache {
    /// The token cached under `key`, if still fresh at `now`.
    pub(crate) fn get(&self, key: &Digest32, now: Instant) -> Option<Secret> {
        let mut entries = self.entries.lock();
        match entries.get(key) {
            Some(e) if e.until > now => Some(e.token.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, key: Digest32, token: Secret, until: Instant, now: Instant) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { token, until });
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fresh_entries_only_and_bounded() {
        let cache = ExchangeCache::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        cache.insert([1; 32], Secret::new("a"), later, now);
        assert_eq!(cache.get(&[1; 32], now).unwrap().expose(), "a");
        assert!(cache.get(&[1; 32], later).is_none(), "stale at `until`");
        assert_eq!(cache.len(), 0, "a stale entry is dropped when seen");
        for i in 0..=MAX_ENTRIES {
            let mut key = [0; 32];
            key[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.insert(key, Secret::new("t"), later, now);
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }
}
