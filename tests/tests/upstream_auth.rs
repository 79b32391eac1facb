//! Per-template upstream credentials (`upstream_auth`) against a real OpenID provider
//! (`tests/oidc/provider.mjs`, which also grants RFC 8693 token exchange) and an echo
//! fixture that records the `Authorization` header of every request it receives:
//! `token_exchange` gives the upstream a token for the user with the upstream's audience
//! (exchanged once, then cached), over REST, the MCP endpoint and dedicated sessions;
//! `passthrough` is refused without a declared audience and forwards only identity
//! provider tokens for it; `static` headers still go as before; the gateway's own tokens
//! and API keys are never forwarded or exchanged; settings and registrations that
//! cannot work are refused with a 400 naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_e2e::{
    EchoHttp, Reply,
    auth::Cred,
    oidc::{EXCHANGE_CLIENT, OAuthEnv, SERVICE, claims_of},
};
use serde_json::{Value, json};

const GATEWAY: &str = env!("CARGO_BIN_EXE_gw-server-e2e");
const ECHO: &str = env!("CARGO_BIN_EXE_echo-fixture");
const LEGACY: &str = "2025-06-18";
const MCP_SCOPES: &str = "mcp:read mcp:call";
/// What the upstream accepts (a loopback URL: the provider issues tokens for loopback
/// resources only).
const TOOLS_AUDIENCE: &str = "http://127.0.0.1:9/tools";

