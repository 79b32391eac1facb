//! Safe defaults against hostile browsers and careless disclosure (issue "Safe by
//! default", items 1 and 10, CORS, upstream error details), black-box against the real
//! gateway binary: what a web page the operator visits can make the gateway do, and what
//! a client learns when an upstream fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::{auth::*, *};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const MCPP: &str = env!("CARGO_BIN_EXE_mcpp-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The audit's payload: a stdio "MCP server" that writes a file when it runs.
fn pwn_body(marker: &std::path::Path) -> String {
    json!({
        "template_name": "pwn",
        "command": ["/bin/sh", "-c", format!("id > {}", marker.display())],
    })
    .to_string()
}

async fn registry_total(http: &Http) -> u64 {
    http.get("/gateway/registry").await.expect_status(200)["total_instances"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn item1_a_cross_site_page_cannot_register_a_stdio_command() {
    init_tracing();
    let gw = TestGateway::builder(GATEWAY)
        .without_stdio_registration()
        .start()
        .await;
    let db = gw.db().clone();
    let marker = db.dir().join("pwned");
    let body = pwn_body(&marker);
    let http = gw.http();

    // The audit's exact request: a "simple" cross-site POST (no preflight).
    let r = http
        .raw(
            "POST",
            "/gateway/register",
            &[
                ("content-type", "text/plain"),
                ("origin", "http://evil.example"),
            ],
            Some(&body),
        )
        .await;
    r.expect_error(403, "forbidden_origin");
    assert!(r.headers.get("access-control-allow-origin").is_none());
    // A browser that omits Origin still sends Sec-Fetch-Site on a cross-site fetch.
    let r = http
        .raw(
            "POST",
            "/gateway/register",
            &[
                ("content-type", "text/plain"),
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "no-cors"),
            ],
            Some(&body),
        )
        .await;
    r.expect_error(403, "forbidden_origin");
    // The body reader no longer ignores Content-Type: text/plain or none is 415.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|ct| vec![("content-type", ct)])
            .unwrap_or_default();
        let r = http
            .raw("POST", "/gateway/register", &headers, Some(&body))
            .await;
        r.expect_error(415, "unsupported_media_type");
    }
    // A DNS-rebinding page reaches the gateway under the attacker's name.
    let r = http
        .raw(
            "POST",
            "/gateway/register",
            &[
                ("content-type", "application/json"),
                ("host", "attacker.example"),
            ],
            Some(&body),
        )
        .await;
    r.expect_error(403, "forbidden_host");
    // And even a well-formed local request may not register a command by default.
    let r = http
        .raw(
            "POST",
            "/gateway/register",
            &[("content-type", "application/json")],
            Some(&body),
        )
        .await;
    let error = r.expect_error(403, "forbidden");
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION"),
        "{error}"
    );

    // Nothing ran and nothing was stored, also not after a restart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marker.exists(), "the command ran");
    assert_eq!(registry_total(&http).await, 0);
    gw.stop().await;
    let gw = TestGateway::builder(GATEWAY)
        .without_stdio_registration()
        .database(&db)
        .start()
        .await;
    assert_eq!(registry_total(&gw.http()).await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!marker.exists(), "the command ran after a restart");
}

#[tokio::test]
async fn item1_dns_rebinding_is_refused_on_every_route() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "rebind").await;
    gw.register(json!({"template_name": "echo", "endpoint": echo.url()}))
        .await;
    let http = gw.http();
    let json_ct = ("content-type", "application/json");
    let rebound = ("host", "attacker.example:8080");
    let call = json!({"name": "echo", "arguments": {"message": "x"}}).to_string();
    for (method, path, body) in [
        ("GET", "/gateway/registry", None),
        ("GET", "/gateway/stats", None),
        ("GET", "/gateway/templates", None),
        ("GET", "/gateway/health", None),
        ("GET", "/mcp/echo/tools/list", None),
        ("POST", "/mcp/echo/tools/call", Some(call.as_str())),
        (
            "POST",
            "/auth/login",
            Some(r#"{"username":"a","password":"b"}"#),
        ),
        ("GET", "/openapi.json", None),
        ("GET", "/docs/", None),
    ] {
        let r = http.raw(method, path, &[json_ct, rebound], body).await;
        r.expect_error(403, "forbidden_host");
    }
    // The native MCP endpoints answer in JSON-RPC.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}})
    .to_string();
    for path in ["/mcp", "/mcp/echo"] {
        let r = http
            .raw(
                "POST",
                path,
                &[
                    json_ct,
                    rebound,
                    ("accept", "application/json, text/event-stream"),
                ],
                Some(&initialize),
            )
            .await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
        assert_eq!(r.json()["error"]["code"], -32000, "{path}: {}", r.text);
    }
    let r = http.raw("GET", "/mcp/echo/sse", &[rebound], None).await;
    assert_eq!(r.status, 403);
    // The gateway's own names still work.
    let port = gw.port().to_string();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]".to_owned(),
    ] {
        let r = http
            .raw("GET", "/gateway/registry", &[("host", &host)], None)
            .await;
        assert_eq!(r.status, 200, "{host}: {}", r.text);
    }
}

