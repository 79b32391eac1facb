//! [`OAuthConfig`], [`IssuerConfig`], [`ClaimMapping`] and [`TokenAlgorithm`]: the
//! validated settings of the resource server (the server builds them from its
//! configuration), and [`check_url`], the one rule for the URLs they hold.

use std::{collections::BTreeMap, fmt, str::FromStr, time::Duration};

use gateway_core::{Role, Scopes};
use jsonwebtoken::Algorithm;

/// The gateway as an OAuth 2.1 resource server for external issuers.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The gateway's resource identifier (RFC 8707, RFC 9728 `resource`): its public base
    /// URL, without a trailing slash. A token's `aud` must name it (or the issuer's own
    /// [`IssuerConfig::audiences`], or the MCP endpoint the request is for, see
    /// [`crate::Authenticator::authenticate_at`]).
    pub resource: String,
    /// The trusted issuers (at least one).
    pub issuers: Vec<IssuerConfig>,
}

/// One trusted issuer of access tokens.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Short name: prefixes user names (`NAME:SUBJECT`) and audit actors
    /// (`oidc:NAME:SUBJECT`).
    pub name: String,
    /// The issuer identifier, compared exactly with a token's `iss`.
    pub issuer: String,
    /// Accepted `aud` values; empty means the gateway's resource identifier.
    pub audiences: Vec<String>,
    /// Where the signing keys are; `None`: from the issuer's discovery document
    /// (`/.well-known/openid-configuration`, else RFC 8414
    /// `/.well-known/oauth-authorization-server`).
    pub jwks_uri: Option<String>,
    /// Accepted signature algorithms (never HMAC or `none`).
    pub algorithms: Vec<TokenAlgorithm>,
    /// How claims become a user name, a role, scopes and templates.
    pub claims: ClaimMapping,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often the keys are fetched again.
    pub jwks_refresh: Duration,
    /// The least time between two fetches caused by tokens (an unknown `kid`, keys not
    /// loaded yet), so tokens cannot make the gateway hammer the issuer.
    pub jwks_min_refetch: Duration,
    /// The gateway's client at this issuer for RFC 8693 token exchange (templates with
    /// `upstream_auth` `token_exchange` name the issuer), if any.
    pub token_exchange: Option<ExchangeClient>,
}

/// How the gateway authenticates at an issuer's token endpoint to exchange its users'
/// tokens (HTTP Basic, `client_secret_basic`).
#[derive(Debug, Clone)]
pub struct ExchangeClient {
    /// The gateway's client id at the issuer.
    pub client_id: String,
    /// Its secret (`Debug` redacts it).
    pub client_secret: crate::Secret,
    /// The token endpoint; `None`: from the issuer's discovery document.
    pub token_endpoint: Option<String>,
}

impl IssuerConfig {
    /// An issuer with the defaults: RS256, ES256 and EdDSA; `sub` as the user name;
    /// scopes from the `scope` claim; role `user`; every template; 60 s leeway; keys
    /// refreshed every 5 minutes and at most every 30 s on demand.
    pub fn new(name: impl Into<String>, issuer: impl Into<String>) -> IssuerConfig {
        IssuerConfig {
            name: name.into(),
            issuer: issuer.into(),
            audiences: Vec::new(),
            jwks_uri: None,
            algorithms: TokenAlgorithm::DEFAULT.to_vec(),
            claims: ClaimMapping::default(),
            leeway: Duration::from_secs(60),
            jwks_refresh: Duration::from_secs(300),
            jwks_min_refetch: Duration::from_secs(30),
            token_exchange: None,
        }
    }
}

/// How a valid token's claims become a principal. Claim names are looked up as given
/// first, then as a dotted path into nested objects (`realm_access.roles`).
#[derive(Debug, Clone)]
pub struct ClaimMapping {
    /// The claim holding the user's identifier (default `sub`).
    pub username: String,
    /// The claim holding the granted scopes (a space-separated string or an array);
    /// `None`: the token's scopes are not read and the role's scopes apply.
    pub scope: Option<String>,
    /// The issuer's scope values and the gateway scopes each grants; `None`: a value
    /// that is a gateway scope name (`mcp:read`, ...) grants that scope.
    pub scope_map: Option<BTreeMap<String, Scopes>>,
    /// The claim holding role names or groups (string or array), if any.
    pub role: Option<String>,
    /// The claim's values and the role each gives; `None`: the values `admin` and `user`.
    pub role_map: Option<BTreeMap<String, Role>>,
    /// The role when no value maps to one; `None`: such tokens are refused (403).
    pub default_role: Option<Role>,
    /// The claim listing the templates the user may use (`*` = all), if any; without
    /// it every template is allowed.
    pub templates: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            username: "sub".to_owned(),
            scope: Some("scope".to_owned()),
            scope_map: None,
            role: None,
            role_map: None,
            default_role: Some(Role::User),
            templates: None,
        }
    }
}

