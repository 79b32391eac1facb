//! Issue item 4, "no connection timeouts or cap": the real gateway over raw sockets.
//! A request head that stalls, a kept-alive connection that sits idle and a request body
//! that trickles in are each closed after their (short, test-configured) timeout; the
//! connection cap holds the connection past it until one closes; and none of this cuts
//! an SSE stream or a long tool call, whose requests were read long ago.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{net::SocketAddr, time::Duration};

use gateway_e2e::{
    EchoHttp, TestGateway,
    auth::{AuthGateway, AuthGatewayBuilder},
    init_tracing,
    mcp::McpHttp,
    wait_until,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// Bounds every wait for something the gateway must do (far above the 1–3 s timeouts
/// the tests configure, and far below "stays open forever").
const GUARD: Duration = Duration::from_secs(30);

/// A raw HTTP/1.1 connection.
struct Raw {
    stream: TcpStream,
    addr: SocketAddr,
    buf: Vec<u8>,
}

/// One parsed response.
#[derive(Debug)]
struct RawReply {
    status: u16,
    head: String,
    body: String,
}

impl RawReply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", addr.port()))
            .await
            .unwrap();
        Raw {
            stream,
            addr,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// A keep-alive `GET path`, and its response.
    async fn get(&mut self, path: &str) -> RawReply {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.addr.port()
        );
        self.send(request.as_bytes()).await;
        tokio::time::timeout(GUARD, self.response())
            .await
            .expect("a response")
    }

    /// Reads one response (head plus a `Content-Length` body).
    async fn response(&mut self) -> RawReply {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before a full response: {:?}", self.text());
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .unwrap_or(0);
        while self.buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed inside a body: {:?}", self.text());
            self.buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&self.buf[head_end..head_end + length]).into_owned();
        self.buf.drain(..head_end + length);
        RawReply { status, head, body }
    }

    /// Whether the gateway closes the connection within `within` (reading, and
    /// keeping, whatever it sends first).
    async fn closed_within(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, async {
            loop {
                let mut chunk = [0u8; 4096];
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                }
            }
        })
        .await
        .is_ok()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// A gateway (no auth, log captured) with these environment variables.
