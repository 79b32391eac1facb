//! Health checking, failover, retries and circuit breaking, end to end: real gateway
//! binary, real echo upstreams, real faults (SIGKILL, the `crash` tool, SIGSTOP for a
//! hung instance). Health checks run every second here (MCP_GATEWAY_HEALTH_INTERVAL=1),
//! except in the passive-check tests, where only live traffic may change an instance's
//! health ([`passive_only_gateway`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use gateway_e2e::{EchoHttp, TestGateway, free_port, repo_root, wait_until};
use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

async fn gateway() -> TestGateway {
    TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_HEALTH_INTERVAL", "1")
        .env("MCP_GATEWAY_HEALTH_TIMEOUT", "1")
        .start()
        .await
}

fn signal(pid: u32, signal: Signal) {
    nix::sys::signal::kill(Pid::from_raw(i32::try_from(pid).unwrap()), signal).unwrap();
}

async fn health(gw: &TestGateway, template: &str) -> Value {
    gw.http()
        .get(&format!("/mcp/{template}/health"))
        .await
        .expect_status(200)
}

/// Per-instance health status strings, by id.
async fn statuses(gw: &TestGateway, template: &str) -> Value {
    health(gw, template).await["instances"].clone()
}

#[derive(Default)]
struct Tally {
    idempotent_ok: AtomicUsize,
    idempotent_failed: AtomicUsize,
    calls_ok: AtomicUsize,
    calls_failed: AtomicUsize,
    /// Failed tools/calls that started after the kill (must stay zero).
    calls_failed_after_kill: AtomicUsize,
}

