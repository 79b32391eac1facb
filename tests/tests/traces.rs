//! OpenTelemetry traces end to end: the real gateway exports to an OTLP/HTTP receiver in
//! this test (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`, so it decodes with serde_json);
//! clients send a W3C `traceparent` (header, or `params._meta` per the MCP convention)
//! through the REST facade and the native MCP endpoint, to an HTTP upstream (the echo
//! fixture recording the headers and `_meta` it receives) and a stdio one (its unlisted
//! `meta` tool answers with the `_meta` it got). Checked: one trace per request, the
//! SERVER span a child of the client's span and the parent of one CLIENT span per
//! attempt, the conventions' attributes, and the upstream continuing the same trace
//! under the gateway's CLIENT span. Without export, the client's context still reaches
//! the upstream, unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{convert::Infallible, sync::Arc, time::Duration};

use bytes::Bytes;
use gateway_e2e::{EchoHttp, TestGateway, free_port, mcp::McpHttp, mcp::messages, wait_until};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpListener;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// OTLP span kinds.
const SERVER: i64 = 2;
const CLIENT: i64 = 3;

/// A minimal OTLP/HTTP receiver: every span of every `POST /v1/traces` (JSON).
struct Receiver {
    port: u16,
    spans: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let sink = spans.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let sink = sink.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| receive(req, sink.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { port, spans, task }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spans(&self) -> Vec<Value> {
        self.spans.lock().clone()
    }

    /// The spans of `trace_id`, once at least `n` have arrived.
    async fn trace(&self, trace_id: &str, n: usize) -> Vec<Value> {
        self.trace_where(trace_id, n, |_| true).await
    }

    /// The spans of `trace_id` that `keep`, once at least `n` have arrived.
    async fn trace_where(
        &self,
        trace_id: &str,
        n: usize,
        keep: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let of_trace = || -> Vec<Value> {
            self.spans()
                .into_iter()
                .filter(|s| s["traceId"] == trace_id && keep(s))
                .collect()
        };
        wait_until(
            &format!("{n} spans of trace {trace_id}"),
            Duration::from_secs(20),
            || async { of_trace().len() >= n },
        )
        .await;
        // Late spans of the same trace would be a bug: give them a moment to show.
        tokio::time::sleep(Duration::from_millis(300)).await;
        of_trace()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    req: Request<Incoming>,
    sink: Arc<Mutex<Vec<Value>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(path, "/v1/traces");
    let export: Value = serde_json::from_slice(&body).expect("OTLP/JSON");
    let mut spans = sink.lock();
    for resource in export["resourceSpans"].as_array().into_iter().flatten() {
        let service = attr_of(&resource["resource"], "service.name");
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let mut span = span.clone();
                span["service"] = service.clone().map_or(Value::Null, Value::String);
                spans.push(span);
            }
        }
    }
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

/// An attribute of a span (or resource) as text (`None` when absent); OTLP/JSON wraps
/// values as `{"stringValue": ..}`, `{"intValue": ..}`, ...
fn attr_of(holder: &Value, key: &str) -> Option<String> {
    let value = holder["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]
        .as_object()?
        .values()
        .next()?
        .clone();
    Some(match value {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn attr(span: &Value, key: &str) -> Option<String> {
    attr_of(span, key)
}

fn kind(span: &Value) -> i64 {
    match &span["kind"] {
        Value::Number(n) => n.as_i64().unwrap(),
        Value::String(s) if s.ends_with("SERVER") => SERVER,
        Value::String(s) if s.ends_with("CLIENT") => CLIENT,
        other => panic!("span kind {other}"),
    }
}

/// The one span of `kind` (panics on none or several).
fn one(spans: &[Value], kind_wanted: i64) -> Value {
    let found: Vec<&Value> = spans.iter().filter(|s| kind(s) == kind_wanted).collect();
    assert_eq!(found.len(), 1, "one span of kind {kind_wanted}: {spans:#?}");
    found[0].clone()
}

/// A fresh client context: (`traceparent`, trace id, span id).
fn client_context() -> (String, String, String) {
    let trace = format!(
        "{:032x}",
        u128::from(fastrand_u64()) << 64 | u128::from(fastrand_u64())
    );
    let span = format!("{:016x}", fastrand_u64() | 1);
    (format!("00-{trace}-{span}-01"), trace, span)
}

/// A random number (std's per-instance hash keys are random).
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// Trace id and parent span id of a `traceparent`.
fn parts(traceparent: &str) -> (String, String) {
    let p: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(p.len(), 4, "{traceparent}");
    (p[1].to_owned(), p[2].to_owned())
}

/// `POST /mcp/{template}/tools/call` with `body` and extra `headers`: the result.
async fn call_tool(
    gw: &TestGateway,
    template: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Value {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    gw.http()
        .raw(
            "POST",
            &format!("/mcp/{template}/tools/call"),
            &all,
            Some(body),
        )
        .await
        .expect_status(200)
}

const META: &str = r#"{"name":"meta","arguments":{}}"#;

async fn exporting_gateway(receiver: &Receiver, extra: &[(&str, &str)]) -> TestGateway {
    let mut builder = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_OTLP_ENDPOINT", receiver.endpoint())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    for (k, v) in extra {
        builder = builder.env(k, *v);
    }
    builder.start().await
}

/// Registers `web` (the HTTP echo fixture) and `local` (a stdio one).
async fn templates(gw: &TestGateway, echo: &EchoHttp) {
    gw.register(json!({"template_name": "web", "instance_id": "w1", "endpoint": echo.url()}))
        .await;
    gw.register(json!({"template_name": "local", "instance_id": "s1",
                       "command": format!("{ECHO} --stdio --instance-id s1")}))
        .await;
    gw.wait_healthy("web", 1).await;
    gw.wait_healthy("local", 1).await;
}

/// The SERVER and CLIENT spans of one traced call, checked for their shape: the SERVER
/// span a child of the client's span, named `tools/call {tool}`, parent of the one
/// CLIENT span.
fn server_and_client(spans: &[Value], client_span: &str, tool: &str) -> (Value, Value) {
    let server = one(spans, SERVER);
    let client = one(spans, CLIENT);
    assert_eq!(server["parentSpanId"], client_span, "{server:#}");
    assert_eq!(client["parentSpanId"], server["spanId"], "{client:#}");
    for span in [&server, &client] {
        assert_eq!(span["name"], format!("tools/call {tool}"), "{span:#}");
        assert_eq!(attr(span, "mcp.method.name").as_deref(), Some("tools/call"));
        assert_eq!(attr(span, "gen_ai.tool.name").as_deref(), Some(tool));
        assert_eq!(
            attr(span, "gen_ai.operation.name").as_deref(),
            Some("execute_tool")
        );
        assert_eq!(span["service"], "mcp-gateway");
    }
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_mcp_calls_are_one_trace_continued_upstream() {
    let receiver = Receiver::start().await;
    let gw = exporting_gateway(&receiver, &[]).await;
    let echo = EchoHttp::spawn_with(ECHO, 0, "w1", &["--record-requests"]).await;
    templates(&gw, &echo).await;

    // 1. REST facade, HTTP upstream, the client's context as a header.
    let (traceparent, trace, parent) = client_context();
    let result = call_tool(
        &gw,
        "web",
        META,
        &[("traceparent", &traceparent), ("tracestate", "vendor=1")],
    )
    .await;
    let spans = receiver.trace(&trace, 2).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (server, client) = server_and_client(&spans, &parent, "meta");
    assert_eq!(attr(&server, "network.transport").as_deref(), Some("tcp"));
    assert_eq!(attr(&server, "mcp.session.id"), None, "REST has no session");
    assert_eq!(attr(&client, "network.transport").as_deref(), Some("tcp"));
    assert_eq!(
        attr(&client, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(attr(&client, "server.port"), Some(echo.port.to_string()));
    assert!(
        attr(&client, "mcp.protocol.version").is_some(),
        "{client:#}"
    );
    assert_eq!(attr(&client, "error.type"), None);
    // The upstream continues the trace under the gateway's CLIENT span: `_meta` ...
    let meta = &result["structuredContent"];
    let (seen_trace, seen_parent) = parts(meta["traceparent"].as_str().unwrap());
    assert_eq!(seen_trace, trace);
    assert_eq!(seen_parent, client["spanId"].as_str().unwrap());
    assert_eq!(meta["tracestate"], "vendor=1", "tracestate passed on");
    // ... and the header.
    let recorded = echo.recorded().await;
    let call = recorded.iter().rev().find(|r| r["tool"] == "meta").unwrap();
    assert_eq!(call["traceparent"], meta["traceparent"], "{call}");

    // 2. MCP, 2026-07-28, stdio upstream, the context in `params._meta` only.
    let (traceparent, trace, parent) = client_context();
    let mut modern_meta = gateway_e2e::mcp::modern_meta();
    modern_meta["traceparent"] = json!(traceparent);
    let body = json!({"jsonrpc": "2.0", "id": "m-1", "method": "tools/call",
        "params": {"name": "meta", "arguments": {}, "_meta": modern_meta}});
    let mcp = McpHttp::new(gw.http().url("/mcp/local"));
    let r = mcp
        .post(
            &body,
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "meta"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let answer = messages(&r).pop().unwrap();
    let spans = receiver.trace(&trace, 2).await;
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let (server, client) = server_and_client(&spans, &parent, "meta");
    assert_eq!(
        attr(&server, "mcp.protocol.version").as_deref(),
        Some("2026-07-28")
    );
    assert_eq!(
        attr(&server, "mcp.session.id"),
        None,
        "2026-07-28 has no session"
    );
    assert_eq!(attr(&server, "jsonrpc.request.id").as_deref(), Some("m-1"));
    assert_eq!(attr(&client, "network.transport").as_deref(), Some("pipe"));
    assert_eq!(
        attr(&client, "server.address"),
        None,
        "stdio has no address"
    );
    let seen = &answer["result"]["structuredContent"]["traceparent"];
    let (seen_trace, seen_parent) = parts(seen.as_str().unwrap());
    assert_eq!(seen_trace, trace);
    assert_eq!(seen_parent, client["spanId"].as_str().unwrap(), "{answer}");

    // 3. MCP session era, HTTP upstream: the session id is an attribute.
    let (traceparent, trace, parent) = client_context();
    let mut session =
        McpHttp::new(gw.http().url("/mcp/web")).with_header("traceparent", &traceparent);
    session.initialize("2025-06-18").await;
    let answer = session
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert!(answer["result"].is_object(), "{answer}");
    // initialize and the call share the client's trace id: pick the call's spans.
    let call = receiver
        .trace_where(&trace, 2, |s| s["name"] == "tools/call echo")
        .await;
    let (server, _client) = server_and_client(&call, &parent, "echo");
    assert_eq!(
        attr(&server, "mcp.session.id").as_deref(),
        session.session.as_deref(),
        "{server:#}"
    );
    assert_eq!(
        attr(&server, "mcp.protocol.version").as_deref(),
        Some("2025-06-18")
    );

    // 4. A tool error is an `error.type` on both spans.
    let (traceparent, trace, _) = client_context();
    call_tool(
        &gw,
        "web",
        r#"{"name":"fail","arguments":{}}"#,
        &[("traceparent", &traceparent)],
    )
    .await;
    let spans = receiver.trace(&trace, 2).await;
    for span in &spans {
        assert_eq!(
            attr(span, "error.type").as_deref(),
            Some("tool_error"),
            "{span:#}"
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_is_a_second_client_span_of_the_same_server_span() {
    let receiver = Receiver::start().await;
    // Passive health only, thresholds out of reach: the dead instance stays a candidate.
    let gw = exporting_gateway(
        &receiver,
        &[
            ("MCP_GATEWAY_HEALTH_INTERVAL", "3600"),
            ("MCP_GATEWAY_HEALTH_TIMEOUT", "10"),
            ("MCP_GATEWAY_UNHEALTHY_THRESHOLD", "100"),
            ("MCP_GATEWAY_FAILURE_THRESHOLD", "100"),
        ],
    )
    .await;
    let echo = EchoHttp::spawn(ECHO, 0, "live").await;
    let dead = format!("http://127.0.0.1:{}/mcp", free_port());
    gw.register(json!({"template_name": "pair", "instance_id": "dead", "endpoint": dead}))
        .await;
    gw.register(json!({"template_name": "pair", "instance_id": "live", "endpoint": echo.url()}))
        .await;
    // Round robin: within a few calls one goes to the dead instance first and is
    // retried (refused connections provably never left).
    let mut retried = None;
    for _ in 0..6 {
        let (traceparent, trace, parent) = client_context();
        call_tool(
            &gw,
            "pair",
            r#"{"name":"echo","arguments":{"message":"x"}}"#,
            &[("traceparent", &traceparent)],
        )
        .await;
        let spans = receiver.trace(&trace, 2).await;
        if spans.len() == 3 {
            retried = Some((spans, parent));
            break;
        }
    }
    let (spans, parent) = retried.expect("a call retried on the live instance");
    let server = one(&spans, SERVER);
    assert_eq!(server["parentSpanId"], parent);
    let clients: Vec<&Value> = spans.iter().filter(|s| kind(s) == CLIENT).collect();
    assert_eq!(clients.len(), 2, "one CLIENT span per attempt: {spans:#?}");
    for client in &clients {
        assert_eq!(client["parentSpanId"], server["spanId"]);
        assert_eq!(client["name"], "tools/call echo");
    }
    let failed: Vec<_> = clients
        .iter()
        .filter_map(|c| attr(c, "error.type"))
        .collect();
    assert_eq!(failed.len(), 1, "the first attempt failed: {clients:#?}");
    assert_eq!(attr(&server, "error.type"), None, "the call succeeded");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_export_the_client_context_reaches_the_upstream_unchanged() {
    let receiver = Receiver::start().await;
    // An endpoint, but export switched off by the standard variable; and a gateway
    // with no endpoint at all.
    let disabled = exporting_gateway(&receiver, &[("OTEL_SDK_DISABLED", "true")]).await;
    let plain = TestGateway::builder(GATEWAY).start().await;
    let echo = EchoHttp::spawn_with(ECHO, 0, "w1", &["--record-requests"]).await;
    for gw in [&disabled, &plain] {
        templates(gw, &echo).await;
        let (traceparent, _, _) = client_context();
        let result = call_tool(gw, "web", META, &[("traceparent", &traceparent)]).await;
        assert_eq!(
            result["structuredContent"]["traceparent"],
            traceparent.as_str()
        );
        let recorded = echo.recorded().await;
        assert_eq!(
            recorded.last().unwrap()["traceparent"],
            traceparent.as_str()
        );
        // stdio: `_meta` only.
        let result = call_tool(gw, "local", META, &[("traceparent", &traceparent)]).await;
        assert_eq!(
            result["structuredContent"]["traceparent"],
            traceparent.as_str()
        );
        // MCP answered over SSE (a progress token): the call runs in a task of its own.
        let mut meta = gateway_e2e::mcp::modern_meta();
        meta["progressToken"] = json!("p");
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "meta", "arguments": {}, "_meta": meta}});
        let r = McpHttp::new(gw.http().url("/mcp/local"))
            .post(
                &body,
                &[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "meta"),
                    ("traceparent", &traceparent),
                ],
            )
            .await;
        assert!(
            r.header("content-type")
                .is_some_and(|c| c.starts_with("text/event-stream")),
            "{}",
            r.text
        );
        let answer = messages(&r).pop().unwrap();
        assert_eq!(
            answer["result"]["structuredContent"]["traceparent"],
            traceparent.as_str(),
            "{answer}"
        );
        // No client context: nothing is added.
        let r = gw
            .http()
            .post(
                "/mcp/local/tools/call",
                &json!({"name": "meta", "arguments": {}}),
            )
            .await;
        let result = r.expect_status(200);
        assert!(
            result["structuredContent"].get("traceparent").is_none(),
            "{result}"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        receiver.spans().is_empty(),
        "nothing exported: {:#?}",
        receiver.spans()
    );
    disabled.stop().await;
    plain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_still_batched_are_sent_at_shutdown() {
    let receiver = Receiver::start().await;
    // A batch delay no test waits for: only the flush at shutdown can send them.
    let gw = exporting_gateway(&receiver, &[("OTEL_BSP_SCHEDULE_DELAY", "600000")]).await;
    let echo = EchoHttp::spawn(ECHO, 0, "w1").await;
    templates(&gw, &echo).await;
    let (traceparent, trace, parent) = client_context();
    call_tool(&gw, "web", META, &[("traceparent", &traceparent)]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.spans().is_empty(), "nothing sent before shutdown");
    assert!(gw.stop().await.success());
    let spans = receiver.trace(&trace, 2).await;
    server_and_client(&spans, &parent, "meta");
}
