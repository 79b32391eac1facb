//! Where secrets must never appear (responses, logs, upstream requests) and the secure
//! defaults (first admin, loopback-only without auth), against the real gateway binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_e2e::{
    EchoHttp, TempDb,
    auth::{ADMIN_PASSWORD, AuthGateway, Cred, JWT_SECRET, Tap, USER_PASSWORD},
    init_tracing,
};
use serde_json::json;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// The secret part of `mcpgw_<id>_<secret>`.
fn key_secret(key: &str) -> &str {
    &key["mcpgw_".len() + 17..]
}

#[tokio::test]
async fn password_hashes_never_appear_in_responses() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    let a = Cred::Bearer(&admin);
    let mut bodies = Vec::new();
    let created = c
        .post(
            "/auth/users",
            a,
            &json!({"username": "ivy", "password": USER_PASSWORD}),
        )
        .await;
    bodies.push(created.text.clone());
    let ivy = created.expect_status(201);
    assert_eq!(ivy["role"], "user");
    for reply in [
        c.get("/auth/users", a).await,
        c.get("/auth/users/ivy", a).await,
        c.get("/auth/users/admin", a).await,
        c.send(
            "PATCH",
            "/auth/users/ivy",
            a,
            Some(&json!({"password": "another-password-1"})),
        )
        .await,
        c.get("/auth/me", a).await,
        c.login_reply("ivy", "another-password-1").await,
        c.post("/auth/api-keys", a, &json!({"name": "k"})).await,
        c.get("/auth/api-keys", a).await,
        c.get("/auth/audit?limit=1000", a).await,
        c.get("/gateway/registry", a).await,
        c.get("/openapi.json", Cred::None).await,
    ] {
        assert!(reply.status < 300, "{}", reply.text);
        bodies.push(reply.text);
    }
    for body in &bodies {
        for needle in [
            "$2a$",
            "$2b$",
            "$2y$",
            "password_hash",
            USER_PASSWORD,
            "another-password-1",
        ] {
            assert!(!body.contains(needle), "{needle:?} in a response: {body}");
        }
    }
}

#[tokio::test]
async fn secrets_never_appear_in_the_log() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY)
        .arg("--log-level")
        .arg("debug")
        .start()
        .await;
    let c = gw.client();
    let echo = EchoHttp::spawn(ECHO, 0, "log").await;
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    let a = Cred::Bearer(&admin);
    c.post(
        "/gateway/register",
        a,
        &json!({"template_name": "echo", "endpoint": echo.url()}),
    )
    .await
    .expect_status(201);
    c.create_user(&admin, "jack", "user", None).await;
    let jack = c.login("jack", USER_PASSWORD).await;
    // Failed logins (a password typed as a user name included), then the key paths.
    c.login_reply("jack", "wrong-password-jack")
        .await
        .expect_status(401);
    c.login_reply("typed-password-in-name", "x")
        .await
        .expect_status(401);
    let (key, _) = c
        .create_key(Cred::Bearer(&jack), json!({"name": "k"}))
        .await;
    c.get("/mcp/echo/tools/list", Cred::Key(&key))
        .await
        .expect_status(200);
    c.post(
        "/mcp/echo/tools/call",
        Cred::Bearer(&jack),
        &json!({"name": "echo", "arguments": {"message": "x"}}),
    )
    .await
    .expect_status(200);
    c.get("/mcp/echo/tools/list", Cred::Bearer("bad.token.value"))
        .await;
    c.send(
        "PATCH",
        "/auth/users/jack",
        a,
        Some(&json!({"password": "changed-password-jack"})),
    )
    .await
    .expect_status(200);
    gw.client().get("/gateway/health", Cred::None).await;
    let log = gw.stderr();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    assert!(log.contains("audit"), "audit events are logged: {log}");
    for (what, secret) in [
        ("admin password", ADMIN_PASSWORD),
        ("user password", USER_PASSWORD),
        ("wrong password", "wrong-password-jack"),
        ("new password", "changed-password-jack"),
        ("typed-in-name password", "typed-password-in-name"),
        ("API key secret", key_secret(&key)),
        ("admin JWT", &admin),
        ("user JWT", &jack),
        ("JWT signature", jack.rsplit('.').next().unwrap()),
        ("JWT secret", JWT_SECRET),
    ] {
        assert!(!log.contains(secret), "the {what} is in the log");
    }
}

