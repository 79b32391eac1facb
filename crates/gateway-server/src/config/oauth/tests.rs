use std::collections::HashMap;

use gateway_core::Scope;

use super::*;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| vars.get(k).cloned()
}

fn from_env(vars: &[(&str, &str)]) -> Result<OAuthSettings, ConfigError> {
    load(None, None, true, "127.0.0.1", "mcp-gateway", &env(vars))
}

#[test]
fn none_by_default() {
    let s = from_env(&[]).unwrap();
    assert!(s.issuers.is_empty() && s.public_url.is_none());
    assert!(
        s.config("http", "127.0.0.1", "127.0.0.1:8080".parse().unwrap())
            .is_none()
    );
}

#[test]
fn issuer_urls_get_the_defaults() {
    let s = from_env(&[(
        ENV_ISSUERS,
        "https://login.example.com/tenant, http://127.0.0.1:4444",
    )])
    .unwrap();
    let (a, b) = (&s.issuers[0], &s.issuers[1]);
    assert_eq!(
        (a.name.as_str(), a.issuer.as_str()),
        ("login.example.com", "https://login.example.com/tenant")
    );
    assert_eq!(b.name, "127.0.0.1");
    assert_eq!(a.algorithms, TokenAlgorithm::DEFAULT);
    assert_eq!(a.claims.username, "sub");
    assert_eq!(a.claims.scope.as_deref(), Some("scope"));
    assert_eq!(a.claims.default_role, Some(Role::User));
    assert_eq!(a.leeway, Duration::from_secs(60));
    let config = s
        .config("http", "127.0.0.1", "127.0.0.1:8123".parse().unwrap())
        .unwrap();
    assert_eq!(config.resource, "http://127.0.0.1:8123");
    let config = s
        .config("http", "::1", "[::1]:8123".parse().unwrap())
        .unwrap();
    assert_eq!(config.resource, "http://[::1]:8123");
}

#[test]
fn issuer_objects_are_read_from_json() {
    let json = r#"[{"issuer": "https://idp.example.com", "name": "corp",
        "audience": ["api://gw", "gw"], "jwks_uri": "https://idp.example.com/keys",
        "algorithms": ["RS256", "PS256"], "username_claim": "email", "scope_claim": "scp",
        "scope_map": {"gw.use": ["mcp:read", "mcp:call"], "gw.ops": "gateway:write"},
        "role_claim": "groups", "role_map": {"gw-admins": "admin"}, "default_role": "none",
        "templates_claim": "gw_templates", "leeway": 5, "jwks_refresh": 60,
        "jwks_min_refetch": 2}]"#;
    let s = load(
        Some("https://mcp.example.com/".into()),
        None,
        true,
        "0.0.0.0",
        "mcp-gateway",
        &env(&[(ENV_ISSUERS, json)]),
    )
    .unwrap();
    assert_eq!(s.public_url.as_deref(), Some("https://mcp.example.com"));
    let i = &s.issuers[0];
    assert_eq!(i.name, "corp");
    assert_eq!(i.audiences, ["api://gw", "gw"]);
    assert_eq!(i.algorithms, [TokenAlgorithm::Rs256, TokenAlgorithm::Ps256]);
    let c = &i.claims;
    assert_eq!(
        (c.username.as_str(), c.scope.as_deref()),
        ("email", Some("scp"))
    );
    let map = c.scope_map.as_ref().unwrap();
    assert_eq!(map["gw.use"], Scopes::of([Scope::McpRead, Scope::McpCall]));
    assert_eq!(map["gw.ops"], Scopes::of([Scope::GatewayWrite]));
    assert_eq!(c.role_map.as_ref().unwrap()["gw-admins"], Role::Admin);
    assert_eq!(c.default_role, None);
    assert_eq!(c.templates.as_deref(), Some("gw_templates"));
    assert_eq!(
        (i.leeway, i.jwks_refresh, i.jwks_min_refetch),
        (
            Duration::from_secs(5),
            Duration::from_secs(60),
            Duration::from_secs(2)
        )
    );
    let config = s
        .config("http", "0.0.0.0", "0.0.0.0:80".parse().unwrap())
        .unwrap();
    assert_eq!(config.resource, "https://mcp.example.com");
    // An empty scope claim: the role's scopes apply.
    let s = from_env(&[(
        ENV_ISSUERS,
        r#"[{"issuer": "https://a.example", "scope_claim": ""}]"#,
    )])
    .unwrap();
    assert_eq!(s.issuers[0].claims.scope, None);
}

