//! Bounds on what the native MCP endpoints keep per client, against the real binary:
//! the 2024-11-05 HTTP+SSE backlog of a client that never reads its stream and the caps
//! on such connections (issue 11, item 3), the bounded memory of closed and live sessions
//! (item 7), and the per-principal cap and `mcp:call` rule of dedicated upstream sessions
//! (item 8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::StreamExt as _;
use gateway_e2e::{
    EchoHttp, TestGateway,
    auth::{ADMIN_PASSWORD, AuthGateway, Client, Cred},
    mcp::McpHttp,
    memory, wait_until,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const LEGACY: &str = "2025-06-18";

/// A gateway with template `echo` on an HTTP echo fixture.
async fn echo_gateway(envs: &[(&str, &str)]) -> (TestGateway, EchoHttp) {
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    let mut builder = TestGateway::builder(GATEWAY);
    for (k, v) in envs {
        builder = builder.env(k, *v);
    }
    let gw = builder.start().await;
    gw.register(json!({"template_name": "echo", "endpoint": echo.url()}))
        .await;
    (gw, echo)
}

// === 2024-11-05 HTTP+SSE over a raw socket ===

/// An HTTP+SSE connection whose client reads nothing after the `endpoint` event (with a
/// small receive buffer, so the gateway's side of the connection fills quickly).
struct RawSse {
    stream: TcpStream,
    /// The announced POST path.
    endpoint: String,
    /// `message` events read so far.
    messages: usize,
    /// The last bytes read (an event name may span two reads).
    tail: Vec<u8>,
}

const MESSAGE_EVENT: &[u8] = b"event: message\n";

/// A refused `GET /sse`: status, head and body.
#[derive(Debug)]
struct Refused {
    status: u16,
    head: String,
    body: Value,
}

impl Refused {
    /// Asserts the status, `Retry-After: 5` and a JSON-RPC message naming `setting`.
    #[track_caller]
    fn expect(&self, status: u16, setting: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(header_of(&self.head, "retry-after"), Some("5"));
        let message = self.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(setting), "{self:?}");
    }
}

