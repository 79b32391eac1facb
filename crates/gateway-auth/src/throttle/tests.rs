use super::*;

const POLICY: ThrottlePolicy = ThrottlePolicy {
    free: 2,
    base: Duration::from_secs(1),
    max: Duration::from_secs(5),
    window: Duration::from_secs(60),
};

const S: Duration = Duration::from_secs(1);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn backs_off_exponentially_and_resets() {
    let t = Throttle::<&str>::new(POLICY);
    let now = Instant::now();
    assert_eq!(t.failure(&"u", now), None);
    assert_eq!(t.failure(&"u", now), None);
    assert!(t.check(&"u", now).is_ok());
    assert_eq!(t.failure(&"u", now), Some(S));
    assert_eq!(t.check(&"u", now), Err(S));
    assert!(t.check(&"u", now + S).is_ok());
    assert_eq!(t.failure(&"u", now), Some(2 * S));
    assert_eq!(t.failure(&"u", now), Some(4 * S));
    assert_eq!(t.failure(&"u", now), Some(5 * S), "capped");
    for _ in 0..100 {
        t.failure(&"u", now);
    }
    assert_eq!(t.check(&"u", now), Err(5 * S));
    assert!(t.check(&"other", now).is_ok());
    // Old failures are forgotten.
    t.failure(&"v", now);
    t.failure(&"v", now);
    assert_eq!(t.failure(&"v", now + 61 * S), None);
    t.prune(now + 200 * S);
    assert!(t.table.lock().entries.is_empty());
}

#[test]
fn attempts_in_flight_count_against_the_free_budget() {
    let mut t = Table::<&str>::new(POLICY);
    let now = Instant::now();
    // Two may run at once (the free budget); a third waits for one of them.
    t.admit(&"u", now).unwrap();
    t.reserve(&"u", now);
    t.admit(&"u", now).unwrap();
    t.reserve(&"u", now);
    assert_eq!(t.admit(&"u", now), Err(IN_FLIGHT_RETRY));
    // Both fail: the budget is spent, but nothing is locked yet and nothing in flight,
    // so exactly one more attempt may run…
    t.release(&"u");
    t.failure(&"u", now);
    assert_eq!(
        t.admit(&"u", now),
        Err(IN_FLIGHT_RETRY),
        "one still in flight"
    );
    t.release(&"u");
    t.failure(&"u", now);
    t.admit(&"u", now).unwrap();
    t.reserve(&"u", now);
    // …and only one.
    assert_eq!(t.admit(&"u", now), Err(IN_FLIGHT_RETRY));
    t.release(&"u");
    assert_eq!(t.failure(&"u", now), Some(S));
    assert_eq!(t.admit(&"u", now), Err(S), "locked");
    t.admit(&"u", now + S).unwrap();
    // A success clears failures and lock, and the key goes once nothing is in flight.
    t.reserve(&"u", now + S);
    t.release(&"u");
    t.success(&"u");
    assert!(t.entries.is_empty());
}

#[test]
fn a_full_table_stays_bounded_and_keeps_busy_keys() {
    let mut t = Table::<u32>::new(POLICY);
    let start = Instant::now();
    // Key 0 is in flight and oldest; every other key failed once, in order.
    t.reserve(&0, start);
    for k in 1..MAX_KEYS as u32 {
        t.failure(&k, start + Duration::from_millis(u64::from(k)));
    }
    assert_eq!(t.entries.len(), MAX_KEYS);
    let later = start + Duration::from_secs(30);
    t.failure(&u32::MAX, later);
    assert!(t.entries.len() <= MAX_KEYS, "bounded");
    assert!(t.entries.contains_key(&0), "in flight: kept");
    assert!(t.entries.contains_key(&u32::MAX), "the new key is tracked");
    assert!(
        !t.entries.contains_key(&1),
        "the least recently touched went first"
    );
    assert!(
        t.entries.contains_key(&(MAX_KEYS as u32 - 1)),
        "the newest stayed"
    );
    // Once the window passed, only what is in flight is kept.
    t.prune(later + Duration::from_secs(3600));
    assert_eq!(t.entries.keys().collect::<Vec<_>>(), [&0]);
}

