//! Token validation with generated keys (RS256 from fixed test keys, ES256 and EdDSA
//! generated with ring), claim mapping, key sets and URL rules. The keys are installed
//! directly; fetching them is covered by the black-box suite against a real provider.

use std::{collections::BTreeMap, sync::Arc};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use gateway_core::{Role, Scope, Scopes, TemplateAccess};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use ring::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair},
};
use serde_json::{Value, json};

use super::{
    fetch::metadata_urls,
    keys::KeySet,
    settings::{ClaimMapping, IssuerConfig, OAuthConfig, TokenAlgorithm, check_url},
    verifier::{ExternalIssuers, Rejection},
};
use crate::{AuthConfig, Authenticator, Credential, Error, Principal};

const ISSUER: &str = "https://idp.example.com/realms/corp";
const RESOURCE: &str = "https://gw.example.com";

/// A signing key and its public JWK.
struct TestKey {
    alg: Algorithm,
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn rsa(which: u8, kid: &str) -> TestKey {
        let text = match which {
            1 => include_str!("testdata/rsa-1.der.b64"),
            _ => include_str!("testdata/rsa-2.der.b64"),
        };
        let der = STANDARD.decode(text.trim()).unwrap();
        TestKey::from_encoding(Algorithm::RS256, kid, EncodingKey::from_rsa_der(&der))
    }

    fn es256(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        TestKey::from_encoding(
            Algorithm::ES256,
            kid,
            EncodingKey::from_ec_der(pkcs8.as_ref()),
        )
    }

    fn ed25519(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        TestKey {
            alg: Algorithm::EdDSA,
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig"}),
        }
    }

    fn from_encoding(alg: Algorithm, kid: &str, encoding: EncodingKey) -> TestKey {
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, alg).unwrap()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        TestKey {
            alg,
            kid: kid.to_owned(),
            encoding,
            jwk,
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    serde_json::to_vec(&json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}))
        .unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims of a valid token for `alice`, with `overrides` (`null` removes a claim).
