//! `/gateway/health` reports a database outage with 503 and recovers: a real PostgreSQL
//! reached through a TCP relay that the test cuts and restores (a real socket fault).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{process::Command, sync::Arc, time::Duration};

use gateway_server::{Overrides, Server, Settings};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

const PG: &str = "127.0.0.1:5432";

/// Forwards connections from `listener` to PostgreSQL until aborted.
struct Relay {
    tasks: Arc<parking_lot::Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    fn start(listener: TcpListener) -> Relay {
        let tasks: Arc<parking_lot::Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let inner = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(PG).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                inner.lock().push(conn);
            }
        });
        tasks.lock().push(accept);
        Relay { tasks }
    }

    /// Drops the listener and every relayed connection.
    fn cut(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

fn psql(sql: &str) -> bool {
    Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-c",
            sql,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn health(http: &reqwest::Client, base: &str) -> (u16, Value) {
    let r = http
        .get(format!("{base}/gateway/health"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_while_the_database_is_unreachable() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if tokio::net::TcpStream::connect(PG).await.is_err() || !psql("select 1") {
        let msg = format!("PostgreSQL not reachable at {PG} (with psql)");
        assert!(
            std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() != Ok("1"),
            "{msg}"
        );
        eprintln!("\n!!! SKIPPED: {msg}\n");
        return;
    }
    let schema = format!("gw_outage_{}", std::process::id());
    assert!(psql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    )));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = listener.local_addr().unwrap();
    let relay = Relay::start(listener);
    let url = format!("postgres://postgres@{relay_addr}/test?options=-c%20search_path%3D{schema}");
    let settings = Settings::load_with_env(
        Overrides {
            port: Some(0),
            database_url: Some(url),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    let server = Server::bind(settings).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.serve(std::future::pending()));
    let http = reqwest::Client::new();

    let (status, body) = health(&http, &base).await;
    assert_eq!(
        (status, body["database"].as_str()),
        (200, Some("healthy")),
        "{body}"
    );
    assert_eq!(body["database_backend"], "postgres");
    wait_ready(&http, &base, "listen").await;

    relay.cut();
    // Not ready while the database is unreachable (health says unhealthy too).
    let (status, body) = get(&http, &base, "/gateway/ready").await;
    assert_eq!(
        (status, body["ready"].as_bool()),
        (503, Some(false)),
        "{body}"
    );
    assert_eq!(body["database"], "unreachable", "{body}");
    let (status, body) = health(&http, &base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unhealthy");
    // Writes fail cleanly too, with a JSON error and Retry-After, and no detail leak.
    let r = http
        .post(format!("{base}/gateway/register"))
        .json(&json!({"template_name": "t", "endpoint": "http://127.0.0.1:1/mcp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "database_unavailable", "{body}");
    assert!(!body.to_string().contains("postgres://"), "{body}");

    // The database comes back on the same address: the gateway recovers by itself.
    let listener = loop {
        match TcpListener::bind(relay_addr).await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let _relay = Relay::start(listener);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = health(&http, &base).await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Ready again, with the change feed's LISTEN connection re-established.
    wait_ready(&http, &base, "listen").await;
    assert!(psql(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")));
}

async fn get(http: &reqwest::Client, base: &str, path: &str) -> (u16, Value) {
    let r = http.get(format!("{base}{path}")).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Waits (bounded) for `/gateway/ready` to say ready with the given wake source.
async fn wait_ready(http: &reqwest::Client, base: &str, wake: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(http, base, "/gateway/ready").await;
        if status == 200 && body["change_feed"]["wake"] == wake {
            assert_eq!(body["routing_table"], "loaded", "{body}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not ready: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
