//! The gateway as an OAuth 2.1 resource server for a real OpenID provider (the certified
//! `oidc-provider` package, `tests/oidc/provider.mjs`): tokens it issues (client
//! credentials, authorization code + PKCE played by the test's browser) reach tools over
//! REST and the MCP endpoints; forged, stale and misdirected tokens get 401 with the RFC
//! 9728 challenge; key rotation is picked up; the protected resource metadata is served;
//! the gateway's own tokens and API keys keep working; claims map to roles and templates;
//! an unreachable provider fails closed for its tokens only. (Clients: `oauth_clients.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gateway_e2e::{
    Reply,
    auth::{ADMIN_PASSWORD, AuthGateway, Cred, JWT_SECRET, forge_jwt},
    init_tracing,
    oidc::{ADMIN_SERVICE, OAuthEnv, OidcProvider, SERVICE, claims_of, form, header_of},
    wait_until,
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const LEGACY: &str = "2025-06-18";
const MCP_SCOPES: &str = "mcp:read mcp:call";

/// Asserts a 401 whose challenge names `metadata`, the scopes to request (`""`: none)
/// and `invalid_token` when `invalid`.
#[track_caller]
fn challenged(r: &Reply, case: &str, invalid: bool, scope: &str, metadata: &str) {
    assert_eq!(r.status, 401, "{case}: {}", r.text);
    let error = if invalid {
        ", error=\"invalid_token\""
    } else {
        ""
    };
    let scope = if scope.is_empty() {
        String::new()
    } else {
        format!(", scope=\"{scope}\"")
    };
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        format!("Bearer realm=\"mcp-gateway\"{error}{scope}, resource_metadata=\"{metadata}\""),
        "{case}"
    );
    let code = if invalid {
        "invalid_token"
    } else {
        "unauthorized"
    };
    assert_eq!(r.json()["error"], code, "{case}: {}", r.text);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn client_credentials_tokens_reach_tools_through_rest_and_mcp() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let token = env.service_token(MCP_SCOPES).await;
    let claims = claims_of(&token);
    assert_eq!(claims["aud"], env.resource(), "{claims}");
    assert_eq!(claims["iss"], env.provider.issuer);

    // REST facade.
    let body = env.call_echo("alpha", &token).await.expect_status(200);
    assert_eq!(body["content"][0]["text"], "hi", "{body}");
    // Native MCP endpoint, legacy session.
    let mut alpha = env.mcp("/mcp/alpha", &token);
    alpha.initialize(LEGACY).await;
    let ok = alpha
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(ok["result"]["content"][0]["text"], "hi", "{ok}");
    // Aggregated endpoint, stateless 2026-07-28.
    let mut all = env.mcp("/mcp", &token);
    let r = all
        .modern(
            "tools/call",
            json!({"name": "alpha__echo", "arguments": {"message": "hi"}}),
            Some("alpha__echo"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("\"hi\""), "{}", r.text);

    // Who the gateway thinks it is.
    let me = env
        .c
        .get("/auth/me", Cred::Bearer(&token))
        .await
        .expect_status(200);
    assert_eq!(me["kind"], "oauth", "{me}");
    assert_eq!(me["username"], "test:gw-service");
    assert_eq!(me["role"], "user");
    assert_eq!(me["scopes"], json!(["mcp:read", "mcp:call"]));
    // An identity provider's user owns no API keys.
    env.c
        .post(
            "/auth/api-keys",
            Cred::Bearer(&token),
            &json!({"name": "k"}),
        )
        .await
        .expect_error(403, "forbidden");
    // The audit log names the identity: a denied admin call by the token shows up.
    env.c
        .get("/auth/users", Cred::Bearer(&token))
        .await
        .expect_error(403, "insufficient_scope");
    wait_until("the audit event", Duration::from_secs(10), || async {
        let page = env
            .c
            .get("/auth/audit", Cred::Bearer(&env.admin))
            .await
            .expect_status(200);
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "oidc:test:gw-service" && e["action"] == "authz.deny")
    })
    .await;

    // A token for one MCP endpoint (RFC 8707 resource = its URL) works there only.
    let alpha_only = env
        .provider
        .client_credentials(
            SERVICE,
            &format!("{}/mcp/alpha", env.resource()),
            MCP_SCOPES,
        )
        .await;
    env.call_echo("alpha", &alpha_only).await.expect_status(200);
    let r = env.call_echo("beta", &alpha_only).await;
    challenged(
        &r,
        "alpha's token at beta",
        true,
        "mcp:call",
        &env.metadata_url("/mcp/beta"),
    );
    let r = env
        .c
        .get("/gateway/templates", Cred::Bearer(&alpha_only))
        .await;
    challenged(
        &r,
        "alpha's token on the management API",
        true,
        "gateway:read",
        &env.metadata_url(""),
    );

    // A token of the admin client maps to the admin role through its `groups` claim.
    let admin_token = env
        .provider
        .client_credentials(ADMIN_SERVICE, &env.resource(), "admin mcp:read")
        .await;
    let users = env
        .c
        .get("/auth/users", Cred::Bearer(&admin_token))
        .await
        .expect_status(200);
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "admin")
    );
}