fn claims(overrides: Value) -> Value {
    let now = now();
    let mut c = json!({
        "iss": ISSUER, "aud": RESOURCE, "sub": "alice", "iat": now, "exp": now + 300,
        "scope": "mcp:read mcp:call", "client_id": "ide"
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

fn issuer_config() -> IssuerConfig {
    let mut config = IssuerConfig::new("corp", ISSUER);
    // Nothing listens there: an on-demand fetch fails at once.
    config.jwks_uri = Some("http://127.0.0.1:9/jwks".to_owned());
    config
}

fn issuers(config: IssuerConfig, keys: &[&TestKey]) -> ExternalIssuers {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issuers = ExternalIssuers::new(&OAuthConfig {
        resource: RESOURCE.to_owned(),
        issuers: vec![config],
    })
    .unwrap();
    issuers
        .issuer(0)
        .install(KeySet::parse(&jwks(keys)).unwrap());
    issuers
}

async fn verify(
    issuers: &ExternalIssuers,
    token: &str,
    path: Option<&str>,
) -> Result<Arc<Principal>, Rejection> {
    let index = issuers
        .route(token)
        .ok_or(Rejection::Invalid("not routed"))?;
    issuers.verify(index, token, path, || Ok(())).await
}

#[tokio::test]
async fn rs256_es256_and_eddsa_tokens_are_accepted() {
    let (rsa, ec, ed) = (
        TestKey::rsa(1, "r1"),
        TestKey::es256("e1"),
        TestKey::ed25519("d1"),
    );
    let issuers = issuers(issuer_config(), &[&rsa, &ec, &ed]);
    for key in [&rsa, &ec, &ed] {
        let p = verify(&issuers, &key.sign(&claims(json!({}))), None)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", key.alg));
        assert_eq!(p.username(), "corp:alice");
        assert_eq!(p.actor(), "oidc:corp:alice");
        assert_eq!(p.role(), Role::User);
        assert_eq!(p.scopes(), Scopes::of([Scope::McpRead, Scope::McpCall]));
        assert_eq!(*p.templates(), TemplateAccess::All);
        assert_eq!(p.local_user(), None);
    }
    // A second use is served from the cache, with the same answer.
    let token = rsa.sign(&claims(json!({})));
    let first = verify(&issuers, &token, None).await.unwrap();
    let again = verify(&issuers, &token, None).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again), "cached");
}

#[tokio::test]
async fn forged_stale_and_misdirected_tokens_are_rejected() {
    let rsa = TestKey::rsa(1, "r1");
    let ec = TestKey::es256("e1");
    let issuers = issuers(issuer_config(), &[&rsa, &ec]);
    let now = now();
    let public_n = rsa.jwk["n"].as_str().unwrap().to_owned();
    let header_b64 = |h: Value| URL_SAFE_NO_PAD.encode(h.to_string());
    let body_b64 = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
    let hs256_with_public_key = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("r1".to_owned());
        jsonwebtoken::encode(
            &h,
            &claims(json!({})),
            &EncodingKey::from_secret(public_n.as_bytes()),
        )
        .unwrap()
    };
    let other_key = TestKey::rsa(2, "r1");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong audience",
            rsa.sign(&claims(json!({"aud": "https://other.example.com"}))),
            "audience",
        ),
        (
            "no audience",
            rsa.sign(&claims(json!({"aud": null}))),
            "missing claim",
        ),
        (
            "expired beyond the leeway",
            rsa.sign(&claims(json!({"exp": now - 120}))),
            "expired",
        ),
        (
            "not yet valid",
            rsa.sign(&claims(json!({"nbf": now + 600}))),
            "not yet valid",
        ),
        (
            "no exp",
            rsa.sign(&claims(json!({"exp": null}))),
            "missing claim",
        ),
        (
            "unknown kid",
            TestKey::rsa(1, "rotated-away").sign(&claims(json!({}))),
            "unknown key",
        ),
        (
            "another key under a known kid",
            other_key.sign(&claims(json!({}))),
            "signature",
        ),
        (
            "HS256 keyed with the public key",
            hs256_with_public_key,
            "algorithm",
        ),
        (
            "alg none",
            format!(
                "{}.{body_b64}.",
                header_b64(json!({"alg": "none", "kid": "r1"}))
            ),
            "malformed",
        ),
        (
            "no subject",
            rsa.sign(&claims(json!({"sub": null}))),
            "subject",
        ),
        (
            "control characters in the subject",
            rsa.sign(&claims(json!({"sub": "a\nb"}))),
            "subject",
        ),
    ];
    for (what, token, reason) in cases {
        let got = verify(&issuers, &token, None).await;
        assert_eq!(got.err(), Some(Rejection::Invalid(reason)), "{what}");
    }
    // Within the leeway: accepted.
    verify(&issuers, &rsa.sign(&claims(json!({"exp": now - 30}))), None)
        .await
        .unwrap();
    // ES256 is not allowed for an issuer restricted to RS256.
    let mut rs256_only = issuer_config();
    rs256_only.algorithms = vec![TokenAlgorithm::Rs256];
    let strict = issuers_with(rs256_only, &[&rsa, &ec]);
    assert_eq!(
        verify(&strict, &ec.sign(&claims(json!({}))), None)
            .await
            .err(),
        Some(Rejection::Invalid("algorithm"))
    );
    // Another issuer (even one differing by a trailing slash) is not routed here.
    let near = rsa.sign(&claims(json!({"iss": format!("{ISSUER}/")})));
    assert_eq!(issuers.route(&near), None);
    assert_eq!(issuers.route("not-a-token"), None);
}

fn issuers_with(config: IssuerConfig, keys: &[&TestKey]) -> ExternalIssuers {
    issuers(config, keys)
}

