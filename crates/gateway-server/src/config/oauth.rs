//! The gateway as an OAuth 2.1 resource server for existing identity providers
//! (environment > file > default).
//!
//! | environment | file key | default |
//! |---|---|---|
//! | `MCP_GATEWAY_PUBLIC_URL` | `public_url` | `http://HOST:PORT` of the listener when it is on loopback; required with issuers otherwise |
//! | `MCP_GATEWAY_OAUTH_ISSUERS` (a JSON array of issuer objects, or comma-separated issuer URLs) | `oauth_issuers` (array) | none: only the gateway's own tokens and API keys |
//!
//! An issuer object (only `issuer` is required):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `issuer` | — | issuer identifier, compared exactly with `iss` (https; http only for 127.0.0.1, [::1], localhost) |
//! | `name` | the issuer's host | short name: users are `NAME:SUBJECT`, audited as `oidc:NAME:SUBJECT` |
//! | `audience` | none | extra accepted `aud` values (string or array); the public URL and its MCP endpoints' URLs are always accepted |
//! | `jwks_uri` | from `{issuer}/.well-known/openid-configuration`, else RFC 8414 metadata | the issuer's JWKS |
//! | `algorithms` | `["RS256", "ES256", "EdDSA"]` | accepted signature algorithms (also RS384/512, PS256/384/512, ES384; never HS* or none) |
//! | `username_claim` | `sub` | claim naming the user |
//! | `scope_claim` | `scope` | claim with the granted scopes (string or array); `""`: ignore, the role's scopes apply |
//! | `scope_map` | none (values that are gateway scope names count) | issuer scope → gateway scope name(s) |
//! | `role_claim` | none | claim with roles or groups (dotted paths reach nested claims) |
//! | `role_map` | none (values `admin`, `user` count) | claim value → `admin` or `user` |
//! | `default_role` | `user` | role when no value maps; `none` refuses such users (403) |
//! | `templates_claim` | none (all templates) | claim listing allowed templates (`*` = all) |
//! | `leeway` (s) | 60 | clock skew tolerated on `exp`/`nbf` (at most 600) |
//! | `jwks_refresh` (s) | 300 | how often the keys are fetched again (1 to 86400) |
//! | `jwks_min_refetch` (s) | 30 | least time between token-triggered fetches (unknown `kid`), 1 to 3600 |
//! | `token_exchange` | none | the gateway's client for RFC 8693 token exchange (templates with `upstream_auth` `token_exchange` name this issuer): `{"client_id": …, "client_secret": …, "token_endpoint"?: …}` (the endpoint defaults to the discovery document's `token_endpoint`; the secret is never logged or shown) |

use std::{collections::BTreeMap, time::Duration};

use gateway_auth::oidc::{
    ClaimMapping, ExchangeClient, IssuerConfig, OAuthConfig, TokenAlgorithm, check_url,
};
use gateway_core::{Role, Scopes};
use serde::Deserialize;

use super::ConfigError;

const ENV_PUBLIC_URL: &str = "MCP_GATEWAY_PUBLIC_URL";
const ENV_ISSUERS: &str = "MCP_GATEWAY_OAUTH_ISSUERS";

/// Validated resource-server settings; the resource identifier is settled once the
/// listener is bound ([`OAuthSettings::config`]).
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// `MCP_GATEWAY_PUBLIC_URL`, without a trailing slash.
    pub public_url: Option<String>,
    /// The trusted issuers (empty: none).
    pub issuers: Vec<IssuerConfig>,
}

impl OAuthSettings {
    /// The resource-server configuration for a gateway listening on `bound`, if issuers
    /// are configured: the resource identifier is the public URL, else `http://HOST:PORT`
    /// of the (loopback) listener.
    pub fn config(
        &self,
        scheme: &str,
        host: &str,
        bound: std::net::SocketAddr,
    ) -> Option<OAuthConfig> {
        if self.issuers.is_empty() {
            return None;
        }
        let resource = self.public_url.clone().unwrap_or_else(|| {
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_owned()
            };
            format!("{scheme}://{host}:{}", bound.port())
        });
        Some(OAuthConfig {
            resource,
            issuers: self.issuers.clone(),
        })
    }
}

/// One issuer as written in the file or `MCP_GATEWAY_OAUTH_ISSUERS`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IssuerFile {
    issuer: String,
    name: Option<String>,
    audience: Option<OneOrMany>,
    jwks_uri: Option<String>,
    algorithms: Option<Vec<String>>,
    username_claim: Option<String>,
    scope_claim: Option<String>,
    scope_map: Option<BTreeMap<String, OneOrMany>>,
    role_claim: Option<String>,
    role_map: Option<BTreeMap<String, String>>,
    default_role: Option<String>,
    templates_claim: Option<String>,
    leeway: Option<u64>,
    jwks_refresh: Option<u64>,
    jwks_min_refetch: Option<u64>,
    token_exchange: Option<ExchangeFile>,
}

