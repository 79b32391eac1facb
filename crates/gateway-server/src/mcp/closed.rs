//! Session ids closed with DELETE on this replica, remembered until they would have
//! expired anyway, in bounded memory: a 16-byte digest per id (not the id, which can be a
//! kilobyte), at most `capacity` of them, the oldest closure forgotten first: under
//! 100 bytes per remembered closure, about 9 MB at the default 100,000.
//!
//! The price of the bound: once more than `capacity` sessions have been closed within
//! one session lifetime, the oldest closed ids are forgotten and work again on this
//! replica until they expire, as they always did on other replicas (sessions are sealed,
//! not stored). Only the principal that opened a session can use its id, so a forgotten
//! closure restores that principal's own session and nothing more.

use std::collections::{HashMap, VecDeque};

use sha2::{Digest as _, Sha256};

/// The first 16 bytes of SHA-256 of a session id.
type Digest = [u8; 16];

fn digest(id: &str) -> Digest {
    let full = Sha256::digest(id.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Closed session ids (as digests) with the Unix time each stops mattering.
pub(crate) struct ClosedIds {
    capacity: usize,
    inner: parking_lot::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    expires: HashMap<Digest, u64>,
    /// Closure order, oldest first (each digest once).
    order: VecDeque<Digest>,
}

impl ClosedIds {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: parking_lot::Mutex::default(),
        }
    }

    /// Remembers `id` as closed until `expires` (Unix seconds); forgets the oldest
    /// closures beyond the capacity.
    pub(crate) fn insert(&self, id: &str, expires: u64) {
        let d = digest(id);
        let mut inner = self.inner.lock();
        if inner.expires.insert(d, expires).is_none() {
            inner.order.push_back(d);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.expires.remove(&oldest);
            }
        }
    }

    /// Whether `id` was closed here and has not expired at `now`.
    pub(crate) fn contains(&self, id: &str, now: u64) -> bool {
        let d = digest(id);
        self.inner.lock().expires.get(&d).is_some_and(|e| *e > now)
    }

    /// Forgets closures that expired by `now`.
    pub(crate) fn purge(&self, now: u64) {
        let mut inner = self.inner.lock();
        let Inner { expires, order } = &mut *inner;
        expires.retain(|_, e| *e > now);
        order.retain(|d| expires.contains_key(d));
        // After a burst the tables keep their peak capacity; give it back once mostly empty.
        if expires.capacity() > 64 && expires.len() < expires.capacity() / 4 {
            expires.shrink_to_fit();
            order.shrink_to_fit();
        }
    }

    /// Closures remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry() {
        let closed = ClosedIds::new(10);
        closed.insert("a", 100);
        assert!(closed.contains("a", 99));
        assert!(!closed.contains("a", 100), "expired");
        assert!(!closed.contains("b", 0));
        closed.purge(100);
        assert_eq!(closed.len(), 0);
    }

    #[test]
    fn the_oldest_closure_is_forgotten_beyond_the_capacity() {
        let closed = ClosedIds::new(3);
        for id in ["a", "b", "c", "d"] {
            closed.insert(id, 1000);
        }
        assert_eq!(closed.len(), 3);
        assert!(!closed.contains("a", 0), "the oldest went first");
        assert!(["b", "c", "d"].iter().all(|id| closed.contains(id, 0)));
        // Closing an id twice takes one place.
        closed.insert("d", 2000);
        assert_eq!(closed.len(), 3);
        assert!(closed.contains("b", 0));
    }

    #[test]
    fn purge_keeps_the_order_consistent() {
        let closed = ClosedIds::new(3);
        closed.insert("a", 10);
        closed.insert("b", 50);
        closed.insert("c", 10);
        closed.purge(20);
        assert_eq!(closed.len(), 1);
        closed.insert("d", 50);
        closed.insert("e", 50);
        closed.insert("f", 50);
        assert!(!closed.contains("b", 0), "b was the oldest left");
        assert!(closed.contains("f", 0));
    }

    #[test]
    fn memory_does_not_grow_with_closures() {
        let closed = ClosedIds::new(1000);
        for n in 0..50_000 {
            closed.insert(&format!("session-{n}"), u64::MAX);
        }
        let inner = closed.inner.lock();
        assert_eq!(inner.order.len(), 1000);
        // Removals leave tombstones, so the table settles at up to four times its
        // entries (about 100 bytes per remembered closure with the deque), never more.
        assert!(
            inner.expires.capacity() <= 4096,
            "{}",
            inner.expires.capacity()
        );
        assert!(inner.order.capacity() <= 2048, "{}", inner.order.capacity());
    }
}
