//! Failure throttling (logins per user name and per client address, and bad credentials
//! per address): after `free` failures in a row, each further failure locks the key for
//! an exponentially growing time (`base`, 2×`base`, … up to `max`). A success clears a
//! key; failures older than `window` are forgotten.
//!
//! In memory, per process: each replica throttles on its own (an attacker spreading
//! attempts over N replicas gets N times the budget, still exponentially slowed).

use std::{
    collections::HashMap,
    hash::Hash,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

/// Most keys tracked at once; beyond it, idle keys are dropped first.
const MAX_KEYS: usize = 100_000;

/// How a [`Throttle`] slows repeated failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before the first lock.
    pub free: u32,
    /// The first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// Logins per user name: 5 free failures, then 1 s, 2 s, 4 s … up to 15 min.
    pub const PER_USER: ThrottlePolicy = ThrottlePolicy {
        free: 5,
        base: Duration::from_secs(1),
        max: Duration::from_secs(15 * 60),
        window: Duration::from_secs(15 * 60),
    };
    /// Logins per client address: 20 free failures, then the same back-off.
    pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free: 20,
        base: Duration::from_secs(1),
        max: Duration::from_secs(15 * 60),
        window: Duration::from_secs(15 * 60),
    };
    /// Invalid API keys or tokens per client address: 100 free, then 1 s … 5 min.
    pub const BAD_CREDENTIALS: ThrottlePolicy = ThrottlePolicy {
        free: 100,
        base: Duration::from_secs(1),
        max: Duration::from_secs(5 * 60),
        window: Duration::from_secs(5 * 60),
    };
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failure counters per key (a user name, an address).
#[derive(Debug)]
pub(crate) struct Throttle<K> {
    policy: ThrottlePolicy,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub(crate) fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while `key` is locked.
    pub(crate) fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        match self.entries.lock().get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failure; returns the lock it caused, if any.
    pub(crate) fn failure(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            let window = self.policy.window;
            entries.retain(|_, e| now.duration_since(e.last) < window);
            if entries.len() >= MAX_KEYS {
                entries.clear();
            }
        }
        let entry = entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            last: now,
            locked_until: None,
        });
        if now.duration_since(entry.last) >= self.policy.window {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        let over = entry
            .failures
            .checked_sub(self.policy.free)
            .filter(|n| *n > 0)?;
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        let lock = self.policy.base.saturating_mul(factor).min(self.policy.max);
        entry.locked_until = Some(now + lock);
        Some(lock)
    }

    /// Clears `key`.
    pub(crate) fn success(&self, key: &K) {
        self.entries.lock().remove(key);
    }

    /// Drops keys whose failures are all older than the window.
    pub(crate) fn prune(&self, now: Instant) {
        let window = self.policy.window;
        self.entries.lock().retain(|_, e| {
            now.duration_since(e.last) < window || e.locked_until.is_some_and(|u| u > now)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        free: 2,
        base: Duration::from_secs(1),
        max: Duration::from_secs(5),
        window: Duration::from_secs(60),
    };

    #[test]
    fn backs_off_exponentially_and_resets() {
        let t = Throttle::<&str>::new(POLICY);
        let now = Instant::now();
        assert_eq!(t.failure(&"u", now), None);
        assert_eq!(t.failure(&"u", now), None);
        assert!(t.check(&"u", now).is_ok());
        assert_eq!(t.failure(&"u", now), Some(Duration::from_secs(1)));
        assert_eq!(t.check(&"u", now), Err(Duration::from_secs(1)));
        assert!(t.check(&"u", now + Duration::from_secs(1)).is_ok());
        assert_eq!(t.failure(&"u", now), Some(Duration::from_secs(2)));
        assert_eq!(t.failure(&"u", now), Some(Duration::from_secs(4)));
        assert_eq!(t.failure(&"u", now), Some(Duration::from_secs(5)), "capped");
        for _ in 0..100 {
            t.failure(&"u", now);
        }
        assert_eq!(t.check(&"u", now), Err(Duration::from_secs(5)));
        assert!(t.check(&"other", now).is_ok());
        t.success(&"u");
        assert!(t.check(&"u", now).is_ok());
        // Old failures are forgotten.
        t.failure(&"v", now);
        t.failure(&"v", now);
        assert_eq!(t.failure(&"v", now + Duration::from_secs(61)), None);
        t.prune(now + Duration::from_secs(200));
        assert!(t.entries.lock().is_empty());
    }
}
