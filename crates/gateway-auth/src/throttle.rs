//! Failure throttling: after `free` failures in a row, each further failure locks the
//! key for an exponentially growing time (`base`, 2×`base`, … up to `max`). Failures
//! older than `window` are forgotten.
//!
//! Two users of it:
//! - [`Throttle`]: invalid API keys or tokens per client address (counted after the
//!   cheap check that found them invalid).
//! - [`LoginThrottle`]: logins, in three buckets at once (see [`ThrottlePolicy`]'s
//!   constants). A login *reserves* a slot in each bucket before its password is checked
//!   and gives it back with the outcome, so attempts in flight count: past the free
//!   budget only one attempt per bucket runs at a time, and parallel guesses are refused
//!   with 429 instead of all being checked.
//!
//! Client addresses are throttled per IPv4 address and per IPv6 /64 (one host usually
//! owns a whole /64). This module keeps the counters in this process's memory; with
//! `MCP_GATEWAY_REDIS_URL` set the same rules run in Redis (`crate::fleet`), shared by
//! every replica, and this module is the fallback while Redis is unreachable (each
//! replica then throttles on its own: an attacker spreading attempts over N replicas
//! gets N times the budget, still exponentially slowed). Each table holds at most [`MAX_KEYS`] keys; when full, idle
//! keys whose failures are older than the window go first, then the least recently
//! touched ones.

use std::{
    collections::HashMap,
    hash::Hash,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::{Duration, Instant},
};

use parking_lot::Mutex;

/// Most keys tracked per table.
const MAX_KEYS: usize = 100_000;
/// When a full table has no stale key, this share of it (the least recently touched
/// keys with nothing in flight) is dropped at once, so eviction is not paid per insert.
const EVICT_DIVISOR: usize = 10;
/// What a caller refused because attempts are already in flight waits.
pub(crate) const IN_FLIGHT_RETRY: Duration = Duration::from_secs(1);

/// How a throttle slows repeated failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before the first lock (and attempts that may run at once while
    /// under that budget).
    pub free: u32,
    /// The first lock.
    pub base: Duration,
    /// The longest lock.
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl ThrottlePolicy {
    /// Logins for one user name from one client address: 5 free failures, then
    /// 1 s, 2 s, 4 s … up to 15 min. Locks that name for that address only: the same
    /// user can still log in from an address that has not failed.
    pub const PER_USER_AND_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free: 5,
        base: Duration::from_secs(1),
        max: Duration::from_secs(15 * 60),
        window: Duration::from_secs(15 * 60),
    };
    /// Logins from one client address, whatever the name (password spraying): 20 free
    /// failures, then the same back-off.
    pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
        free: 20,
        base: Duration::from_secs(1),
        max: Duration::from_secs(15 * 60),
        window: Duration::from_secs(15 * 60),
    };
    /// Logins for one user name from anywhere (guessing distributed over many
    /// addresses): 100 free failures, then 1 s, 2 s … capped at 30 s. It only slows:
    /// the name is never locked for longer than 30 s at a time.
    pub const PER_USER: ThrottlePolicy = ThrottlePolicy {
        free: 100,
        base: Duration::from_secs(1),
        max: Duration::from_secs(30),
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

/// The throttling key of a client address: IPv4 as is, IPv6 by its /64 (an
/// IPv4-mapped IPv6 address counts as the IPv4 address).
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    in_flight: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Entry {
            failures: 0,
            in_flight: 0,
            last: now,
            locked_until: None,
        }
    }

    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .filter(|until| *until > now)
            .map(|until| until - now)
    }

    /// Failures that still count at `now`.
    fn recent_failures(&self, now: Instant, window: Duration) -> u32 {
        if now.duration_since(self.last) >= window {
            0
        } else {
            self.failures
        }
    }

    fn is_idle(&self, now: Instant, window: Duration) -> bool {
        self.in_flight == 0 && self.locked(now).is_none() && now.duration_since(self.last) >= window
    }
}

