//! A fleet on MariaDB/MySQL (no `LISTEN/NOTIFY`): changes reach the other replica by
//! polling the change counter (every 250 ms by default), within the bound (1 s);
//! and, with Redis configured, by pub/sub wake-ups.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use gateway_e2e::{
    EchoHttp,
    auth::{Client, Cred, USER_PASSWORD},
    fleet::{RedisServer, SharedDb, admin_token, replica},
    wait_until,
};
use serde_json::json;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The bound: a change made on one replica applies on every other within 1 s.
const PROPAGATION: Duration = Duration::from_secs(1);

async fn within<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    wait_until(what, PROPAGATION, check).await;
    eprintln!("{what}: {:?}", start.elapsed());
}

async fn call(client: &Client, token: &str) -> u16 {
    client
        .post(
            "/mcp/echo/tools/call",
            Cred::Bearer(token),
            &json!({"name": "whoami", "arguments": {}}),
        )
        .await
        .status
}

async fn propagation(envs: &[(&str, &str)], wake: &str) {
    let Some(db) = SharedDb::mysql().await else {
        return;
    };
    let (a, b) = tokio::join!(
        replica(GATEWAY, &db, "my-a", envs),
        replica(GATEWAY, &db, "my-b", envs)
    );
    let (ca, cb) = (a.client(), b.client());
    // A replica just started may still be loading its routing table (503): wait for
    // ready, then read it.
    wait_until("replica B ready", Duration::from_secs(10), || async {
        cb.get("/gateway/ready", Cred::None).await.status == 200
    })
    .await;
    wait_until("wake source", Duration::from_secs(5), || async {
        cb.get("/gateway/ready", Cred::None).await.json()["change_feed"]["wake"] == wake
    })
    .await;
    let ready = cb
        .get("/gateway/ready", Cred::None)
        .await
        .expect_status(200);
    assert_eq!(ready["database"], "reachable");
    let token = admin_token(&a.base_url()).await;
    let echo = EchoHttp::spawn(ECHO, 0, "my-echo").await;

    ca.post(
        "/gateway/register",
        Cred::Bearer(&token),
        &json!({"template_name": "echo", "instance_id": "my-echo", "endpoint": echo.url()}),
    )
    .await
    .expect_status(201);
    within("registration on A routable on B", || async {
        call(&cb, &token).await == 200
    })
    .await;

    cb.send(
        "DELETE",
        "/gateway/deregister/echo/my-echo",
        Cred::Bearer(&token),
        None,
    )
    .await
    .expect_status(200);
    within("deregistration on B gone on A", || async {
        call(&ca, &token).await != 200
    })
    .await;

    ca.create_user(&token, "dave", "user", None).await;
    let dave = ca.login("dave", USER_PASSWORD).await;
    ca.get("/gateway/templates", Cred::Bearer(&dave))
        .await
        .expect_status(200);
    cb.send(
        "PATCH",
        "/auth/users/dave",
        Cred::Bearer(&token),
        Some(&json!({"active": false})),
    )
    .await
    .expect_status(200);
    within("user disabled on B refused on A", || async {
        ca.get("/gateway/templates", Cred::Bearer(&dave))
            .await
            .status
            == 401
    })
    .await;

    a.stop().await;
    b.stop().await;
    echo.kill().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_propagate_by_polling() {
    propagation(&[], "poll").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_propagate_by_redis_wake_ups() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    // A slow poll: only the Redis wake-ups can meet the bound.
    propagation(
        &[
            ("MCP_GATEWAY_REDIS_URL", url.as_str()),
            ("MCP_GATEWAY_CHANGE_POLL_MS", "5000"),
        ],
        "redis",
    )
    .await;
    redis.stop().await;
}