#[tokio::test]
async fn a_missing_scope_gets_an_insufficient_scope_challenge() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let read_only = env.service_token("mcp:read").await;
    let metadata = env.metadata_url("/mcp/alpha");
    env.c
        .get("/mcp/alpha/tools/list", Cred::Bearer(&read_only))
        .await
        .expect_status(200);
    let r = env.call_echo("alpha", &read_only).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        format!(
            "Bearer realm=\"mcp-gateway\", error=\"insufficient_scope\", scope=\"mcp:call\", resource_metadata=\"{metadata}\""
        )
    );
    // The MCP endpoint's own refusal carries the same challenge.
    let mut alpha = env.mcp("/mcp/alpha", &read_only);
    alpha.initialize(LEGACY).await;
    let r = alpha
        .request_reply("tools/call", json!({"name": "echo", "arguments": {}}))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        format!(
            "Bearer realm=\"mcp-gateway\", error=\"insufficient_scope\", scope=\"mcp:call\", resource_metadata=\"{metadata}\""
        )
    );
    // Scopes never exceed the role: `admin` asked by a user-role client is not granted.
    let greedy = env.service_token("admin mcp:read").await;
    let r = env.c.get("/auth/users", Cred::Bearer(&greedy)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.header("www-authenticate").unwrap_or_default(),
        format!(
            "Bearer realm=\"mcp-gateway\", error=\"insufficient_scope\", scope=\"admin\", resource_metadata=\"{}\"",
            env.metadata_url("")
        )
    );
}

#[tokio::test]
async fn the_authorization_code_flow_with_pkce_gives_a_user_token() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    // The test is the browser: authorization request, login form, consent form, and the
    // redirect to the client's loopback address (nothing listens there: the test reads
    // the code from the URL, as the client would).
    let resource = format!("{}/mcp/alpha", env.resource());
    let tokens = env
        .provider
        .authorization_code(
            "alice",
            "http://127.0.0.1:49152/callback",
            &resource,
            &format!("{MCP_SCOPES} offline_access"),
        )
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(access)["sub"], "alice");
    assert_eq!(claims_of(access)["aud"], resource);
    let mut alpha = env.mcp("/mcp/alpha", access);
    alpha.initialize(LEGACY).await;
    let ok = alpha
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(ok["result"]["content"][0]["text"], "hi", "{ok}");
    // The token names alpha's endpoint (RFC 8707): the rest of the gateway refuses it.
    let r = env.c.get("/auth/me", Cred::Bearer(access)).await;
    challenged(
        &r,
        "alpha's token at /auth/me",
        true,
        "",
        &env.metadata_url(""),
    );
    // The refresh token gives a new access token that works as well.
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("offline_access gives a refresh token");
    let refreshed = env
        .provider
        .token_request(&form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "gw-public"),
            ("refresh_token", refresh),
            ("resource", &resource),
        ]))
        .await;
    let again = refreshed["access_token"].as_str().unwrap();
    assert_ne!(again, access);
    env.call_echo("alpha", again).await.expect_status(200);
}