#[tokio::test]
async fn client_credentials_never_reach_upstreams() {
    init_tracing();
    let echo = EchoHttp::spawn(ECHO, 0, "tapped").await;
    let tap = Tap::start(echo.port).await;
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    // The instance's own upstream credential is configured separately.
    let body = json!({
        "template_name": "echo",
        "endpoint": format!("http://127.0.0.1:{}/mcp", tap.port),
        "headers": {"X-Upstream-Token": "configured-upstream-secret"},
    });
    let instance = c
        .post("/gateway/register", Cred::Bearer(&admin), &body)
        .await
        .expect_status(201);
    assert_eq!(
        instance["headers"]["X-Upstream-Token"], "<redacted>",
        "{instance}"
    );
    let (key, _) = c
        .create_key(Cred::Bearer(&admin), json!({"name": "k", "role": "user"}))
        .await;
    let call = json!({"name": "echo", "arguments": {"message": "hi"}});
    for cred in [Cred::Bearer(&admin), Cred::Key(&key), Cred::Bearer(&key)] {
        c.get("/mcp/echo/tools/list", cred).await.expect_status(200);
        c.post("/mcp/echo/tools/call", cred, &call)
            .await
            .expect_status(200);
        c.get("/mcp/echo/health", cred).await.expect_status(200);
    }
    let sent = tap.sent().await;
    let lower = sent.to_ascii_lowercase();
    assert!(
        lower.contains("tools/call"),
        "the tap saw the traffic: {sent}"
    );
    assert!(
        sent.contains("configured-upstream-secret"),
        "the configured header is sent"
    );
    assert!(
        !lower.contains("authorization:"),
        "an Authorization header reached the upstream:\n{sent}"
    );
    assert!(
        !lower.contains("x-api-key"),
        "an X-API-Key header reached the upstream:\n{sent}"
    );
    assert!(
        !sent.contains(&admin) && !sent.contains(key_secret(&key)),
        "a credential reached the upstream"
    );
    let registry = c.get("/gateway/registry", Cred::Bearer(&admin)).await.text;
    assert!(
        !registry.contains("configured-upstream-secret"),
        "{registry}"
    );
}

#[tokio::test]
async fn the_first_start_creates_an_admin_once() {
    init_tracing();
    let db = TempDb::new();
    // No MCP_GATEWAY_ADMIN_PASSWORD: a generated password is printed on stderr.
    let gw = AuthGateway::builder(GATEWAY)
        .bare()
        .arg("--auth")
        .env("MCP_GATEWAY_BCRYPT_COST", "4")
        .database(&db)
        .start()
        .await;
    let log = gw.stderr();
    let password = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Password: "))
        .unwrap_or_else(|| panic!("no generated password on stderr:\n{log}"))
        .to_owned();
    assert!(password.len() >= 20, "{password}");
    let token = gw.client().login("admin", &password).await;
    let me = gw
        .client()
        .get("/auth/me", Cred::Bearer(&token))
        .await
        .expect_status(200);
    assert_eq!(me["role"], "admin");
    gw.stop().await;
    // A restart on the same database keeps the user and prints nothing.
    let gw = AuthGateway::builder(GATEWAY)
        .bare()
        .arg("--auth")
        .env("MCP_GATEWAY_BCRYPT_COST", "4")
        .database(&db)
        .start()
        .await;
    assert!(!gw.stderr().contains("Password:"), "{}", gw.stderr());
    // Its tokens survive the restart: the generated JWT key is in the database.
    gw.client()
        .get("/auth/me", Cred::Bearer(&token))
        .await
        .expect_status(200);
    gw.client().login("admin", &password).await;
}

