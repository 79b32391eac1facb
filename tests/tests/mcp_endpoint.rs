//! The native MCP endpoints (`/mcp/{template}`, `/mcp`) over real sockets: the gateway
//! binary in front of our echo server (HTTP and stdio, both eras), driven by a raw
//! Streamable HTTP client so every status code, header and SSE frame is checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::{
    EchoHttp, TempDb, TestGateway,
    mcp::{McpHttp, messages, modern_meta},
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

async fn gateway_with_echo(templates: &[(&str, &str)]) -> (TestGateway, Vec<EchoHttp>) {
    let gw = TestGateway::start(GATEWAY).await;
    let mut echoes = Vec::new();
    for (template, id) in templates {
        let echo = EchoHttp::spawn(ECHO, 0, id).await;
        gw.register(json!({"template_name": template, "instance_id": id, "endpoint": echo.url()}))
            .await;
        echoes.push(echo);
    }
    (gw, echoes)
}

fn text_of(response: &Value) -> String {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {response}"))
        .to_owned()
}

#[tokio::test]
async fn legacy_session_on_a_template_endpoint() {
    let (gw, _echoes) = gateway_with_echo(&[("echo", "e1")]).await;
    let mut client = McpHttp::new(format!("{}/mcp/echo", gw.base_url()));

    let init = client.initialize("2025-06-18").await;
    assert_eq!(init["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(
        init["serverInfo"]["name"], "echo-server",
        "the upstream's own identity"
    );
    let session = client.session.clone().unwrap();
    assert!(session.len() > 40, "a sealed id, not a counter: {session}");
    assert!(session.bytes().all(|b| (0x21..=0x7e).contains(&b)));

    let list = client.request("tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"echo") && names.contains(&"whoami"),
        "{names:?}"
    );

    let r = client
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(text_of(&r), "hi");
    assert_eq!(r["id"], 3, "the client's own id comes back");

    // A tool error stays a result; an unknown tool is the upstream's JSON-RPC error.
    let r = client
        .request(
            "tools/call",
            json!({"name": "fail", "arguments": {"message": "boom"}}),
        )
        .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let r = client
        .request("tools/call", json!({"name": "nope", "arguments": {}}))
        .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = client.request("ping", json!({})).await;
    assert_eq!(r["result"], json!({}));

    // An unsupported version header is refused.
    let r = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}),
            &[("mcp-protocol-version", "1999-01-01")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // DELETE ends the session: the id is refused afterwards.
    let r = client.send(client.raw(reqwest::Method::DELETE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = client.request_reply("tools/list", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);

    // A forged or tampered id is unknown, never a crash.
    let mut forged = session.clone().into_bytes();
    forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
    client.session = Some(String::from_utf8(forged).unwrap());
    let r = client.request_reply("tools/list", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);
    client.session = Some("not-a-session".into());
    assert_eq!(client.request_reply("ping", json!({})).await.status, 404);
}

#[tokio::test]
async fn transport_rules_status_codes() {
    let (gw, _echoes) = gateway_with_echo(&[("echo", "e1")]).await;
    let url = format!("{}/mcp/echo", gw.base_url());
    let client = McpHttp::new(&url);
    let http = reqwest::Client::new();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});

    // DNS rebinding: a foreign Origin or Host is refused before anything else.
    let r = client
        .post(&ping, &[("origin", "http://evil.example.com")])
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = client.post(&ping, &[("host", "evil.example.com")]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}}}),
            &[("origin", "http://localhost:6274")],
        )
        .await;
    assert_eq!(r.status, 200, "a local origin is fine: {}", r.text);

    // Accept that allows neither JSON nor SSE: 406. Wrong content type: 415.
    let r = http
        .post(&url)
        .header("accept", "text/html")
        .header("content-type", "application/json")
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let r = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);

    // No session and no 2026-07-28 _meta: 400. Batches: 400. Garbage: 400 + -32700.
    let r = client.post(&ping, &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = client.post(&json!([ping]), &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = http
        .post(&url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700, "{body}");

    // Notifications are accepted with 202 and an empty body.
    let r = client
        .post(
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            &[],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (202, ""));

    // GET and DELETE without a session: 405 (2026-07-28 has neither).
    let r = client.send(client.raw(reqwest::Method::GET)).await;
    assert_eq!(r.status, 405, "{}", r.text);
    let r = client.send(client.raw(reqwest::Method::DELETE)).await;
    assert_eq!(r.status, 405, "{}", r.text);

    // An unknown template is 404.
    let r = McpHttp::new(format!("{}/mcp/nope", gw.base_url()))
        .post(&ping, &[])
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn stateless_2026_requests_and_header_validation() {
    let (gw, _echoes) = gateway_with_echo(&[("echo", "e1")]).await;
    let mut client = McpHttp::new(format!("{}/mcp/echo", gw.base_url()));

    let r = client.modern("server/discover", json!({}), None).await;
    let discover = r.expect_status(200);
    assert_eq!(
        discover["result"]["supportedVersions"],
        json!(["2026-07-28"]),
        "{discover}"
    );
    assert_eq!(discover["result"]["resultType"], "complete");

    let r = client
        .modern(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
            Some("add"),
        )
        .await;
    let body = r.expect_status(200);
    assert_eq!(body["result"]["structuredContent"]["result"], 5, "{body}");
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(
        r.header("mcp-session-id").is_none(),
        "stateless requests get no session"
    );

    let r = client.modern("tools/list", json!({}), None).await;
    let body = r.expect_status(200);
    assert!(body["result"]["tools"].as_array().unwrap().len() >= 5);
    assert_eq!(body["result"]["cacheScope"], "private", "{body}");

    // Mcp-Name that does not match the body: 400 + -32020.
    let r = client
        .modern(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 1}}),
            Some("echo"),
        )
        .await;
    let body = r.expect_status(400);
    assert_eq!(body["error"]["code"], -32020, "{body}");
    // Base64-encoded header values are decoded before comparing.
    let r = client
        .modern(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 1}}),
            Some("=?base64?YWRk?="),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // An unknown version: 400 + -32022 listing what is supported.
    let mut meta = modern_meta();
    meta["io.modelcontextprotocol/protocolVersion"] = json!("2027-01-01");
    let r = client
        .post(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list", "params": {"_meta": meta}}),
            &[
                ("mcp-protocol-version", "2027-01-01"),
                ("mcp-method", "tools/list"),
            ],
        )
        .await;
    let body = r.expect_status(400);
    assert_eq!(body["error"]["code"], -32022, "{body}");
    assert_eq!(body["error"]["data"]["supported"], json!(["2026-07-28"]));
}