#[tokio::test]
async fn invalid_tokens_get_401_with_the_resource_metadata_challenge() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let iss = env.provider.issuer.clone();
    let good = || {
        json!({"iss": iss, "aud": env.resource(), "sub": "mallory", "scope": MCP_SCOPES,
               "iat": now(), "exp": now() + 300})
    };
    let with = |changes: Value| {
        let mut c = good();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // The control: the provider's key signs a valid token.
    let control = env.provider.sign("rsa", json!({}), good()).await;
    env.call_echo("alpha", &control).await.expect_status(200);
    // ES256 (the provider's EC key) is allowed by default too.
    let ec = env.provider.sign("ec", json!({}), good()).await;
    env.call_echo("alpha", &ec).await.expect_status(200);

    let public_n = env.provider.jwks().await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .unwrap()["n"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = header_of(&control)["kid"].clone();
    let wrong_audience = env
        .provider
        .client_credentials(SERVICE, "http://127.0.0.1:1/elsewhere", MCP_SCOPES)
        .await;
    let cases: Vec<(&str, String)> = vec![
        ("wrong audience (issued by the provider)", wrong_audience),
        (
            "wrong issuer",
            env.provider
                .sign("rsa", json!({}), with(json!({"iss": "http://127.0.0.1:1"})))
                .await,
        ),
        (
            "expired",
            env.provider
                .sign(
                    "rsa",
                    json!({}),
                    with(json!({"iat": now() - 7200, "exp": now() - 3600})),
                )
                .await,
        ),
        (
            "unknown kid",
            env.provider
                .sign("rsa", json!({"kid": "no-such-key"}), good())
                .await,
        ),
        (
            "signed by another key under the provider's kid",
            env.provider.sign("foreign", json!({}), good()).await,
        ),
        (
            "HS256 keyed with the provider's public key",
            forge_jwt(
                public_n.as_bytes(),
                &json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
                &good(),
            ),
        ),
        ("alg none", {
            let head = base64_url(&json!({"alg": "none", "kid": kid}).to_string());
            let body = base64_url(&good().to_string());
            format!("{head}.{body}.")
        }),
    ];
    for (case, token) in &cases {
        for (path, metadata, scope) in [
            ("/mcp/alpha/tools/call", "/mcp/alpha", "mcp:call"),
            ("/mcp/alpha", "/mcp/alpha", MCP_SCOPES),
        ] {
            let r = env
                .c
                .post(
                    path,
                    Cred::Bearer(token),
                    &json!({"name": "echo", "arguments": {"message": "hi"}}),
                )
                .await;
            challenged(
                &r,
                &format!("{case} at {path}"),
                true,
                scope,
                &env.metadata_url(metadata),
            );
        }
    }
    // Without a token: the challenge without `error`.
    let r = env.c.post("/mcp", Cred::None, &json!({})).await;
    challenged(
        &r,
        "no token at /mcp",
        false,
        MCP_SCOPES,
        &env.metadata_url("/mcp"),
    );
    // The control still passes: nothing above poisoned the caches.
    env.call_echo("alpha", &control).await.expect_status(200);
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn a_key_rotation_is_picked_up() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    let old = env.service_token(MCP_SCOPES).await;
    env.call_echo("alpha", &old).await.expect_status(200);

    // A new signing key: tokens under its kid are unknown until the gateway looks again
    // (at once on the unknown kid, at most once a second).
    let rotated = env.provider.rotate("add").await;
    let new = env.service_token(MCP_SCOPES).await;
    assert_eq!(
        header_of(&new)["kid"],
        rotated["current"],
        "the new key signs"
    );
    wait_until(
        "the new key to be accepted",
        Duration::from_secs(20),
        || async { env.call_echo("alpha", &new).await.status == 200 },
    )
    .await;
    env.call_echo("alpha", &old).await.expect_status(200);

    // The old key is withdrawn: its tokens stop working once the keys are refreshed.
    env.provider.rotate("drop").await;
    wait_until(
        "the old key to be refused",
        Duration::from_secs(20),
        || async { env.call_echo("alpha", &old).await.status == 401 },
    )
    .await;
    challenged(
        &env.call_echo("alpha", &old).await,
        "a token of the withdrawn key",
        true,
        "mcp:call",
        &env.metadata_url("/mcp/alpha"),
    );
    env.call_echo("alpha", &new).await.expect_status(200);
}

#[tokio::test]
async fn protected_resource_metadata_is_served() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    for (endpoint, scopes, name) in [
        (
            "",
            json!([
                "mcp:read",
                "mcp:call",
                "gateway:read",
                "gateway:write",
                "admin"
            ]),
            "MCP gateway",
        ),
        (
            "/mcp",
            json!(["mcp:read", "mcp:call"]),
            "MCP gateway (all templates)",
        ),
        (
            "/mcp/alpha",
            json!(["mcp:read", "mcp:call"]),
            "MCP gateway: alpha",
        ),
        // Any well-formed template name: the document says nothing about which exist.
        (
            "/mcp/unknown",
            json!(["mcp:read", "mcp:call"]),
            "MCP gateway: unknown",
        ),
    ] {
        let path = format!("/.well-known/oauth-protected-resource{endpoint}");
        let r = env.c.get(&path, Cred::None).await;
        assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
        let doc = r.expect_status(200);
        assert_eq!(
            doc,
            json!({
                "resource": format!("{}{endpoint}", env.resource()),
                "authorization_servers": [env.provider.issuer],
                "scopes_supported": scopes,
                "bearer_methods_supported": ["header"],
                "resource_name": name,
            }),
            "{path}"
        );
    }
    for missing in [
        "/.well-known/oauth-protected-resource/gateway/registry",
        "/.well-known/oauth-protected-resource/mcp/alpha/tools",
        "/.well-known/oauth-protected-resource/mcp/%20",
    ] {
        env.c
            .get(missing, Cred::None)
            .await
            .expect_error(404, "not_found");
    }
    // The browser guard applies as on every route (DNS rebinding).
    let r = env
        .c
        .get(
            "/.well-known/oauth-protected-resource",
            Cred::Header("host", "evil.example.com"),
        )
        .await;
    r.expect_error(403, "forbidden_host");
    // The advertised authorization server is the provider, with its metadata.
    let discovery: Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        env.provider.issuer
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["issuer"], env.provider.issuer);
}

