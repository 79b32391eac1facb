//! Graceful shutdown of the real gateway binary: on SIGTERM or SIGINT it stops accepting
//! connections, ends open SSE notification streams cleanly, lets in-flight requests
//! finish, cuts off what is still open at the drain deadline (`--shutdown-grace`,
//! `MCP_GATEWAY_SHUTDOWN_GRACE`), stops its stdio children and exits 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::Path,
    time::{Duration, Instant},
};

use gateway_e2e::{mcp::McpHttp, *};
use nix::sys::signal::Signal;
use serde_json::json;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// A REST `tools/call` of `sleep_ms` on template `echo`, running in the background.
fn spawn_sleep_call(http: Http, ms: u64) -> tokio::task::JoinHandle<Reply> {
    tokio::spawn(async move {
        http.post(
            "/mcp/echo/tools/call",
            &json!({"name": "sleep_ms", "arguments": {"ms": ms}}),
        )
        .await
    })
}

/// Registers our echo fixture over stdio as template `echo`; returns the child's pid.
async fn with_stdio_echo(gw: &TestGateway) -> u32 {
    gw.register(
        json!({"template_name": "echo", "instance_id": "s1", "command": [ECHO, "--stdio"]}),
    )
    .await;
    gw.wait_healthy("echo", 1).await;
    let children = gw.children();
    assert_eq!(children.len(), 1, "one stdio child: {children:?}");
    children[0]
}

/// Waits until `pid` is gone and reaped (no /proc entry, so not a zombie either).
async fn assert_reaped(pid: u32) {
    wait_until(
        "the stdio child to be gone and reaped",
        Duration::from_secs(5),
        || async move { !Path::new(&format!("/proc/{pid}")).exists() },
    )
    .await;
}

/// How an event stream ended, and what it carried.
#[derive(Debug)]
struct Ended {
    text: String,
    /// `Ok` for a clean end of the chunked body; `Err` for a broken connection.
    clean: Result<(), String>,
}

/// Reads `response` to its end in the background.
fn read_to_end(mut response: reqwest::Response) -> tokio::task::JoinHandle<Ended> {
    tokio::spawn(async move {
        let mut text = String::new();
        loop {
            match response.chunk().await {
                Ok(Some(bytes)) => text.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) => {
                    return Ended {
                        text,
                        clean: Ok(()),
                    };
                }
                Err(e) => {
                    return Ended {
                        text,
                        clean: Err(format!("{e:?}")),
                    };
                }
            }
        }
    })
}

/// An open, initialized legacy-era session on `/mcp/echo`.
async fn mcp_session(gw: &TestGateway) -> McpHttp {
    let mut mcp = McpHttp::new(format!("{}/mcp/echo", gw.base_url()));
    mcp.initialize("2025-06-18").await;
    mcp
}

/// `GET /mcp/echo` with the session: the notification stream.
async fn open_get_stream(mcp: &McpHttp) -> reqwest::Response {
    let response = mcp
        .raw(reqwest::Method::GET)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    response
}

