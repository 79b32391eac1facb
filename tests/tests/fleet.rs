//! A fleet: gateway replicas on one PostgreSQL (a fresh schema per test) behind a real
//! HAProxy. What one replica changes, every other applies within the bound (1 s):
//! registrations, deregistrations, template settings, revoked keys, disabled users; the
//! offline CLI's registrations reach running gateways the same way. Two replicas started
//! at once on an empty schema both migrate it safely. Sessions of the official Python
//! client survive the load balancer alternating replicas. A killed replica under load
//! loses nothing acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use gateway_e2e::{
    EchoHttp,
    auth::{AuthGateway, Client, Cred, USER_PASSWORD},
    fleet::{Haproxy, SharedDb, admin_token, replica},
    repo_root, run, venv_python, wait_until,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The bound: a change made on one replica applies on every other within 1 s.
const PROPAGATION: Duration = Duration::from_secs(1);

/// Two replicas on a fresh PostgreSQL schema, started at the same moment (both migrate
/// the empty schema: the advisory lock makes one wait for the other).
async fn two_replicas(db: &SharedDb, envs: &[(&str, &str)]) -> (AuthGateway, AuthGateway) {
    tokio::join!(
        replica(GATEWAY, db, "replica-a", envs),
        replica(GATEWAY, db, "replica-b", envs)
    )
}

async fn whoami(client: &Client, token: &str, template: &str) -> (u16, Value) {
    let r = client
        .post(
            &format!("/mcp/{template}/tools/call"),
            Cred::Bearer(token),
            &json!({"name": "whoami", "arguments": {}}),
        )
        .await;
    (
        r.status,
        serde_json::from_str(&r.text).unwrap_or(Value::Null),
    )
}

/// Waits (up to `PROPAGATION`) for `check`; returns how long it took.
async fn within<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    wait_until(what, PROPAGATION, &mut check).await;
    let took = start.elapsed();
    eprintln!("{what}: {took:?}");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_one_replica_apply_on_the_others_within_a_second() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db, &[]).await;
    let Some(lb) = Haproxy::start(&[("a", a.addr.port()), ("b", b.addr.port())]).await else {
        return;
    };
    let (ca, cb) = (a.client(), b.client());
    let token = admin_token(&a.base_url()).await;
    for c in [&ca, &cb] {
        let ready = c.get("/gateway/ready", Cred::None).await.expect_status(200);
        assert_eq!(ready["routing_table"], "loaded", "{ready}");
        assert_eq!(ready["change_feed"]["wake"], "listen", "{ready}");
    }
    let echo = EchoHttp::spawn(ECHO, 0, "echo-1").await;

    // Registered on A → routable on B.
    assert_eq!(
        whoami(&cb, &token, "echo").await.0,
        404,
        "unknown on B so far"
    );
    ca.post(
        "/gateway/register",
        Cred::Bearer(&token),
        &json!({"template_name": "echo", "instance_id": "echo-1", "endpoint": echo.url()}),
    )
    .await
    .expect_status(201);
    within("registration on A routable on B", || async {
        whoami(&cb, &token, "echo").await.0 == 200
    })
    .await;
    assert_eq!(
        whoami(&cb, &token, "echo").await.1["content"][0]["text"],
        "echo-1"
    );

    // Settings changed on B → seen on A.
    cb.send(
        "PUT",
        "/gateway/templates/echo/load-balancer",
        Cred::Bearer(&token),
        Some(&json!({"strategy": "least_connections", "max_retries": 1})),
    )
    .await
    .expect_status(200);
    within("settings from B on A", || async {
        let s = ca
            .get(
                "/gateway/templates/echo/load-balancer",
                Cred::Bearer(&token),
            )
            .await
            .json();
        s["strategy"] == "least_connections" && s["max_retries"] == 1
    })
    .await;

    // Deregistered on B → gone on A.
    cb.send(
        "DELETE",
        "/gateway/deregister/echo/echo-1",
        Cred::Bearer(&token),
        None,
    )
    .await
    .expect_status(200);
    within("deregistration on B gone on A", || async {
        let registry = ca
            .get("/gateway/registry", Cred::Bearer(&token))
            .await
            .json();
        !registry.to_string().contains("echo-1")
    })
    .await;
    assert_ne!(whoami(&ca, &token, "echo").await.0, 200);

    // A key revoked on A is refused by B (which had it cached).
    let (key, key_id) = ca
        .create_key(Cred::Bearer(&token), json!({"name": "app", "role": "user"}))
        .await;
    cb.get("/gateway/templates", Cred::Key(&key))
        .await
        .expect_status(200);
    ca.send(
        "DELETE",
        &format!("/auth/api-keys/{key_id}"),
        Cred::Bearer(&token),
        None,
    )
    .await;
    within("key revoked on A refused by B", || async {
        cb.get("/gateway/templates", Cred::Key(&key)).await.status == 401
    })
    .await;

    // A user disabled on B cannot use a token on A (which had the user cached).
    ca.create_user(&token, "carol", "user", None).await;
    let carol = ca.login("carol", USER_PASSWORD).await;
    ca.get("/gateway/templates", Cred::Bearer(&carol))
        .await
        .expect_status(200);
    cb.send(
        "PATCH",
        "/auth/users/carol",
        Cred::Bearer(&token),
        Some(&json!({"active": false})),
    )
    .await
    .expect_status(200);
    within("user disabled on B refused on A", || async {
        ca.get("/gateway/templates", Cred::Bearer(&carol))
            .await
            .status
            == 401
    })
    .await;

    // Through the load balancer, both replicas answer and agree.
    let lbc = Client::new(&lb.url());
    let mut served_by = BTreeSet::new();
    for _ in 0..6 {
        let r = lbc.get("/gateway/templates", Cred::Bearer(&token)).await;
        assert_eq!(r.status, 200);
        served_by.insert(r.header("x-served-by").unwrap().to_owned());
    }
    assert_eq!(served_by.len(), 2, "{served_by:?}");

    // Each replica reports itself.
    let stats = ca.get("/gateway/stats", Cred::Bearer(&token)).await.json();
    assert_eq!(stats["replica"]["id"], "replica-a", "{stats}");
    let health = cb.get("/gateway/health", Cred::None).await.json();
    assert_eq!(health["replica"], "replica-b", "{health}");
    // JSON lines (the default when stderr is not a terminal) carry a `replica` key.
    assert!(
        a.stderr().contains("{\"replica\":\"replica-a\","),
        "log lines name the replica"
    );

    lb.stop().await;
    a.stop().await;
    b.stop().await;
    echo.kill().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_registration_reaches_running_gateways() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db, &[]).await;
    let token = admin_token(&a.base_url()).await;
    let echo = EchoHttp::spawn(ECHO, 0, "offline-1").await;
    let out = run(
        MCPP,
        [
            "gateway",
            "register",
            "offline",
            "--endpoint",
            &echo.url(),
            "--id",
            "offline-1",
            "--offline",
            "--database",
            &db.url,
        ],
        &[],
        Duration::from_secs(30),
    )
    .await;
    out.expect_success();
    for gw in [&a, &b] {
        let c = gw.client();
        within("offline registration routable", || async {
            whoami(&c, &token, "offline").await.0 == 200
        })
        .await;
    }
    a.stop().await;
    b.stop().await;
    echo.kill().await;
    db.drop().await;
}