async fn gateway(envs: &[(&str, &str)]) -> AuthGateway {
    init_tracing();
    let mut builder: AuthGatewayBuilder = AuthGateway::builder(GATEWAY).bare();
    for (key, value) in envs {
        builder = builder.env(key, *value);
    }
    builder.start().await
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_a_stalled_request_head_is_closed() {
    let gw = gateway(&[
        ("MCP_GATEWAY_HEADER_READ_TIMEOUT", "1"),
        ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "600"),
    ])
    .await;
    // Part of a head, then nothing: a slow-loris client.
    let mut partial = Raw::connect(gw.addr).await;
    partial
        .send(
            format!(
                "GET /gateway/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n",
                gw.addr.port()
            )
            .as_bytes(),
        )
        .await;
    // A connection that sends nothing at all.
    let mut silent = Raw::connect(gw.addr).await;
    assert!(
        partial.closed_within(GUARD).await,
        "a connection with partial headers stays open"
    );
    assert_eq!(partial.text(), "", "closed without an answer");
    assert!(
        silent.closed_within(GUARD).await,
        "a connection that never sends a request stays open"
    );
    // The gateway itself is fine.
    assert_eq!(
        Raw::connect(gw.addr)
            .await
            .get("/gateway/health")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_an_idle_keep_alive_connection_is_closed() {
    let gw = gateway(&[
        ("MCP_GATEWAY_HEADER_READ_TIMEOUT", "1"),
        ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "3"),
    ])
    .await;
    let mut conn = Raw::connect(gw.addr).await;
    assert_eq!(conn.get("/gateway/health").await.status, 200);
    // Idle for longer than the header-read timeout: the idle timeout governs the wait
    // between requests, so the connection is still usable.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = conn.get("/gateway/health").await;
    assert_eq!(again.status, 200, "{again:?}");
    assert!(
        conn.closed_within(GUARD).await,
        "an idle keep-alive connection stays open"
    );
    assert_eq!(conn.text(), "", "closed without sending anything more");
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_an_idle_http2_connection_gets_goaway() {
    let gw = gateway(&[
        ("MCP_GATEWAY_HEADER_READ_TIMEOUT", "1"),
        ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "2"),
    ])
    .await;
    // HTTP/2 with prior knowledge: the preface and an empty SETTINGS frame, then nothing.
    let mut conn = Raw::connect(gw.addr).await;
    conn.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await;
    assert!(
        conn.closed_within(GUARD).await,
        "an idle HTTP/2 connection stays open"
    );
    // Frames: 3-byte length, type, flags, 4-byte stream id, payload.
    let mut frames = Vec::new();
    let mut rest = conn.buf.as_slice();
    while rest.len() >= 9 {
        let length = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        frames.push(rest[3]);
        rest = &rest[(9 + length).min(rest.len())..];
    }
    assert!(
        frames.contains(&0x7),
        "told to go away (GOAWAY) before the close: frame types {frames:?}"
    );
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_a_slow_body_to_login_is_cut() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_BODY_CHUNK_TIMEOUT", "1")
        .env("MCP_GATEWAY_BODY_READ_TIMEOUT", "3")
        .env("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "600")
        .start()
        .await;
    let head = |length: usize| {
        format!(
            "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
            gw.addr.port()
        )
    };
    let body =
        json!({"username": "admin", "password": "wrong-password-but-long-enough"}).to_string();

    // A body that stops half-way: cut after the chunk timeout.
    let mut stalled = Raw::connect(gw.addr).await;
    stalled.send(head(body.len()).as_bytes()).await;
    stalled.send(&body.as_bytes()[..10]).await;
    let reply = tokio::time::timeout(GUARD, stalled.response())
        .await
        .expect("a stalled body is never cut");
    assert_eq!(reply.status, 408, "{reply:?}");
    assert_eq!(reply.json()["error"], "request_timeout", "{reply:?}");
    let id = reply
        .head
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("x-request-id");
    assert_eq!(reply.json()["request_id"], id.trim());
    assert!(
        stalled.closed_within(GUARD).await,
        "the connection is closed"
    );

    // A body that trickles in, a byte at a time, each well within the chunk timeout:
    // cut after the total.
    let mut trickle = Raw::connect(gw.addr).await;
    trickle.send(head(body.len()).as_bytes()).await;
    let (mut reader, mut writer) = trickle.stream.into_split();
    let bytes = body.into_bytes();
    let feeder = tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answer = Vec::new();
    tokio::time::timeout(GUARD, reader.read_to_end(&mut answer))
        .await
        .expect("a trickling body is never cut")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "the answer, then the close: {answer}"
    );
    assert!(
        !feeder.is_finished(),
        "cut before the client finished sending"
    );
    feeder.abort();

    // An ordinary login still works.
    let c = gw.client();
    c.login("admin", gateway_e2e::auth::ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_a_client_that_stops_reading_is_cut() {
    let gw = gateway(&[
        ("MCP_GATEWAY_SEND_TIMEOUT", "1"),
        ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "600"),
    ])
    .await;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    let registered = gw
        .client()
        .send(
            "POST",
            "/gateway/register",
            gateway_e2e::auth::Cred::None,
            Some(&json!({"template_name": "echo", "endpoint": echo.url()})),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    // A small receive window, and an answer far larger than every socket buffer on the
    // way (the echo of a 10 MB message).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], gw.addr.port())))
        .await
        .unwrap();
    let body =
        json!({"name": "echo", "arguments": {"message": "x".repeat(10_000_000)}}).to_string();
    let head = format!(
        "POST /mcp/echo/tools/call HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        gw.addr.port(),
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    // The client stops reading (the scenario, not a synchronisation).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut received = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut received))
        .await
        .expect("the connection of a client that stopped reading stays open")
        .ok();
    let text = String::from_utf8_lossy(&received);
    let (head, answer) = text.split_once("\r\n\r\n").expect("the answer began");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("content-length")
        .trim()
        .parse()
        .unwrap();
    assert!(
        answer.len() < length,
        "cut mid-answer: {} of {length} bytes",
        answer.len()
    );
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_the_connection_past_the_cap_waits_for_a_free_slot() {
    let gw = gateway(&[
        ("MCP_GATEWAY_MAX_CONNECTIONS", "2"),
        ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "600"),
    ])
    .await;
    let mut first = Raw::connect(gw.addr).await;
    let mut second = Raw::connect(gw.addr).await;
    assert_eq!(first.get("/gateway/health").await.status, 200);
    assert_eq!(second.get("/gateway/health").await.status, 200);

    // Both stay open: the third connects (the kernel's backlog), but is not served.
    let mut third = Raw::connect(gw.addr).await;
    third
        .send(
            format!(
                "GET /gateway/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
                gw.addr.port()
            )
            .as_bytes(),
        )
        .await;
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_secs(1), third.stream.read(&mut byte))
            .await
            .is_err(),
        "a connection past the cap was served"
    );
    let gw_ref = &gw;
    wait_until("the cap warning", GUARD, || async move {
        gw_ref.stderr().contains("connection cap reached")
    })
    .await;

    // One closes: the waiting connection gets its slot and its answer.
    drop(first);
    let reply = tokio::time::timeout(GUARD, third.response())
        .await
        .expect("the waiting connection is served once a slot frees");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(second.get("/gateway/health").await.status, 200);
}

#[tokio::test]
async fn no_connection_timeouts_or_cap_streams_and_long_calls_outlive_every_timeout() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_HEADER_READ_TIMEOUT", "1")
        .env("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "1")
        .env("MCP_GATEWAY_BODY_CHUNK_TIMEOUT", "1")
        .env("MCP_GATEWAY_BODY_READ_TIMEOUT", "1")
        // No keep-alive comments: the streams carry nothing while we wait.
        .env("MCP_GATEWAY_SSE_KEEPALIVE", "3600")
        .start()
        .await;
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    gw.register(json!({"template_name": "echo", "endpoint": echo.url()}))
        .await;
    gw.wait_healthy("echo", 1).await;

    // A legacy SSE stream, a modern GET stream, an idle connection and a long call.
    let mut legacy = reqwest::Client::new()
        .get(format!("{}/mcp/echo/sse", gw.base_url()))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    let mut seen = String::new();
    let endpoint = read_until(&mut legacy, &mut seen, |text| {
        let rest = text.split("event: endpoint\ndata: ").nth(1)?;
        Some(rest.split_once('\n')?.0.trim().to_owned())
    })
    .await;
    let mut mcp = McpHttp::new(format!("{}/mcp/echo", gw.base_url()));
    mcp.initialize("2025-06-18").await;
    let mut get_stream = mcp
        .raw(reqwest::Method::GET)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(get_stream.status(), 200);
    let mut idle = Raw::connect(gw.addr).await;
    assert_eq!(idle.get("/gateway/health").await.status, 200);
    let long_call = {
        let http = gw.http();
        tokio::spawn(async move {
            http.post(
                "/mcp/echo/tools/call",
                &json!({"name": "sleep_ms", "arguments": {"ms": 4000}}),
            )
            .await
        })
    };
    // The same over HTTP/2 (cleartext, prior knowledge): its stream runs in its own task.
    let h2_call = {
        let url = format!("{}/mcp/echo/tools/call", gw.base_url());
        tokio::spawn(async move {
            let response = reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .unwrap()
                .post(url)
                .json(&json!({"name": "sleep_ms", "arguments": {"ms": 4000}}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.version(), reqwest::Version::HTTP_2);
            (response.status(), response.json::<Value>().await.unwrap())
        })
    };

    // The idle connection is closed after its 1 s...
    assert!(
        idle.closed_within(GUARD).await,
        "the idle connection stays open"
    );
    // ...while the long call, whose request was read at once, completes.
    let reply = long_call.await.unwrap();
    assert_eq!(
        reply.expect_status(200)["content"][0]["text"],
        "slept 4000ms"
    );
    let (status, body) = h2_call.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content"][0]["text"], "slept 4000ms");
    // Both streams, idle for as long, are still open: the legacy one carries an answer.
    let posted = reqwest::Client::new()
        .post(format!("{}{endpoint}", gw.base_url()))
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"message": "still here"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);
    read_until(&mut legacy, &mut seen, |text| {
        text.contains("still here").then_some(())
    })
    .await;
    match tokio::time::timeout(Duration::from_millis(200), get_stream.chunk()).await {
        Err(_) => {}
        Ok(chunk) => panic!("the GET stream ended or broke: {chunk:?}"),
    }
}

/// Reads `response` until `found` extracts something from all text read so far.
async fn read_until<T>(
    response: &mut reqwest::Response,
    text: &mut String,
    found: impl Fn(&str) -> Option<T>,
) -> T {
    tokio::time::timeout(GUARD, async {
        loop {
            if let Some(value) = found(text) {
                return value;
            }
            let chunk = response
                .chunk()
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("the stream ended: {text}"));
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not found in the stream: {text}"))
}
