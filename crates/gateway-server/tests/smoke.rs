//! In-process smoke test: a real server on a real socket in front of two echo fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use gateway_server::{Overrides, Server, Settings};
use serde_json::{Value, json};

async fn echo(id: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(gateway_examples::echo::serve_http(
        listener,
        gateway_examples::echo::EchoConfig::new(id),
    ));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_list_call_round_robin() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/gw.db?mode=rwc", dir.path().display());
    let settings = Settings::load_with_env(
        Overrides {
            port: Some(0),
            database_url: Some(db),
            ..Default::default()
        },
        |_| None,
    )
    .unwrap();
    let server = Server::bind(settings).await.unwrap();
    let base = format!("http://{}", server.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();

    for id in ["a", "b"] {
        let url = echo(id).await;
        let r = http
            .post(format!("{base}/gateway/register"))
            .json(&json!({"template_name": "echo", "instance_id": id, "endpoint": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let dup = http
        .post(format!("{base}/gateway/register"))
        .json(&json!({"template_name": "echo", "instance_id": "a", "endpoint": "http://127.0.0.1:1/mcp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);

    let tools: Value = http
        .get(format!("{base}/mcp/echo/tools/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tools["count"], 6, "{tools}");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let r: Value = http
            .post(format!("{base}/mcp/echo/tools/call"))
            .json(&json!({"name": "whoami", "arguments": {}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seen.push(r["content"][0]["text"].as_str().unwrap().to_owned());
    }
    // tools/list took one turn, so the sequence starts wherever it left off: it alternates.
    assert!(
        seen[0] != seen[1] && seen[0] == seen[2] && seen[1] == seen[3],
        "round robin: {seen:?}"
    );

    let bad = http
        .post(format!("{base}/mcp/echo/tools/call"))
        .json(&json!({"arguments": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "name", "{body}");

    let health: Value = http
        .get(format!("{base}/mcp/echo/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["health_percentage"], 100.0, "{health}");
    assert_eq!(health["instances"]["a"]["healthy"], true);

    let missing = http
        .get(format!("{base}/mcp/nope/tools/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let stats: Value = http
        .get(format!("{base}/gateway/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let per = &stats["load_balancer"]["requests_per_instance"];
    assert_eq!(
        per["a"].as_u64().unwrap() + per["b"].as_u64().unwrap(),
        5,
        "1 list + 4 calls; probes are not proxied requests: {stats}"
    );
    assert_eq!(stats["total_requests"], 5, "{stats}");

    stop_tx.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