/// An issuer's `token_exchange` object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExchangeFile {
    client_id: String,
    client_secret: String,
    token_endpoint: Option<String>,
}

impl std::fmt::Debug for ExchangeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeFile")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_endpoint", &self.token_endpoint)
            .finish()
    }
}

/// A string or an array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Resolves the settings. `auth_enabled`, `bind_host` and `local_issuer` (the gateway's
/// own `iss`) are checked against them.
pub(super) fn load(
    file_public_url: Option<String>,
    file_issuers: Option<Vec<IssuerFile>>,
    auth_enabled: bool,
    bind_host: &str,
    local_issuer: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<OAuthSettings, ConfigError> {
    let get = |key: &str| {
        env(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (public_url, url_key) = match get(ENV_PUBLIC_URL) {
        Some(v) => (Some(v), ENV_PUBLIC_URL),
        None => (file_public_url, "public_url"),
    };
    let public_url = public_url
        .map(|url| {
            check_url(&url).map_err(|e| ConfigError::new(url_key, e))?;
            Ok::<_, ConfigError>(url.trim_end_matches('/').to_owned())
        })
        .transpose()?;
    let (entries, key) = match get(ENV_ISSUERS) {
        Some(v) => (env_issuers(&v)?, ENV_ISSUERS),
        None => (file_issuers.unwrap_or_default(), "oauth_issuers"),
    };
    let mut issuers: Vec<IssuerConfig> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let issuer = validate(entry, &format!("{key}[{i}]"))?;
        let clash = issuers
            .iter()
            .find(|other| other.name == issuer.name || other.issuer == issuer.issuer);
        if let Some(other) = clash {
            return Err(ConfigError::new(
                format!("{key}[{i}]"),
                format!(
                    "issuer {:?} (name {:?}) repeats {:?} (name {:?}): give each issuer its own URL and `name`",
                    issuer.issuer, issuer.name, other.issuer, other.name
                ),
            ));
        }
        if issuer.issuer == local_issuer {
            return Err(ConfigError::new(
                format!("{key}[{i}].issuer"),
                "is the gateway's own token issuer (MCP_GATEWAY_JWT_ISSUER): choose another jwt_issuer",
            ));
        }
        issuers.push(issuer);
    }
    if !issuers.is_empty() {
        if !auth_enabled {
            return Err(ConfigError::new(
                key,
                "needs authentication on: start with --auth (or MCP_GATEWAY_AUTH=1)",
            ));
        }
        if public_url.is_none() && !super::is_loopback(bind_host) {
            return Err(ConfigError::new(
                ENV_PUBLIC_URL,
                "is required with OAuth issuers when listening on a non-loopback address: \
                 set the URL clients use to reach the gateway (e.g. https://mcp.example.com); \
                 it is the resource identifier tokens must name in `aud`",
            ));
        }
    }
    Ok(OAuthSettings {
        public_url,
        issuers,
    })
}

/// `MCP_GATEWAY_OAUTH_ISSUERS`: a JSON array of issuer objects, or issuer URLs separated
/// by commas (each with the defaults).
fn env_issuers(value: &str) -> Result<Vec<IssuerFile>, ConfigError> {
    if value.starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(value);
        return serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            ConfigError::new(
                format!("{ENV_ISSUERS}{}", path_suffix(&path)),
                e.into_inner(),
            )
        });
    }
    Ok(value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|issuer| IssuerFile {
            issuer: issuer.to_owned(),
            name: None,
            audience: None,
            jwks_uri: None,
            algorithms: None,
            username_claim: None,
            scope_claim: None,
            scope_map: None,
            role_claim: None,
            role_map: None,
            default_role: None,
            templates_claim: None,
            leeway: None,
            jwks_refresh: None,
            jwks_min_refetch: None,
            token_exchange: None,
        })
        .collect())
}

fn path_suffix(path: &str) -> String {
    match path {
        "." | "" | "?" => String::new(),
        p if p.starts_with('[') => p.to_owned(),
        p => format!(".{p}"),
    }
}