#[tokio::test]
async fn audiences_name_the_gateway_its_endpoints_or_configured_values() {
    let rsa = TestKey::rsa(1, "r1");
    let mut config = issuer_config();
    config.audiences = vec!["api://mcp-gateway".to_owned()];
    let issuers = issuers(config, &[&rsa]);
    let with_aud = |aud: Value| rsa.sign(&claims(json!({"aud": aud})));
    let ok = [
        (json!(RESOURCE), None),
        (json!(format!("{RESOURCE}/")), None),
        (json!(["other", RESOURCE]), None),
        (json!("api://mcp-gateway"), None),
        (json!(format!("{RESOURCE}/mcp/fs")), Some("/mcp/fs")),
        (json!(format!("{RESOURCE}/mcp")), Some("/mcp")),
    ];
    for (aud, path) in ok {
        verify(&issuers, &with_aud(aud.clone()), path)
            .await
            .unwrap_or_else(|e| panic!("{aud} at {path:?}: {e:?}"));
    }
    let refused = [
        (json!(format!("{RESOURCE}/mcp/fs")), None),
        (json!(format!("{RESOURCE}/mcp/fs")), Some("/mcp/other")),
        (json!(format!("{RESOURCE}/mcp")), Some("/mcp/fs")),
        (json!("https://gw.example.com.evil"), None),
        (json!([]), None),
    ];
    for (aud, path) in refused {
        let got = verify(&issuers, &with_aud(aud.clone()), path).await;
        assert!(
            matches!(got, Err(Rejection::Invalid("audience"))),
            "{aud} at {path:?}: {got:?}"
        );
    }
    // A cached token is checked against each request's endpoint again.
    let token = with_aud(json!(format!("{RESOURCE}/mcp/fs")));
    verify(&issuers, &token, Some("/mcp/fs")).await.unwrap();
    assert!(verify(&issuers, &token, Some("/mcp/db")).await.is_err());
}

#[tokio::test]
async fn a_rotation_retires_cached_tokens_of_removed_keys() {
    let (old, new) = (TestKey::rsa(1, "old"), TestKey::es256("new"));
    let issuers = issuers(issuer_config(), &[&old]);
    let token = old.sign(&claims(json!({})));
    verify(&issuers, &token, None).await.unwrap();
    // The issuer adds a key: old tokens still pass, new ones too.
    issuers
        .issuer(0)
        .install(KeySet::parse(&jwks(&[&new, &old])).unwrap());
    verify(&issuers, &token, None).await.unwrap();
    verify(&issuers, &new.sign(&claims(json!({}))), None)
        .await
        .unwrap();
    // Then drops the old key: the cached verification no longer counts.
    issuers
        .issuer(0)
        .install(KeySet::parse(&jwks(&[&new])).unwrap());
    assert_eq!(
        verify(&issuers, &token, None).await.err(),
        Some(Rejection::Invalid("unknown key"))
    );
}

#[tokio::test]
async fn an_issuer_without_keys_fails_closed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issuers = ExternalIssuers::new(&OAuthConfig {
        resource: RESOURCE.to_owned(),
        issuers: vec![issuer_config()],
    })
    .unwrap();
    let token = TestKey::rsa(1, "r1").sign(&claims(json!({})));
    assert_eq!(
        verify(&issuers, &token, None).await.err(),
        Some(Rejection::Unavailable)
    );
}