/// `GET /mcp/echo/sse` (2024-11-05 transport), read up to its `endpoint` event; returns
/// the stream and the announced POST path.
async fn open_legacy_stream(gw: &TestGateway) -> (reqwest::Response, String) {
    let mut response = reqwest::Client::new()
        .get(format!("{}/mcp/echo/sse", gw.base_url()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut text = String::new();
    let endpoint = loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("the endpoint event")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(rest) = text.split("event: endpoint\ndata: ").nth(1)
            && let Some((path, _)) = rest.split_once('\n')
        {
            break path.trim().to_owned();
        }
    };
    (response, endpoint)
}

#[tokio::test]
async fn sigterm_ends_open_sse_streams_and_stops_stdio_children() {
    init_tracing();
    // The default 30 s grace: open streams must not hold shutdown until the deadline.
    let gw = TestGateway::start(GATEWAY).await;
    let child = with_stdio_echo(&gw).await;
    let mcp = mcp_session(&gw).await;
    let get_stream = read_to_end(open_get_stream(&mcp).await);
    let (legacy, _endpoint) = open_legacy_stream(&gw).await;
    let legacy_stream = read_to_end(legacy);
    // Both streams are open and idle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!get_stream.is_finished() && !legacy_stream.is_finished());

    let started = Instant::now();
    let status = gw.stop().await;
    let took = started.elapsed();
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
    assert!(
        took < Duration::from_secs(5),
        "open SSE streams held shutdown for {took:?}"
    );
    for (name, stream) in [
        ("GET /mcp/echo", get_stream),
        ("GET /mcp/echo/sse", legacy_stream),
    ] {
        let ended = tokio::time::timeout(Duration::from_secs(5), stream)
            .await
            .unwrap_or_else(|_| panic!("{name} still open after the gateway exited"))
            .unwrap();
        assert_eq!(
            ended.clean,
            Ok(()),
            "{name} should end cleanly, not break: {ended:?}"
        );
    }
    assert_reaped(child).await;
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

#[tokio::test]
async fn sigint_refuses_new_connections_and_finishes_in_flight_requests() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_SHUTDOWN_GRACE", "20")
        .start()
        .await;
    let child = with_stdio_echo(&gw).await;
    // An in-flight REST call and a legacy SSE connection waiting for its answer.
    let http = gw.http();
    let call = spawn_sleep_call(http, 2500);
    let (legacy, endpoint) = open_legacy_stream(&gw).await;
    let legacy_stream = read_to_end(legacy);
    let accepted = reqwest::Client::new()
        .post(format!("{}{endpoint}", gw.base_url()))
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                   "params": {"name": "sleep_ms", "arguments": {"ms": 2500}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let gw_ref = &gw;
    wait_until(
        "both calls to be in flight",
        Duration::from_secs(5),
        || async move {
            let stats = gw_ref.http().get("/gateway/stats").await.expect_status(200);
            stats["active_connections"] == 2
        },
    )
    .await;

    gw.signal(Signal::SIGINT);
    let port = gw.port();
    wait_until(
        "new connections to be refused",
        Duration::from_secs(2),
        || async move {
            matches!(
                tokio::net::TcpStream::connect(("127.0.0.1", port)).await,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
            )
        },
    )
    .await;
    assert!(
        process_alive(gw.pid()) && !call.is_finished(),
        "still draining the in-flight call"
    );

    let reply = call.await.unwrap();
    assert_eq!(
        reply.expect_status(200)["content"][0]["text"],
        "slept 2500ms",
        "the in-flight call completed during shutdown"
    );
    let ended = tokio::time::timeout(Duration::from_secs(10), legacy_stream)
        .await
        .expect("the legacy stream ends once its answer is sent")
        .unwrap();
    assert_eq!(ended.clean, Ok(()), "{ended:?}");
    assert!(
        ended.text.contains("slept 2500ms") && ended.text.contains("\"id\":7"),
        "the answer in progress still went out on the stream: {}",
        ended.text
    );
    let status = gw.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "SIGINT is a clean shutdown: {status}");
    assert_reaped(child).await;
}

#[tokio::test]
async fn the_drain_deadline_cuts_off_hung_requests() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .args(["--shutdown-grace", "1"])
        .start()
        .await;
    let child = with_stdio_echo(&gw).await;
    // A REST call and an MCP POST answered as SSE, both far longer than the grace.
    let http = gw.http();
    let rest_call = spawn_sleep_call(http, 30000);
    let mcp = mcp_session(&gw).await;
    let sse_post = mcp
        .raw(reqwest::Method::POST)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                   "params": {"name": "sleep_ms", "arguments": {"ms": 30000},
                              "_meta": {"progressToken": "p"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sse_post.status(), 200);
    assert!(
        sse_post.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let sse_post = read_to_end(sse_post);
    let gw_ref = &gw;
    wait_until(
        "both calls to be in flight",
        Duration::from_secs(5),
        || async move {
            let stats = gw_ref.http().get("/gateway/stats").await.expect_status(200);
            stats["active_connections"] == 2
        },
    )
    .await;

    let started = Instant::now();
    gw.signal(Signal::SIGTERM);
    let status = gw.wait_exit(Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(
        status.success(),
        "a cut-off shutdown still exits 0: {status}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(8),
        "waited the 1 s grace, then stopped waiting: {took:?}"
    );
    let reply = rest_call.await.unwrap();
    let body = reply.expect_error(503, "shutting_down");
    // Cut off inside the request-id layers: the answer carries its id like any error.
    let id = reply
        .header("x-request-id")
        .expect("x-request-id on the cut-off answer");
    assert_eq!(body["request_id"], id, "{body}");
    let ended = tokio::time::timeout(Duration::from_secs(5), sse_post)
        .await
        .expect("the POST's event stream ends at the deadline")
        .unwrap();
    assert!(
        !ended.text.contains("slept"),
        "the call was cut off, not answered: {}",
        ended.text
    );
    assert_reaped(child).await;
}