#[tokio::test]
async fn without_issuers_there_is_no_metadata_and_challenges_are_unchanged() {
    init_tracing();
    let gw = AuthGateway::builder(GATEWAY).start().await;
    let c = gw.client();
    c.get("/.well-known/oauth-protected-resource", Cred::None)
        .await
        .expect_error(404, "not_found");
    let r = c.get("/mcp/alpha/tools/list", Cred::None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"mcp-gateway\"")
    );
}

#[tokio::test]
async fn the_gateways_own_tokens_and_keys_work_beside_the_provider() {
    let Some(env) = OAuthEnv::start(GATEWAY, ECHO, json!({})).await else {
        return;
    };
    // Local JWT (from the setup's login) and an API key.
    env.call_echo("alpha", &env.admin).await.expect_status(200);
    let (key, _) = env
        .c
        .create_key(
            Cred::Bearer(&env.admin),
            json!({"name": "ci", "role": "user"}),
        )
        .await;
    let r = env
        .c
        .post(
            "/mcp/alpha/tools/call",
            Cred::Key(&key),
            &json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    r.expect_status(200);
    env.call_echo("alpha", &key).await.expect_status(200);
    // A token HMAC-signed with the gateway's own secret but claiming the provider as
    // issuer goes to the provider's checks, which never accept HS256.
    let forged = forge_jwt(
        JWT_SECRET.as_bytes(),
        &json!({"alg": "HS256", "typ": "JWT"}),
        &json!({"iss": env.provider.issuer, "aud": env.resource(), "sub": "admin",
                "exp": now() + 300, "scope": MCP_SCOPES}),
    );
    let r = env.call_echo("alpha", &forged).await;
    assert_eq!(r.status, 401, "{}", r.text);
    // And the provider's token is not mistaken for a local user.
    let token = env.service_token(MCP_SCOPES).await;
    let me = env
        .c
        .get("/auth/me", Cred::Bearer(&token))
        .await
        .expect_status(200);
    assert_eq!(me["username"], "test:gw-service");
}

#[tokio::test]
async fn an_unreachable_provider_fails_closed_for_its_tokens_only() {
    init_tracing();
    let Some(provider) = OidcProvider::start().await else {
        return;
    };
    // The gateway trusts an issuer where nothing listens.
    let dead = format!("http://127.0.0.1:{}", gateway_e2e::free_port());
    let gw = AuthGateway::builder(GATEWAY)
        .env(
            "MCP_GATEWAY_OAUTH_ISSUERS",
            json!([{"issuer": dead, "name": "dead", "jwks_min_refetch": 1}]).to_string(),
        )
        .start()
        .await;
    let c = gw.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    c.get("/auth/me", Cred::Bearer(&admin))
        .await
        .expect_status(200);
    let (key, _) = c
        .create_key(Cred::Bearer(&admin), json!({"name": "k"}))
        .await;
    c.get("/auth/me", Cred::Key(&key)).await.expect_status(200);
    // A token naming the dead issuer (signed by a real key): refused, not hung.
    let token = provider
        .sign(
            "rsa",
            json!({}),
            json!({"iss": dead, "aud": gw.base_url(), "sub": "x", "exp": now() + 300}),
        )
        .await;
    let started = std::time::Instant::now();
    let r = c.get("/auth/me", Cred::Bearer(&token)).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("error=\"invalid_token\""),
        "{:?}",
        r.header("www-authenticate")
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    wait_until("the outage in the log", Duration::from_secs(10), || async {
        gw.stderr()
            .contains("cannot load the issuer's signing keys")
    })
    .await;
    // Local credentials still work during the outage.
    c.get("/auth/me", Cred::Bearer(&admin))
        .await
        .expect_status(200);
    c.get("/auth/me", Cred::Key(&key)).await.expect_status(200);
}

#[tokio::test]
async fn roles_and_templates_come_from_claims() {
    let Some(env) = OAuthEnv::start(
        GATEWAY,
        ECHO,
        json!({"default_role": "none", "templates_claim": "templates"}),
    )
    .await
    else {
        return;
    };
    // No mapped role and no default role: refused.
    let plain = env.service_token(MCP_SCOPES).await;
    let r = env.call_echo("alpha", &plain).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.json()["error"], "forbidden");
    // `admin-limited` is in `gateway-admins` (admin) with `templates: ["alpha"]`.
    let tokens = env
        .provider
        .authorization_code(
            "admin-limited",
            "http://localhost:49153/callback",
            &env.resource(),
            &format!("{MCP_SCOPES} admin"),
        )
        .await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["templates"], json!(["alpha"]));
    env.call_echo("alpha", token).await.expect_status(200);
    env.call_echo("beta", token)
        .await
        .expect_error(403, "template_forbidden");
    let me = env
        .c
        .get("/auth/me", Cred::Bearer(token))
        .await
        .expect_status(200);
    assert_eq!(me["username"], "test:admin-limited", "{me}");
    assert_eq!(me["role"], "admin", "{me}");
    assert_eq!(me["templates"], json!(["alpha"]));
    env.c
        .get("/auth/users", Cred::Bearer(token))
        .await
        .expect_status(200);
}