#[tokio::test]
async fn item1_every_json_route_needs_application_json() {
    init_tracing();
    let gw = TestGateway::start(GATEWAY).await;
    let echo = EchoHttp::spawn(ECHO, 0, "ct").await;
    gw.register(json!({"template_name": "echo", "endpoint": echo.url()}))
        .await;
    let http = gw.http();
    let routes: [(&str, &str, Value); 8] = [
        (
            "POST",
            "/mcp/echo/tools/call",
            json!({"name": "echo", "arguments": {"message": "x"}}),
        ),
        ("POST", "/mcp/echo/resources/read", json!({"uri": "x://y"})),
        ("POST", "/mcp/echo/prompts/get", json!({"name": "p"})),
        (
            "POST",
            "/gateway/register",
            json!({"template_name": "other", "endpoint": echo.url()}),
        ),
        (
            "POST",
            "/gateway/templates/other/instances",
            json!({"endpoint": echo.url()}),
        ),
        (
            "PUT",
            "/gateway/templates/echo/load-balancer",
            json!({"max_retries": 2}),
        ),
        (
            "POST",
            "/mcp/echo",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ),
        (
            "POST",
            "/mcp/echo/messages?session_id=none",
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ),
    ];
    let accept = ("accept", "application/json, text/event-stream");
    for (method, path, body) in &routes {
        let body = body.to_string();
        for content_type in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "multipart/form-data",
        ] {
            let r = http
                .raw(
                    method,
                    path,
                    &[("content-type", content_type), accept],
                    Some(&body),
                )
                .await;
            assert_eq!(
                r.status, 415,
                "{method} {path} as {content_type}: {}",
                r.text
            );
        }
        let r = http.raw(method, path, &[accept], Some(&body)).await;
        assert_eq!(r.status, 415, "{method} {path} without a type: {}", r.text);
    }
    // The same requests as JSON are not refused for their type.
    let r = http
        .raw(
            "POST",
            "/mcp/echo/tools/call",
            &[("content-type", "application/json; charset=utf-8")],
            Some(&routes[0].2.to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // With authentication on: the `/auth/*` JSON routes too (the login form stays).
    let auth = AuthGateway::builder(GATEWAY).start().await;
    let client = auth.client();
    let token = client.login("admin", ADMIN_PASSWORD).await;
    let bearer = format!("Bearer {token}");
    let http = Http::new(&auth.base_url());
    for (method, path, body) in [
        (
            "POST",
            "/auth/login",
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        ),
        (
            "POST",
            "/auth/users",
            json!({"username": "bob", "password": "a long passphrase"}),
        ),
        ("PATCH", "/auth/users/admin", json!({"active": true})),
        ("POST", "/auth/api-keys", json!({"name": "k"})),
    ] {
        let r = http
            .raw(
                method,
                path,
                &[("content-type", "text/plain"), ("authorization", &bearer)],
                Some(&body.to_string()),
            )
            .await;
        r.expect_error(415, "unsupported_media_type");
    }
    let form = format!("grant_type=password&username=admin&password={ADMIN_PASSWORD}");
    let r = client.post_form("/auth/login", &form).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn item1_stdio_commands_come_from_the_config_file_or_the_offline_cli() {
    init_tracing();
    let db = TempDb::new();
    let config = db.dir().join("gateway.json");
    std::fs::write(
        &config,
        json!({"templates": {"filed": {"instances": [
            {"command": [ECHO, "--stdio", "--instance-id", "from-file"]}
        ]}}})
        .to_string(),
    )
    .unwrap();
    // Offline, before the gateway starts: straight into its database.
    let command = format!("{ECHO} --stdio --instance-id from-cli");
    let out = run(
        MCPP,
        [
            "gateway",
            "register",
            "offline",
            "--command",
            &command,
            "--database",
            &db.url(),
        ],
        &[],
        Duration::from_secs(30),
    )
    .await;
    let stdout = out.expect_success();
    assert!(stdout.contains("offline"), "{stdout}");

    let gw = TestGateway::builder(GATEWAY)
        .without_stdio_registration()
        .database(&db)
        .arg("--config")
        .arg(config.display().to_string())
        .start()
        .await;
    gw.wait_healthy("filed", 1).await;
    gw.wait_healthy("offline", 1).await;
    assert_eq!(gw.whoami("filed").await, "from-file");
    assert_eq!(gw.whoami("offline").await, "from-cli");

    // Over the API the same command is refused, and the CLI says what to do instead.
    let out = run(
        MCPP,
        [
            "gateway",
            "register",
            "api",
            "--command",
            &command,
            "--gateway-url",
            &gw.base_url(),
        ],
        &[],
        Duration::from_secs(30),
    )
    .await;
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr.contains("--offline")
            && out.stderr.contains("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn cors_is_answered_for_listed_origins_only() {
    init_tracing();
    let listed = "https://inspector.example.com";
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_ALLOWED_ORIGINS", listed)
        .start()
        .await;
    let http = gw.http();
    let preflight = |origin: &'static str| {
        let http = http.clone();
        async move {
            http.raw(
                "OPTIONS",
                "/mcp",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "content-type, mcp-session-id, mcp-protocol-version, authorization",
                    ),
                ],
                None,
            )
            .await
        }
    };
    let r = preflight(listed).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(listed));
    let allowed = r.header("access-control-allow-headers").unwrap();
    for name in [
        "content-type",
        "mcp-session-id",
        "mcp-protocol-version",
        "authorization",
    ] {
        assert!(allowed.contains(name), "{allowed}");
    }
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(r.header("access-control-allow-credentials").is_none());

    for other in ["https://evil.example", "http://localhost:3000"] {
        let r = preflight(other).await;
        assert_eq!(r.status, 403, "{other}: {}", r.text);
        assert!(r.header("access-control-allow-origin").is_none(), "{other}");
    }

    // An actual request from the listed origin can read the MCP headers.
    let r = http
        .raw(
            "POST",
            "/mcp",
            &[
                ("origin", listed),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
            ],
            Some(
                &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "web", "version": "0"}}})
                .to_string(),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("access-control-allow-origin"), Some(listed));
    let exposed = r.header("access-control-expose-headers").unwrap();
    for name in ["Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate"] {
        assert!(exposed.contains(name), "{exposed}");
    }
    // A same-origin or non-browser request gets no CORS headers.
    let r = http.get("/gateway/registry").await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());

    // Credentials only when configured.
    let gw = TestGateway::builder(GATEWAY)
        .env("MCP_GATEWAY_ALLOWED_ORIGINS", listed)
        .env("MCP_GATEWAY_CORS_ALLOW_CREDENTIALS", "1")
        .start()
        .await;
    let r = gw
        .http()
        .raw("GET", "/gateway/templates", &[("origin", listed)], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
}

