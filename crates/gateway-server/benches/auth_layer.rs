//! CPU per request of API-key auth, in process: the same cheap template-scoped route
//! (`GET /mcp/{template}/health`, which reads the health board and talks to no upstream)
//! through the whole router of a gateway without auth and of one with `--auth` and an
//! `X-API-Key`. The difference is what auth costs a request: read the key, HMAC-SHA-256
//! it against the cached key (warm cache, the steady state), check scope and template
//! allowlist, take a rate-limit token, add the `X-RateLimit-*` headers.
//!
//! `cargo bench -p gateway-server --bench auth_layer`
//!
//! Each request is one `oneshot` call on a clone of the router, polled on a
//! current-thread runtime: no socket, so the auth share is not lost in loopback noise.

use std::hint::black_box;

use axum::{body::Body, http::Request};
use criterion::{Criterion, criterion_group, criterion_main};
use gateway_server::{Overrides, Server, Settings};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

const ADMIN_PASSWORD: &str = "bench-admin-password-0123456789";
const JWT_SECRET: &str = "bench-jwt-secret-0123456789-0123456789-0123456789";

/// A gateway (auth on or off) with template `echo` registered, and the request to time.
struct Gateway {
    server: Server,
    request: fn(&str) -> Request<Body>,
    key: String,
    _dir: tempfile::TempDir,
}

fn health(key: &str) -> Request<Body> {
    let mut builder = Request::get("/mcp/echo/health");
    if !key.is_empty() {
        builder = builder.header("x-api-key", key);
    }
    builder.body(Body::empty()).unwrap_or_default()
}

/// Sends one request, returns the status and body (a setup step that fails stops the
/// benchmark: its numbers would mean nothing).
#[allow(clippy::expect_used)]
async fn send(router: &axum::Router, request: Request<Body>) -> (u16, serde_json::Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

fn json(method: &str, uri: &str, bearer: Option<&str>, body: serde_json::Value) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

#[allow(clippy::expect_used)]
fn gateway(rt: &tokio::runtime::Runtime, auth: bool) -> Gateway {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings::load_with_env(
            Overrides {
                host: Some("127.0.0.1".into()),
                port: Some(0),
                database_url: Some(format!("sqlite://{}/gw.db?mode=rwc", dir.path().display())),
                auth: auth.then_some(true),
                ..Default::default()
            },
            |name| match name {
                "MCP_GATEWAY_ADMIN_PASSWORD" => Some(ADMIN_PASSWORD.to_owned()),
                "MCP_GATEWAY_JWT_SECRET" => Some(JWT_SECRET.to_owned()),
                _ => None,
            },
        )
        .expect("settings");
        let server = Server::bind(settings).await.expect("server");
        let router = server.router();
        let mut bearer = None;
        let mut key = String::new();
        if auth {
            let login = json(
                "POST",
                "/auth/login",
                None,
                serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}),
            );
            let (status, body) = send(&router, login).await;
            assert_eq!(status, 200, "login: {body}");
            bearer = body["access_token"].as_str().map(str::to_owned);
            let create = json(
                "POST",
                "/auth/api-keys",
                bearer.as_deref(),
                serde_json::json!({"name": "bench", "role": "user", "rate_limit": 10_000_000}),
            );
            let (status, body) = send(&router, create).await;
            assert_eq!(status, 201, "api key: {body}");
            key = body["key"].as_str().expect("key").to_owned();
        }
        // An instance nobody calls: the health route reads the board only.
        let register = json(
            "POST",
            "/gateway/register",
            bearer.as_deref(),
            serde_json::json!({"template_name": "echo", "instance_id": "echo-1",
                               "endpoint": "http://127.0.0.1:9/mcp"}),
        );
        let (status, body) = send(&router, register).await;
        assert_eq!(status, 201, "register: {body}");
        let (status, body) = send(&router, health(&key)).await;
        assert_eq!(status, 200, "health: {body}");
        assert_eq!(body["template_name"], "echo");
        Gateway {
            server,
            request: health,
            key,
            _dir: dir,
        }
    })
}

fn auth_layer(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let mut group = c.benchmark_group("GET /mcp/{template}/health");
    for (label, auth) in [("auth off", false), ("X-API-Key, auth on", true)] {
        let gateway = gateway(&rt, auth);
        let router = gateway.server.router();
        group.bench_function(label, |b| {
            b.iter(|| {
                let request = (gateway.request)(&gateway.key);
                rt.block_on(async {
                    let response = router.clone().oneshot(request).await;
                    black_box(response.map(|r| r.status()))
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, auth_layer);
criterion_main!(benches);