impl RawSse {
    /// `GET /mcp/echo/sse` to the gateway on `port`, with an API key if given.
    async fn open(port: u16, key: Option<&str>) -> Result<RawSse, Refused> {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        let credential = key
            .map(|k| format!("X-API-Key: {k}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /mcp/echo/sse HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
             Accept: text/event-stream\r\n{credential}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut seen = Vec::new();
        let head_end = loop {
            read_more(&mut stream, &mut seen).await;
            if let Some(i) = find(&seen, b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&seen[..head_end]).into_owned();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        if status != 200 {
            let length: usize = header_of(&head, "content-length").unwrap().parse().unwrap();
            while seen.len() < head_end + length {
                read_more(&mut stream, &mut seen).await;
            }
            let body = serde_json::from_slice(&seen[head_end..head_end + length]).unwrap();
            return Err(Refused { status, head, body });
        }
        let endpoint = loop {
            let text = String::from_utf8_lossy(&seen[head_end..]).into_owned();
            if let Some(rest) = text.split("event: endpoint\ndata: ").nth(1)
                && let Some((path, _)) = rest.split_once('\n')
            {
                break path.trim().to_owned();
            }
            read_more(&mut stream, &mut seen).await;
        };
        let mut sse = RawSse {
            stream,
            endpoint,
            messages: 0,
            tail: Vec::new(),
        };
        sse.count(&seen[head_end..]);
        Ok(sse)
    }

    /// Counts the `message` events in `bytes`, read after the bytes counted before.
    fn count(&mut self, bytes: &[u8]) {
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(bytes);
        self.messages += window
            .windows(MESSAGE_EVENT.len())
            .filter(|w| *w == MESSAGE_EVENT)
            .count();
        let keep = window.len().min(MESSAGE_EVENT.len() - 1);
        self.tail = window.split_off(window.len() - keep);
    }

    /// Reads on until the stream has carried `n` `message` events in all.
    async fn read_messages(&mut self, n: usize) {
        while self.messages < n {
            let mut chunk = Vec::new();
            read_more(&mut self.stream, &mut chunk).await;
            self.count(&chunk);
        }
    }
}

async fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let mut buf = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
        .await
        .expect("the gateway kept writing")
        .unwrap();
    assert!(n > 0, "the gateway closed the connection");
    into.extend_from_slice(&buf[..n]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_of<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The answer to one POST to an HTTP+SSE connection.
#[derive(Debug)]
struct Posted {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

async fn post_message(http: &reqwest::Client, url: &str, body: String) -> Posted {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    Posted {
        status,
        retry_after,
        body: response.text().await.unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_a_legacy_client_that_never_reads_gets_429_and_memory_stays_flat() {
    let (gw, _echo) = echo_gateway(&[]).await;
    gw.wait_healthy("echo", 1).await;
    let mut sse = RawSse::open(gw.port(), None).await.unwrap();
    let url = format!("{}{}", gw.base_url(), sse.endpoint);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let before = memory(gw.pid());

    // 1,500 tool calls of 100 KB each (their answers are as large), 8 at a time, from a
    // client that reads none of the answers.
    let message = "x".repeat(100 * 1024);
    let replies: Vec<(u64, Posted)> = futures_util::stream::iter(0..1500u64)
        .map(|id| {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                              "params": {"name": "echo", "arguments": {"message": message}}})
            .to_string();
            let (http, url) = (http.clone(), url.clone());
            async move { (id, post_message(&http, &url, body).await) }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let after = memory(gw.pid());

    let accepted = replies.iter().filter(|(_, p)| p.status == 202).count();
    let refused: Vec<_> = replies.iter().filter(|(_, p)| p.status == 429).collect();
    eprintln!(
        "accepted {accepted}, refused {}; gateway memory {before:?} -> {after:?}",
        refused.len()
    );
    assert_eq!(
        accepted + refused.len(),
        1500,
        "every POST is accepted or refused at once, nothing else: {:?}",
        replies
            .iter()
            .find(|(_, p)| p.status != 202 && p.status != 429)
    );
    assert!(
        refused.len() > 1000,
        "a client that never reads is refused once its backlog is full ({accepted} accepted)"
    );
    for (id, posted) in refused.iter().take(5) {
        assert_eq!(
            posted.retry_after.as_deref(),
            Some("1"),
            "429 says when to retry"
        );
        let body: Value = serde_json::from_str(&posted.body).unwrap();
        assert_eq!(body["id"], *id, "the refusal answers the request: {body}");
        assert_eq!(body["error"]["code"], -32000, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Too Many Requests"),
            "{body}"
        );
    }
    let growth_mb = after.peak_kb.saturating_sub(before.rss_kb) / 1024;
    assert!(
        growth_mb < 30,
        "150 MB of unread traffic grew the gateway's peak memory by {growth_mb} MB \
         ({before:?} -> {after:?})"
    );

    // Every accepted message is answered on the stream once the client reads it, and
    // then the connection takes messages again.
    sse.read_messages(accepted).await;
    let again = post_message(
        &http,
        &url,
        json!({"jsonrpc": "2.0", "id": "again", "method": "ping"}).to_string(),
    )
    .await;
    assert_eq!(again.status, 202, "the backlog drained as the client read");
    sse.read_messages(accepted + 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_legacy_sse_connections_are_capped_per_principal_and_per_replica() {
    let echo = EchoHttp::spawn(ECHO, 0, "e1").await;
    let gw = AuthGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_SSE_MAX_CONNECTIONS", "3")
        .env("MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL", "2")
        // Closed connections are noticed at the next keep-alive at the latest.
        .env("MCP_GATEWAY_SSE_KEEPALIVE", "1")
        .start()
        .await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    c.post(
        "/gateway/register",
        Cred::Bearer(&admin),
        &json!({"template_name": "echo", "endpoint": echo.url()}),
    )
    .await
    .expect_status(201);
    let alice = key(&c, &admin, "alice", &["mcp:read", "mcp:call"]).await;
    let bob = key(&c, &admin, "bob", &["mcp:read", "mcp:call"]).await;
    let port = gw.addr.port();

    let a1 = RawSse::open(port, Some(&alice)).await.unwrap();
    let _a2 = RawSse::open(port, Some(&alice)).await.unwrap();
    let refused = RawSse::open(port, Some(&alice))
        .await
        .err()
        .expect("a third for one principal is refused");
    refused.expect(429, "MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL");
    // Another principal gets the replica's last place, and then the replica is full.
    let _b1 = RawSse::open(port, Some(&bob)).await.unwrap();
    let refused = RawSse::open(port, Some(&bob))
        .await
        .err()
        .expect("the replica is full");
    refused.expect(503, "MCP_GATEWAY_SSE_MAX_CONNECTIONS");
    // A closed connection gives its places back.
    drop(a1);
    let bob = &bob;
    wait_until(
        "a closed connection's place to come back",
        Duration::from_secs(10),
        || async move { RawSse::open(port, Some(bob)).await.is_ok() },
    )
    .await;
}

// === sessions ===

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}})
}

/// `tools/list` in `client`'s session: the HTTP status.
async fn list_status(client: &mut McpHttp) -> u16 {
    client.request_reply("tools/list", json!({})).await.status
}

async fn delete(client: &McpHttp) -> u16 {
    client
        .send(client.raw(reqwest::Method::DELETE))
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item7_closed_session_bookkeeping_is_bounded() {
    let (gw, _echo) = echo_gateway(&[("MCP_GATEWAY_MAX_CLOSED_SESSIONS", "16")]).await;
    let url = format!("{}/mcp/echo", gw.base_url());
    let base = McpHttp::new(&url);
    let mut first = base.sharing(&url);
    first.initialize(LEGACY).await;
    assert_eq!(list_status(&mut first).await, 200);
    assert_eq!(delete(&first).await, 200);
    assert_eq!(
        list_status(&mut first).await,
        404,
        "a closed session is gone"
    );

    // Sixteen more closures fill the bounded memory ...
    let mut last = base.sharing(&url);
    for _ in 0..16 {
        last = base.sharing(&url);
        last.initialize(LEGACY).await;
        assert_eq!(delete(&last).await, 200);
    }
    assert_eq!(list_status(&mut last).await, 404);
    // ... and the oldest closure is forgotten: the documented price of the bound is that
    // its id works again on this replica (as it always did on other replicas).
    assert_eq!(list_status(&mut first).await, 200);

    // Thousands of initialize + DELETE pairs leave memory flat. Each client declares a
    // kilobyte of capabilities, which its session id carries: ids are long.
    let padded = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {"experimental": {"pad": "x".repeat(900)}},
        "clientInfo": {"name": "e2e", "version": "0"}}});
    let churn = |n: usize| {
        let (base, url, padded) = (&base, &url, &padded);
        futures_util::stream::iter(0..n)
            .map(move |_| async move {
                let mut client = base.sharing(url);
                let r = client.post(padded, &[]).await;
                assert_eq!(r.status, 200, "{}", r.text);
                let id = r.header("mcp-session-id").unwrap();
                assert!(id.len() > 1000, "the id carries the capabilities");
                client.session = Some(id.to_owned());
                assert_eq!(delete(&client).await, 200);
            })
            .buffer_unordered(8)
            .collect::<Vec<()>>()
    };
    churn(500).await;
    let before = memory(gw.pid());
    churn(5000).await;
    let after = memory(gw.pid());
    let growth_kb = after.rss_kb.saturating_sub(before.rss_kb);
    eprintln!("5,000 initialize + DELETE: gateway memory {before:?} -> {after:?}");
    assert!(
        growth_kb < 3 * 1024,
        "5,000 closed sessions grew the gateway by {growth_kb} KiB ({before:?} -> {after:?})"
    );
}

/// The pid a dedicated session's upstream reports (`whoami`).
async fn session_pid(client: &mut McpHttp) -> u64 {
    let r = client
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .await;
    r["result"]["structuredContent"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no pid in {r}"))
}

fn alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item7_live_sessions_are_capped_and_the_least_recently_used_idle_one_goes() {
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_MAX_LIVE_SESSIONS", "2")
        .env("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "1")
        .start()
        .await;
    gw.register(json!({
        "template_name": "solo", "id": "s1",
        "command": format!("{ECHO} --stdio --instance-id s1"),
    }))
    .await;
    gw.http()
        .put(
            "/gateway/templates/solo/load-balancer",
            &json!({"session_mode": "dedicated", "max_sessions": 10}),
        )
        .await
        .expect_status(200);
    gw.wait_healthy("solo", 1).await;
    let url = format!("{}/mcp/solo", gw.base_url());
    let base = McpHttp::new(&url);
    let (mut a, mut b, mut c) = (base.sharing(&url), base.sharing(&url), base.sharing(&url));
    a.initialize(LEGACY).await;
    b.initialize(LEGACY).await;
    let pid_a = session_pid(&mut a).await;
    let pid_b = session_pid(&mut b).await;
    // a is used again: b is now the least recently used.
    assert_eq!(session_pid(&mut a).await, pid_a);
    // A third session: b's entry (and its upstream process) makes room.
    c.initialize(LEGACY).await;
    wait_until(
        "the evicted session's process to exit",
        Duration::from_secs(10),
        || async { !alive(pid_b) },
    )
    .await;
    assert!(alive(pid_a), "the recently used session kept its process");
    // An evicted session comes back from its sealed id, with a new upstream.
    let pid_b2 = session_pid(&mut b).await;
    assert_ne!(pid_b2, pid_b);

    // Sessions with an open GET stream are busy and stay; with every entry busy a new
    // session is refused with 503 until one is free.
    let stream = |client: &McpHttp| {
        client
            .raw(reqwest::Method::GET)
            .header("accept", "text/event-stream")
            .send()
    };
    let stream_b = stream(&b).await.unwrap();
    assert_eq!(stream_b.status(), 200);
    let mut a = a;
    assert_eq!(list_status(&mut a).await, 200, "a is live again");
    let stream_a = stream(&a).await.unwrap();
    assert_eq!(stream_a.status(), 200);
    let refused = base.sharing(&url).post(&initialize_body(), &[]).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(refused.header("retry-after"), Some("5"));
    let body = refused.json();
    assert_eq!(body["id"], 0, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum of 2 live sessions"),
        "{body}"
    );
    drop(stream_a);
    let url = &url;
    let base = &base;
    wait_until(
        "a session to be free again",
        Duration::from_secs(10),
        || async move { base.sharing(url).post(&initialize_body(), &[]).await.status == 200 },
    )
    .await;
    drop(stream_b);
}

// === dedicated sessions with auth on ===

/// A gateway with `--auth`, template `solo` (dedicated, `max_sessions` 3) on an HTTP echo
/// fixture, and the admin's token.
async fn dedicated_auth_gateway(per_principal: Option<&str>) -> (AuthGateway, String, EchoHttp) {
    let echo = EchoHttp::spawn(ECHO, 0, "d1").await;
    let mut builder = AuthGateway::builder(GATEWAY);
    if let Some(n) = per_principal {
        builder = builder.env("MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL", n);
    }
    let gw = builder.start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    for template in ["solo", "shared"] {
        c.post(
            "/gateway/register",
            Cred::Bearer(&admin),
            &json!({"template_name": template, "endpoint": echo.url()}),
        )
        .await
        .expect_status(201);
    }
    c.send(
        "PUT",
        "/gateway/templates/solo/load-balancer",
        Cred::Bearer(&admin),
        Some(&json!({"session_mode": "dedicated", "max_sessions": 3})),
    )
    .await
    .expect_status(200);
    (gw, admin, echo)
}

async fn key(c: &Client, admin: &str, name: &str, scopes: &[&str]) -> String {
    c.create_key(Cred::Bearer(admin), json!({"name": name, "scopes": scopes}))
        .await
        .0
}

/// An `initialize` on `/mcp/solo` with `key`: the reply, and the client (holding the
/// session if one was opened).
async fn open_solo(gw: &AuthGateway, key: &str) -> (gateway_e2e::Reply, McpHttp) {
    let mut client =
        McpHttp::new(format!("{}/mcp/solo", gw.base_url())).with_header("x-api-key", key);
    let reply = client.post(&initialize_body(), &[]).await;
    client.session = reply.header("mcp-session-id").map(str::to_owned);
    (reply, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8_dedicated_sessions_need_mcp_call() {
    let (gw, admin, _echo) = dedicated_auth_gateway(None).await;
    let c = gw.client();
    let reader = key(&c, &admin, "reader", &["mcp:read"]).await;
    let caller = key(&c, &admin, "caller", &["mcp:read", "mcp:call"]).await;

    let (r, _) = open_solo(&gw, &reader).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        r#"Bearer realm="mcp-gateway", error="insufficient_scope", scope="mcp:call""#
    );
    assert!(
        r.header("mcp-session-id").is_none(),
        "no session was opened"
    );
    let body = r.json();
    assert_eq!(body["id"], 0, "{body}");
    assert_eq!(body["error"]["code"], -32600, "{body}");
    assert_eq!(
        body["error"]["data"]["required_scope"], "mcp:call",
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("mcp:call") && message.contains("dedicated"),
        "{message}"
    );

    // The reader keeps what mcp:read gives on shared templates ...
    let mut shared =
        McpHttp::new(format!("{}/mcp/shared", gw.base_url())).with_header("x-api-key", &reader);
    shared.initialize(LEGACY).await;
    assert_eq!(list_status(&mut shared).await, 200);
    // ... and a key with mcp:call opens dedicated sessions.
    let (r, mut ok) = open_solo(&gw, &caller).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["result"]["serverInfo"].is_object());
    assert_eq!(list_status(&mut ok).await, 200);
    // Nor can the reader use a dedicated session opened by someone else.
    let mut stolen =
        McpHttp::new(format!("{}/mcp/solo", gw.base_url())).with_header("x-api-key", &reader);
    stolen.session = ok.session.clone();
    assert_eq!(list_status(&mut stolen).await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8_one_principal_cannot_take_every_dedicated_slot() {
    let (gw, admin, _echo) = dedicated_auth_gateway(Some("2")).await;
    let c = gw.client();
    let greedy = key(&c, &admin, "greedy", &["mcp:read", "mcp:call"]).await;
    let other = key(&c, &admin, "other", &["mcp:read", "mcp:call"]).await;

    let (r, first) = open_solo(&gw, &greedy).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (r, _second) = open_solo(&gw, &greedy).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The greedy key's third is refused although the template has a place left ...
    let (r, _) = open_solo(&gw, &greedy).await;
    let body = r.json();
    assert!(r.header("mcp-session-id").is_none(), "{body}");
    assert_eq!(body["error"]["code"], -32050, "{body}");
    assert_eq!(body["error"]["data"]["per"], "principal", "{body}");
    assert_eq!(body["error"]["data"]["limit"], 2, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL"),
        "{body}"
    );
    // ... which another principal gets.
    let (r, _theirs) = open_solo(&gw, &other).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Now the template is full for everyone (max_sessions 3).
    let (r, _) = open_solo(&gw, &other).await;
    let body = r.json();
    assert_eq!(body["error"]["code"], -32050, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dedicated sessions are all in use"),
        "{body}"
    );
    // Closing a session gives its place back to its principal.
    assert_eq!(delete(&first).await, 200);
    let (r, _) = open_solo(&gw, &greedy).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["result"].is_object());
}

/// With auth off there is no principal to count (an address is no identity: loopback
/// and proxies put every client behind one), so only `max_sessions` applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_off_dedicated_sessions_are_bounded_by_max_sessions_only() {
    let (gw, _echo) = echo_gateway(&[("MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL", "1")]).await;
    gw.http()
        .put(
            "/gateway/templates/echo/load-balancer",
            &json!({"session_mode": "dedicated", "max_sessions": 3}),
        )
        .await
        .expect_status(200);
    let url = format!("{}/mcp/echo", gw.base_url());
    let base = McpHttp::new(&url);
    for _ in 0..3 {
        let r = base.sharing(&url).post(&initialize_body(), &[]).await;
        assert!(r.header("mcp-session-id").is_some(), "{}", r.text);
    }
    let r = base.sharing(&url).post(&initialize_body(), &[]).await;
    let body = r.json();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("dedicated sessions are all in use"),
        "{body}"
    );
}