/// A single gateway on a SQLite file (no wake source: polling) picks up what
/// `mcpp gateway register --offline` writes to its database while it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_registration_reaches_a_running_sqlite_gateway() {
    let gw = gateway_e2e::TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "sqlite-1").await;
    let out = run(
        MCPP,
        [
            "gateway",
            "register",
            "lite",
            "--endpoint",
            &echo.url(),
            "--id",
            "sqlite-1",
            "--database",
            &gw.db().url(),
        ],
        &[],
        Duration::from_secs(30),
    )
    .await;
    out.expect_success();
    let http = gw.http();
    within(
        "offline registration routable (SQLite, polling)",
        || async {
            http.post(
                "/mcp/lite/tools/call",
                &json!({"name": "whoami", "arguments": {}}),
            )
            .await
            .status
                == 200
        },
    )
    .await;
    gw.stop().await;
    echo.kill().await;
}

/// The official Python client, one session per mode, through HAProxy alternating the
/// replicas on every request: shared-mode sessions are sealed ids any replica opens, and
/// a 2026-07-28 client through a 2026-07-28 upstream needs no session at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_sessions_survive_the_load_balancer_alternating_replicas() {
    let Some(python) = venv_python() else { return };
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db, &[]).await;
    let Some(lb) = Haproxy::start(&[("a", a.addr.port()), ("b", b.addr.port())]).await else {
        return;
    };
    let token = admin_token(&a.base_url()).await;
    let echo = EchoHttp::spawn(ECHO, 0, "py-1").await;
    a.client()
        .post(
            "/gateway/register",
            Cred::Bearer(&token),
            &json!({"template_name": "py", "instance_id": "py-1", "endpoint": echo.url()}),
        )
        .await
        .expect_status(201);
    let cb = b.client();
    within("registration on B", || async {
        whoami(&cb, &token, "py").await.0 == 200
    })
    .await;

    let script = repo_root().join("tests/python/fleet_session.py");
    for (mode, version) in [("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28")] {
        let before = [requests(&a, &token).await, requests(&b, &token).await];
        let out = run(
            &python,
            [
                script.display().to_string(),
                "--mode".into(),
                mode.into(),
                format!("{}/mcp/py", lb.url()),
                token.clone(),
                "8".into(),
            ],
            &[("PYTHONDONTWRITEBYTECODE", "1")],
            Duration::from_secs(60),
        )
        .await;
        let line = out
            .expect_success()
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned();
        let r: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}\n{}", out.stderr));
        assert_eq!(r["protocol_version"], version, "{r}");
        assert_eq!(r["calls"], 8, "{r}\n{}", out.stderr);
        // Both replicas served calls of this one session.
        let after = [requests(&a, &token).await, requests(&b, &token).await];
        assert!(
            after[0] > before[0] && after[1] > before[1],
            "{mode}: calls per replica before {before:?}, after {after:?}"
        );
    }
    lb.stop().await;
    a.stop().await;
    b.stop().await;
    echo.kill().await;
    db.drop().await;
}

