//! What metrics cost a relayed call, in process: `POST /mcp/echo/tools/call` through the
//! whole router of a gateway with metrics on (the default) and of one with
//! `MCP_GATEWAY_METRICS=off`, to the same echo upstream (served on loopback by this
//! process). The difference is what recording costs a call: the server-operation and
//! client-operation histograms, the HTTP route counter, the request log's note.
//!
//! `cargo bench -p gateway-server --bench metrics`
//!
//! Everything runs on one current-thread runtime (gateway and upstream alike), so the
//! time per iteration is the CPU of one call, end to end.

use std::hint::black_box;

use axum::{body::Body, http::Request};
use criterion::{Criterion, criterion_group, criterion_main};
use gateway_server::{Overrides, Server, Settings};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

fn call() -> Request<Body> {
    Request::post("/mcp/echo/tools/call")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"name":"echo","arguments":{"message":"hello"}}"#,
        ))
        .unwrap_or_default()
}

/// Sends one request; returns the status and body.
#[allow(clippy::expect_used)]
async fn send(router: &axum::Router, request: Request<Body>) -> (u16, String) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A gateway (metrics on or off) with template `echo` on the upstream at `upstream`.
#[allow(clippy::expect_used)]
fn gateway(
    rt: &tokio::runtime::Runtime,
    metrics: bool,
    upstream: &str,
) -> (Server, tempfile::TempDir) {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings::load_with_env(
            Overrides {
                host: Some("127.0.0.1".into()),
                port: Some(0),
                database_url: Some(format!("sqlite://{}/gw.db?mode=rwc", dir.path().display())),
                // The per-request log line is not what is measured here.
                log_level: Some("warn".into()),
                ..Default::default()
            },
            |name| match name {
                "MCP_GATEWAY_METRICS" if !metrics => Some("off".to_owned()),
                _ => None,
            },
        )
        .expect("settings");
        let server = Server::bind(settings).await.expect("server");
        let router = server.router();
        let register = Request::post("/gateway/register")
            .header("content-type", "application/json")
            .body(Body::from(format!(
                r#"{{"template_name":"echo","instance_id":"echo-1","endpoint":"{upstream}"}}"#
            )))
            .expect("request");
        let (status, body) = send(&router, register).await;
        assert_eq!(status, 201, "register: {body}");
        let (status, body) = send(&router, call()).await;
        assert_eq!(status, 200, "call: {body}");
        (server, dir)
    })
}

#[allow(clippy::expect_used)]
fn metrics(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let upstream = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let config = gateway_examples::echo::EchoConfig::new("echo-1");
        tokio::spawn(gateway_examples::echo::serve_http(listener, config));
        format!("http://{addr}/mcp")
    });
    let mut group = c.benchmark_group("POST /mcp/{template}/tools/call");
    for (label, on) in [("metrics off", false), ("metrics on", true)] {
        let (server, _dir) = gateway(&rt, on, &upstream);
        let router = server.router();
        group.bench_function(label, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let response = router.clone().oneshot(call()).await;
                    black_box(response.map(|r| r.status()))
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
