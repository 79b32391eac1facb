//! Authentication and authorization on the native MCP endpoints (`/mcp/{template}` and
//! the aggregated `/mcp`), against the real gateway with `--auth`: challenges without
//! credentials, template allowlists on the aggregated catalogue, the `mcp:call` scope per
//! method, both protocol eras with a valid key, and no client credential upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::{
    EchoHttp, Reply,
    auth::{ADMIN_PASSWORD, AuthGateway, Client, Cred, Tap, USER_PASSWORD},
    init_tracing,
    mcp::{McpHttp, messages},
    wait_until,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const LEGACY: &str = "2025-06-18";

/// A gateway with templates `alpha` and `beta` on one tapped echo fixture and `gamma`
/// on another, logged in as admin.
struct Env {
    gw: AuthGateway,
    c: Client,
    admin: String,
    /// What the gateway sent to alpha's and beta's upstream.
    tap: Tap,
    /// What the gateway sent to gamma's upstream.
    gamma_tap: Tap,
    _echo: (EchoHttp, EchoHttp),
}

async fn setup() -> Env {
    init_tracing();
    let echo = EchoHttp::spawn(ECHO, 0, "ab").await;
    let gamma = EchoHttp::spawn(ECHO, 0, "gamma").await;
    let tap = Tap::start(echo.port).await;
    let gamma_tap = Tap::start(gamma.port).await;
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    for (template, port) in [
        ("alpha", tap.port),
        ("beta", tap.port),
        ("gamma", gamma_tap.port),
    ] {
        let body =
            json!({"template_name": template, "endpoint": format!("http://127.0.0.1:{port}/mcp")});
        c.post("/gateway/register", Cred::Bearer(&admin), &body)
            .await
            .expect_status(201);
    }
    Env {
        gw,
        c,
        admin,
        tap,
        gamma_tap,
        _echo: (echo, gamma),
    }
}

impl Env {
    /// An API key created by the admin with `body`'s settings.
    async fn key(&self, body: Value) -> String {
        self.c.create_key(Cred::Bearer(&self.admin), body).await.0
    }

    /// A client of `path` (`/mcp` or `/mcp/{template}`) sending `X-API-Key: key`.
    fn mcp(&self, path: &str, key: &str) -> McpHttp {
        McpHttp::new(format!("{}{path}", self.gw.base_url())).with_header("x-api-key", key)
    }
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "0"}}})
}

fn call(name: &str) -> Value {
    json!({"name": name, "arguments": {"message": "hi"}})
}

/// The one JSON-RPC response of a reply.
fn response(r: &Reply) -> Value {
    messages(r).pop().expect("a response message")
}

/// Asserts a 401 with the gateway's Bearer challenge (`invalid`: a bad credential was
/// sent, so the challenge says `invalid_token`).
#[track_caller]
fn unauthorized(r: &Reply, case: &str, invalid: bool) {
    assert_eq!(r.status, 401, "{case}: {}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    let expected = if invalid {
        r#"Bearer realm="mcp-gateway", error="invalid_token""#
    } else {
        r#"Bearer realm="mcp-gateway""#
    };
    assert_eq!(challenge, expected, "{case}");
    let body = r.json();
    let code = if invalid {
        "invalid_token"
    } else {
        "unauthorized"
    };
    assert_eq!(body["error"], code, "{case}: {body}");
}

/// Asserts the 403 an MCP request gets for a method its scopes do not cover: an RFC 6750
/// `insufficient_scope` challenge naming `mcp:call` and a JSON-RPC error for the request.
#[track_caller]
fn needs_mcp_call(r: &Reply, case: &str) {
    assert_eq!(r.status, 403, "{case}: {}", r.text);
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        r#"Bearer realm="mcp-gateway", error="insufficient_scope", scope="mcp:call""#,
        "{case}"
    );
    let body = r.json();
    assert_eq!(body["jsonrpc"], "2.0", "{case}: {body}");
    assert!(body["id"].is_number(), "answers the request: {body}");
    assert_eq!(body["error"]["code"], -32600, "{case}: {body}");
    assert_eq!(
        body["error"]["data"]["required_scope"], "mcp:call",
        "{case}: {body}"
    );
}

