//! Upstream protection (`load_balancer.upstream_limits`): a counting proxy in front of
//! the real echo server sees every connection and request the gateway opens to the
//! instance. With 1,000 clients calling at once, it never sees more than the configured
//! connections or calls in flight; the overflow is answered at once (REST 503
//! `overloaded` + `Retry-After: 1`, MCP JSON-RPC −32050), the queued calls all succeed,
//! and idle connections are trimmed to the configured pool size afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use gateway_e2e::{mcp::McpHttp, *};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::{
    client::legacy::{Client as HyperClient, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// Now and at most: open connections and requests being served.
#[derive(Default)]
struct Gauges {
    connections: AtomicUsize,
    max_connections: AtomicUsize,
    requests: AtomicUsize,
    max_requests: AtomicUsize,
    total_requests: AtomicUsize,
}

/// Counts one thing while alive.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn enter(now: &'a AtomicUsize, max: &AtomicUsize) -> Held<'a> {
        count_in(now, max);
        Held(now)
    }
}

fn count_in(now: &AtomicUsize, max: &AtomicUsize) {
    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(n, Ordering::SeqCst);
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts one open connection while its service lives.
struct Open(Arc<Gauges>);

impl Open {
    fn enter(gauges: Arc<Gauges>) -> Open {
        count_in(&gauges.connections, &gauges.max_connections);
        Open(gauges)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pass-through proxy to a real upstream that counts what reaches it.
struct CountingProxy {
    port: u16,
    gauges: Arc<Gauges>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    async fn start(upstream_port: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let gauges = Arc::new(Gauges::default());
        let client: HyperClient<HttpConnector, Full<Bytes>> =
            HyperClient::builder(TokioExecutor::new()).build_http();
        let shared = gauges.clone();
        let task = serve_http1(listener, move || {
            let (client, gauges) = (client.clone(), shared.clone());
            let open = Open::enter(gauges.clone());
            service_fn(move |req| {
                let _connection = &open;
                forward(req, upstream_port, client.clone(), gauges.clone())
            })
        });
        CountingProxy { port, gauges, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn now(&self) -> (usize, usize) {
        (
            self.gauges.connections.load(Ordering::SeqCst),
            self.gauges.requests.load(Ordering::SeqCst),
        )
    }

    fn max(&self) -> (usize, usize) {
        (
            self.gauges.max_connections.load(Ordering::SeqCst),
            self.gauges.max_requests.load(Ordering::SeqCst),
        )
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    req: Request<Incoming>,
    upstream_port: u16,
    client: HyperClient<HttpConnector, Full<Bytes>>,
    gauges: Arc<Gauges>,
) -> Result<Response<BoxBody<Bytes, std::io::Error>>, Infallible> {
    let _serving = Held::enter(&gauges.requests, &gauges.max_requests);
    gauges.total_requests.fetch_add(1, Ordering::SeqCst);
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    retarget(&mut parts, upstream_port);
    // The whole answer is read before the request counts as done.
    let answer = match client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            let bytes = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Response::from_parts(parts, Full::new(bytes))
        }
        Err(_) => Response::builder()
            .status(502)
            .body(Full::new(Bytes::new()))
            .unwrap(),
    };
    Ok(answer.map(|b| b.map_err(|e| match e {}).boxed()))
}

async fn setup(limits: Value) -> (TestGateway, CountingProxy, EchoHttp) {
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "limited-echo").await;
    let proxy = CountingProxy::start(echo.port).await;
    gw.register(json!({"template_name": "limited", "instance_id": "l1", "endpoint": proxy.url()}))
        .await;
    // Changing the limits reconnects the instance with a pool of the new size.
    gw.http()
        .put(
            "/gateway/templates/limited/load-balancer",
            &json!({"upstream_limits": limits, "max_retries": 0}),
        )
        .await
        .expect_status(200);
    gw.wait_healthy("limited", 1).await;
    (gw, proxy, echo)
}

fn sleep_call(ms: u64) -> Value {
    json!({"name": "sleep_ms", "arguments": {"ms": ms}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_never_exceed_the_limits_and_overflow_is_answered_at_once() {
    let limits =
        json!({"max_in_flight": 8, "max_pending": 32, "max_connections": 8, "idle_connections": 2});
    let (gw, proxy, _echo) = setup(limits.clone()).await;
    let shown = gw
        .http()
        .get("/gateway/templates/limited/load-balancer")
        .await
        .expect_status(200);
    assert_eq!(shown["upstream_limits"], limits, "{shown}");

    let http = gw.http();
    let calls = (0..1000).map(|_| {
        let http = http.clone();
        tokio::spawn(async move {
            let sent = Instant::now();
            let reply = http.post("/mcp/limited/tools/call", &sleep_call(200)).await;
            (reply, sent.elapsed())
        })
    });
    let replies = futures_util::future::join_all(calls).await;
    let (mut ok, mut overloaded, mut slowest_refusal) = (0, 0, Duration::ZERO);
    for joined in replies {
        let (reply, took) = joined.unwrap();
        match reply.status {
            200 => ok += 1,
            503 => {
                let body = reply.expect_error(503, "overloaded");
                assert_eq!(reply.header("retry-after"), Some("1"), "{body}");
                overloaded += 1;
                slowest_refusal = slowest_refusal.max(took);
            }
            other => panic!("unexpected HTTP {other}: {}", reply.text),
        }
    }
    let (max_connections, max_requests) = proxy.max();
    eprintln!(
        "ok {ok}, overloaded {overloaded}, slowest refusal {slowest_refusal:?}, \
         upstream saw at most {max_connections} connections and {max_requests} requests"
    );
    assert!(max_connections <= 8, "{max_connections} connections > 8");
    assert!(max_requests <= 8, "{max_requests} requests in flight > 8");
    assert_eq!(ok + overloaded, 1000);
    // Every call that found room (8 in flight + 32 waiting, as slots freed more came
    // in) succeeded; everything beyond was refused without waiting for the queue.
    assert!(ok >= 40, "only {ok} calls succeeded");
    assert!(overloaded >= 500, "only {overloaded} refused");
    // A queued call waits at most 32/8 × 200 ms; refusals come without that wait
    // (the bound leaves room for 1,000 connections being set up on 2 cores).
    assert!(
        slowest_refusal < Duration::from_secs(5),
        "a refusal took {slowest_refusal:?}"
    );

    // After the burst the pool keeps at most `idle_connections` idle connections.
    wait_until(
        "idle connections trimmed to 2",
        Duration::from_secs(10),
        || async { proxy.now().0 <= 2 },
    )
    .await;
    assert_eq!(proxy.now().1, 0, "requests still in flight upstream");

    // The gate's refusals are on /metrics.
    let page = gw.http().get("/metrics").await;
    let refused: f64 = page
        .text
        .lines()
        .find(|l| {
            l.starts_with("mcp_gateway_instance_admission_refused_full_total{")
                && l.contains("instance=\"l1\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no refusal counter on /metrics:\n{}", page.text));
    assert_eq!(refused as usize, overloaded);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_queue_overflow_is_refused_on_rest_and_mcp_and_recovers() {
    let (gw, proxy, _echo) = setup(json!({"max_in_flight": 1, "max_pending": 0})).await;
    let http = gw.http();
    let busy = {
        let http = http.clone();
        tokio::spawn(async move {
            http.post("/mcp/limited/tools/call", &sleep_call(1500))
                .await
        })
    };
    wait_until(
        "the slow call reached the upstream",
        Duration::from_secs(5),
        || async { proxy.now().1 == 1 },
    )
    .await;

    // REST: 503 overloaded with Retry-After, at once.
    let reply = http.post("/mcp/limited/tools/call", &sleep_call(0)).await;
    reply.expect_error(503, "overloaded");
    assert_eq!(reply.header("retry-after"), Some("1"));

    // MCP (2026-07-28, stateless): JSON-RPC −32050 saying why and when to retry.
    let mut mcp = McpHttp::new(format!("{}/mcp/limited", gw.base_url()));
    let reply = mcp
        .modern("tools/call", sleep_call(0), Some("sleep_ms"))
        .await;
    let message = reply.json();
    assert_eq!(message["error"]["code"], -32050, "{message}");
    assert_eq!(
        message["error"]["data"]["reason"], "overloaded",
        "{message}"
    );
    assert_eq!(message["error"]["data"]["retry_after"], 1, "{message}");
    // Nothing but the slow call reached the upstream.
    assert_eq!(proxy.max().1, 1);

    busy.await.unwrap().expect_status(200);
    let reply = mcp
        .modern("tools/call", sleep_call(0), Some("sleep_ms"))
        .await;
    assert!(reply.json()["result"].is_object(), "{}", reply.text);
    http.post("/mcp/limited/tools/call", &sleep_call(0))
        .await
        .expect_status(200);
    gw.stop().await;
}

#[tokio::test]
async fn limits_are_validated_shown_and_reset() {
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "t-echo").await;
    gw.register(json!({"template_name": "t", "instance_id": "t1",
        "endpoint": format!("http://127.0.0.1:{}/mcp", echo.port)}))
        .await;
    let http = gw.http();
    let path = "/gateway/templates/t/load-balancer";
    for (bad, field) in [
        (json!({"max_in_flight": 0}), "upstream_limits.max_in_flight"),
        (
            json!({"max_pending": 100001}),
            "upstream_limits.max_pending",
        ),
        (
            json!({"max_connections": 0}),
            "upstream_limits.max_connections",
        ),
    ] {
        let body = http
            .put(path, &json!({"upstream_limits": bad}))
            .await
            .expect_error(400, "invalid_field");
        assert_eq!(body["field"], field, "{body}");
    }
    let body = http
        .put(path, &json!({"upstream_limits": {"max_queue": 1}}))
        .await
        .expect_status(400);
    assert!(
        body["detail"].as_str().unwrap().contains("max_queue"),
        "{body}"
    );

    let set = http
        .put(path, &json!({"upstream_limits": {"max_in_flight": 64}}))
        .await
        .expect_status(200);
    assert_eq!(
        set["upstream_limits"],
        json!({"max_in_flight": 64, "max_pending": 1024, "max_connections": 1024, "idle_connections": 16}),
        "{set}"
    );
    // Other updates keep them; `null` restores the defaults.
    let kept = http
        .put(path, &json!({"max_retries": 1}))
        .await
        .expect_status(200);
    assert_eq!(kept["upstream_limits"]["max_in_flight"], 64);
    let reset = http
        .put(path, &json!({"upstream_limits": null}))
        .await
        .expect_status(200);
    assert_eq!(reset["upstream_limits"]["max_in_flight"], 1024);
    gw.stop().await;
}