/// The OAuth environment with an exchange client at the issuer (`test`), the gateway
/// also accepting tokens for [`TOOLS_AUDIENCE`], and a recording echo fixture.
async fn start() -> Option<(OAuthEnv, EchoHttp)> {
    let (id, secret) = EXCHANGE_CLIENT;
    let env = OAuthEnv::start_with(
        GATEWAY,
        ECHO,
        json!({
            "audience": [TOOLS_AUDIENCE],
            "token_exchange": {"client_id": id, "client_secret": secret},
        }),
        &[("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "1")],
    )
    .await?;
    let echo = EchoHttp::spawn_with(ECHO, 0, "recording", &["--record-requests"]).await;
    Some((env, echo))
}

/// Registers the recording echo as an instance of `template` (with `extra` fields).
async fn register(env: &OAuthEnv, echo: &EchoHttp, template: &str, extra: Value) -> Reply {
    let mut body = json!({"template_name": template, "endpoint": echo.url()});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    env.c
        .post("/gateway/register", Cred::Bearer(&env.admin), &body)
        .await
}

/// `PUT /gateway/templates/{template}/load-balancer` with `body`.
async fn set(env: &OAuthEnv, template: &str, body: Value) -> Reply {
    env.c
        .send(
            "PUT",
            &format!("/gateway/templates/{template}/load-balancer"),
            Cred::Bearer(&env.admin),
            Some(&body),
        )
        .await
}

/// The `Authorization` the upstream got with the latest `tools/call` (`Value::Null`
/// when none), and how many requests it has received.
async fn last_call(echo: &EchoHttp) -> (Value, usize) {
    let recorded = echo.recorded().await;
    let last = recorded
        .iter()
        .rev()
        .find(|r| r["method"] == "tools/call")
        .map(|r| r["authorization"].clone())
        .unwrap_or(Value::Null);
    (last, recorded.len())
}

/// The bearer token of an `Authorization` value.
fn bearer(value: &Value) -> &str {
    value
        .as_str()
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_else(|| panic!("not a bearer authorization: {value}"))
}

/// A user token (authorization code + PKCE, `login`) for the gateway.
async fn user_token(env: &OAuthEnv, login: &str) -> String {
    let tokens = env
        .provider
        .authorization_code(
            login,
            "http://127.0.0.1:49152/callback",
            &env.resource(),
            MCP_SCOPES,
        )
        .await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn token_exchange_gives_the_upstream_a_token_for_the_user() {
    let Some((env, echo)) = start().await else {
        return;
    };
    register(&env, &echo, "exchanged", json!({}))
        .await
        .expect_status(201);
    let setting = json!({"mode": "token_exchange", "issuer": "test", "audience": TOOLS_AUDIENCE});
    let lb = set(&env, "exchanged", json!({"upstream_auth": setting}))
        .await
        .expect_status(200);
    assert_eq!(lb["upstream_auth"], setting, "{lb}");
    let shown = env
        .c
        .get(
            "/gateway/templates/exchanged/load-balancer",
            Cred::Bearer(&env.admin),
        )
        .await
        .expect_status(200);
    assert_eq!(shown["upstream_auth"], setting);

    // A user of the identity provider: the upstream gets an exchanged token, for the
    // user, with the upstream's audience; never the user's own token.
    let alice = user_token(&env, "alice").await;
    env.call_echo("exchanged", &alice).await.expect_status(200);
    let (sent, _) = last_call(&echo).await;
    let exchanged = bearer(&sent).to_owned();
    assert_ne!(exchanged, alice, "the user's own token is not forwarded");
    let claims = claims_of(&exchanged);
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert_eq!(claims["aud"], TOOLS_AUDIENCE, "{claims}");
    assert_eq!(claims["iss"], env.provider.issuer, "{claims}");
    assert_eq!(claims["act"]["sub"], EXCHANGE_CLIENT.0, "{claims}");
    let (count, last) = env.provider.exchanges().await;
    assert_eq!(count, 1);
    assert_eq!(
        (last["sub"].as_str(), last["audience"].as_str()),
        (Some("alice"), Some(TOOLS_AUDIENCE))
    );

    // Within its lifetime the exchanged token is reused: over REST again and over the
    // MCP endpoint (another entry point, the same relay).
    env.call_echo("exchanged", &alice).await.expect_status(200);
    assert_eq!(bearer(&last_call(&echo).await.0), exchanged);
    let mut mcp = env.mcp("/mcp/exchanged", &alice);
    mcp.initialize(LEGACY).await;
    let answer = mcp
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "via mcp"}}),
        )
        .await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "via mcp",
        "{answer}"
    );
    assert_eq!(bearer(&last_call(&echo).await.0), exchanged);
    assert_eq!(
        env.provider.exchanges().await.0,
        1,
        "cached, not exchanged again"
    );

    // Another user gets a token of their own (one more exchange).
    let bob = user_token(&env, "bob").await;
    env.call_echo("exchanged", &bob).await.expect_status(200);
    let bobs = bearer(&last_call(&echo).await.0).to_owned();
    assert_eq!(claims_of(&bobs)["sub"], "bob");
    assert_eq!(env.provider.exchanges().await.0, 2);

    // A user's concurrent first calls exchange once (single flight).
    let carol = user_token(&env, "carol").await;
    let (a, b, c, d) = tokio::join!(
        env.call_echo("exchanged", &carol),
        env.call_echo("exchanged", &carol),
        env.call_echo("exchanged", &carol),
        env.call_echo("exchanged", &carol),
    );
    for r in [a, b, c, d] {
        r.expect_status(200);
    }
    assert_eq!(env.provider.exchanges().await.0, 3);

    // The gateway's own JWT and an API key: nothing to exchange, a clear refusal, and
    // nothing reaches the upstream.
    let (_, before) = last_call(&echo).await;
    let refused = env.call_echo("exchanged", &env.admin).await;
    let body = refused.expect_error(403, "upstream_credentials");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("log in through the identity provider"),
        "{body}"
    );
    let (key, _) = env
        .c
        .create_key(
            Cred::Bearer(&env.admin),
            json!({"name": "k", "scopes": ["mcp:read", "mcp:call"]}),
        )
        .await;
    let refused = env
        .c
        .post(
            "/mcp/exchanged/tools/call",
            Cred::Key(&key),
            &json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    refused.expect_error(403, "upstream_credentials");
    let mut keyed = gateway_e2e::mcp::McpHttp::new(format!("{}/mcp/exchanged", env.gw.base_url()))
        .with_header("x-api-key", &key);
    keyed.initialize(LEGACY).await;
    let answer = keyed
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "hi"}}),
        )
        .await;
    assert_eq!(answer["error"]["code"], -32054, "{answer}");
    let recorded = echo.recorded().await;
    assert!(
        recorded[before..]
            .iter()
            .all(|r| r["method"] != "tools/call"),
        "no call reached the upstream: {recorded:?}"
    );
    assert!(
        recorded.iter().all(|r| r["authorization"]
            .as_str()
            .is_none_or(|a| !a.contains(&env.admin) && !a.contains(&key))),
        "the gateway's credentials never reach the upstream"
    );

    // A dedicated session (its own upstream connection) gets the exchanged token too.
    set(&env, "exchanged", json!({"session_mode": "dedicated"}))
        .await
        .expect_status(200);
    let mut own = env.mcp("/mcp/exchanged", &alice);
    own.initialize(LEGACY).await;
    let answer = own
        .request(
            "tools/call",
            json!({"name": "echo", "arguments": {"message": "dedicated"}}),
        )
        .await;
    assert_eq!(
        answer["result"]["content"][0]["text"], "dedicated",
        "{answer}"
    );
    assert_eq!(bearer(&last_call(&echo).await.0), exchanged);
}