#[tokio::test]
async fn requests_without_valid_credentials_get_a_bearer_challenge() {
    let env = setup().await;
    // "nope" is not a template: the challenge comes first and tells nothing about it.
    for path in ["/mcp", "/mcp/alpha", "/mcp/nope"] {
        let anonymous = McpHttp::new(format!("{}{path}", env.gw.base_url()));
        unauthorized(
            &anonymous.post(&initialize_body(), &[]).await,
            &format!("initialize on {path}"),
            false,
        );
        let mut anonymous = anonymous;
        unauthorized(
            &anonymous.modern("tools/list", json!({}), None).await,
            &format!("2026-07-28 tools/list on {path}"),
            false,
        );
        for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
            let r = anonymous
                .send(
                    anonymous
                        .raw(method.clone())
                        .header("accept", "text/event-stream")
                        .header("mcp-session-id", "made-up"),
                )
                .await;
            unauthorized(&r, &format!("{method} {path}"), false);
        }
        for (header, value) in [
            ("x-api-key", "mcpgw_0123456789abcdef_not-a-real-secret"),
            ("authorization", "Bearer not.a.jwt"),
            ("authorization", "Basic YWRtaW46YWRtaW4="),
        ] {
            let forged =
                McpHttp::new(format!("{}{path}", env.gw.base_url())).with_header(header, value);
            unauthorized(
                &forged.post(&initialize_body(), &[]).await,
                &format!("{header}: {value} on {path}"),
                true,
            );
        }
    }
    // Nothing refused reached an upstream (the gateway's own handshake and health
    // probes are the only traffic there).
    for sent in [env.tap.sent().await, env.gamma_tap.sent().await] {
        assert!(!sent.contains("\"e2e\""), "{sent}");
        assert!(!sent.contains("tools/list"), "{sent}");
    }
}

#[tokio::test]
async fn a_template_allowlist_limits_the_aggregated_endpoint() {
    let env = setup().await;
    let key = env
        .key(json!({"name": "ab", "role": "user", "templates": ["alpha", "beta"]}))
        .await;
    let mut all = env.mcp("/mcp", &key);
    all.initialize(LEGACY).await;
    let list = all.request("tools/list", json!({})).await;
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names.len(),
        12,
        "six tools from each allowed template: {names:?}"
    );
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("alpha__") || n.starts_with("beta__")),
        "{names:?}"
    );
    assert!(names.contains(&"alpha__echo") && names.contains(&"beta__echo"));
    // An allowed template's tool works ...
    let ok = all.request("tools/call", call("alpha__echo")).await;
    assert_eq!(ok["result"]["content"][0]["text"], "hi", "{ok}");
    // ... a tool of a template outside the allowlist does not exist for this caller
    // (the same answer as for any unknown tool: nothing says `gamma` exists).
    for name in ["gamma__echo", "nothing__echo"] {
        let denied = all.request("tools/call", call(name)).await;
        assert_eq!(denied["error"]["code"], -32602, "{name}: {denied}");
        assert!(
            denied["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("unknown tool or prompt \"{name}\"")),
            "{denied}"
        );
    }
    // The template's own endpoint refuses the key outright.
    let direct = env
        .mcp("/mcp/gamma", &key)
        .post(&initialize_body(), &[])
        .await;
    let body = direct.expect_status(403);
    assert_eq!(body["error"], "template_forbidden", "{body}");
    let mut alpha = env.mcp("/mcp/alpha", &key);
    alpha.initialize(LEGACY).await;
    let ok = alpha.request("tools/call", call("echo")).await;
    assert_eq!(ok["result"]["content"][0]["text"], "hi", "{ok}");

    // With one allowed template nothing is prefixed; a prefixed name of another
    // template is just an unknown name of the allowed one.
    let only_alpha = env
        .key(json!({"name": "a", "role": "user", "templates": ["alpha"]}))
        .await;
    let mut one = env.mcp("/mcp", &only_alpha);
    one.initialize(LEGACY).await;
    let list = one.request("tools/list", json!({})).await;
    let tools = list["result"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 6, "{list}");
    assert!(tools.iter().any(|t| t["name"] == "echo"), "{list}");
    let denied = one.request("tools/call", call("gamma__echo")).await;
    assert!(denied["error"].is_object(), "{denied}");
    let stateless = one
        .modern("tools/call", call("gamma__echo"), Some("gamma__echo"))
        .await;
    assert!(
        response(&stateless)["error"].is_object(),
        "{}",
        stateless.text
    );

    // gamma's upstream never saw a list or a call from these callers.
    let sent = env.gamma_tap.sent().await;
    assert!(!sent.contains("tools/call"), "{sent}");
    assert!(!sent.contains("tools/list"), "{sent}");
}

