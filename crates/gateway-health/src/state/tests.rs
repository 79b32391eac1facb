use super::*;

const MS: Duration = Duration::from_millis(1);

fn fresh() -> (InstanceHealth, Instant) {
    let now = Instant::now();
    (
        InstanceHealth::new(HealthPolicy::default(), HealthStatus::Unknown, now),
        now,
    )
}

#[test]
fn probes_apply_thresholds() {
    let (mut h, t) = fresh();
    h.on_probe(true, MS, t);
    assert_eq!(
        h.status(),
        HealthStatus::Healthy,
        "the first success settles an unknown instance"
    );
    h.on_probe(false, MS, t);
    assert_eq!(
        h.status(),
        HealthStatus::Healthy,
        "one failure is below the threshold"
    );
    let changes = h.on_probe(false, MS, t);
    assert_eq!(h.status(), HealthStatus::Unhealthy);
    assert_eq!(
        changes,
        vec![Transition::Status {
            from: HealthStatus::Healthy,
            to: HealthStatus::Unhealthy
        }]
    );
    assert!(!h.is_routable(t));
    h.on_probe(true, MS, t);
    assert_eq!(
        h.status(),
        HealthStatus::Unhealthy,
        "one success is below the healthy threshold"
    );
    h.on_probe(true, MS, t);
    assert_eq!(h.status(), HealthStatus::Healthy);
    assert!(h.is_routable(t));
}

#[test]
fn breaker_cycles_closed_open_half_open_closed() {
    let (mut h, t) = fresh();
    for _ in 0..2 {
        h.on_request(Outcome::Failure, MS, t);
    }
    assert_eq!(h.circuit(t), Circuit::Closed);
    let changes = h.on_request(Outcome::Failure, MS, t);
    assert_eq!(
        changes,
        vec![Transition::Circuit {
            from: CircuitPosition::Closed,
            to: CircuitPosition::Open
        }]
    );
    assert!(!h.is_routable(t) && !h.try_acquire(t));
    // After the open period: half-open, two trials at most.
    let later = t + Duration::from_secs(2);
    assert_eq!(h.circuit(later).as_str(), "half_open");
    assert!(h.try_acquire(later) && h.try_acquire(later));
    assert!(!h.try_acquire(later), "only two trials");
    h.on_request(Outcome::Success, MS, later);
    assert_eq!(h.circuit(later).as_str(), "half_open");
    let changes = h.on_request(Outcome::Success, MS, later);
    assert_eq!(
        changes,
        vec![Transition::Circuit {
            from: CircuitPosition::HalfOpen,
            to: CircuitPosition::Closed
        }]
    );
    assert!(h.try_acquire(later));
}

#[test]
fn repeated_ejection_backs_off_and_resets_after_stability() {
    let (mut h, t) = fresh();
    let trip = |h: &mut InstanceHealth, at| {
        for _ in 0..3 {
            h.on_request(Outcome::Failure, MS, at);
        }
    };
    trip(&mut h, t);
    let Circuit::Open { until } = h.circuit(t) else {
        panic!()
    };
    assert_eq!(until - t, Duration::from_secs(2));
    // Half-open trial fails: open again for twice as long.
    let t2 = t + Duration::from_secs(2);
    assert!(h.try_acquire(t2));
    h.on_request(Outcome::Failure, MS, t2);
    let Circuit::Open { until } = h.circuit(t2) else {
        panic!()
    };
    assert_eq!(until - t2, Duration::from_secs(4));
    assert_eq!(h.ejections(), 2);
    // Probes close it; a long calm period resets the back-off.
    let t3 = t2 + Duration::from_secs(4);
    h.on_probe(true, MS, t3);
    h.on_probe(true, MS, t3);
    assert_eq!(h.circuit(t3), Circuit::Closed);
    let t4 = t3 + Duration::from_secs(61);
    trip(&mut h, t4);
    let Circuit::Open { until } = h.circuit(t4) else {
        panic!()
    };
    assert_eq!(
        until - t4,
        Duration::from_secs(2),
        "back-off restarts after a stable period"
    );
}

#[test]
fn score_prefers_fast_and_successful() {
    let (mut fast, t) = fresh();
    let (mut slow, _) = fresh();
    let (mut failing, _) = fresh();
    for _ in 0..10 {
        fast.on_probe(true, Duration::from_millis(2), t);
        slow.on_probe(true, Duration::from_millis(400), t);
        failing.on_request(Outcome::Failure, Duration::from_millis(2), t);
        failing.on_request(Outcome::Success, Duration::from_millis(2), t);
    }
    assert!(
        fast.score() > slow.score(),
        "{:?} vs {:?}",
        fast.score(),
        slow.score()
    );
    assert!(fast.score() > failing.score());
    assert!(fast.score().get() > 0.95);
}