#[tokio::test]
async fn claims_map_to_role_scopes_and_templates() {
    let rsa = TestKey::rsa(1, "r1");
    let mut config = issuer_config();
    config.claims = ClaimMapping {
        username: "preferred_username".to_owned(),
        scope: Some("scp".to_owned()),
        scope_map: Some(BTreeMap::from([
            (
                "gw.use".to_owned(),
                Scopes::of([Scope::McpRead, Scope::McpCall]),
            ),
            ("gw.admin".to_owned(), Scopes::all()),
        ])),
        role: Some("realm_access.roles".to_owned()),
        role_map: Some(BTreeMap::from([("gateway-admins".to_owned(), Role::Admin)])),
        default_role: None,
        templates: Some("https://gw.example.com/templates".to_owned()),
    };
    let issuers = issuers(config, &[&rsa]);
    let token = |extra: Value| rsa.sign(&claims(extra));
    let admin = verify(
        &issuers,
        &token(json!({
            "preferred_username": "root", "scp": ["gw.admin", "unknown"],
            "realm_access": {"roles": ["staff", "gateway-admins"]},
            "https://gw.example.com/templates": ["fs", "not a name!", "db"],
        })),
        None,
    )
    .await
    .unwrap();
    assert_eq!((admin.username(), admin.role()), ("corp:root", Role::Admin));
    assert_eq!(admin.scopes(), Scopes::all());
    assert!(admin.allows_template("fs") && admin.allows_template("db"));
    assert!(!admin.allows_template("other"));
    // No mapped role and no default role: refused.
    let nobody = token(
        json!({"preferred_username": "x", "scp": "gw.use", "realm_access": {"roles": ["staff"]}}),
    );
    assert_eq!(
        verify(&issuers, &nobody, None).await.err(),
        Some(Rejection::NoRole)
    );
    // Scopes never exceed the role; a numeric subject is fine; `*` allows all templates.
    let mut user_config = issuer_config();
    user_config.claims.role = Some("roles".to_owned());
    user_config.claims.templates = Some("templates".to_owned());
    let users = issuers_with(user_config, &[&rsa]);
    let p = verify(
        &users,
        &token(json!({"sub": 42, "roles": "user", "scope": "admin mcp:read", "templates": "*"})),
        None,
    )
    .await
    .unwrap();
    assert_eq!((p.username(), p.role()), ("corp:42", Role::User));
    assert_eq!(p.scopes(), Scopes::of([Scope::McpRead]));
    assert_eq!(*p.templates(), TemplateAccess::All);
    // The templates claim configured but absent: no template.
    let p = verify(&users, &token(json!({"roles": "admin"})), None)
        .await
        .unwrap();
    assert_eq!(p.role(), Role::Admin);
    assert!(!p.allows_template("fs"));
    // Without a scope claim setting the role's scopes apply.
    let mut role_scopes = issuer_config();
    role_scopes.claims.scope = None;
    let p = verify(
        &issuers_with(role_scopes, &[&rsa]),
        &token(json!({"scope": null})),
        None,
    )
    .await
    .unwrap();
    assert_eq!(p.scopes(), Role::User.scopes());
}

