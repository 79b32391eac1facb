//! The attack suite: the real gateway with `--auth`, attacked over HTTP. Each numbered
//! case is one attack (or the control proving the attack is the only difference).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gateway_e2e::{
    EchoHttp, Reply,
    auth::{
        ADMIN_PASSWORD, AuthGateway, AuthGatewayBuilder, Client, Cred, JWT_SECRET, USER_PASSWORD,
        claims, forge_jwt,
    },
    init_tracing,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");

/// A gateway with two templates (`echo`, `other`) on one echo fixture, logged in as admin.
struct Env {
    _gw: AuthGateway,
    c: Client,
    admin: String,
    echo: EchoHttp,
}

async fn setup() -> Env {
    setup_with(AuthGateway::builder(GATEWAY)).await
}

async fn setup_with(builder: AuthGatewayBuilder) -> Env {
    init_tracing();
    let gw = builder.start().await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    let echo = EchoHttp::spawn(ECHO, 0, "echo-1").await;
    for template in ["echo", "other"] {
        let body = json!({"template_name": template, "endpoint": echo.url()});
        c.post("/gateway/register", Cred::Bearer(&admin), &body)
            .await
            .expect_status(201);
    }
    Env {
        _gw: gw,
        c,
        admin,
        echo,
    }
}

impl Env {
    /// Creates a user and logs it in.
    async fn user(&self, name: &str, templates: Option<&[&str]>) -> String {
        self.c
            .create_user(&self.admin, name, "user", templates)
            .await;
        self.c.login(name, USER_PASSWORD).await
    }
}

#[track_caller]
fn unauthorized(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 401, "{case}: {}", reply.text);
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer realm="),
        "{case}: challenge {challenge:?}"
    );
}

#[track_caller]
fn forbidden(reply: &Reply, case: &str, scope: Option<&str>) {
    assert_eq!(reply.status, 403, "{case}: {}", reply.text);
    if let Some(scope) = scope {
        let body = reply.json();
        assert_eq!(body["error"], "insufficient_scope", "{case}: {body}");
        assert_eq!(body["required_scope"], scope, "{case}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains(scope),
            "{case}: the message names the scope: {body}"
        );
        let challenge = reply.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("insufficient_scope") && challenge.contains(scope),
            "{case}: {challenge}"
        );
    }
}

const TOOLS_LIST: &str = "/mcp/echo/tools/list";

fn call_echo() -> Value {
    json!({"name": "echo", "arguments": {"message": "hi"}})
}

#[tokio::test]
async fn missing_and_garbage_credentials_get_401() {
    let env = setup().await;
    let c = &env.c;
    // 1. No credentials, on every kind of protected route.
    for (method, path) in [
        ("GET", TOOLS_LIST),
        ("POST", "/mcp/echo/tools/call"),
        ("GET", "/gateway/registry"),
        ("GET", "/gateway/stats"),
        ("POST", "/gateway/register"),
        ("GET", "/auth/me"),
        ("GET", "/auth/users"),
        ("GET", "/no/such/route"),
    ] {
        let reply = c.send(method, path, Cred::None, Some(&json!({}))).await;
        unauthorized(&reply, &format!("1. no credentials on {method} {path}"));
        assert_eq!(reply.json()["error"], "unauthorized");
    }
    // 2. A garbage bearer token.
    let garbage = c.get(TOOLS_LIST, Cred::Bearer("garbage.token.here")).await;
    unauthorized(&garbage, "2. garbage token");
    assert!(
        garbage
            .header("www-authenticate")
            .unwrap()
            .contains("invalid_token"),
        "2. the challenge says invalid_token"
    );
    // 3. Another scheme.
    let basic = c
        .get(
            TOOLS_LIST,
            Cred::Header("authorization", "Basic YWRtaW46YWRtaW4="),
        )
        .await;
    unauthorized(&basic, "3. Basic credentials");
    // 4. A garbage API key.
    unauthorized(
        &c.get(TOOLS_LIST, Cred::Key("not-a-key")).await,
        "4. garbage key",
    );
    // 5. A well-formed key with an unknown id.
    let unknown = format!("mcpgw_0123456789abcdef_{}", "A".repeat(43));
    unauthorized(
        &c.get(TOOLS_LIST, Cred::Key(&unknown)).await,
        "5. unknown key id",
    );
    // 6. A real key id with a wrong secret.
    let (key, _) = c
        .create_key(
            Cred::Bearer(&env.admin),
            json!({"name": "k", "role": "user"}),
        )
        .await;
    let mut wrong = key[..key.len() - 4].to_owned();
    wrong.push_str(if key.ends_with("AAAA") {
        "BBBB"
    } else {
        "AAAA"
    });
    let wrong_secret = c.get(TOOLS_LIST, Cred::Key(&wrong)).await;
    unauthorized(&wrong_secret, "6. right id, wrong secret");
    // The control: the key itself works.
    c.get(TOOLS_LIST, Cred::Key(&key)).await.expect_status(200);
    // 7. The answers never say which part was wrong.
    let detail = |r: &Reply| r.json()["detail"].as_str().unwrap().to_owned();
    assert_eq!(detail(&garbage), detail(&wrong_secret), "7. same message");
    assert_eq!(
        detail(&c.get(TOOLS_LIST, Cred::Key(&unknown)).await),
        detail(&wrong_secret),
        "7. same message"
    );
}