#[test]
fn a_failing_probe_reopens_a_half_open_circuit() {
    let (mut h, t) = fresh();
    for _ in 0..3 {
        h.on_request(Outcome::Failure, MS, t);
    }
    let later = t + Duration::from_secs(3);
    let changes = h.on_probe(false, MS, later);
    assert!(changes.contains(&Transition::Circuit {
        from: CircuitPosition::Open,
        to: CircuitPosition::HalfOpen
    }));
    assert!(changes.contains(&Transition::Circuit {
        from: CircuitPosition::HalfOpen,
        to: CircuitPosition::Open
    }));
    assert_eq!(h.circuit(later).as_str(), "open");
}

#[test]
fn a_link_down_holds_the_instance_out_until_it_is_back_and_probed() {
    let (mut h, t) = fresh();
    h.on_probe(true, MS, t);
    assert_eq!(h.on_link_up(t), vec![], "the first start changes nothing");
    assert!(h.is_routable(t));
    let changes = h.on_link_down(1, 100 * MS, t);
    assert_eq!(
        changes,
        vec![Transition::Link {
            up: false,
            attempt: 1
        }]
    );
    assert!(!h.is_routable(t), "down at once, no threshold");
    assert_eq!(h.on_link_down(1, 100 * MS, t), vec![], "same report again");
    let link = h.link().unwrap();
    assert!(link.down);
    assert_eq!(
        (link.restarts, link.attempt, link.backoff),
        (1, 1, 100 * MS)
    );
    // Back: a new process, routable, healthy after its first passed probe.
    let changes = h.on_link_up(t);
    assert!(changes.contains(&Transition::Status {
        from: HealthStatus::Healthy,
        to: HealthStatus::Starting
    }));
    assert!(h.is_routable(t));
    assert_eq!(h.status(), HealthStatus::Starting);
    h.on_probe(true, MS, t);
    assert_eq!(h.status(), HealthStatus::Healthy);
    // The next crash continues the streak.
    h.on_link_down(2, 200 * MS, t);
    let link = h.link().unwrap();
    assert_eq!(
        (link.restarts, link.attempt, link.backoff),
        (2, 2, 200 * MS)
    );
}

#[test]
fn a_link_back_after_failed_probes_is_trusted_like_a_new_instance() {
    let (mut h, t) = fresh();
    h.on_link_down(1, MS, t);
    h.on_probe(false, MS, t);
    h.on_probe(false, MS, t);
    assert_eq!(h.status(), HealthStatus::Unhealthy);
    h.on_link_up(t);
    assert_eq!(h.status(), HealthStatus::Starting);
    h.on_probe(true, MS, t);
    assert_eq!(
        h.status(),
        HealthStatus::Healthy,
        "one probe, as for a new child"
    );
}

#[test]
fn a_crash_loop_opens_the_circuit() {
    let (mut h, t) = fresh();
    h.on_link_down(1, MS, t);
    assert!(
        h.awaits_restart(t),
        "worth waiting for when nothing else serves"
    );
    h.on_link_up(t);
    h.on_link_down(2, MS, t);
    h.on_link_up(t);
    assert_eq!(
        h.circuit(t),
        Circuit::Closed,
        "two restarts in a row are not a loop"
    );
    let changes = h.on_link_down(3, MS, t);
    assert!(changes.contains(&Transition::Circuit {
        from: CircuitPosition::Closed,
        to: CircuitPosition::Open
    }));
    assert!(!h.awaits_restart(t), "a loop is not waited for");
    h.on_link_up(t);
    assert!(!h.is_routable(t), "held out while the circuit is open");
    // Half-open: a crash fails the trial and doubles the ejection.
    let later = t + Duration::from_secs(2);
    assert_eq!(h.circuit(later).as_str(), "half_open");
    h.on_link_down(4, MS, later);
    let Circuit::Open { until } = h.circuit(later) else {
        panic!("reopened")
    };
    assert_eq!(until - later, Duration::from_secs(4));
    // A single crash costs the breaker nothing: the calls it broke already counted.
    let (mut h, t) = fresh();
    h.on_request(Outcome::Failure, MS, t);
    h.on_request(Outcome::Failure, MS, t);
    h.on_link_down(1, MS, t);
    assert_eq!(h.circuit(t), Circuit::Closed);
}

#[test]
fn failed_probes_end_the_wait_for_a_restart() {
    let (mut h, t) = fresh();
    h.on_link_down(1, MS, t);
    h.on_probe(false, MS, t);
    assert!(h.awaits_restart(t));
    h.on_probe(false, MS, t);
    assert!(
        !h.awaits_restart(t),
        "unhealthy: not worth holding requests for"
    );
}