#[tokio::test]
async fn progress_is_streamed_before_the_response() {
    let (gw, _echoes) = gateway_with_echo(&[("echo", "e1")]).await;
    let mut client = McpHttp::new(format!("{}/mcp/echo", gw.base_url()));
    client.initialize("2025-11-25").await;
    let r = client
        .request_reply(
            "tools/call",
            json!({"name": "sleep_ms", "arguments": {"ms": 50}, "_meta": {"progressToken": "tok-1"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/event-stream"),
        "progress needs a stream"
    );
    assert_eq!(r.header("x-accel-buffering"), Some("no"));
    let all = messages(&r);
    let progress: Vec<&Value> = all
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 2, "{all:?}");
    assert_eq!(
        progress[0]["params"]["progressToken"], "tok-1",
        "the client's own token"
    );
    assert_eq!(progress[1]["params"]["progress"], 2);
    let last = all.last().unwrap();
    assert_eq!(text_of(last), "slept 50ms", "{last}");
}

#[tokio::test]
async fn aggregated_endpoint_prefixes_routes_and_fails_open() {
    let (gw, mut echoes) = gateway_with_echo(&[("alpha", "a1"), ("beta", "b1")]).await;
    let mut client = McpHttp::new(format!("{}/mcp", gw.base_url()));
    let init = client.initialize("2025-11-25").await;
    assert_eq!(init["serverInfo"]["name"], "mcp-gateway", "{init}");

    let list = client.request("tools/list", json!({})).await;
    let names: Vec<String> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    for expected in ["alpha__whoami", "beta__whoami", "alpha__echo", "beta__add"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(list["result"].get("nextCursor").is_none(), "one page");

    let r = client
        .request(
            "tools/call",
            json!({"name": "beta__whoami", "arguments": {}}),
        )
        .await;
    assert_eq!(text_of(&r), "b1");
    let r = client
        .request(
            "tools/call",
            json!({"name": "alpha__whoami", "arguments": {}}),
        )
        .await;
    assert_eq!(text_of(&r), "a1");
    let r = client
        .request(
            "tools/call",
            json!({"name": "gamma__whoami", "arguments": {}}),
        )
        .await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = client
        .request("tools/list", json!({"cursor": "made-up"}))
        .await;
    assert_eq!(r["error"]["code"], -32602, "no cursor was issued: {r}");

    // Stateless clients see the same catalogue.
    let r = client.modern("tools/list", json!({}), None).await;
    let saved = client.session.take();
    assert_eq!(r.status, 200, "{}", r.text);
    client.session = saved;

    // One template down: the other's tools are still listed.
    let beta = echoes.pop().unwrap();
    beta.kill().await;
    let list = client.request("tools/list", json!({})).await;
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"alpha__whoami"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("beta__")), "{names:?}");
}

#[tokio::test]
async fn a_session_continues_on_another_replica() {
    let db = TempDb::new();
    let echo = EchoHttp::spawn(ECHO, 0, "shared").await;
    let a = TestGateway::builder(GATEWAY).database(&db).start().await;
    a.register(json!({"template_name": "echo", "instance_id": "e1", "endpoint": echo.url()}))
        .await;
    let b = TestGateway::builder(GATEWAY).database(&db).start().await;

    let mut on_a = McpHttp::new(format!("{}/mcp/echo", a.base_url()));
    on_a.initialize("2025-11-25").await;
    let mut on_b = McpHttp::new(format!("{}/mcp/echo", b.base_url()));
    on_b.session = on_a.session.clone();
    // Replica b has never seen this session: the sealed id alone is enough.
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        on_b.request("tools/call", json!({"name": "whoami", "arguments": {}})),
    )
    .await
    .expect("b answers");
    assert_eq!(text_of(&r), "shared");
    // And a session id from one endpoint does not open another.
    let mut other = McpHttp::new(format!("{}/mcp", b.base_url()));
    other.session = on_a.session.clone();
    assert_eq!(other.request_reply("ping", json!({})).await.status, 404);
}