/// The signature algorithms an external issuer may use: RSA (PKCS#1 v1.5 and PSS),
/// ECDSA on P-256 and P-384, and Ed25519. HMAC and `none` are not among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the JOSE names.
pub enum TokenAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl TokenAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [TokenAlgorithm; 9] = [
        TokenAlgorithm::Rs256,
        TokenAlgorithm::Rs384,
        TokenAlgorithm::Rs512,
        TokenAlgorithm::Ps256,
        TokenAlgorithm::Ps384,
        TokenAlgorithm::Ps512,
        TokenAlgorithm::Es256,
        TokenAlgorithm::Es384,
        TokenAlgorithm::EdDsa,
    ];

    /// Accepted unless configured otherwise.
    pub const DEFAULT: [TokenAlgorithm; 3] = [
        TokenAlgorithm::Rs256,
        TokenAlgorithm::Es256,
        TokenAlgorithm::EdDsa,
    ];

    /// The JOSE name (`RS256`, ..., `EdDSA`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::Rs384 => "RS384",
            TokenAlgorithm::Rs512 => "RS512",
            TokenAlgorithm::Ps256 => "PS256",
            TokenAlgorithm::Ps384 => "PS384",
            TokenAlgorithm::Ps512 => "PS512",
            TokenAlgorithm::Es256 => "ES256",
            TokenAlgorithm::Es384 => "ES384",
            TokenAlgorithm::EdDsa => "EdDSA",
        }
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            TokenAlgorithm::Rs256 => Algorithm::RS256,
            TokenAlgorithm::Rs384 => Algorithm::RS384,
            TokenAlgorithm::Rs512 => Algorithm::RS512,
            TokenAlgorithm::Ps256 => Algorithm::PS256,
            TokenAlgorithm::Ps384 => Algorithm::PS384,
            TokenAlgorithm::Ps512 => Algorithm::PS512,
            TokenAlgorithm::Es256 => Algorithm::ES256,
            TokenAlgorithm::Es384 => Algorithm::ES384,
            TokenAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The supported algorithm `alg` names, if any (HMAC algorithms are not).
    pub(crate) fn of(alg: Algorithm) -> Option<TokenAlgorithm> {
        TokenAlgorithm::ALL.into_iter().find(|a| a.jwt() == alg)
    }
}

impl fmt::Display for TokenAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        TokenAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let hint = if s.to_ascii_uppercase().starts_with("HS") || s == "none" {
                    " (shared-secret and unsigned tokens are never accepted from an issuer)"
                } else {
                    ""
                };
                format!(
                    "{:?} is not a supported signature algorithm{hint}: use RS256, RS384, \
                     RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA",
                    s.chars().take(40).collect::<String>()
                )
            })
    }
}

/// Checks a URL the resource server fetches or names (issuer, JWKS, public URL): an
/// absolute `https://` URL with a host, or `http://` to a loopback host (`127.0.0.1`,
/// `[::1]`, `localhost`: for tests and local providers); no user info, query or fragment;
/// visible ASCII without quotes, backslashes or angle brackets (it is quoted in headers).
pub fn check_url(value: &str) -> Result<(), String> {
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\\' | '<' | '>'))
    {
        return Err(format!(
            "{value:?} contains {c:?}: write the URL with ASCII characters only (percent-encode others)"
        ));
    }
    let url = reqwest::Url::parse(value).map_err(|e| format!("{value:?} is not a URL: {e}"))?;
    let host = url
        .host_str()
        .ok_or_else(|| format!("{value:?} has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        "http" => {
            return Err(format!(
                "{value:?} must use https (plain http is accepted for 127.0.0.1, [::1] and localhost only)"
            ));
        }
        other => return Err(format!("{value:?}: scheme {other:?} is not http(s)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{value:?} must not contain user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{value:?} must not have a query or fragment"));
    }
    Ok(())
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