/// `workers` loops alternating tools/list and a 100 ms tools/call, until `stop` or
/// `max_per_worker` rounds (bounded).
fn load(
    gw: &TestGateway,
    template: &str,
    workers: usize,
    stop: Arc<AtomicBool>,
    killed_at: Arc<parking_lot_free::KillClock>,
    tally: Arc<Tally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let http = gw.http();
            let (stop, tally, killed_at) = (stop.clone(), tally.clone(), killed_at.clone());
            let list = format!("/mcp/{template}/tools/list");
            let call = format!("/mcp/{template}/tools/call");
            tokio::spawn(async move {
                for _ in 0..400 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = http.get(&list).await;
                    let counter = if r.status == 200 {
                        &tally.idempotent_ok
                    } else {
                        &tally.idempotent_failed
                    };
                    if r.status != 200 {
                        eprintln!("idempotent failure: {} {}", r.status, r.text);
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    let started = Instant::now();
                    let r = http
                        .post(
                            &call,
                            &json!({"name": "sleep_ms", "arguments": {"ms": 100}}),
                        )
                        .await;
                    if r.status == 200 {
                        tally.calls_ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        tally.calls_failed.fetch_add(1, Ordering::Relaxed);
                        if killed_at.is_before(started) {
                            eprintln!(
                                "tools/call started after the kill failed: {} {}",
                                r.status, r.text
                            );
                            tally
                                .calls_failed_after_kill
                                .fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect()
}

/// A write-once instant shared with the load workers.
mod parking_lot_free {
    use std::{sync::OnceLock, time::Instant};

    #[derive(Default)]
    pub(crate) struct KillClock(OnceLock<Instant>);

    impl KillClock {
        pub(crate) fn set(&self, at: Instant) {
            let _ = self.0.set(at);
        }
        /// Whether the kill happened before `t`.
        pub(crate) fn is_before(&self, t: Instant) -> bool {
            self.0.get().is_some_and(|k| *k < t)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_http_instance_under_load_fails_only_its_in_flight_calls() {
    let gw = gateway().await;
    let mut echoes = Vec::new();
    for id in ["a", "b", "c"] {
        let echo = EchoHttp::spawn(ECHO, 0, id).await;
        gw.register(json!({"template_name": "ha", "instance_id": id, "endpoint": echo.url()}))
            .await;
        echoes.push(echo);
    }
    wait_until("all three healthy", Duration::from_secs(10), || async {
        health(&gw, "ha").await["healthy_instances"] == 3
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clock = Arc::new(parking_lot_free::KillClock::default());
    let workers = load(&gw, "ha", 6, stop.clone(), clock.clone(), tally.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Kill c; count what was in flight on it at that moment.
    let victim = echoes.pop().unwrap();
    let port = victim.port;
    let stats = gw.http().get("/gateway/stats").await.json();
    let in_flight_on_c = stats["load_balancer"]["active_connections"]["c"]
        .as_u64()
        .unwrap();
    let killed = Instant::now();
    victim.kill().await;
    // Calls that started before the process was reaped may already have been written to
    // its socket (a reset on a pooled connection): those count as in flight at the kill.
    clock.set(Instant::now());

    wait_until("c marked unhealthy", Duration::from_secs(5), || async {
        statuses(&gw, "ha").await["c"]["healthy"] == false
    })
    .await;
    let detected = killed.elapsed();
    eprintln!("c marked unhealthy {detected:?} after SIGKILL (interval 1 s + timeout 1 s)");
    assert!(
        detected <= Duration::from_millis(2500),
        "unhealthy after {detected:?}, more than interval + timeout"
    );
    let h = health(&gw, "ha").await;
    assert_eq!(h["health_percentage"], 66.7, "{h}");
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Bring c back on the same port: it gets traffic again once its probes pass.
    let revived = EchoHttp::spawn(ECHO, port, "c").await;
    wait_until("c healthy again", Duration::from_secs(15), || async {
        statuses(&gw, "ha").await["c"]["healthy"] == true
    })
    .await;
    wait_until("c serves again", Duration::from_secs(10), || async {
        gw.whoami("ha").await == "c"
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let t = &tally;
    eprintln!(
        "idempotent ok={} failed={}; tools/call ok={} failed={} (in flight on c at kill: {in_flight_on_c})",
        t.idempotent_ok.load(Ordering::Relaxed),
        t.idempotent_failed.load(Ordering::Relaxed),
        t.calls_ok.load(Ordering::Relaxed),
        t.calls_failed.load(Ordering::Relaxed)
    );
    assert!(t.idempotent_ok.load(Ordering::Relaxed) > 50, "the load ran");
    assert_eq!(
        t.idempotent_failed.load(Ordering::Relaxed),
        0,
        "idempotent requests fail over"
    );
    assert_eq!(
        t.calls_failed_after_kill.load(Ordering::Relaxed),
        0,
        "calls after the kill never reach the dead instance"
    );
    // Only calls already on c at the kill may fail (one extra for a call that started
    // between reading the stats and the kill).
    assert!(t.calls_failed.load(Ordering::Relaxed) as u64 <= in_flight_on_c + 1);

    // All instances down: 503 with Retry-After and the template named, never a hang.
    for e in echoes {
        e.kill().await;
    }
    revived.kill().await;
    wait_until("all ejected", Duration::from_secs(6), || async {
        health(&gw, "ha").await["healthy_instances"] == 0
    })
    .await;
    let started = Instant::now();
    let r = gw.http().get("/mcp/ha/tools/list").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered at once"
    );
    let body = r.expect_error(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    assert!(
        body["detail"].as_str().unwrap().contains("\"ha\""),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_stdio_children_restart_and_traffic_goes_elsewhere_meanwhile() {
    let gw = gateway().await;
    for id in ["s1", "s2", "s3"] {
        gw.register(
            json!({"template_name": "st", "instance_id": id, "command": [ECHO, "--stdio"]}),
        )
        .await;
    }
    wait_until("three children up", Duration::from_secs(10), || async {
        health(&gw, "st").await["healthy_instances"] == 3
    })
    .await;
    let before = gw.children();
    assert_eq!(before.len(), 3, "{before:?}");

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let clock = Arc::new(parking_lot_free::KillClock::default());
    let workers = load(&gw, "st", 4, stop.clone(), clock, tally.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // One child crashes (the call that crashed it fails: it was in flight there).
    let r = gw
        .http()
        .post(
            "/mcp/st/tools/call",
            &json!({"name": "crash", "arguments": {}}),
        )
        .await;
    assert!(r.status >= 500, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert!(tally.idempotent_ok.load(Ordering::Relaxed) > 20);
    assert_eq!(
        tally.idempotent_failed.load(Ordering::Relaxed),
        0,
        "idempotent requests fail over"
    );
    let failed_calls = tally.calls_failed.load(Ordering::Relaxed);
    assert!(
        failed_calls <= 4,
        "at most the calls in flight on the crashed child: {failed_calls}"
    );

    // The crashed child was restarted (a new pid) and serves again.
    wait_until(
        "all three healthy again",
        Duration::from_secs(15),
        || async { health(&gw, "st").await["healthy_instances"] == 3 },
    )
    .await;
    let after = gw.children();
    assert_eq!(after.len(), 3);
    assert_eq!(
        before.iter().filter(|p| after.contains(p)).count(),
        2,
        "exactly one child was replaced: {before:?} -> {after:?}"
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..6 {
        seen.insert(gw.whoami("st").await);
    }
    let h = health(&gw, "st").await;
    assert_eq!(
        seen.len(),
        3,
        "all three serve: {seen:?}; children {after:?}; health {h}"
    );
}

/// Polls (every 5 ms, so short restart windows are seen) `/mcp/{template}/health` until
/// instance `id`'s report satisfies `pred`; returns that report.
async fn poll_instance(
    gw: &TestGateway,
    template: &str,
    id: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let http = gw.http();
    let path = format!("/mcp/{template}/health");
    let deadline = Instant::now() + within;
    loop {
        let health = http.get(&path).await.expect_status(200);
        let report = &health["instances"][id];
        if pred(report) {
            return report.clone();
        }
        assert!(
            Instant::now() < deadline,
            "not reached in {within:?}: {health}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarting_stdio_child_is_unhealthy_until_it_is_back() {
    // A single instance: nothing else can serve while it restarts.
    let gw = gateway().await;
    gw.register(json!({"template_name": "rs", "instance_id": "r1", "command": [ECHO, "--stdio", "--instance-id", "r1"]}))
        .await;
    gw.wait_healthy("rs", 1).await;
    let up = poll_instance(&gw, "rs", "r1", Duration::from_secs(5), |i| {
        i["link"].is_object()
    })
    .await;
    assert_eq!(
        up["link"],
        json!({"state": "connected", "restarts": 0, "attempt": 0, "backoff_ms": 0}),
        "{up}"
    );
    let mut backoffs = Vec::new();
    for crash in 1..=3u64 {
        let before = gw.children();
        let r = gw
            .http()
            .post(
                "/mcp/rs/tools/call",
                &json!({"name": "crash", "arguments": {}}),
            )
            .await;
        assert!(r.status >= 500, "{}", r.text);
        // Down: held out at once (no probe threshold), reported as restarting.
        let down = poll_instance(&gw, "rs", "r1", Duration::from_secs(5), |i| {
            i["status"] != "healthy"
        })
        .await;
        assert_eq!(down["status"], "restarting", "{down}");
        assert_eq!(down["healthy"], false, "{down}");
        assert_eq!(down["link"]["state"], "restarting", "{down}");
        assert_eq!(down["link"]["attempt"], crash, "{down}");
        assert_eq!(down["link"]["restarts"], crash, "{down}");
        backoffs.push(down["link"]["backoff_ms"].as_u64().unwrap());
        if crash == 3 {
            // The third restart in a row is a crash loop: the circuit opens and holds the
            // instance out even once its child is back ...
            let held = poll_instance(&gw, "rs", "r1", Duration::from_secs(5), |i| {
                i["link"]["state"] == "connected"
            })
            .await;
            assert_eq!(held["circuit"], "open", "{held}");
            assert_eq!(held["healthy"], false, "{held}");
            assert_eq!(held["status"], "unhealthy", "{held}");
        }
        // Back: healthy again (probed at once; after a crash loop, once the open period
        // ends), serving from a new process.
        let back = poll_instance(&gw, "rs", "r1", Duration::from_secs(10), |i| {
            i["healthy"] == true
        })
        .await;
        assert_eq!(back["status"], "healthy", "{back}");
        assert_eq!(back["link"]["state"], "connected", "{back}");
        assert_eq!(back["link"]["attempt"], crash, "the streak goes on: {back}");
        if crash < 3 {
            assert_eq!(back["circuit"], "closed", "one crash is not a loop: {back}");
        }
        let echo = gw.call_tool("rs", "echo", json!({"message": "back"})).await;
        assert_eq!(echo["content"][0]["text"], "back", "{echo}");
        let after = gw.children();
        assert_eq!(after.len(), 1, "{after:?}");
        assert_ne!(before, after, "a new child");
    }
    // Each restart in the streak waits twice as long: 100, 200, 400 ms (+ up to 20%).
    for (i, backoff) in backoffs.iter().enumerate() {
        let base = 100u64 << i;
        assert!(
            (base..=base * 12 / 10 + 1).contains(backoff),
            "restart {} waited {backoff} ms: {backoffs:?}",
            i + 1
        );
    }
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    assert_eq!(stats["health_checker"]["link_restarts_total"], 3, "{stats}");
    assert_eq!(stats["health_checker"]["instances"]["r1"]["restarts"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_restarting_child_is_waited_for() {
    let gw = gateway().await;
    gw.register(json!({"template_name": "lone", "instance_id": "l1", "command": [ECHO, "--stdio", "--instance-id", "l1"]}))
        .await;
    gw.wait_healthy("lone", 1).await;
    let r = gw
        .http()
        .post(
            "/mcp/lone/tools/call",
            &json!({"name": "crash", "arguments": {}}),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.text);
    poll_instance(&gw, "lone", "l1", Duration::from_secs(5), |i| {
        i["status"] == "restarting"
    })
    .await;
    // Nothing else can serve: the call waits for the restart instead of failing.
    assert_eq!(gw.whoami("lone").await, "l1");
    let list = gw.http().get("/mcp/lone/tools/list").await;
    assert_eq!(list.status, 200, "{}", list.text);
}

/// Calls `whoami` on `template` `n` times, one after another: who answered each call that
/// succeeded, and how many timed out (504 `upstream_timeout`); any other answer fails.
async fn whoami_calls(gw: &TestGateway, template: &str, n: usize) -> (Vec<String>, usize) {
    let mut answered_by = Vec::new();
    let mut timeouts = 0;
    for _ in 0..n {
        let r = gw.try_call_tool(template, "whoami", json!({})).await;
        match r.status {
            200 => answered_by.push(r.json()["content"][0]["text"].as_str().unwrap().to_owned()),
            504 => {
                r.expect_error(504, "upstream_timeout");
                timeouts += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    (answered_by, timeouts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_instance_times_out_is_ejected_and_traffic_moves() {
    let gw = gateway().await;
    let good = EchoHttp::spawn(ECHO, 0, "good").await;
    let hung = EchoHttp::spawn(ECHO, 0, "hung").await;
    gw.register(json!({"template_name": "hang", "instance_id": "good", "endpoint": good.url()}))
        .await;
    gw.register(json!({"template_name": "hang", "instance_id": "hung", "endpoint": hung.url()}))
        .await;
    gw.http()
        .put(
            "/gateway/templates/hang/load-balancer",
            &json!({"timeout": 1}),
        )
        .await
        .expect_status(200);

    // A tool that outlives the request timeout: 504, JSON error naming the template.
    let r = gw
        .http()
        .post(
            "/mcp/hang/tools/call",
            &json!({"name": "sleep_ms", "arguments": {"ms": 3000}}),
        )
        .await;
    let body = r.expect_error(504, "upstream_timeout");
    assert!(body["detail"].as_str().unwrap().contains("hang"));

    // Freeze one instance (it still accepts connections, never answers).
    signal(hung.child.id().unwrap(), Signal::SIGSTOP);
    let (answered_by, timeouts) = whoami_calls(&gw, "hang", 12).await;
    assert!(
        (1..=3).contains(&timeouts),
        "the hung instance costs at most failure_threshold calls: {timeouts}"
    );
    let tail: Vec<_> = answered_by.iter().rev().take(5).collect();
    assert!(
        tail.iter().all(|w| *w == "good"),
        "traffic moved to the good instance: {answered_by:?}"
    );
    let h = statuses(&gw, "hang").await;
    assert_eq!(h["hung"]["healthy"], false, "{h}");
    signal(hung.child.id().unwrap(), Signal::SIGCONT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_goes_closed_open_half_open_closed() {
    let gw = gateway().await;
    let echo = EchoHttp::spawn(ECHO, 0, "solo").await;
    gw.register(json!({"template_name": "cb", "instance_id": "solo", "endpoint": echo.url()}))
        .await;
    gw.http()
        .put(
            "/gateway/templates/cb/load-balancer",
            &json!({"timeout": 1}),
        )
        .await
        .expect_status(200);
    let circuit = || async {
        statuses(&gw, "cb").await["solo"]["circuit"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(circuit().await, "closed");

    let pid = echo.child.id().unwrap();
    signal(pid, Signal::SIGSTOP);
    let mut seen = vec!["closed".to_owned()];
    for _ in 0..3 {
        let r = gw.try_call_tool("cb", "whoami", json!({})).await;
        assert!(r.status == 504 || r.status == 503, "{}", r.text);
    }
    wait_until("circuit open", Duration::from_secs(5), || async {
        circuit().await == "open"
    })
    .await;
    seen.push("open".to_owned());
    // While open, requests are refused at once (no traffic to the instance).
    let r = gw.try_call_tool("cb", "whoami", json!({})).await;
    r.expect_error(503, "unavailable");
    signal(pid, Signal::SIGCONT);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let c = circuit().await;
        if seen.last() != Some(&c) {
            seen.push(c.clone());
        }
        if c == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, ["closed", "open", "half_open", "closed"]);
    assert_eq!(gw.whoami("cb").await, "solo");
    let stats = gw.http().get("/gateway/stats").await.json();
    assert!(
        stats["health_checker"]["circuit_openings_total"]
            .as_u64()
            .unwrap()
            >= 1,
        "{stats}"
    );
    assert!(
        stats["health_checker"]["transitions_total"]
            .as_u64()
            .unwrap()
            >= 3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_based_prefers_the_better_instance() {
    let gw = gateway().await;
    let a = EchoHttp::spawn(ECHO, 0, "steady").await;
    let b = EchoHttp::spawn(ECHO, 0, "flaky").await;
    gw.register(json!({"template_name": "hb", "instance_id": "steady", "endpoint": a.url()}))
        .await;
    gw.register(json!({"template_name": "hb", "instance_id": "flaky", "endpoint": b.url()}))
        .await;
    gw.http()
        .put(
            "/gateway/templates/hb/load-balancer",
            &json!({"strategy": "health_based"}),
        )
        .await
        .expect_status(200);
    // Make "flaky" fail its probes for a while, then let it recover.
    signal(b.child.id().unwrap(), Signal::SIGSTOP);
    wait_until("flaky unhealthy", Duration::from_secs(6), || async {
        statuses(&gw, "hb").await["flaky"]["healthy"] == false
    })
    .await;
    signal(b.child.id().unwrap(), Signal::SIGCONT);
    wait_until("flaky routable again", Duration::from_secs(10), || async {
        statuses(&gw, "hb").await["flaky"]["healthy"] == true
    })
    .await;

    let h = statuses(&gw, "hb").await;
    let (steady, flaky) = (
        h["steady"]["score"].as_f64().unwrap(),
        h["flaky"]["score"].as_f64().unwrap(),
    );
    assert!(
        steady > flaky + 0.05,
        "scores: steady {steady}, flaky {flaky}"
    );
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..20 {
        *counts.entry(gw.whoami("hb").await).or_default() += 1;
    }
    assert_eq!(
        counts.get("steady"),
        Some(&20),
        "health_based sends everything to the better instance: {counts:?}"
    );

    // Control: round robin splits the same two instances evenly.
    gw.http()
        .put(
            "/gateway/templates/hb/load-balancer",
            &json!({"strategy": "round_robin"}),
        )
        .await
        .expect_status(200);
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..20 {
        *counts.entry(gw.whoami("hb").await).or_default() += 1;
    }
    assert_eq!(counts.len(), 2, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_looping_child_is_held_out_and_reported() {
    let gw = gateway().await;
    gw.register(json!({"template_name": "loop", "instance_id": "good", "command": [ECHO, "--stdio", "--instance-id", "good"]}))
        .await;
    // Exits at once with a usage error, every time it is restarted.
    gw.register(json!({"template_name": "loop", "instance_id": "broken", "command": [ECHO, "--no-such-flag"]}))
        .await;
    for _ in 0..10 {
        assert_eq!(
            gw.whoami("loop").await,
            "good",
            "every call is served by the working child"
        );
    }
    wait_until(
        "broken reported restarting",
        Duration::from_secs(6),
        || async {
            let s = statuses(&gw, "loop").await;
            s["broken"]["healthy"] == false && s["broken"]["status"] == "restarting"
        },
    )
    .await;
    // Restarts with no successful request in between opened its circuit (calls went to
    // "good" meanwhile) ...
    wait_until(
        "the crash loop held open",
        Duration::from_secs(6),
        || async { statuses(&gw, "loop").await["broken"]["circuit"] == "open" },
    )
    .await;
    let s = statuses(&gw, "loop").await;
    assert!(
        s["broken"]["link"]["restarts"].as_u64().unwrap() >= 3,
        "{s}"
    );
    // ... and the active checks report why.
    wait_until("probe error reported", Duration::from_secs(5), || async {
        statuses(&gw, "loop").await["broken"]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    })
    .await;
    let s = statuses(&gw, "loop").await;
    assert_eq!(s["good"]["healthy"], true, "{s}");
    // The restart back-off keeps the loop from spinning: no pile-up of processes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(gw.children().len() <= 2, "children: {:?}", gw.children());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_template_chooses_its_health_probe() {
    let gw = gateway().await;
    let echo = EchoHttp::spawn(ECHO, 0, "p").await;
    gw.register(json!({"template_name": "probe", "instance_id": "p", "endpoint": echo.url()}))
        .await;
    let lb = "/gateway/templates/probe/load-balancer";
    assert_eq!(
        gw.http().get(lb).await.expect_status(200)["health_probe"],
        "ping"
    );

    // An HTTP GET probe on a path the server does not serve: the instance goes out.
    let set = gw
        .http()
        .put(lb, &json!({"health_probe": "/nope"}))
        .await
        .expect_status(200);
    assert_eq!(set["health_probe"], "/nope");
    wait_until("probe fails", Duration::from_secs(6), || async {
        statuses(&gw, "probe").await["p"]["healthy"] == false
    })
    .await;
    let s = statuses(&gw, "probe").await;
    assert!(
        s["p"]["last_error"]
            .as_str()
            .unwrap()
            .contains("GET /nope answered 404"),
        "{s}"
    );

    // tools/list as the probe: healthy again.
    gw.http()
        .put(lb, &json!({"health_probe": "tools_list"}))
        .await
        .expect_status(200);
    wait_until("probe passes", Duration::from_secs(8), || async {
        statuses(&gw, "probe").await["p"]["healthy"] == true
    })
    .await;
    assert_eq!(
        gw.http().get(lb).await.expect_status(200)["health_probe"],
        "tools_list"
    );

    let body = gw
        .http()
        .put(lb, &json!({"health_probe": "pong"}))
        .await
        .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "health_probe", "{body}");
}

/// A gateway whose active checks run once at registration and then not again during the
/// test (an hour's interval), so only live traffic can change an instance's health.
async fn passive_only_gateway(envs: &[(&str, &str)]) -> TestGateway {
    let mut builder = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_HEALTH_INTERVAL", "3600")
        // Generous: the one probe must pass even on a loaded machine.
        .env("MCP_GATEWAY_HEALTH_TIMEOUT", "10");
    for (key, value) in envs {
        builder = builder.env(key, *value);
    }
    builder.start().await
}

/// `load_balancer.requests_per_instance` and `errors_per_instance` from `/gateway/stats`.
async fn instance_counters(gw: &TestGateway, id: &str) -> (u64, u64) {
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    let lb = &stats["load_balancer"];
    (
        lb["requests_per_instance"][id].as_u64().unwrap(),
        lb["errors_per_instance"][id].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_timeouts_alone_eject_an_instance_whose_probes_pass() {
    let gw = passive_only_gateway(&[("MCP_GATEWAY_FAILURE_THRESHOLD", "3")]).await;
    let good = EchoHttp::spawn(ECHO, 0, "good").await;
    let script = repo_root().join("tests/python/silent_calls_stdio.py");
    gw.register(json!({"template_name": "passive", "instance_id": "good", "endpoint": good.url()}))
        .await;
    gw.register(json!({"template_name": "passive", "instance_id": "silent", "command": ["python3", script.to_str().unwrap()]}))
        .await;
    gw.http()
        .put(
            "/gateway/templates/passive/load-balancer",
            &json!({"timeout": 1, "strategy": "round_robin"}),
        )
        .await
        .expect_status(200);
    // Both pass their (single) probe: `silent` answers ping and tools/list.
    gw.wait_healthy("passive", 2).await;

    // Round robin alternates until `silent` has timed out failure_threshold (3) calls in
    // a row; then its circuit is open (2 s) and the rest go to `good` at once.
    let started = Instant::now();
    let (answered_by, timeouts) = whoami_calls(&gw, "passive", 12).await;
    let h = statuses(&gw, "passive").await;
    assert_eq!(
        timeouts, 3,
        "exactly failure_threshold calls timed out: {answered_by:?} {h}"
    );
    assert_eq!(answered_by, vec!["good"; 9], "{h}");
    // Three 1 s timeouts plus nine fast calls: still inside the 2 s open period.
    assert!(
        started.elapsed() < Duration::from_millis(4800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h["silent"]["circuit"], "open", "{h}");
    assert_eq!(h["silent"]["healthy"], false, "{h}");
    // The active check never failed it: ejected by live traffic alone.
    assert!(h["silent"]["last_check"].is_string(), "probed once: {h}");
    assert!(h["silent"]["last_error"].is_null(), "{h}");
    assert_eq!(h["good"]["circuit"], "closed", "{h}");
    assert_eq!(h["good"]["healthy"], true, "{h}");
    assert_eq!(instance_counters(&gw, "silent").await, (3, 3));
    assert_eq!(instance_counters(&gw, "good").await, (9, 0));
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    assert_eq!(
        stats["health_checker"]["instances"]["silent"]["last_check_ok"], true,
        "{stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_error_result_is_not_an_instance_failure() {
    let gw = passive_only_gateway(&[("MCP_GATEWAY_FAILURE_THRESHOLD", "3")]).await;
    let echo = EchoHttp::spawn(ECHO, 0, "only").await;
    gw.register(json!({"template_name": "toolerr", "instance_id": "only", "endpoint": echo.url()}))
        .await;
    gw.wait_healthy("toolerr", 1).await;
    // Twice the failure threshold: a breaker counting tool errors would have opened.
    for i in 0..6 {
        let message = format!("refused {i}");
        let r = gw
            .http()
            .post(
                "/mcp/toolerr/tools/call",
                &json!({"name": "fail", "arguments": {"message": message}}),
            )
            .await;
        let body = r.expect_status(200);
        assert_eq!(body["isError"], true, "{body}");
        assert_eq!(
            body["content"],
            json!([{"type": "text", "text": message}]),
            "{body}"
        );
    }
    let h = health(&gw, "toolerr").await;
    let only = &h["instances"]["only"];
    assert_eq!(only["circuit"], "closed", "{h}");
    assert_eq!(only["healthy"], true, "{h}");
    assert_eq!(only["status"], "healthy", "{h}");
    assert_eq!(h["healthy_instances"], 1, "{h}");
    // Counted as answered requests, not as errors.
    assert_eq!(instance_counters(&gw, "only").await, (6, 0));
    assert_eq!(gw.whoami("toolerr").await, "only");
}

/// `tests/python/http_500.py`: a real HTTP MCP server answering 500 to every tools/call.
struct Http500 {
    _child: tokio::process::Child,
    port: u16,
}

impl Http500 {
    async fn spawn() -> Http500 {
        let script = repo_root().join("tests/python/http_500.py");
        let mut child = tokio::process::Command::new("python3")
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("http_500.py did not start")
            .unwrap();
        let Some(line) = line else {
            panic!("http_500.py exited: {:?}", child.wait().await);
        };
        let port = line
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/mcp"))
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .parse()
            .unwrap();
        Http500 {
            _child: child,
            port,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// How many requests of each method reached the server.
    async fn counts(&self) -> Value {
        gateway_e2e::Http::new(&format!("http://127.0.0.1:{}", self.port))
            .get("/counts")
            .await
            .expect_status(200)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_5xx_answers_open_the_circuit() {
    let gw = passive_only_gateway(&[("MCP_GATEWAY_FAILURE_THRESHOLD", "3")]).await;
    let upstream = Http500::spawn().await;
    gw.register(json!({"template_name": "five", "instance_id": "f1", "endpoint": upstream.url()}))
        .await;
    gw.wait_healthy("five", 1).await;

    // Each 500 reached the upstream and broke the call: 502, not retried.
    for _ in 0..3 {
        let r = gw.try_call_tool("five", "whoami", json!({})).await;
        let body = r.expect_error(502, "upstream_failed");
        // The upstream's own answer stays in the gateway's log (under the request id).
        assert!(!body["detail"].as_str().unwrap().contains("500"), "{body}");
        assert!(body["request_id"].is_string(), "{body}");
    }
    let h = statuses(&gw, "five").await;
    assert_eq!(h["f1"]["circuit"], "open", "{h}");
    assert_eq!(h["f1"]["healthy"], false, "{h}");
    assert!(h["f1"]["last_error"].is_null(), "its probe passed: {h}");
    // Open: refused at the gateway, nothing more reaches the upstream.
    let r = gw.try_call_tool("five", "whoami", json!({})).await;
    r.expect_error(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    assert_eq!(upstream.counts().await["tools/call"], 3);
    assert_eq!(instance_counters(&gw, "f1").await, (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_stop_at_max_retries() {
    // Probe and breaker thresholds out of reach: only max_retries limits the attempts.
    let gw = passive_only_gateway(&[
        ("MCP_GATEWAY_MAX_RETRIES", "1"),
        ("MCP_GATEWAY_UNHEALTHY_THRESHOLD", "100"),
        ("MCP_GATEWAY_FAILURE_THRESHOLD", "100"),
    ])
    .await;
    let ids = ["d1", "d2", "d3"];
    for id in ids {
        // Bound then released: nothing listens there, every connect is refused.
        let endpoint = format!("http://127.0.0.1:{}/mcp", free_port());
        gw.register(json!({"template_name": "dead", "instance_id": id, "endpoint": endpoint}))
            .await;
    }
    let lb = gw
        .http()
        .get("/gateway/templates/dead/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(lb["max_retries"], 1, "{lb}");
    let attempts = || async {
        let mut per_instance = Vec::new();
        for id in ids {
            let (requests, errors) = instance_counters(&gw, id).await;
            assert_eq!(requests, errors, "{id}: every attempt failed");
            per_instance.push(requests);
        }
        per_instance
    };
    assert_eq!(attempts().await, [0, 0, 0]);

    let r = gw.http().get("/mcp/dead/tools/list").await;
    r.expect_error(503, "unavailable");
    let after_one = attempts().await;
    assert_eq!(
        after_one.iter().sum::<u64>(),
        2,
        "one try plus max_retries=1: {after_one:?}"
    );
    assert!(
        after_one.iter().all(|n| *n <= 1),
        "the retry went to another instance: {after_one:?}"
    );

    // Control: with max_retries=2 the same request reaches all three.
    gw.http()
        .put(
            "/gateway/templates/dead/load-balancer",
            &json!({"max_retries": 2}),
        )
        .await
        .expect_status(200);
    let r = gw.http().get("/mcp/dead/tools/list").await;
    r.expect_error(503, "unavailable");
    let after_two = attempts().await;
    let added: Vec<u64> = after_two
        .iter()
        .zip(&after_one)
        .map(|(b, a)| b - a)
        .collect();
    assert_eq!(added, [1, 1, 1], "{after_one:?} -> {after_two:?}");
}