#[test]
fn key_sets_keep_only_usable_signature_keys() {
    let rsa = TestKey::rsa(1, "r1");
    let ec = TestKey::es256("e1");
    let mut enc = rsa.jwk.clone();
    enc["use"] = json!("enc");
    enc["kid"] = json!("enc");
    let mut weak = rsa.jwk.clone();
    weak["n"] = json!(URL_SAFE_NO_PAD.encode([0xffu8; 128]));
    weak["kid"] = json!("weak");
    let mut hs = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(b"secret"), "kid": "hs"});
    hs["alg"] = json!("HS256");
    let mut rsa_bound_to_ps = rsa.jwk.clone();
    rsa_bound_to_ps["alg"] = json!("PS256");
    rsa_bound_to_ps["kid"] = json!("ps");
    let doc = json!({"keys": [rsa.jwk, ec.jwk, enc, weak, hs, rsa_bound_to_ps, {"kty": "EC", "crv": "P-521"}, "junk"]});
    let set = KeySet::parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(set.len(), 3, "r1, e1 and ps");
    assert!(set.find(Some("r1"), TokenAlgorithm::Rs256).is_some());
    assert!(
        set.find(Some("r1"), TokenAlgorithm::Es256).is_none(),
        "wrong key type"
    );
    assert!(set.find(Some("e1"), TokenAlgorithm::Es256).is_some());
    assert!(
        set.find(Some("ps"), TokenAlgorithm::Rs256).is_none(),
        "bound to PS256"
    );
    assert!(set.find(Some("ps"), TokenAlgorithm::Ps256).is_some());
    for gone in ["enc", "weak", "hs"] {
        assert!(
            set.find(Some(gone), TokenAlgorithm::Rs256).is_none(),
            "{gone}"
        );
    }
    // Without a kid: only when exactly one key fits.
    assert!(set.find(None, TokenAlgorithm::Es256).is_some());
    assert!(
        set.find(None, TokenAlgorithm::Rs256).is_some(),
        "ps is bound to PS256"
    );
    let two = KeySet::parse(&jwks(&[&rsa, &TestKey::rsa(2, "r2")])).unwrap();
    assert!(two.find(None, TokenAlgorithm::Rs256).is_none(), "ambiguous");
    // Malformed and keyless documents.
    assert!(KeySet::parse(b"[]").is_err());
    assert!(KeySet::parse(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#).is_err());
    // Equality ignores order.
    let a = KeySet::parse(&jwks(&[&rsa, &ec])).unwrap();
    let b = KeySet::parse(&jwks(&[&ec, &rsa])).unwrap();
    assert!(a.same_keys(&b));
    assert!(!a.same_keys(&KeySet::parse(&jwks(&[&rsa])).unwrap()));
}

#[test]
fn metadata_locations_follow_oidc_then_rfc8414() {
    assert_eq!(
        metadata_urls("https://idp.example.com"),
        [
            "https://idp.example.com/.well-known/openid-configuration",
            "https://idp.example.com/.well-known/oauth-authorization-server"
        ]
    );
    assert_eq!(
        metadata_urls("https://idp.example.com/tenant/"),
        [
            "https://idp.example.com/tenant/.well-known/openid-configuration",
            "https://idp.example.com/.well-known/oauth-authorization-server/tenant"
        ]
    );
}

#[test]
fn urls_must_be_https_except_on_loopback() {
    for ok in [
        "https://idp.example.com",
        "https://idp.example.com/realms/x/",
        "http://127.0.0.1:8080",
        "http://localhost:3000/x",
        "http://[::1]:9",
    ] {
        check_url(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "http://idp.example.com",
        "ftp://127.0.0.1",
        "idp.example.com",
        "https://user:pw@idp.example.com",
        "https://idp.example.com/?x=1",
        "https://idp.example.com/#f",
    ] {
        assert!(check_url(bad).is_err(), "{bad}");
    }
    assert!(
        "HS256"
            .parse::<TokenAlgorithm>()
            .unwrap_err()
            .contains("never accepted")
    );
    assert_eq!("eddsa".parse::<TokenAlgorithm>(), Ok(TokenAlgorithm::EdDsa));
}

#[tokio::test]
async fn external_tokens_work_beside_local_ones() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = gateway_store::Store::connect("sqlite::memory:")
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let config = AuthConfig {
        bcrypt_cost: 4,
        admin_password: Some(crate::Secret::new("admin password 1")),
        oauth: Some(OAuthConfig {
            resource: RESOURCE.to_owned(),
            issuers: vec![issuer_config()],
        }),
        ..AuthConfig::default()
    };
    let auth = Authenticator::open(store, config).await.unwrap();
    auth.bootstrap_admin().await.unwrap();
    let rsa = TestKey::rsa(1, "r1");
    auth.external
        .as_ref()
        .unwrap()
        .issuer(0)
        .install(KeySet::parse(&jwks(&[&rsa])).unwrap());
    let login = auth.login("admin", "admin password 1", None).await.unwrap();
    let local = auth
        .authenticate(Credential::Bearer(login.token.expose()), None)
        .await
        .unwrap();
    assert_eq!(local.actor(), "user:admin");
    let external = auth
        .authenticate(Credential::Bearer(&rsa.sign(&claims(json!({})))), None)
        .await
        .unwrap();
    assert_eq!(external.actor(), "oidc:corp:alice");
    // An external token claiming the gateway's own issuer is checked as a local token.
    let forged = rsa.sign(&claims(json!({"iss": "mcp-gateway", "aud": "mcp-gateway"})));
    let err = auth
        .authenticate(Credential::Bearer(&forged), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials));
    // An external user owns no API keys.
    let err = auth
        .create_api_key(
            &external,
            &gateway_core::api::CreateApiKey {
                name: "k".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err:?}");
    assert!(
        auth.list_api_keys(&external, None)
            .await
            .unwrap()
            .is_empty()
    );
}