fn validate(entry: IssuerFile, key: &str) -> Result<IssuerConfig, ConfigError> {
    let field = |name: &str| format!("{key}.{name}");
    let err = |name: &str, message: String| ConfigError::new(field(name), message);
    check_url(&entry.issuer).map_err(|e| err("issuer", e))?;
    let name = match entry.name {
        Some(name) => name,
        None => host_of(&entry.issuer).unwrap_or_default(),
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(err(
            "name",
            format!("{name:?} must be 1-64 letters, digits, '.', '-' or '_'"),
        ));
    }
    let mut config = IssuerConfig::new(name, entry.issuer);
    if let Some(audience) = entry.audience {
        config.audiences = audience.into_vec();
        if config.audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(err("audience", "must not be empty".to_owned()));
        }
    }
    if let Some(uri) = entry.jwks_uri {
        check_url(&uri).map_err(|e| err("jwks_uri", e))?;
        config.jwks_uri = Some(uri);
    }
    if let Some(names) = entry.algorithms {
        config.algorithms = names
            .iter()
            .map(|n| n.parse::<TokenAlgorithm>())
            .collect::<Result<_, _>>()
            .map_err(|e| err("algorithms", e))?;
        if config.algorithms.is_empty() {
            return Err(err(
                "algorithms",
                "must name at least one algorithm".to_owned(),
            ));
        }
    }
    let claim = |name: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
        match value {
            Some(v) if v.is_empty() || v.len() > 256 => Err(err(
                name,
                "must be a claim name of 1-256 characters".to_owned(),
            )),
            other => Ok(other),
        }
    };
    let mut claims = ClaimMapping::default();
    if let Some(username) = claim("username_claim", entry.username_claim)? {
        claims.username = username;
    }
    claims.scope = match entry.scope_claim {
        Some(v) if v.is_empty() => None,
        other => claim("scope_claim", other)?.or(claims.scope),
    };
    if let Some(map) = entry.scope_map {
        let mut parsed = BTreeMap::new();
        for (scope, ours) in map {
            let scopes = Scopes::parse_list(ours.into_vec())
                .map_err(|e| err(&format!("scope_map.{scope}"), e.to_string()))?;
            parsed.insert(scope, scopes);
        }
        claims.scope_map = Some(parsed);
    }
    claims.role = claim("role_claim", entry.role_claim)?;
    if let Some(map) = entry.role_map {
        let mut parsed = BTreeMap::new();
        for (value, role) in map {
            let role = role
                .parse::<Role>()
                .map_err(|e| err(&format!("role_map.{value}"), e.to_string()))?;
            parsed.insert(value, role);
        }
        claims.role_map = Some(parsed);
    }
    claims.default_role = match entry.default_role.as_deref() {
        None => Some(Role::User),
        Some("none") => None,
        Some(role) => Some(role.parse::<Role>().map_err(|_| {
            err(
                "default_role",
                format!("{role:?} is not admin, user or none"),
            )
        })?),
    };
    claims.templates = claim("templates_claim", entry.templates_claim)?;
    config.claims = claims;
    let seconds = |name: &str,
                   value: Option<u64>,
                   default: Duration,
                   range: std::ops::RangeInclusive<u64>| {
        let secs = value.unwrap_or(default.as_secs());
        if range.contains(&secs) {
            Ok(Duration::from_secs(secs))
        } else {
            Err(err(
                name,
                format!(
                    "must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            ))
        }
    };
    config.leeway = seconds("leeway", entry.leeway, config.leeway, 0..=600)?;
    config.jwks_refresh = seconds(
        "jwks_refresh",
        entry.jwks_refresh,
        config.jwks_refresh,
        1..=86_400,
    )?;
    config.jwks_min_refetch = seconds(
        "jwks_min_refetch",
        entry.jwks_min_refetch,
        config.jwks_min_refetch,
        1..=3600,
    )?;
    if let Some(exchange) = entry.token_exchange {
        let text = |name: &str, v: &str| {
            if v.is_empty() || v.len() > 1024 || !v.bytes().all(|b| b.is_ascii_graphic()) {
                Err(err(
                    &format!("token_exchange.{name}"),
                    "must be 1-1024 visible ASCII characters".to_owned(),
                ))
            } else {
                Ok(())
            }
        };
        text("client_id", &exchange.client_id)?;
        text("client_secret", &exchange.client_secret)?;
        if let Some(url) = &exchange.token_endpoint {
            check_url(url).map_err(|e| err("token_exchange.token_endpoint", e))?;
        }
        config.token_exchange = Some(ExchangeClient {
            client_id: exchange.client_id,
            client_secret: gateway_auth::Secret::new(exchange.client_secret),
            token_endpoint: exchange.token_endpoint,
        });
    }
    Ok(config)
}

/// The host of an already checked URL (`https://HOST[:port]/...`).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    Some(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