#[test]
fn mistakes_name_the_key() {
    let bad = |json: &str| from_env(&[(ENV_ISSUERS, json)]).unwrap_err();
    let cases = [
        (
            r#"[{"issuer": "http://idp.example.com"}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].issuer",
            "https",
        ),
        (
            r#"[{"issuer": "https://a.example", "algorithms": ["HS256"]}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].algorithms",
            "never accepted",
        ),
        (
            r#"[{"issuer": "https://a.example", "algorithms": []}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].algorithms",
            "at least one",
        ),
        (
            r#"[{"issuer": "https://a.example", "scope_map": {"x": "root"}}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].scope_map.x",
            "scope",
        ),
        (
            r#"[{"issuer": "https://a.example", "role_map": {"x": "god"}}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].role_map.x",
            "admin",
        ),
        (
            r#"[{"issuer": "https://a.example", "default_role": "god"}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].default_role",
            "none",
        ),
        (
            r#"[{"issuer": "https://a.example", "leeway": 3600}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].leeway",
            "600",
        ),
        (
            r#"[{"issuer": "https://a.example", "jwks_min_refetch": 0}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].jwks_min_refetch",
            "between",
        ),
        (
            r#"[{"issuer": "https://a.example", "jwks_uri": "http://keys.example"}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].jwks_uri",
            "https",
        ),
        (
            r#"[{"issuer": "https://a.example", "name": "a b"}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].name",
            "letters",
        ),
        (
            r#"[{"issuer": "https://a.example/x"}, {"issuer": "https://a.example/y"}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[1]",
            "own URL and `name`",
        ),
        (
            r#"[{"issuer": "https://a.example", "audience": 5}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].audience",
            "",
        ),
        (
            r#"[{"issuer": "https://a.example", "typo": 1}]"#,
            "MCP_GATEWAY_OAUTH_ISSUERS[0].typo",
            "unknown field",
        ),
        ("[1]", "MCP_GATEWAY_OAUTH_ISSUERS[0]", ""),
    ];
    for (json, key, says) in cases {
        let e = bad(json);
        assert_eq!(e.key(), key, "{json}: {e}");
        assert!(e.to_string().contains(says), "{json}: {e}");
    }
    // Needs auth, a public URL off loopback, and an issuer apart from the local one.
    let e = load(
        None,
        None,
        false,
        "127.0.0.1",
        "mcp-gateway",
        &env(&[(ENV_ISSUERS, "https://a.example")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("--auth"), "{e}");
    let e = load(
        None,
        None,
        true,
        "0.0.0.0",
        "mcp-gateway",
        &env(&[(ENV_ISSUERS, "https://a.example")]),
    )
    .unwrap_err();
    assert_eq!(e.key(), ENV_PUBLIC_URL);
    let e = load(
        None,
        None,
        true,
        "127.0.0.1",
        "https://a.example",
        &env(&[(ENV_ISSUERS, "https://a.example")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("jwt_issuer"), "{e}");
    let e = from_env(&[(ENV_PUBLIC_URL, "http://gw.example.com")]).unwrap_err();
    assert_eq!(e.key(), ENV_PUBLIC_URL);
}

#[test]
fn token_exchange_clients_are_read_and_checked() {
    let json = r#"[{"issuer": "https://idp.example.com", "name": "corp",
        "token_exchange": {"client_id": "gateway", "client_secret": "s3cret"}}]"#;
    let s = from_env(&[(ENV_ISSUERS, json)]).unwrap();
    let exchange = s.issuers[0].token_exchange.as_ref().unwrap();
    assert_eq!(exchange.client_id, "gateway");
    assert_eq!(exchange.client_secret.expose(), "s3cret");
    assert!(
        !format!("{:?}", s.issuers[0]).contains("s3cret"),
        "redacted"
    );
    for (block, key) in [
        (
            r#"{"client_id": "", "client_secret": "x"}"#,
            "token_exchange.client_id",
        ),
        (
            r#"{"client_id": "g", "client_secret": "x", "token_endpoint": "http://idp.example.com/token"}"#,
            "token_exchange.token_endpoint",
        ),
    ] {
        let json =
            format!(r#"[{{"issuer": "https://idp.example.com", "token_exchange": {block}}}]"#);
        let e = from_env(&[(ENV_ISSUERS, &json)]).unwrap_err();
        assert_eq!(e.key(), format!("{ENV_ISSUERS}[0].{key}"), "{block}");
    }
}
