//! A fleet sharing Redis (`MCP_GATEWAY_REDIS_URL`): a key's rate limit of N per minute
//! holds across replicas (at most N + replicas accepted in total); with Redis stopped,
//! requests are still served under per-replica limits, `/gateway/health` says
//! `degraded` (`redis_unreachable`) and the log warns; once Redis is back, limits are
//! shared again. A private `redis-server` on a free port, stopped and restarted by the
//! test; replicas on a fresh PostgreSQL schema.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use gateway_e2e::{
    auth::{AuthGateway, Client, Cred},
    fleet::{RedisServer, SharedDb, admin_token, replica},
    wait_until,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");

/// Sends `n` requests with `key`, alternating the replicas; returns how many were
/// accepted (every answer must be 200 or 429).
async fn accepted(clients: &[Client], key: &str, n: usize) -> usize {
    let mut ok = 0;
    for i in 0..n {
        let r = clients[i % clients.len()]
            .get("/gateway/templates", Cred::Key(key))
            .await;
        match r.status {
            200 => ok += 1,
            429 => assert!(r.header("retry-after").is_some(), "{:?}", r.headers),
            other => panic!("request {i}: {other} {}", r.text),
        }
    }
    ok
}

async fn health(gw: &AuthGateway) -> Value {
    gw.client().get("/gateway/health", Cred::None).await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_shared_and_survive_a_redis_outage() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let url = redis.url();
    let envs = [
        ("MCP_GATEWAY_REDIS_URL", url.as_str()),
        ("MCP_GATEWAY_REDIS_PREFIX", "fleet-test:"),
    ];
    let (a, b) = tokio::join!(
        replica(GATEWAY, &db, "redis-a", &envs),
        replica(GATEWAY, &db, "redis-b", &envs)
    );
    let clients = [a.client(), b.client()];
    let token = admin_token(&a.base_url()).await;
    for gw in [&a, &b] {
        let h = health(gw).await;
        assert_eq!(
            (h["status"].as_str(), h["redis"].as_str()),
            (Some("healthy"), Some("healthy")),
            "{h}"
        );
    }

    // N = 10 per minute for the whole fleet.
    let (key, _) = clients[0]
        .create_key(
            Cred::Bearer(&token),
            json!({"name": "limited", "role": "user", "rate_limit": 10}),
        )
        .await;
    let n = accepted(&clients, &key, 30).await;
    assert!(
        (10..=12).contains(&n),
        "accepted {n} of 30 with a fleet-wide limit of 10"
    );

    // Redis goes away: still served (per-replica limits), degraded, a warning.
    redis.stop().await;
    let (fresh, _) = clients[0]
        .create_key(
            Cred::Bearer(&token),
            json!({"name": "during-outage", "role": "user", "rate_limit": 10}),
        )
        .await;
    let n = accepted(&clients, &fresh, 6).await;
    assert_eq!(n, 6, "requests are still served");
    for gw in [&a, &b] {
        wait_until("health degraded", Duration::from_secs(10), || async {
            let h = health(gw).await;
            h["status"] == "degraded"
                && h["redis"] == "unreachable"
                && h["degraded_reasons"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("redis_unreachable"))
        })
        .await;
        assert!(gw.stderr().contains("Redis unreachable"), "{}", gw.stderr());
    }
    // The local buckets still limit (each replica on its own).
    let (local, _) = clients[0]
        .create_key(
            Cred::Bearer(&token),
            json!({"name": "local", "role": "user", "rate_limit": 3}),
        )
        .await;
    let n = accepted(&clients[..1], &local, 6).await;
    assert_eq!(
        n, 3,
        "replica A alone enforces the limit while Redis is down"
    );

    // Redis is back: healthy again, and limits are shared again.
    redis.restart().await;
    for gw in [&a, &b] {
        wait_until("health healthy", Duration::from_secs(15), || async {
            let h = health(gw).await;
            h["status"] == "healthy" && h["redis"] == "healthy"
        })
        .await;
        assert!(gw.stderr().contains("Redis reachable again"));
    }
    let (again, _) = clients[0]
        .create_key(
            Cred::Bearer(&token),
            json!({"name": "again", "role": "user", "rate_limit": 5}),
        )
        .await;
    let n = accepted(&clients, &again, 15).await;
    assert!(
        (5..=7).contains(&n),
        "accepted {n} of 15 with a fleet-wide limit of 5"
    );

    a.stop().await;
    b.stop().await;
    redis.stop().await;
    db.drop().await;
}

/// Logins: failures spread over the replicas lock the name for that address on every
/// replica (the counters live in Redis).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_lockouts_are_shared() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let Some(db) = SharedDb::postgres().await else {
        return;
    };
    let url = redis.url();
    let envs = [("MCP_GATEWAY_REDIS_URL", url.as_str())];
    let (a, b) = tokio::join!(
        replica(GATEWAY, &db, "lock-a", &envs),
        replica(GATEWAY, &db, "lock-b", &envs)
    );
    let clients = [a.client(), b.client()];
    // The per-(user, address) budget is 5 failures, then 1 s, 2 s, … locks.
    for i in 0..6 {
        let r = clients[i % 2]
            .login_reply("admin", "wrong password!!")
            .await;
        assert_eq!(r.status, 401, "attempt {i}: {}", r.text);
    }
    for c in &clients {
        let r = c
            .login_reply("admin", gateway_e2e::auth::ADMIN_PASSWORD)
            .await;
        assert_eq!(r.status, 429, "locked on every replica: {}", r.text);
    }
    a.stop().await;
    b.stop().await;
    redis.stop().await;
    db.drop().await;
}
