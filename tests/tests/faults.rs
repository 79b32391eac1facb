//! Fault injection with real processes: an HTTP upstream that answers a tool call with
//! garbage, a truncated SSE stream, a 50 MiB reply or a connection reset mid-body
//! (through a fault proxy in front of the real echo server, so the handshake and
//! probes stay real), and stdio children that flood stderr or write non-JSON on
//! stdout. Each: the client gets the right error class at once, another template is
//! unaffected meanwhile, and the faulty template recovers when the fault ends.
//! (Hung upstreams, crash loops, 5xx answers and children that ignore SIGTERM are in
//! `failover.rs` and `transport_stdio.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use gateway_e2e::*;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{
    Request, Response,
    body::{Frame, Incoming},
    service::service_fn,
};
use hyper_util::{
    client::legacy::{Client as HyperClient, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde_json::json;
use tokio::net::TcpListener;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// What the proxy does to `tools/call` requests (everything else passes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Fault {
    None = 0,
    /// 200 `application/json` whose body is not JSON-RPC.
    Garbage = 1,
    /// 200 `text/event-stream` cut off in the middle of an event.
    TruncatedSse = 2,
    /// 200 `application/json` of 50 MiB (past the gateway's message limit).
    Huge = 3,
    /// Headers announce 4 KiB, 10 bytes come, then the connection is reset.
    ResetMidBody = 4,
}

type Body = BoxBody<Bytes, std::io::Error>;

/// A proxy in front of a real upstream that injects [`Fault`]s into tool calls.
struct FaultProxy {
    port: u16,
    fault: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    async fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let fault = Arc::new(AtomicU8::new(Fault::None as u8));
        let client: HyperClient<HttpConnector, Full<Bytes>> =
            HyperClient::builder(TokioExecutor::new()).build_http();
        let state = fault.clone();
        let task = serve_http1(listener, move || {
            let (client, state) = (client.clone(), state.clone());
            service_fn(move |req| proxy(req, upstream_port, client.clone(), state.clone()))
        });
        FaultProxy { port, fault, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn set(&self, fault: Fault) {
        self.fault.store(fault as u8, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn proxy(
    req: Request<Incoming>,
    upstream_port: u16,
    client: HyperClient<HttpConnector, Full<Bytes>>,
    state: Arc<AtomicU8>,
) -> Result<Response<Body>, Infallible> {
    let (mut parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let is_call = body.windows(12).any(|w| w == b"\"tools/call\"");
    let fault = match state.load(Ordering::SeqCst) {
        1 => Fault::Garbage,
        2 => Fault::TruncatedSse,
        3 => Fault::Huge,
        4 => Fault::ResetMidBody,
        _ => Fault::None,
    };
    if is_call && fault != Fault::None {
        return Ok(inject(fault));
    }
    retarget(&mut parts, upstream_port);
    let forwarded = Request::from_parts(parts, Full::new(body));
    Ok(match client.request(forwarded).await {
        Ok(resp) => resp.map(|b| b.map_err(std::io::Error::other).boxed()),
        Err(_) => Response::builder()
            .status(502)
            .body(Full::new(Bytes::new()).map_err(|e| match e {}).boxed())
            .unwrap(),
    })
}

fn inject(fault: Fault) -> Response<Body> {
    let stream = |frames: Vec<Result<Bytes, std::io::Error>>| {
        StreamBody::new(futures_util::stream::iter(
            frames.into_iter().map(|f| f.map(Frame::data)),
        ))
        .boxed()
    };
    let cut = || Err(std::io::Error::other("cut"));
    let (content_type, length, body) = match fault {
        Fault::Garbage => (
            "application/json",
            None,
            Full::new(Bytes::from_static(b"this is not JSON-RPC"))
                .map_err(|e| match e {})
                .boxed(),
        ),
        Fault::TruncatedSse => (
            "text/event-stream",
            None,
            stream(vec![
                Ok(Bytes::from_static(
                    b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":",
                )),
                cut(),
            ]),
        ),
        Fault::Huge => {
            let head = Bytes::from_static(
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"",
            );
            let chunk = Bytes::from(vec![b'a'; 1 << 20]);
            let mut frames = vec![Ok(head)];
            frames.extend((0..50).map(|_| Ok(chunk.clone())));
            ("application/json", None, stream(frames))
        }
        Fault::ResetMidBody => (
            "application/json",
            Some(4096),
            stream(vec![Ok(Bytes::from_static(b"{\"jsonrpc\"")), cut()]),
        ),
        Fault::None => unreachable!("only faults are injected"),
    };
    let mut builder = Response::builder()
        .status(200)
        .header("content-type", content_type);
    if let Some(n) = length {
        builder = builder.header("content-length", n);
    }
    builder.body(body).unwrap()
}

/// A gateway with `faulty` behind the proxy and `steady` straight to another echo.
async fn setup() -> (TestGateway, FaultProxy, EchoHttp, EchoHttp) {
    let gw = TestGateway::start(GATEWAY).await;
    let behind = EchoHttp::spawn(ECHO, 0, "behind-proxy").await;
    let steady = EchoHttp::spawn(ECHO, 0, "steady").await;
    let proxy = FaultProxy::start(behind.port).await;
    gw.register(json!({"template_name": "faulty", "instance_id": "f1", "endpoint": proxy.url()}))
        .await;
    gw.register(json!({"template_name": "steady", "instance_id": "s1", "endpoint": steady.url()}))
        .await;
    gw.wait_healthy("faulty", 1).await;
    gw.wait_healthy("steady", 1).await;
    (gw, proxy, behind, steady)
}

/// The fault gives a 502 at once while `steady` keeps answering; when it ends the
/// template answers again.
async fn upstream_fault(fault: Fault) {
    let (gw, proxy, _behind, _steady) = setup().await;
    assert_eq!(gw.whoami("faulty").await, "behind-proxy");
    proxy.set(fault);
    let started = std::time::Instant::now();
    let (faulty, steady) = tokio::join!(
        gw.try_call_tool("faulty", "echo", json!({"message": "x"})),
        gw.try_call_tool("steady", "whoami", json!({})),
    );
    assert_eq!(
        faulty.status, 502,
        "{fault:?}: expected 502, got {}: {}",
        faulty.status, faulty.text
    );
    assert!(
        faulty.text.contains("upstream_failed"),
        "{fault:?}: {}",
        faulty.text
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{fault:?} took {:?}",
        started.elapsed()
    );
    assert_eq!(
        steady.status, 200,
        "steady while {fault:?}: {}",
        steady.text
    );
    // The gateway itself is fine.
    assert_eq!(gw.whoami("steady").await, "steady");

    proxy.set(Fault::None);
    wait_until(
        &format!("faulty to answer again after {fault:?}"),
        Duration::from_secs(30),
        || async {
            gw.try_call_tool("faulty", "echo", json!({"message": "back"}))
                .await
                .status
                == 200
        },
    )
    .await;
}

#[tokio::test]
async fn garbage_from_an_upstream_is_a_502() {
    upstream_fault(Fault::Garbage).await;
}

#[tokio::test]
async fn a_truncated_sse_answer_is_a_502() {
    upstream_fault(Fault::TruncatedSse).await;
}

#[tokio::test]
async fn a_50_mib_answer_is_refused_without_holding_it() {
    upstream_fault(Fault::Huge).await;
    // The reply is refused at the message limit, not buffered whole: a fresh gateway
    // doing only this stays far below 50 MiB of growth.
    let (gw, proxy, _behind, _steady) = setup().await;
    let before = memory(gw.pid()).rss_kb;
    proxy.set(Fault::Huge);
    let reply = gw
        .try_call_tool("faulty", "echo", json!({"message": "x"}))
        .await;
    assert_eq!(reply.status, 502, "{}", reply.text);
    let after = memory(gw.pid()).rss_kb;
    assert!(
        after < before + 40 * 1024,
        "RSS grew from {before} KiB to {after} KiB on a 50 MiB reply"
    );
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_a_502() {
    upstream_fault(Fault::ResetMidBody).await;
}

/// A stdio instance started through `sh -c SCRIPT` (`$ECHO` is the echo fixture).
async fn stdio_gateway(script: &str) -> TestGateway {
    let gw = TestGateway::start(GATEWAY).await;
    let steady = format!("exec {ECHO} --stdio");
    let faulty = script.replace("$ECHO", ECHO);
    for (template, line) in [("steady", steady), ("faulty", faulty)] {
        gw.register(json!({"template_name": template, "command": ["sh", "-c", line]}))
            .await;
        gw.wait_healthy(template, 1).await;
    }
    gw
}

#[tokio::test]
async fn a_child_flooding_stderr_is_drained_and_keeps_answering() {
    let gw = stdio_gateway("yes 'a noisy child writes this line forever' >&2 & exec $ECHO --stdio")
        .await;
    let before = memory(gw.pid()).rss_kb;
    let until = std::time::Instant::now() + Duration::from_secs(3);
    let mut calls = 0;
    while std::time::Instant::now() < until {
        let reply = gw
            .call_tool("faulty", "echo", json!({"message": calls.to_string()}))
            .await;
        assert_eq!(reply["content"][0]["text"], calls.to_string(), "{reply}");
        assert!(!gw.whoami("steady").await.is_empty());
        calls += 1;
    }
    let after = memory(gw.pid()).rss_kb;
    assert!(
        calls > 10,
        "only {calls} calls in 3 s while the child flooded stderr"
    );
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB while draining stderr"
    );
}

#[tokio::test]
async fn non_json_lines_on_a_childs_stdout_are_skipped() {
    let gw =
        stdio_gateway("echo 'starting up...'; echo '{not json'; echo '[1,2'; exec $ECHO --stdio")
            .await;
    let reply = gw
        .call_tool("faulty", "echo", json!({"message": "through the noise"}))
        .await;
    assert_eq!(reply["content"][0]["text"], "through the noise", "{reply}");
    assert!(!gw.whoami("steady").await.is_empty());
}
