//! Load-balancing strategies, observed through the API: the echo fixture's `whoami`
//! tool names the instance that answered, and `/gateway/stats` counts requests per
//! instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, time::Duration};

use gateway_e2e::*;
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// A gateway with template `lb` = HTTP echo instances `a` and `b` with these weights.
async fn two_instances(weights: (u32, u32)) -> (TestGateway, EchoHttp, EchoHttp) {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let a = EchoHttp::spawn(ECHO, 0, "a").await;
    let b = EchoHttp::spawn(ECHO, 0, "b").await;
    for (id, echo, weight) in [("a", &a, weights.0), ("b", &b, weights.1)] {
        gw.register(json!({"template_name": "lb", "instance_id": id, "endpoint": echo.url(), "weight": weight}))
            .await;
    }
    // Balancing is exact once both instances are known healthy.
    gw.wait_healthy("lb", 2).await;
    (gw, a, b)
}

async fn set_strategy(gw: &TestGateway, strategy: &str) -> Value {
    let settings = gw
        .http()
        .put(
            "/gateway/templates/lb/load-balancer",
            &json!({"strategy": strategy}),
        )
        .await
        .expect_status(200);
    assert_eq!(settings["strategy"], strategy, "{settings}");
    settings
}

async fn whoami_n(gw: &TestGateway, n: usize) -> Vec<String> {
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(gw.whoami("lb").await);
    }
    seen
}

fn tally(seen: &[String]) -> BTreeMap<&str, u64> {
    let mut counts = BTreeMap::new();
    for id in seen {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    counts
}

async fn requests_per_instance(gw: &TestGateway) -> BTreeMap<String, u64> {
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    serde_json::from_value(stats["load_balancer"]["requests_per_instance"].clone())
        .unwrap_or_else(|e| panic!("requests_per_instance ({e}): {stats}"))
}

#[tokio::test]
async fn round_robin_alternates_between_two_http_instances() {
    let (gw, _a, _b) = two_instances((1, 1)).await;
    let lb = gw
        .http()
        .get("/gateway/templates/lb/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(lb["strategy"], "round_robin", "the default: {lb}");
    let seen = whoami_n(&gw, 10).await;
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "round robin must alternate: {seen:?}");
    }
    assert_eq!(tally(&seen), BTreeMap::from([("a", 5), ("b", 5)]));
    let stats = requests_per_instance(&gw).await;
    assert_eq!(
        stats,
        BTreeMap::from([("a".to_owned(), 5), ("b".to_owned(), 5)])
    );
}

#[tokio::test]
async fn weighted_three_to_one_gives_thirty_and_ten_of_forty() {
    let (gw, _a, _b) = two_instances((3, 1)).await;
    set_strategy(&gw, "weighted").await;
    let seen = whoami_n(&gw, 40).await;
    assert_eq!(
        tally(&seen),
        BTreeMap::from([("a", 30), ("b", 10)]),
        "{seen:?}"
    );
    // Smooth weighted round robin: b is never picked twice in a row.
    for pair in seen.windows(2) {
        assert!(pair != ["b", "b"], "b picked twice in a row: {seen:?}");
    }
    let stats = requests_per_instance(&gw).await;
    assert_eq!(
        stats,
        BTreeMap::from([("a".to_owned(), 30), ("b".to_owned(), 10)])
    );
}

