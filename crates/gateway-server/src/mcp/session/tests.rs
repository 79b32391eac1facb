use gateway_auth::SessionKey;

use super::*;

fn sessions(max_live: usize, max_closed: usize) -> Sessions {
    let key = SessionKey::generate().unwrap();
    Sessions::new(
        SessionSealer::new(key, Vec::new()),
        Duration::from_secs(60),
        Duration::from_secs(3600),
        max_live,
        max_closed,
    )
}

fn claims() -> Claims {
    Claims::new(
        Some("echo".to_owned()),
        ProtocolVersion::parse("2025-06-18").unwrap(),
        None,
        None,
    )
}

fn issue(s: &Sessions) -> (Arc<str>, Arc<Live>) {
    s.issue(claims(), Arc::default(), None).unwrap()
}

fn is_live(s: &Sessions, id: &str) -> bool {
    s.live.lock().contains_key(id)
}

#[test]
fn past_the_cap_the_least_recently_used_idle_entry_goes() {
    let s = sessions(3, 10);
    let (a, live_a) = issue(&s);
    let (b, _) = issue(&s);
    let (c, _) = issue(&s);
    // b is the least recently used.
    live_a
        .last_seen_ms
        .store(unix_now_ms() + 10, Ordering::Relaxed);
    s.live.lock()[&c]
        .last_seen_ms
        .store(unix_now_ms() + 5, Ordering::Relaxed);
    let (d, _) = issue(&s);
    assert_eq!(s.live.lock().len(), 3);
    assert!(!is_live(&s, &b) && is_live(&s, &a) && is_live(&s, &c) && is_live(&s, &d));
    // The dropped entry comes back from its sealed id (making room again).
    let back = s.open(&b, Some("echo"), None).unwrap();
    assert_eq!(back.claims.template.as_deref(), Some("echo"));
    assert_eq!(s.live.lock().len(), 3);
}

#[test]
fn busy_entries_stay_and_a_full_replica_refuses() {
    let s = sessions(2, 10);
    let (a, live_a) = issue(&s);
    let (_b, live_b) = issue(&s);
    live_a.stream_open.store(true, Ordering::Relaxed);
    let (_cancel, in_flight) = live_b.track("1".to_owned());
    assert!(matches!(
        s.issue(claims(), Arc::default(), None),
        Err(SessionError::Overloaded(2))
    ));
    drop(in_flight);
    let (_c, _) = issue(&s);
    assert!(is_live(&s, &a), "the entry with a stream stayed");
}

#[test]
fn a_closed_id_is_refused_until_the_closure_is_forgotten() {
    let s = sessions(10, 2);
    let (a, live) = issue(&s);
    s.close(&a, live.claims.issued);
    assert!(matches!(
        s.open(&a, Some("echo"), None),
        Err(SessionError::Closed)
    ));
    // Two more closures push a's out of the bounded memory: the documented price.
    for _ in 0..2 {
        let (id, live) = issue(&s);
        s.close(&id, live.claims.issued);
    }
    assert!(s.open(&a, Some("echo"), None).is_ok());
}

#[test]
fn a_closure_is_kept_until_the_id_would_have_expired() {
    let s = sessions(10, 10);
    let (a, _) = issue(&s);
    // Issued long ago: its closure is already past the session's maximum age.
    s.close(&a, unix_now() - 7200);
    s.reap();
    assert_eq!(s.closed.len(), 0);
    let (b, live) = issue(&s);
    s.close(&b, live.claims.issued);
    s.reap();
    assert_eq!(s.closed.len(), 1);
}

#[test]
fn a_dedicated_session_is_placed_on_its_owner() {
    let key = SessionKey::generate().unwrap();
    let replica = |name: &str| {
        let sessions = Sessions::new(
            SessionSealer::new(key.clone(), Vec::new()),
            Duration::from_secs(60),
            Duration::from_secs(3600),
            10,
            10,
        );
        let hop = Hop::new(
            Owner::this_process(format!("http://{name}:1"), name.to_owned()),
            gateway_auth::HopSigner::derived(&key),
            1024,
        );
        (sessions, hop)
    };
    let (a, hop_a) = replica("a");
    let (b, hop_b) = replica("b");
    // Shared-mode sessions have no owner: served anywhere.
    let (shared, _) = issue(&a);
    assert_eq!(b.place(&shared, &hop_b), Place::Here);
    let mut owned = claims();
    owned.owner = Some(hop_a.me.clone());
    let (id, _) = a.issue(owned, Arc::default(), None).unwrap();
    assert_eq!(a.place(&id, &hop_a), Place::Here);
    assert_eq!(b.place(&id, &hop_b), Place::There(hop_a.me.clone()));
    // `a` restarted: a new process with the same name and address.
    let (a2, hop_a2) = replica("a");
    assert_eq!(a2.place(&id, &hop_a2), Place::Gone);
    // Unreadable ids stay here, where the handler answers 404.
    assert_eq!(b.place("garbage", &hop_b), Place::Here);
    // HTTP+SSE connections likewise.
    let conn = a.connection_id(&hop_a.me);
    assert_eq!(a.connection_place(&conn, &hop_a), Place::Here);
    assert_eq!(
        b.connection_place(&conn, &hop_b),
        Place::There(hop_a.me.clone())
    );
    assert_eq!(a2.connection_place(&conn, &hop_a2), Place::Gone);
    // A session id is no connection id, and the other way round.
    assert_eq!(b.connection_place(&id, &hop_b), Place::Here);
    assert_eq!(b.place(&conn, &hop_b), Place::Here);
}