/// One policy's counters (unlocked; the owners hold the lock).
#[derive(Debug)]
struct Table<K> {
    policy: ThrottlePolicy,
    entries: HashMap<K, Entry>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            entries: HashMap::new(),
        }
    }

    /// `Err(wait)` while `key` is locked.
    fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        match self.entries.get(key).and_then(|e| e.locked(now)) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// `Err(wait)` unless an attempt for `key` may start now: not locked, and either
    /// within the free budget counting attempts in flight, or none in flight.
    fn admit(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let Some(entry) = self.entries.get(key) else {
            return Ok(());
        };
        if let Some(wait) = entry.locked(now) {
            return Err(wait);
        }
        let used = entry
            .recent_failures(now, self.policy.window)
            .saturating_add(entry.in_flight);
        if entry.in_flight > 0 && used >= self.policy.free {
            return Err(IN_FLIGHT_RETRY);
        }
        Ok(())
    }

    fn entry(&mut self, key: &K, now: Instant) -> &mut Entry {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_KEYS {
            self.make_room(now);
        }
        self.entries
            .entry(key.clone())
            .or_insert_with(|| Entry::new(now))
    }

    /// Drops idle keys; if none is idle, the least recently touched keys with nothing in
    /// flight.
    fn make_room(&mut self, now: Instant) {
        let window = self.policy.window;
        self.entries.retain(|_, e| !e.is_idle(now, window));
        if self.entries.len() < MAX_KEYS {
            return;
        }
        let mut candidates: Vec<(Instant, K)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.in_flight == 0)
            .map(|(k, e)| (e.last, k.clone()))
            .collect();
        let n = (MAX_KEYS / EVICT_DIVISOR).min(candidates.len());
        if n == 0 {
            return;
        }
        candidates.select_nth_unstable_by_key(n - 1, |(last, _)| *last);
        for (_, key) in candidates.iter().take(n) {
            self.entries.remove(key);
        }
    }

    /// Counts an attempt in flight.
    fn reserve(&mut self, key: &K, now: Instant) {
        let entry = self.entry(key, now);
        entry.in_flight = entry.in_flight.saturating_add(1);
    }

    /// Gives back an attempt's slot without counting it.
    fn release(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
        }
    }

    /// Records a failure; returns the lock it caused, if any.
    fn failure(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let policy = self.policy;
        let entry = self.entry(key, now);
        entry.failures = entry.recent_failures(now, policy.window).saturating_add(1);
        entry.last = now;
        let over = entry.failures.checked_sub(policy.free).filter(|n| *n > 0)?;
        let factor = 1u32.checked_shl(over - 1).unwrap_or(u32::MAX);
        let lock = policy.base.saturating_mul(factor).min(policy.max);
        entry.locked_until = Some(now + lock);
        Some(lock)
    }

    /// Clears `key`'s failures and lock (attempts still in flight stay counted).
    fn success(&mut self, key: &K) {
        match self.entries.get_mut(key) {
            Some(entry) if entry.in_flight > 0 => {
                entry.failures = 0;
                entry.locked_until = None;
            }
            Some(_) => {
                self.entries.remove(key);
            }
            None => {}
        }
    }

    /// Drops keys with nothing in flight, no lock, and failures older than the window.
    fn prune(&mut self, now: Instant) {
        let window = self.policy.window;
        self.entries.retain(|_, e| !e.is_idle(now, window));
    }
}

/// Failure counters per key (here: client addresses sending invalid credentials).
#[derive(Debug)]
pub(crate) struct Throttle<K> {
    table: Mutex<Table<K>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub(crate) fn new(policy: ThrottlePolicy) -> Self {
        Self {
            table: Mutex::new(Table::new(policy)),
        }
    }

    /// `Err(wait)` while `key` is locked.
    pub(crate) fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        self.table.lock().check(key, now)
    }

    /// Records a failure; returns the lock it caused, if any.
    pub(crate) fn failure(&self, key: &K, now: Instant) -> Option<Duration> {
        self.table.lock().failure(key, now)
    }

    /// Drops keys whose failures are all older than the window.
    pub(crate) fn prune(&self, now: Instant) {
        self.table.lock().prune(now);
    }
}

/// The three login buckets, behind one lock so that an attempt is admitted by all of
/// them or by none.
#[derive(Debug)]
struct LoginTables {
    /// (lower-case user name, address key).
    pair: Table<(String, IpAddr)>,
    /// Address key.
    address: Table<IpAddr>,
    /// Lower-case user name.
    user: Table<String>,
}

/// Login throttling per (user name, address), per address and per user name.
#[derive(Debug)]
pub(crate) struct LoginThrottle {
    tables: Mutex<LoginTables>,
}