#[tokio::test]
async fn calling_needs_the_mcp_call_scope() {
    let env = setup().await;
    let reader = env
        .key(json!({"name": "reader", "scopes": ["mcp:read"]}))
        .await;
    // Listing works in a session ...
    let mut alpha = env.mcp("/mcp/alpha", &reader);
    alpha.initialize(LEGACY).await;
    let list = alpha.request("tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 6);
    // ... calls, reads and prompts are refused, in a session and stateless, on both
    // endpoints.
    for (method, params, name) in [
        ("tools/call", call("echo"), "echo"),
        ("resources/read", json!({"uri": "file:///x"}), "file:///x"),
        ("prompts/get", json!({"name": "p"}), "p"),
    ] {
        let r = alpha.request_reply(method, params.clone()).await;
        needs_mcp_call(&r, &format!("{method} in a session"));
        let mut stateless = env.mcp("/mcp/alpha", &reader);
        let r = stateless.modern(method, params, Some(name)).await;
        needs_mcp_call(&r, &format!("2026-07-28 {method}"));
    }
    let mut all = env.mcp("/mcp", &reader);
    all.initialize(LEGACY).await;
    let list = all.request("tools/list", json!({})).await;
    assert_eq!(list["result"]["tools"].as_array().unwrap().len(), 18);
    let r = all.request_reply("tools/call", call("alpha__echo")).await;
    needs_mcp_call(&r, "aggregated tools/call");
    // The refusals never reached an upstream.
    for sent in [env.tap.sent().await, env.gamma_tap.sent().await] {
        assert!(!sent.contains("tools/call"), "{sent}");
        assert!(!sent.contains("resources/read"), "{sent}");
    }
    // The denials are audited.
    wait_until("denials audited", Duration::from_secs(5), || async {
        let audit = env
            .c
            .get("/auth/audit?action=authz.deny", Cred::Bearer(&env.admin))
            .await
            .expect_status(200);
        audit.to_string().contains("/mcp/alpha tools/call")
    })
    .await;
}

#[tokio::test]
async fn a_valid_credential_works_in_both_eras_and_stays_at_the_gateway() {
    let env = setup().await;
    let key = env.key(json!({"name": "app", "role": "user"})).await;
    env.c.create_user(&env.admin, "jack", "user", None).await;
    let jwt = env.c.login("jack", USER_PASSWORD).await;
    // A dedicated template opens an upstream session per client: it too must not carry
    // the client's credentials.
    let body = json!({"template_name": "delta", "endpoint": format!("http://127.0.0.1:{}/mcp", env.tap.port)});
    env.c
        .post("/gateway/register", Cred::Bearer(&env.admin), &body)
        .await
        .expect_status(201);
    env.c
        .send(
            "PUT",
            "/gateway/templates/delta/load-balancer",
            Cred::Bearer(&env.admin),
            Some(&json!({"session_mode": "dedicated"})),
        )
        .await
        .expect_status(200);
    let bearer_key = format!("Bearer {key}");
    let bearer_jwt = format!("Bearer {jwt}");
    for (header, value) in [
        ("x-api-key", key.as_str()),
        ("authorization", bearer_key.as_str()),
        ("authorization", bearer_jwt.as_str()),
    ] {
        let client = |path: &str| {
            McpHttp::new(format!("{}{path}", env.gw.base_url())).with_header(header, value)
        };
        for (path, tool) in [
            ("/mcp/alpha", "echo"),
            ("/mcp/delta", "echo"),
            ("/mcp", "alpha__echo"),
        ] {
            // Legacy era: a session, then a call.
            let mut legacy = client(path);
            legacy.initialize(LEGACY).await;
            let r = legacy.request("tools/call", call(tool)).await;
            assert_eq!(
                r["result"]["content"][0]["text"], "hi",
                "{header} on {path}: {r}"
            );
            // 2026-07-28: stateless, the credential on every request.
            let mut modern = client(path);
            let r = modern.modern("tools/call", call(tool), Some(tool)).await;
            assert_eq!(r.status, 200, "{header} on {path}: {}", r.text);
            assert_eq!(
                response(&r)["result"]["content"][0]["text"],
                "hi",
                "{}",
                r.text
            );
        }
    }
    // A session belongs to the principal that opened it.
    let mut by_key =
        McpHttp::new(format!("{}/mcp/alpha", env.gw.base_url())).with_header("x-api-key", &key);
    by_key.initialize(LEGACY).await;
    let mut stolen = McpHttp::new(format!("{}/mcp/alpha", env.gw.base_url()))
        .with_header("authorization", &bearer_jwt);
    stolen.session = by_key.session.clone();
    let r = stolen.request_reply("tools/list", json!({})).await;
    assert_eq!(r.status, 404, "{}", r.text);

    let sent = env.tap.sent().await;
    let lower = sent.to_ascii_lowercase();
    assert!(lower.contains("tools/call"), "the tap saw the calls");
    assert!(
        !lower.contains("authorization:"),
        "an Authorization header reached the upstream:\n{sent}"
    );
    assert!(
        !lower.contains("x-api-key"),
        "an X-API-Key header reached the upstream:\n{sent}"
    );
    // `mcpgw_<id>_<secret>`: the secret is base64url and may itself hold `_`, so it is
    // everything after the second `_` (a fragment could occur in any bytes by chance).
    let secret = key.splitn(3, '_').nth(2).unwrap();
    assert!(secret.len() >= 40, "{key}");
    assert!(
        !sent.contains(secret) && !sent.contains(&jwt),
        "a credential reached the upstream"
    );
}

/// The MCP authorization flow sends its first request without a token, reads the 401,
/// and sends the next one with a token on the same connection: the 401 must leave that
/// connection usable even when the body arrives after the headers.
#[tokio::test]
async fn a_401_leaves_the_connection_usable_for_the_retry_with_a_token() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = setup().await;
    let mut socket = tokio::net::TcpStream::connect(env.gw.addr).await.unwrap();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": LEGACY, "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string();
    let head = |auth: &str| {
        format!(
            "POST /mcp/alpha HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n{auth}Content-Length: {}\r\n\r\n",
            body.len()
        )
    };
    // Headers first; the body only after the gateway has had time to answer.
    socket.write_all(head("").as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    socket.write_all(body.as_bytes()).await.unwrap();
    let first = read_response(&mut socket).await;
    assert!(first.starts_with("HTTP/1.1 401"), "{first}");
    assert!(
        !first.to_ascii_lowercase().contains("connection: close"),
        "{first}"
    );
    // The retry, with the admin's token, on the same connection.
    let auth = format!("Authorization: Bearer {}\r\n", env.admin);
    socket
        .write_all(format!("{}{body}", head(&auth)).as_bytes())
        .await
        .unwrap();
    let second = read_response(&mut socket).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");

    async fn read_response(socket: &mut tokio::net::TcpStream) -> String {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk))
                .await
                .expect("no answer within 10 s")
                .unwrap();
            assert!(
                n > 0,
                "the gateway closed the connection after: {}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end].lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                });
                match length {
                    Some(length) if buf.len() >= end + 4 + length => return text.into_owned(),
                    // An SSE answer: the head and the first event are enough.
                    None if text.contains("event: message") || text.contains("\"result\"") => {
                        return text.into_owned();
                    }
                    _ => {}
                }
            }
        }
    }
}