#[tokio::test]
async fn least_connections_avoids_the_busy_instance() {
    let (gw, _a, _b) = two_instances((1, 1)).await;
    set_strategy(&gw, "least_connections").await;
    let http = gw.http();
    // One long call keeps one instance busy...
    let busy = tokio::spawn({
        let http = http.clone();
        async move {
            http.post(
                "/mcp/lb/tools/call",
                &json!({"name": "sleep_ms", "arguments": {"ms": 3000}}),
            )
            .await
            .expect_status(200)
        }
    });
    let gw_ref = &gw;
    wait_until(
        "the slow call to be in flight",
        Duration::from_secs(5),
        || async move {
            let stats = gw_ref.http().get("/gateway/stats").await.expect_status(200);
            stats["active_connections"] == 1
        },
    )
    .await;
    let stats = gw.http().get("/gateway/stats").await.expect_status(200);
    let active = &stats["load_balancer"]["active_connections"];
    let busy_id = if active["a"] == 1 { "a" } else { "b" };
    let idle_id = if busy_id == "a" { "b" } else { "a" };
    assert_eq!(active[idle_id], 0, "{stats}");
    // ...so every call meanwhile goes to the idle one.
    let seen = whoami_n(&gw, 6).await;
    assert!(
        seen.iter().all(|id| id == idle_id),
        "calls went to the busy instance {busy_id}: {seen:?}"
    );
    let slept = busy.await.unwrap();
    assert_eq!(slept["content"][0]["text"], "slept 3000ms");
    let stats = requests_per_instance(&gw).await;
    assert_eq!(stats[busy_id], 1, "{stats:?}");
    assert_eq!(stats[idle_id], 6, "{stats:?}");
    // Once idle again, both instances are used.
    let after = tally(&whoami_n(&gw, 6).await).len();
    assert_eq!(after, 2, "both instances serve when neither is busy");
}

#[tokio::test]
async fn every_strategy_can_be_selected_and_routes_to_both_instances() {
    let (gw, _a, _b) = two_instances((1, 1)).await;
    for strategy in [
        "random",
        "health_based",
        "least_connections",
        "weighted",
        "round_robin",
    ] {
        set_strategy(&gw, strategy).await;
        let seen = whoami_n(&gw, 40).await;
        let counts = tally(&seen);
        assert_eq!(counts.values().sum::<u64>(), 40);
        // Round robin, least connections (ties) and equal weights alternate; random
        // and health-based reach both instances over 40 calls (p(miss) ≈ 2^-39).
        assert_eq!(counts.len(), 2, "{strategy}: {counts:?}");
        let registry = gw.http().get("/gateway/registry").await.expect_status(200);
        assert_eq!(
            registry["templates"]["lb"]["load_balancer_strategy"], strategy,
            "{registry}"
        );
    }
}

#[tokio::test]
async fn load_balancer_update_is_partial() {
    let (gw, _a, _b) = two_instances((1, 1)).await;
    let http = gw.http();
    let before = http
        .get("/gateway/templates/lb/load-balancer")
        .await
        .expect_status(200);
    for key in [
        "strategy",
        "health_check_interval",
        "health_check_timeout",
        "max_retries",
        "timeout",
        "pool_size",
    ] {
        assert!(before.get(key).is_some(), "`{key}` missing: {before}");
    }
    let after = http
        .put(
            "/gateway/templates/lb/load-balancer",
            &json!({"max_retries": 1, "timeout": 12}),
        )
        .await
        .expect_status(200);
    assert_eq!(after["max_retries"], 1);
    assert_eq!(after["timeout"], 12);
    assert_eq!(
        after["strategy"], before["strategy"],
        "untouched fields keep their value"
    );
    assert_eq!(
        after["health_check_interval"],
        before["health_check_interval"]
    );
    let read_back = http
        .get("/gateway/templates/lb/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(read_back, after);
}

#[tokio::test]
async fn a_dead_instance_is_retried_around_then_taken_out_of_rotation() {
    let (gw, a, _b) = two_instances((1, 1)).await;
    a.kill().await;
    // tools/list is idempotent: the gateway retries it on the other instance.
    for _ in 0..4 {
        let list = gw.http().get("/mcp/lb/tools/list").await.expect_status(200);
        assert_eq!(list["count"], 6);
    }
    let health = gw.wait_unhealthy("lb", "a").await;
    assert_eq!(health["instances"]["b"]["healthy"], true, "{health}");
    // Once a is known unhealthy, even non-idempotent calls only go to b.
    let seen = whoami_n(&gw, 6).await;
    assert!(seen.iter().all(|id| id == "b"), "{seen:?}");
}