/// The key used for names that cannot be user names (too long, bad characters): they
/// all share one bucket, so junk names cannot fill the tables.
const INVALID_NAME: &str = "\u{0}invalid";
/// The address used when the client's is unknown (never the case behind the server,
/// which always knows the peer).
const UNKNOWN_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl LoginThrottle {
    pub(crate) fn new() -> Self {
        Self {
            tables: Mutex::new(LoginTables {
                pair: Table::new(ThrottlePolicy::PER_USER_AND_ADDRESS),
                address: Table::new(ThrottlePolicy::PER_ADDRESS),
                user: Table::new(ThrottlePolicy::PER_USER),
            }),
        }
    }

    /// Starts a login attempt for `username` from `client`: `Err(wait)` if any bucket
    /// refuses it (the longest wait), else the reserved attempt. Give it back with
    /// [`LoginAttempt::failed`] or [`LoginAttempt::succeeded`]; dropped without either
    /// (the check could not run), it counts for nothing.
    #[cfg(test)]
    pub(crate) fn begin(
        &self,
        username: &str,
        client: Option<IpAddr>,
        now: Instant,
    ) -> Result<LoginAttempt<'_>, Duration> {
        let key = LoginKey::new(username, client);
        self.reserve(&key, now)?;
        Ok(LoginAttempt {
            throttle: self,
            key: Some(key),
        })
    }

    /// Admits `key`'s attempt and reserves a slot in each bucket, or `Err(wait)` (the
    /// longest) if any bucket refuses it. Give the slot back with [`LoginThrottle::finish`].
    pub(crate) fn reserve(&self, key: &LoginKey, now: Instant) -> Result<(), Duration> {
        let pair = key.pair();
        let mut t = self.tables.lock();
        let waits = [
            t.pair.admit(&pair, now),
            t.address.admit(&key.address, now),
            t.user.admit(&key.user, now),
        ];
        if let Some(wait) = waits.iter().filter_map(|r| r.err()).max() {
            return Err(wait);
        }
        t.pair.reserve(&pair, now);
        t.address.reserve(&key.address, now);
        t.user.reserve(&key.user, now);
        Ok(())
    }

    /// Gives back a slot taken by [`LoginThrottle::reserve`], with the attempt's outcome:
    /// a failure counts in every bucket; a success clears the (user, address) bucket
    /// only, so a valid login of one's own cannot reset the budget for guessing other
    /// names, nor a guesser's count on this name; an abandoned attempt (the check could
    /// not run) counts for nothing.
    pub(crate) fn finish(&self, key: &LoginKey, outcome: LoginOutcome, now: Instant) {
        let pair = key.pair();
        let mut t = self.tables.lock();
        t.pair.release(&pair);
        t.address.release(&key.address);
        t.user.release(&key.user);
        match outcome {
            LoginOutcome::Failed => {
                t.pair.failure(&pair, now);
                t.address.failure(&key.address, now);
                t.user.failure(&key.user, now);
            }
            LoginOutcome::Succeeded => t.pair.success(&pair),
            LoginOutcome::Abandoned => {}
        }
    }

    /// Drops stale keys.
    pub(crate) fn prune(&self, now: Instant) {
        let mut t = self.tables.lock();
        t.pair.prune(now);
        t.address.prune(now);
        t.user.prune(now);
    }
}

/// The buckets of one login attempt: the user name (lower case; one shared key for
/// names that cannot be user names) and the client's address key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginKey {
    pub(crate) user: String,
    pub(crate) address: IpAddr,
}

impl LoginKey {
    pub(crate) fn new(username: &str, client: Option<IpAddr>) -> LoginKey {
        let user = if gateway_core::Username::parse(username).is_ok() {
            username.to_lowercase()
        } else {
            INVALID_NAME.to_owned()
        };
        LoginKey {
            user,
            address: client.map_or(UNKNOWN_ADDRESS, address_key),
        }
    }

    fn pair(&self) -> (String, IpAddr) {
        (self.user.clone(), self.address)
    }
}

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginOutcome {
    /// Wrong password, unknown or disabled user.
    Failed,
    /// The password matched.
    Succeeded,
    /// The check could not run (database or hashing failure): counts for nothing.
    Abandoned,
}

/// A login attempt holding a slot in each bucket (tests of the in-memory throttle).
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    /// `None` once given back.
    key: Option<LoginKey>,
}

#[cfg(test)]
impl LoginAttempt<'_> {
    /// The password was wrong (or the user unknown or disabled).
    pub(crate) fn failed(mut self, now: Instant) {
        if let Some(key) = self.key.take() {
            self.throttle.finish(&key, LoginOutcome::Failed, now);
        }
    }

    /// The login worked.
    pub(crate) fn succeeded(mut self) {
        if let Some(key) = self.key.take() {
            self.throttle
                .finish(&key, LoginOutcome::Succeeded, Instant::now());
        }
    }
}

#[cfg(test)]
impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.throttle
                .finish(&key, LoginOutcome::Abandoned, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests;