#[test]
fn ipv6_is_throttled_per_64() {
    assert_eq!(address_key(ip("192.0.2.1")), ip("192.0.2.1"));
    assert_eq!(address_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    assert_eq!(
        address_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
        ip("2001:db8:1:2::")
    );
    assert_ne!(address_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
}

/// Runs a failed login for `user` from `addr` at `now`; `Err(wait)` if refused.
fn fail(t: &LoginThrottle, user: &str, addr: &str, now: Instant) -> Result<(), Duration> {
    t.begin(user, Some(ip(addr)), now)?.failed(now);
    Ok(())
}

#[test]
fn parallel_logins_beyond_the_budget_are_refused_before_any_check() {
    let t = LoginThrottle::new();
    let now = Instant::now();
    let free = ThrottlePolicy::PER_USER_AND_ADDRESS.free;
    let started: Vec<_> = (0..40)
        .filter_map(|_| t.begin("hank", Some(ip("192.0.2.1")), now).ok())
        .collect();
    assert_eq!(started.len(), free as usize, "only the free budget runs");
    for attempt in started {
        attempt.failed(now);
    }
    // Budget spent: one more attempt may run, which locks the pair when it fails.
    fail(&t, "hank", "192.0.2.1", now).unwrap();
    assert_eq!(
        t.begin("HANK", Some(ip("192.0.2.1")), now).unwrap_err(),
        S,
        "names are not case-sensitive here"
    );
    // Another address, and another user from the same address, are not affected.
    t.begin("hank", Some(ip("198.51.100.7")), now)
        .unwrap()
        .succeeded();
    t.begin("admin", Some(ip("192.0.2.1")), now)
        .unwrap()
        .succeeded();
}

#[test]
fn an_abandoned_attempt_counts_for_nothing() {
    let t = LoginThrottle::new();
    let now = Instant::now();
    for _ in 0..100 {
        drop(t.begin("ivy", Some(ip("192.0.2.1")), now).unwrap());
    }
    let tables = t.tables.lock();
    let pair = ("ivy".to_owned(), ip("192.0.2.1"));
    assert_eq!(tables.pair.entries[&pair].failures, 0);
    assert_eq!(tables.pair.entries[&pair].in_flight, 0);
}

#[test]
fn a_success_clears_only_its_own_pair() {
    let t = LoginThrottle::new();
    let now = Instant::now();
    for _ in 0..=ThrottlePolicy::PER_USER_AND_ADDRESS.free {
        fail(&t, "jo", "192.0.2.1", now).unwrap();
    }
    assert!(t.begin("jo", Some(ip("192.0.2.1")), now).is_err());
    t.begin("jo", Some(ip("192.0.2.2")), now)
        .unwrap()
        .succeeded();
    assert!(
        t.begin("jo", Some(ip("192.0.2.1")), now).is_err(),
        "still locked there"
    );
    let tables = t.tables.lock();
    assert_eq!(
        tables.user.entries["jo"].failures, 6,
        "the name keeps its count"
    );
}

#[test]
fn spraying_names_from_one_address_is_slowed() {
    let t = LoginThrottle::new();
    let now = Instant::now();
    let free = ThrottlePolicy::PER_ADDRESS.free;
    for i in 0..=free {
        fail(&t, &format!("user{i}"), "203.0.113.5", now).unwrap();
    }
    let wait = t
        .begin("someone-else", Some(ip("203.0.113.5")), now)
        .unwrap_err();
    assert_eq!(wait, S);
    // The same names from another address are fine.
    t.begin("user1", Some(ip("203.0.113.6")), now)
        .unwrap()
        .succeeded();
}

#[test]
fn distributed_guessing_is_slowed_but_never_locked_for_long() {
    let t = LoginThrottle::new();
    let mut now = Instant::now();
    let policy = ThrottlePolicy::PER_USER;
    for i in 0..policy.free {
        fail(&t, "root", &format!("10.0.{}.{}", i / 256, i % 256), now).unwrap();
    }
    // The next failure from yet another address locks the name everywhere, briefly.
    fail(&t, "root", "10.1.0.1", now).unwrap();
    assert_eq!(t.begin("root", Some(ip("10.1.0.2")), now).unwrap_err(), S);
    // However long it goes on, the lock never exceeds `max`.
    for i in 0..50u32 {
        now += policy.max;
        fail(&t, "root", &format!("10.2.0.{i}"), now).unwrap();
    }
    let wait = t.begin("root", Some(ip("10.3.0.1")), now).unwrap_err();
    assert_eq!(wait, policy.max);
    t.begin("root", Some(ip("10.3.0.1")), now + policy.max)
        .unwrap()
        .succeeded();
}

#[test]
fn junk_names_share_one_bucket() {
    let t = LoginThrottle::new();
    let now = Instant::now();
    for i in 0..5 {
        let name = format!("{}{i}", "x".repeat(100));
        fail(&t, &name, "192.0.2.9", now).unwrap();
    }
    let tables = t.tables.lock();
    assert_eq!(tables.user.entries.len(), 1);
    assert_eq!(tables.user.entries[INVALID_NAME].failures, 5);
}
