use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gateway_core::{Role, TemplateAccess, Username};
use serde_json::json;

use super::*;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn keys() -> JwtKeys {
    JwtKeys::new(
        SECRET,
        "mcp-gateway",
        "mcp-gateway",
        Duration::from_secs(60),
    )
    .unwrap()
}

fn user() -> UserRecord {
    UserRecord {
        username: Username::parse("alice").unwrap(),
        password_hash: String::new(),
        role: Role::User,
        active: true,
        templates: TemplateAccess::All,
        token_version: 3,
        created_at_ms: 0,
        updated_at_ms: 0,
    }
}

fn claims(overrides: serde_json::Value) -> serde_json::Value {
    let now = unix_now();
    let mut c = json!({
        "sub": "alice", "role": "user", "scopes": ["mcp:read"], "iat": now,
        "exp": now + 60, "jti": "j", "iss": "mcp-gateway", "aud": "mcp-gateway", "ver": 3
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sign(alg: Algorithm, secret: &[u8], claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[test]
fn issued_tokens_verify() {
    let keys = keys();
    let (token, ttl) = keys.issue(&user()).unwrap();
    assert_eq!(ttl, 60);
    let c = keys.verify(&token).unwrap();
    assert_eq!(
        (c.sub.as_str(), c.ver, c.role.as_str()),
        ("alice", 3, "user")
    );
    assert_eq!(c.scopes, ["mcp:read", "mcp:call", "gateway:read"]);
    assert_eq!(c.exp - c.iat, 60);
    assert_eq!(c.jti.len(), 32);
    let (other, _) = keys.issue(&user()).unwrap();
    assert_ne!(keys.verify(&other).unwrap().jti, c.jti, "jti is unique");
}

#[test]
fn rejects_forgeries_and_stale_tokens() {
    let keys = keys();
    let now = unix_now();
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    let cases = [
        ("alg none, no signature", format!("{header_none}.{body}.")),
        (
            "alg none, junk signature",
            format!("{header_none}.{body}.c2ln"),
        ),
        (
            "wrong secret",
            sign(
                Algorithm::HS256,
                b"another-secret-another-secret-12",
                &claims(json!({})),
            ),
        ),
        (
            "HS512 with the right secret",
            sign(Algorithm::HS512, SECRET, &claims(json!({}))),
        ),
        (
            "expired",
            sign(
                Algorithm::HS256,
                SECRET,
                &claims(json!({"exp": now - 3600, "iat": now - 7200})),
            ),
        ),
        (
            "wrong audience",
            sign(Algorithm::HS256, SECRET, &claims(json!({"aud": "other"}))),
        ),
        (
            "wrong issuer",
            sign(Algorithm::HS256, SECRET, &claims(json!({"iss": "evil"}))),
        ),
        (
            "no exp",
            sign(Algorithm::HS256, SECRET, &claims(json!({"exp": null}))),
        ),
        (
            "no aud",
            sign(Algorithm::HS256, SECRET, &claims(json!({"aud": null}))),
        ),
        ("garbage", "not.a.token".to_owned()),
        ("empty", String::new()),
        ("huge", "a".repeat(10_000)),
    ];
    for (what, token) in cases {
        let err = keys.verify(&token).err();
        assert!(
            matches!(err, Some(Error::InvalidCredentials)),
            "{what} was accepted: {err:?}"
        );
    }
    // The control: the same claims signed properly pass.
    keys.verify(&sign(Algorithm::HS256, SECRET, &claims(json!({}))))
        .unwrap();
}

#[test]
fn short_secrets_are_refused() {
    let err = JwtKeys::new(b"short", "i", "a", Duration::from_secs(1))
        .err()
        .unwrap();
    assert!(err.to_string().contains("256 bits"), "{err}");
}