/// Proxied calls a replica made (its `/gateway/stats`).
async fn requests(gw: &AuthGateway, token: &str) -> u64 {
    gw.client()
        .get("/gateway/stats", Cred::Bearer(token))
        .await
        .json()["total_requests"]
        .as_u64()
        .unwrap()
}

/// Clients keep calling through HAProxy while one replica is SIGKILLed: HAProxy's
/// retries serve every request (tool calls, and registrations that must not be lost),
/// and every registration acknowledged with 201 is in the registry afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_replica_under_load_loses_nothing_acknowledged() {
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let (a, b) = two_replicas(&db, &[]).await;
    let Some(lb) = Haproxy::start(&[("a", a.addr.port()), ("b", b.addr.port())]).await else {
        return;
    };
    let token = admin_token(&a.base_url()).await;
    let echo = EchoHttp::spawn(ECHO, 0, "load-1").await;
    a.client()
        .post(
            "/gateway/register",
            Cred::Bearer(&token),
            &json!({"template_name": "load", "instance_id": "load-1", "endpoint": echo.url()}),
        )
        .await
        .expect_status(201);
    let cb = b.client();
    within("registration on B", || async {
        whoami(&cb, &token, "load").await.0 == 200
    })
    .await;

    let lbc = Client::new(&lb.url());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failures = Arc::new(parking_failures());
    let calls = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (lbc, token, stop, failures, calls) = (
            lbc.clone(),
            token.clone(),
            stop.clone(),
            failures.clone(),
            calls.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 400 {
                i += 1;
                let r = lbc
                    .post(
                        "/mcp/load/tools/call",
                        Cred::Bearer(&token),
                        &json!({"name": "echo", "arguments": {"message": "hi"}}),
                    )
                    .await;
                calls.fetch_add(1, Ordering::Relaxed);
                if r.status != 200 {
                    failures.lock().await.push(format!("call: {} {}", r.status, r.text));
                }
                if i % 5 == 0 {
                    let id = format!("reg-{w}-{i}");
                    let r = lbc
                        .post(
                            "/gateway/register",
                            Cred::Bearer(&token),
                            &json!({"template_name": "regs", "instance_id": id, "endpoint": "http://127.0.0.1:9/mcp"}),
                        )
                        .await;
                    match r.status {
                        201 => acknowledged.push(id),
                        // A retry of a registration whose first answer was lost.
                        409 => acknowledged.push(id),
                        other => failures.lock().await.push(format!("register: {other} {}", r.text)),
                    }
                }
            }
            acknowledged
        }));
    }
    // Let the load run, then crash B in the middle of it.
    wait_until("some load", Duration::from_secs(20), || async {
        calls.load(Ordering::Relaxed) >= 40
    })
    .await;
    b.kill().await;
    let at_kill = calls.load(Ordering::Relaxed);
    wait_until("load after the kill", Duration::from_secs(20), || async {
        calls.load(Ordering::Relaxed) >= at_kill + 80
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for w in workers {
        acknowledged.extend(w.await.unwrap());
    }
    let failures = failures.lock().await.clone();
    assert!(
        failures.is_empty(),
        "{} failed requests: {failures:?}",
        failures.len()
    );
    let registry = a
        .client()
        .get("/gateway/registry", Cred::Bearer(&token))
        .await
        .json();
    let text = registry.to_string();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|id| !text.contains(id.as_str()))
        .collect();
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    assert!(!acknowledged.is_empty());
    eprintln!(
        "{} calls, {} registrations acknowledged, none lost",
        calls.load(Ordering::Relaxed),
        acknowledged.len()
    );
    lb.stop().await;
    a.stop().await;
    echo.kill().await;
    db.drop().await;
}

fn parking_failures() -> tokio::sync::Mutex<Vec<String>> {
    tokio::sync::Mutex::new(Vec::new())
}