#[cfg(unix)]
#[tokio::test]
async fn item10_the_database_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY).start().await;
    // Write something so the WAL and shared-memory files exist.
    let client = gw.client();
    client.login("admin", ADMIN_PASSWORD).await;
    let db = gw.db().path();
    let mode = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(&name)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{}: {e}", std::path::Path::new(&name).display()))
    };
    for suffix in ["", "-wal", "-shm"] {
        assert_eq!(mode(suffix), 0o600, "gateway.db{suffix}");
    }
    let stderr = gw.stderr();
    assert!(!stderr.contains("readable by other users"), "{stderr}");
    let tmp = gw.db().clone();
    gw.stop().await;

    // An existing file others can read: the gateway says so at start.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let gw = AuthGateway::builder(GATEWAY).database(&tmp).start().await;
    let stderr = gw.stderr();
    assert!(
        stderr.contains("readable by other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

#[tokio::test]
async fn upstream_error_details_stay_in_the_log() {
    init_tracing();
    // An instance whose name only resolves inside the operator's network.
    let gw = AuthGateway::builder(GATEWAY)
        .bare()
        .env("MCP_GATEWAY_LOG_LEVEL", "info")
        .start()
        .await;
    let http = Http::new(&gw.base_url());
    http.post(
        "/gateway/register",
        &json!({"template_name": "internal",
                "endpoint": "http://billing-db.corp.invalid:9/mcp"}),
    )
    .await
    .expect_status(201);
    let r = http
        .post(
            "/mcp/internal/tools/call",
            &json!({"name": "x", "arguments": {}}),
        )
        .await;
    assert!(matches!(r.status, 502..=504), "{}", r.text);
    let body = r.json();
    let detail = body["detail"].as_str().unwrap();
    for secret in ["billing-db", "dns", "lookup", "Name or service"] {
        assert!(!detail.contains(secret), "{detail}");
    }
    let request_id = body["request_id"].as_str().unwrap();
    // The operator finds the cause under the request id.
    let mut found = false;
    for _ in 0..40 {
        let log = gw.stderr();
        if log
            .lines()
            .any(|l| l.contains(request_id) && l.contains("dns error"))
        {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "no log line with {request_id}:\n{}", gw.stderr());
}