#[tokio::test]
async fn forged_and_stale_tokens_are_rejected() {
    let env = setup().await;
    let c = &env.c;
    let secret = JWT_SECRET.as_bytes();
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let none_header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let admin_claims = URL_SAFE_NO_PAD.encode(claims("admin", json!({})).to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let alice = env.user("alice", None).await;
    let parts: Vec<&str> = alice.split('.').collect();
    let cases = [
        (
            "8. alg none, no signature",
            format!("{none_header}.{admin_claims}."),
        ),
        (
            "9. alg none with a signature",
            format!("{none_header}.{admin_claims}.{}", parts[2]),
        ),
        (
            "10. HS256 signed with a wrong secret",
            forge_jwt(
                b"wrong-secret-wrong-secret-wrong-secret!!",
                &hs256,
                &claims("admin", json!({})),
            ),
        ),
        (
            "11. HS512 with the right secret (wrong algorithm)",
            forge_jwt(
                secret,
                &json!({"alg": "HS512", "typ": "JWT"}),
                &claims("admin", json!({})),
            ),
        ),
        (
            "12. expired",
            forge_jwt(
                secret,
                &hs256,
                &claims("admin", json!({"iat": now - 7200, "exp": now - 3600})),
            ),
        ),
        (
            "13. wrong audience",
            forge_jwt(
                secret,
                &hs256,
                &claims("admin", json!({"aud": "another-service"})),
            ),
        ),
        (
            "14. wrong issuer",
            forge_jwt(secret, &hs256, &claims("admin", json!({"iss": "evil"}))),
        ),
        (
            "15. no expiry",
            forge_jwt(secret, &hs256, &claims("admin", json!({"exp": null}))),
        ),
        (
            "16. alice's signature on an admin payload",
            format!("{}.{admin_claims}.{}", parts[0], parts[2]),
        ),
        (
            "17. a user that does not exist",
            forge_jwt(secret, &hs256, &claims("ghost", json!({}))),
        ),
    ];
    for (case, token) in &cases {
        unauthorized(&c.get("/gateway/registry", Cred::Bearer(token)).await, case);
    }
    // The control: the same claims, signed properly, are accepted, so each case above
    // failed for its own reason only. (`ver` must be the admin's current token version,
    // which starts at a random value: read it from a real token.)
    let real = env.admin.split('.').nth(1).unwrap();
    let real: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(real).unwrap()).unwrap();
    let good = forge_jwt(
        secret,
        &hs256,
        &claims("admin", json!({"ver": real["ver"]})),
    );
    c.get("/gateway/registry", Cred::Bearer(&good))
        .await
        .expect_status(200);
    c.get("/auth/me", Cred::Bearer(&alice))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn tokens_die_with_their_user_state() {
    let env = setup().await;
    let c = &env.c;
    let admin = Cred::Bearer(&env.admin);
    // 18. A disabled user's token (and login).
    let dora = env.user("dora", None).await;
    c.get("/auth/me", Cred::Bearer(&dora))
        .await
        .expect_status(200);
    c.send(
        "PATCH",
        "/auth/users/dora",
        admin,
        Some(&json!({"active": false})),
    )
    .await
    .expect_status(200);
    unauthorized(
        &c.get("/auth/me", Cred::Bearer(&dora)).await,
        "18. disabled user",
    );
    unauthorized(
        &c.login_reply("dora", USER_PASSWORD).await,
        "18. disabled user login",
    );
    // 19. A token issued before a password change.
    let erin = env.user("erin", None).await;
    c.send(
        "PATCH",
        "/auth/users/erin",
        admin,
        Some(&json!({"password": "a-brand-new-password"})),
    )
    .await
    .expect_status(200);
    unauthorized(
        &c.get("/auth/me", Cred::Bearer(&erin)).await,
        "19. after password change",
    );
    unauthorized(
        &c.login_reply("erin", USER_PASSWORD).await,
        "19. old password",
    );
    let erin = c.login("erin", "a-brand-new-password").await;
    c.get("/auth/me", Cred::Bearer(&erin))
        .await
        .expect_status(200);
    // 20. A token issued before a role change (an admin demoted to user).
    c.create_user(&env.admin, "fred", "admin", None).await;
    let fred = c.login("fred", USER_PASSWORD).await;
    c.get("/auth/users", Cred::Bearer(&fred))
        .await
        .expect_status(200);
    c.send(
        "PATCH",
        "/auth/users/fred",
        admin,
        Some(&json!({"role": "user"})),
    )
    .await
    .expect_status(200);
    unauthorized(
        &c.get("/auth/users", Cred::Bearer(&fred)).await,
        "20. after demotion",
    );
    // 21. A deleted user's token.
    let gina = env.user("gina", None).await;
    c.send("DELETE", "/auth/users/gina", admin, None)
        .await
        .expect_status(200);
    unauthorized(
        &c.get("/auth/me", Cred::Bearer(&gina)).await,
        "21. deleted user",
    );
    // The last admin can be neither deleted nor demoted.
    c.send("DELETE", "/auth/users/admin", admin, None)
        .await
        .expect_error(409, "last_admin");
}

#[tokio::test]
async fn api_keys_are_checked_on_every_request() {
    let env = setup().await;
    let c = &env.c;
    let alice = env.user("alice", None).await;
    let as_alice = Cred::Bearer(&alice);
    // The control: a key works as X-API-Key and as a bearer token.
    let (key, id) = c.create_key(as_alice, json!({"name": "app"})).await;
    c.get(TOOLS_LIST, Cred::Key(&key)).await.expect_status(200);
    c.get(TOOLS_LIST, Cred::Bearer(&key))
        .await
        .expect_status(200);
    // 22. A revoked key.
    c.send("DELETE", &format!("/auth/api-keys/{id}"), as_alice, None)
        .await
        .expect_status(200);
    unauthorized(&c.get(TOOLS_LIST, Cred::Key(&key)).await, "22. revoked key");
    unauthorized(
        &c.get(TOOLS_LIST, Cred::Bearer(&key)).await,
        "22. revoked key as bearer",
    );
    // 23. An expired key.
    let (short, _) = c
        .create_key(as_alice, json!({"name": "short", "expires_in": 1}))
        .await;
    c.get(TOOLS_LIST, Cred::Key(&short))
        .await
        .expect_status(200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    unauthorized(
        &c.get(TOOLS_LIST, Cred::Key(&short)).await,
        "23. expired key",
    );
    // 24. A key with too few scopes: listing is allowed, calling is not.
    let (reader, _) = c
        .create_key(as_alice, json!({"name": "reader", "scopes": ["mcp:read"]}))
        .await;
    c.get(TOOLS_LIST, Cred::Key(&reader))
        .await
        .expect_status(200);
    let call = c
        .post("/mcp/echo/tools/call", Cred::Key(&reader), &call_echo())
        .await;
    forbidden(&call, "24. mcp:read key calling a tool", Some("mcp:call"));
    let registry = c.get("/gateway/registry", Cred::Key(&reader)).await;
    forbidden(
        &registry,
        "24. mcp:read key reading the registry",
        Some("gateway:read"),
    );
    // 25. A key whose owner is disabled.
    let (owned, _) = c.create_key(as_alice, json!({"name": "owned"})).await;
    c.get(TOOLS_LIST, Cred::Key(&owned))
        .await
        .expect_status(200);
    c.send(
        "PATCH",
        "/auth/users/alice",
        Cred::Bearer(&env.admin),
        Some(&json!({"active": false})),
    )
    .await
    .expect_status(200);
    unauthorized(
        &c.get(TOOLS_LIST, Cred::Key(&owned)).await,
        "25. disabled owner",
    );
}

#[tokio::test]
async fn users_cannot_reach_admin_functions() {
    let env = setup().await;
    let c = &env.c;
    let bob = env.user("bob", None).await;
    let as_bob = Cred::Bearer(&bob);
    // The control: bob can use MCP and read the registry.
    c.post("/mcp/echo/tools/call", as_bob, &call_echo())
        .await
        .expect_status(200);
    c.get("/gateway/registry", as_bob).await.expect_status(200);
    // 26. Admin endpoints.
    forbidden(
        &c.get("/auth/users", as_bob).await,
        "26. list users",
        Some("admin"),
    );
    forbidden(
        &c.get("/auth/audit", as_bob).await,
        "26. audit log",
        Some("admin"),
    );
    // 27. Registering, deregistering, changing settings.
    let register = json!({"template_name": "evil", "endpoint": env.echo.url()});
    forbidden(
        &c.post("/gateway/register", as_bob, &register).await,
        "27. user registering an instance",
        Some("gateway:write"),
    );
    forbidden(
        &c.send("DELETE", "/gateway/deregister/echo/echo-1", as_bob, None)
            .await,
        "27. user deregistering",
        Some("gateway:write"),
    );
    forbidden(
        &c.send(
            "PUT",
            "/gateway/templates/echo/load-balancer",
            as_bob,
            Some(&json!({"strategy": "random"})),
        )
        .await,
        "27. user changing settings",
        Some("gateway:write"),
    );
    // 28. Creating an admin, or promoting oneself.
    let mallory = json!({"username": "mallory", "password": USER_PASSWORD, "role": "admin"});
    forbidden(
        &c.post("/auth/users", as_bob, &mallory).await,
        "28. user creating an admin",
        Some("admin"),
    );
    forbidden(
        &c.send(
            "PATCH",
            "/auth/users/bob",
            as_bob,
            Some(&json!({"role": "admin"})),
        )
        .await,
        "28. user promoting itself",
        Some("admin"),
    );
    // 29. Minting a key with more than one has, or for someone else.
    let admin_key = c
        .post(
            "/auth/api-keys",
            as_bob,
            &json!({"name": "x", "role": "admin"}),
        )
        .await;
    forbidden(
        &admin_key,
        "29. user minting an admin key",
        Some("gateway:write"),
    );
    let scoped = c
        .post(
            "/auth/api-keys",
            as_bob,
            &json!({"name": "x", "scopes": ["gateway:write"]}),
        )
        .await;
    forbidden(
        &scoped,
        "29. user minting a gateway:write key",
        Some("gateway:write"),
    );
    let for_admin = c
        .post(
            "/auth/api-keys",
            as_bob,
            &json!({"name": "x", "owner": "admin"}),
        )
        .await;
    forbidden(
        &for_admin,
        "29. user minting a key for admin",
        Some("admin"),
    );
    let greedy = c
        .post(
            "/auth/api-keys",
            as_bob,
            &json!({"name": "x", "rate_limit": 1_000_000}),
        )
        .await;
    forbidden(&greedy, "29. user raising its own rate limit", None);
    // 30. Other users' keys: invisible and irrevocable.
    let (_, admin_key_id) = c
        .create_key(Cred::Bearer(&env.admin), json!({"name": "admin-key"}))
        .await;
    c.send(
        "DELETE",
        &format!("/auth/api-keys/{admin_key_id}"),
        as_bob,
        None,
    )
    .await
    .expect_error(404, "not_found");
    forbidden(
        &c.get("/auth/api-keys?owner=admin", as_bob).await,
        "30. listing admin's keys",
        Some("admin"),
    );
    let own = c.get("/auth/api-keys", as_bob).await.expect_status(200);
    assert_eq!(own["count"], 0, "30. bob sees only his keys: {own}");
}

#[tokio::test]
async fn stdio_registration_needs_admin_and_an_explicit_setting() {
    let stdio = json!({"template_name": "local", "command": ECHO, "args": ["--stdio"]});
    // Default: off.
    let env = setup().await;
    let bob = env.user("bob", None).await;
    // 31. A non-admin registering a stdio command.
    forbidden(
        &env.c
            .post("/gateway/register", Cred::Bearer(&bob), &stdio)
            .await,
        "31. user registering stdio",
        Some("gateway:write"),
    );
    // 32. Even an admin, while allow_stdio_registration is off.
    let refused = env
        .c
        .post("/gateway/register", Cred::Bearer(&env.admin), &stdio)
        .await;
    let body = refused.expect_error(403, "forbidden");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION"),
        "32. the refusal says how to enable it: {body}"
    );
    // An admin API key with every scope is refused the same way.
    let (admin_key, _) = env
        .c
        .create_key(
            Cred::Bearer(&env.admin),
            json!({"name": "ops", "role": "admin"}),
        )
        .await;
    env.c
        .post("/gateway/register", Cred::Key(&admin_key), &stdio)
        .await
        .expect_error(403, "forbidden");

    // With the setting on: admins only.
    let env =
        setup_with(AuthGateway::builder(GATEWAY).env("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "1"))
            .await;
    env.c
        .post("/gateway/register", Cred::Bearer(&env.admin), &stdio)
        .await
        .expect_status(201);
    env.c.create_user(&env.admin, "ops", "user", None).await;
    // A user with gateway:write cannot exist (role user), so try a user token.
    let ops = env.c.login("ops", USER_PASSWORD).await;
    let again = json!({"template_name": "local2", "command": ECHO, "args": ["--stdio"]});
    forbidden(
        &env.c
            .post("/gateway/register", Cred::Bearer(&ops), &again)
            .await,
        "32. user registering stdio with the setting on",
        Some("gateway:write"),
    );
}

#[tokio::test]
async fn registered_endpoints_can_be_restricted_by_an_allowlist() {
    init_tracing();
    let echo = EchoHttp::spawn(ECHO, 0, "allowed").await;
    let gw = AuthGateway::builder(GATEWAY)
        .env(
            "MCP_GATEWAY_ENDPOINT_ALLOWLIST",
            format!("127.0.0.1:{}", echo.port),
        )
        .start()
        .await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    // 33. Endpoints outside the allowlist (cloud metadata, another local port).
    for (case, endpoint) in [
        (
            "33. metadata address",
            "http://169.254.169.254/latest/meta-data".to_owned(),
        ),
        (
            "33. another port",
            format!("http://127.0.0.1:{}/mcp", echo.port + 1),
        ),
        (
            "33. userinfo trick",
            format!("http://127.0.0.1:{}@10.0.0.1/mcp", echo.port),
        ),
    ] {
        let body = json!({"template_name": "t", "endpoint": endpoint});
        let reply = c
            .post("/gateway/register", Cred::Bearer(&admin), &body)
            .await;
        // The userinfo trick is already refused as an invalid URL (400).
        assert!(matches!(reply.status, 400 | 403), "{case}: {}", reply.text);
        if reply.status == 403 {
            assert!(reply.text.contains("ALLOWLIST"), "{case}: {}", reply.text);
        }
    }
    let registry = c
        .get("/gateway/registry", Cred::Bearer(&admin))
        .await
        .expect_status(200);
    assert_eq!(
        registry["total_instances"], 0,
        "33. nothing was registered: {registry}"
    );
    let body = json!({"template_name": "t", "endpoint": echo.url()});
    c.post("/gateway/register", Cred::Bearer(&admin), &body)
        .await
        .expect_status(201);
}

#[tokio::test]
async fn template_allowlists_restrict_the_rest_facade() {
    let env = setup().await;
    let c = &env.c;
    let carol = env.user("carol", Some(&["echo"])).await;
    let as_carol = Cred::Bearer(&carol);
    c.get(TOOLS_LIST, as_carol).await.expect_status(200);
    c.post("/mcp/echo/tools/call", as_carol, &call_echo())
        .await
        .expect_status(200);
    // 34. A template outside the allowlist, plainly and percent-encoded.
    for path in [
        "/mcp/other/tools/list",
        "/mcp/%6Fther/tools/list",
        "/mcp/other/health",
    ] {
        let reply = c.get(path, as_carol).await;
        reply.expect_error(403, "template_forbidden");
    }
    c.post("/mcp/other/tools/call", as_carol, &call_echo())
        .await
        .expect_error(403, "template_forbidden");
    // 35. A key cannot widen it.
    c.post(
        "/auth/api-keys",
        as_carol,
        &json!({"name": "k", "templates": ["other"]}),
    )
    .await
    .expect_error(403, "forbidden");
    let (key, _) = c.create_key(as_carol, json!({"name": "k"})).await;
    c.get("/mcp/other/tools/list", Cred::Key(&key))
        .await
        .expect_error(403, "template_forbidden");
    c.get(TOOLS_LIST, Cred::Key(&key)).await.expect_status(200);
    let me = c.get("/auth/me", Cred::Key(&key)).await.expect_status(200);
    assert_eq!(me["templates"], json!(["echo"]), "{me}");
}

#[tokio::test]
async fn brute_force_logins_are_slowed_and_audited() {
    let env = setup().await;
    let c = &env.c;
    c.create_user(&env.admin, "hank", "user", None).await;
    // 36. Five wrong guesses are answered 401, then the name is locked with back-off.
    for i in 0..5 {
        let reply = c.login_reply("hank", &format!("guess-number-{i}")).await;
        reply.expect_error(401, "invalid_credentials");
    }
    c.login_reply("hank", "guess-number-5")
        .await
        .expect_status(401);
    let locked = c.login_reply("hank", USER_PASSWORD).await;
    let body = locked.expect_error(429, "too_many_attempts");
    let retry: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "36. Retry-After {retry}: {body}");
    // The OAuth2 form is throttled the same way.
    let form = c
        .post_form(
            "/auth/login",
            &format!("grant_type=password&username=hank&password={USER_PASSWORD}"),
        )
        .await;
    assert_eq!(form.status, 429, "36. form login: {}", form.text);
    // After the back-off the right password works again.
    tokio::time::sleep(Duration::from_secs(retry + 1)).await;
    c.login("hank", USER_PASSWORD).await;
    // 37. Unknown users fail exactly like wrong passwords.
    let unknown = c.login_reply("nobody-here", USER_PASSWORD).await;
    let wrong = c.login_reply("admin", "wrong-password-x").await;
    assert_eq!(
        (unknown.status, unknown.json()["detail"].clone()),
        (wrong.status, wrong.json()["detail"].clone()),
        "37. the same answer"
    );
    // Failures are audited, without the guessed passwords.
    let audit = c
        .get(
            "/auth/audit?action=login&outcome=failure&limit=50",
            Cred::Bearer(&env.admin),
        )
        .await
        .expect_status(200);
    let events = audit["events"].as_array().unwrap();
    assert!(events.len() >= 7, "{audit}");
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "hank" && e["client_addr"] == "127.0.0.1")
    );
    assert!(!audit.to_string().contains("guess-number"), "{audit}");
    assert!(
        events.iter().any(|e| e["target"] == "<unknown user>"),
        "{audit}"
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_headers() {
    let env = setup().await;
    let c = &env.c;
    // 38. A key limited to 3 requests per minute.
    let (key, _) = c
        .create_key(
            Cred::Bearer(&env.admin),
            json!({"name": "slow", "rate_limit": 3}),
        )
        .await;
    for remaining in ["2", "1", "0"] {
        let ok = c.get(TOOLS_LIST, Cred::Key(&key)).await;
        assert_eq!(ok.status, 200, "{}", ok.text);
        assert_eq!(ok.header("x-ratelimit-limit"), Some("3"));
        assert_eq!(ok.header("x-ratelimit-remaining"), Some(remaining));
        assert!(ok.header("x-ratelimit-reset").is_some());
    }
    let refused = c.get(TOOLS_LIST, Cred::Key(&key)).await;
    refused.expect_error(429, "rate_limited");
    assert_eq!(refused.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(refused.header("x-ratelimit-remaining"), Some("0"));
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one request every 20 s: Retry-After {retry}"
    );
    let reset: u64 = refused
        .header("x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset >= retry, "reset {reset} < retry {retry}");
    // Limits are per principal: the admin's own token is unaffected.
    c.get(TOOLS_LIST, Cred::Bearer(&env.admin))
        .await
        .expect_status(200);
}

#[tokio::test]
async fn public_endpoints_stay_public() {
    let env = setup().await;
    let c = &env.c;
    for path in [
        "/gateway/health",
        "/openapi.json",
        "/redoc",
        "/redoc/redoc.standalone.js",
    ] {
        let reply = c.get(path, Cred::None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    }
    let docs = c.get("/docs/", Cred::None).await;
    assert_eq!(docs.status, 200, "/docs/");
    // The document lists the auth endpoints and both security schemes.
    let doc = c.get("/openapi.json", Cred::None).await.json();
    assert!(doc["paths"]["/auth/login"]["post"].is_object());
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "{}",
        doc["components"]
    );
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    // A health path under /mcp is not public.
    unauthorized(
        &c.get("/mcp/echo/health", Cred::None).await,
        "template health",
    );
}