#[tokio::test]
async fn passthrough_needs_a_declared_audience_and_a_token_for_it() {
    let Some((env, echo)) = start().await else {
        return;
    };
    register(&env, &echo, "passed", json!({}))
        .await
        .expect_status(201);
    // Refused without configuration: the audience the upstream accepts is required.
    let r = set(
        &env,
        "passed",
        json!({"upstream_auth": {"mode": "passthrough"}}),
    )
    .await;
    let body = r.expect_error(400, "invalid_field");
    assert_eq!(body["field"], "upstream_auth.audience", "{body}");
    // Until configured, the template is `static`: the user's token is not forwarded.
    let service = env.service_token(MCP_SCOPES).await;
    env.call_echo("passed", &service).await.expect_status(200);
    assert_eq!(last_call(&echo).await.0, Value::Null);

    set(
        &env,
        "passed",
        json!({"upstream_auth": {"mode": "passthrough", "audience": TOOLS_AUDIENCE}}),
    )
    .await
    .expect_status(200);
    // A token for the gateway only: refused, nothing forwarded.
    let refused = env.call_echo("passed", &service).await;
    let body = refused.expect_error(403, "upstream_credentials");
    assert!(
        body["detail"].as_str().unwrap().contains(TOOLS_AUDIENCE),
        "{body}"
    );
    // A token whose `aud` names the upstream: forwarded as it is.
    let for_tools = env
        .provider
        .client_credentials(SERVICE, TOOLS_AUDIENCE, MCP_SCOPES)
        .await;
    env.call_echo("passed", &for_tools).await.expect_status(200);
    assert_eq!(bearer(&last_call(&echo).await.0), for_tools);
    // The gateway's own token is never forwarded.
    env.call_echo("passed", &env.admin)
        .await
        .expect_error(403, "upstream_credentials");
    assert_eq!(bearer(&last_call(&echo).await.0), for_tools);
}

#[tokio::test]
async fn static_headers_still_go_and_settings_that_cannot_work_are_refused() {
    let Some((env, echo)) = start().await else {
        return;
    };
    // `static` (the default): the instance's stored header, whoever calls.
    register(
        &env,
        &echo,
        "fixed",
        json!({"headers": {"Authorization": "Bearer upstream-secret"}}),
    )
    .await
    .expect_status(201);
    let service = env.service_token(MCP_SCOPES).await;
    env.call_echo("fixed", &service).await.expect_status(200);
    assert_eq!(last_call(&echo).await.0, "Bearer upstream-secret");
    let listed = env
        .c
        .get(
            "/gateway/templates/fixed/instances",
            Cred::Bearer(&env.admin),
        )
        .await;
    assert!(!listed.text.contains("upstream-secret"), "{}", listed.text);
    assert!(!env.gw.stderr().contains("upstream-secret"), "never logged");

    // A template whose instance stores an Authorization header cannot switch to a mode
    // where the gateway decides the credentials.
    for mode in [
        json!({"mode": "none"}),
        json!({"mode": "passthrough", "audience": TOOLS_AUDIENCE}),
    ] {
        let body = set(&env, "fixed", json!({"upstream_auth": mode}))
            .await
            .expect_error(400, "invalid_field");
        assert_eq!(body["field"], "upstream_auth.mode", "{body}");
    }

    // `none`: an instance with an Authorization header is refused, one without is fine
    // and the upstream gets no credentials.
    register(&env, &echo, "open", json!({}))
        .await
        .expect_status(201);
    set(&env, "open", json!({"upstream_auth": {"mode": "none"}}))
        .await
        .expect_status(200);
    let body = register(
        &env,
        &echo,
        "open",
        json!({"instance_id": "open-2", "headers": {"authorization": "Bearer x"}}),
    )
    .await
    .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "headers", "{body}");
    env.call_echo("open", &service).await.expect_status(200);
    assert_eq!(last_call(&echo).await.0, Value::Null);

    // Per-user modes need Streamable HTTP instances (400 naming `transport`), and
    // `token_exchange` a configured exchange client (400 naming the issuer field).
    set(
        &env,
        "open",
        json!({"upstream_auth": {"mode": "token_exchange", "issuer": "test", "audience": TOOLS_AUDIENCE}}),
    )
    .await
    .expect_status(200);
    let body = register(
        &env,
        &echo,
        "open",
        json!({"instance_id": "open-sse", "endpoint": format!("http://127.0.0.1:{}/sse", echo.port)}),
    )
    .await
    .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "transport", "{body}");
    let body = set(
        &env,
        "open",
        json!({"upstream_auth": {"mode": "token_exchange", "issuer": "elsewhere", "audience": "a"}}),
    )
    .await
    .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "upstream_auth.issuer", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("test"), "{body}");
    let body = set(
        &env,
        "open",
        json!({"upstream_auth": {"mode": "sometimes"}}),
    )
    .await
    .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "upstream_auth.mode", "{body}");

    // A stdio instance cannot carry a per-user token either.
    let body = register(
        &env,
        &echo,
        "open",
        json!({"instance_id": "open-stdio", "endpoint": null, "command": [ECHO, "--stdio"]}),
    )
    .await
    .expect_error(400, "invalid_field");
    assert_eq!(body["field"], "transport", "{body}");
}
