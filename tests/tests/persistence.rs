//! The registry lives in the database: registrations and load-balancer settings survive
//! a restart (graceful or a crash) on the same SQLite file, and shutdown stops stdio
//! children cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::*;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The registry's instances of `template`, by id.
async fn instances(gw: &TestGateway, template: &str) -> Vec<Value> {
    let registry = gw.http().get("/gateway/registry").await.expect_status(200);
    let mut list = registry["templates"][template]["instances"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    list
}

/// Drops the volatile `status` so two views of the same instance compare equal.
fn stable(mut instances: Vec<Value>) -> Vec<Value> {
    for i in &mut instances {
        i.as_object_mut().unwrap().remove("status");
    }
    instances
}

#[tokio::test]
async fn registrations_and_settings_survive_a_graceful_restart() {
    init_tracing();
    let db = TempDb::new();
    let a = EchoHttp::spawn(ECHO, 0, "a").await;
    let b = EchoHttp::spawn(ECHO, 0, "b").await;
    let gw = TestGateway::builder(GATEWAY).database(&db).start().await;
    gw.register(json!({"template_name": "web", "instance_id": "a", "endpoint": a.url(), "weight": 3, "metadata": {"zone": "x"}}))
        .await;
    gw.register(json!({"template_name": "web", "instance_id": "b", "endpoint": b.url()}))
        .await;
    gw.register(json!({
        "template_name": "local", "instance_id": "s1",
        "command": ECHO, "args": ["--stdio", "--instance-id", "s1"], "env": {"TOKEN": "t"},
    }))
    .await;
    let settings = gw
        .http()
        .put(
            "/gateway/templates/web/load-balancer",
            &json!({"strategy": "weighted", "max_retries": 1, "timeout": 7}),
        )
        .await
        .expect_status(200);
    let web_before = stable(instances(&gw, "web").await);
    let local_before = stable(instances(&gw, "local").await);
    assert_eq!(web_before.len(), 2);

    let status = gw.stop().await;
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");

    let gw = TestGateway::builder(GATEWAY).database(&db).start().await;
    gw.wait_healthy("web", 2).await;
    gw.wait_healthy("local", 1).await;
    assert_eq!(stable(instances(&gw, "web").await), web_before);
    assert_eq!(stable(instances(&gw, "local").await), local_before);
    let templates = gw.http().get("/gateway/templates").await.expect_status(200);
    assert_eq!(templates, json!({"templates": ["local", "web"]}));
    let after = gw
        .http()
        .get("/gateway/templates/web/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(after, settings, "load-balancer settings persisted");
    // Calls work, and the stored weights steer traffic (exact ratios: balancing.rs).
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..8 {
        *counts.entry(gw.whoami("web").await).or_insert(0) += 1;
    }
    let (a, b) = (
        counts.get("a").copied().unwrap_or(0),
        counts.get("b").copied().unwrap_or(0),
    );
    assert!(a + b == 8 && a > b, "weight 3 vs 1: {counts:?}");
    // The stdio instance was respawned from its stored command.
    assert_eq!(gw.whoami("local").await, "s1");
    // And deregistration persists too.
    gw.http()
        .delete("/gateway/deregister/web/b")
        .await
        .expect_status(200);
    gw.stop().await;
    let gw = TestGateway::builder(GATEWAY).database(&db).start().await;
    let ids: Vec<Value> = instances(&gw, "web")
        .await
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert_eq!(ids, [json!("a")]);
}

#[tokio::test]
async fn an_acknowledged_registration_survives_sigkill() {
    init_tracing();
    let db = TempDb::new();
    let echo = EchoHttp::spawn(ECHO, 0, "k1").await;
    let gw = TestGateway::builder(GATEWAY).database(&db).start().await;
    gw.register(json!({"template_name": "crashy", "instance_id": "k1", "endpoint": echo.url()}))
        .await;
    gw.kill().await;
    let gw = TestGateway::builder(GATEWAY).database(&db).start().await;
    assert_eq!(instances(&gw, "crashy").await.len(), 1);
    gw.wait_healthy("crashy", 1).await;
    assert_eq!(gw.whoami("crashy").await, "k1");
}

#[tokio::test]
async fn sigterm_stops_stdio_children_without_zombies() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    for id in ["s1", "s2"] {
        gw.register(json!({"template_name": "local", "instance_id": id, "command": [ECHO, "--stdio", "--instance-id", id]}))
            .await;
    }
    // Both answer, so both children are up.
    gw.wait_healthy("local", 2).await;
    let seen: std::collections::BTreeSet<String> =
        [gw.whoami("local").await, gw.whoami("local").await].into();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let children = gw.children();
    assert_eq!(
        children.len(),
        2,
        "one process per stdio instance: {children:?}"
    );
    let status = gw.stop().await;
    assert!(status.success(), "{status}");
    wait_until("stdio children to exit", Duration::from_secs(5), || {
        let children = children.clone();
        async move { children.iter().all(|pid| !process_alive(*pid)) }
    })
    .await;
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

#[tokio::test]
async fn deregistering_a_stdio_instance_stops_its_process() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(
        json!({"template_name": "local", "instance_id": "s1", "command": [ECHO, "--stdio"]}),
    )
    .await;
    let gw_ref = &gw;
    wait_until(
        "the stdio child to start",
        Duration::from_secs(10),
        || async move { gw_ref.children().len() == 1 },
    )
    .await;
    let pid = gw.children()[0];
    gw.http()
        .delete("/gateway/deregister/local/s1")
        .await
        .expect_status(200);
    wait_until(
        "the stdio child to exit",
        Duration::from_secs(10),
        || async move { !process_alive(pid) },
    )
    .await;
    assert!(gw.children().is_empty());
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests() {
    init_tracing();
    let echo = EchoHttp::spawn(ECHO, 0, "slow").await;
    let gw = TestGateway::start(GATEWAY).await;
    gw.register(json!({"template_name": "slow", "endpoint": echo.url()}))
        .await;
    let http = gw.http();
    let call = tokio::spawn(async move {
        http.post(
            "/mcp/slow/tools/call",
            &json!({"name": "sleep_ms", "arguments": {"ms": 1500}}),
        )
        .await
    });
    let gw_ref = &gw;
    wait_until(
        "the call to be in flight",
        Duration::from_secs(5),
        || async move {
            let stats = gw_ref.http().get("/gateway/stats").await.expect_status(200);
            stats["active_connections"] == 1
        },
    )
    .await;
    let status = gw.stop().await;
    assert!(status.success(), "{status}");
    let reply = call.await.unwrap();
    assert_eq!(
        reply.expect_status(200)["content"][0]["text"],
        "slept 1500ms",
        "the in-flight call completed during shutdown"
    );
}