#[tokio::test]
async fn without_auth_only_loopback_is_allowed() {
    init_tracing();
    let refused = AuthGateway::builder(GATEWAY)
        .bare()
        .arg("--host")
        .arg("0.0.0.0")
        .try_start()
        .await;
    let Err((code, stderr)) = refused else {
        panic!("a non-loopback gateway without auth started")
    };
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("refusing to listen on 0.0.0.0"), "{stderr}");
    assert!(stderr.contains("--insecure-no-auth"), "{stderr}");
    // The explicit escape hatch, and auth, both work; so does plain loopback.
    for extra in [["--insecure-no-auth"], ["--auth"]] {
        let mut builder = AuthGateway::builder(GATEWAY)
            .bare()
            .env("MCP_GATEWAY_BCRYPT_COST", "4")
            .arg("--host")
            .arg("0.0.0.0");
        for a in extra {
            builder = builder.arg(a);
        }
        let gw = builder.start().await;
        assert!(gw.addr.ip().is_unspecified());
        gw.client()
            .get("/gateway/health", Cred::None)
            .await
            .expect_status(200);
    }
    // Without auth, on loopback, nothing asks for credentials (today's behaviour).
    let gw = AuthGateway::builder(GATEWAY).bare().start().await;
    gw.client()
        .get("/gateway/registry", Cred::None)
        .await
        .expect_status(200);
    gw.client()
        .get("/auth/me", Cred::None)
        .await
        .expect_error(404, "auth_disabled");
}

#[tokio::test]
async fn the_audit_log_records_who_did_what() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    let a = Cred::Bearer(&admin);
    c.create_user(&admin, "kim", "user", None).await;
    let kim = c.login("kim", USER_PASSWORD).await;
    let (_, key_id) = c.create_key(Cred::Bearer(&kim), json!({"name": "k"})).await;
    c.send(
        "DELETE",
        &format!("/auth/api-keys/{key_id}"),
        Cred::Bearer(&kim),
        None,
    )
    .await
    .expect_status(200);
    let denied = c.send("GET", "/auth/users", Cred::Bearer(&kim), None).await;
    assert_eq!(denied.status, 403);
    let events = |query: &str| {
        let c = c.clone();
        let query = query.to_owned();
        let admin = admin.clone();
        async move {
            c.get(&format!("/auth/audit?{query}"), Cred::Bearer(&admin))
                .await
                .expect_status(200)
        }
    };
    let page = events("actor=user:kim").await;
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["authz.deny", "api_key.revoke", "api_key.create", "login"],
        "{page}"
    );
    let deny = &page["events"][0];
    assert_eq!(deny["outcome"], "denied");
    assert_eq!(deny["target"], "GET /auth/users");
    assert_eq!(deny["client_addr"], "127.0.0.1");
    assert!(
        deny["request_id"].as_str().is_some_and(|r| !r.is_empty()),
        "{deny}"
    );
    let created = events("action=user.create").await;
    assert_eq!(created["events"][0]["actor"], "user:admin");
    assert_eq!(created["events"][0]["target"], "kim");
    assert_eq!(
        events("action=user.create&outcome=failure").await["count"],
        0
    );
    let registered = c
        .post(
            "/gateway/register",
            a,
            &json!({"template_name": "t", "endpoint": "http://127.0.0.1:9/mcp"}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text);
    let reg = events("action=instance.register").await;
    assert_eq!(reg["events"][0]["target"], "t", "{reg}");
    c.send("DELETE", "/gateway/deregister/t/t-1", a, None)
        .await
        .expect_status(200);
    let dereg = events("action=instance.deregister").await;
    assert_eq!(
        dereg["events"][0]["target"], "DELETE /gateway/deregister/t/t-1",
        "{dereg}"
    );
    assert_eq!(dereg["events"][0]["outcome"], "success");
}
