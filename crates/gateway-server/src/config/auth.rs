//! Authentication settings. Each key: flag > environment > file > default.
//!
//! | flag | environment | file key | default |
//! |---|---|---|---|
//! | `--auth` | `MCP_GATEWAY_AUTH` | `auth` | off (then only a loopback bind is allowed) |
//! | `--insecure-no-auth` | `MCP_GATEWAY_INSECURE_NO_AUTH` | — | off |
//! | | `MCP_GATEWAY_JWT_SECRET` | `jwt_secret` | generated once, stored in the database |
//! | | `MCP_GATEWAY_JWT_EXPIRY` (s) | `jwt_expiry` | 3600 |
//! | | `MCP_GATEWAY_JWT_ISSUER` / `_AUDIENCE` | `jwt_issuer` / `jwt_audience` | `mcp-gateway` |
//! | | `MCP_GATEWAY_ALLOW_STDIO_REGISTRATION` | `allow_stdio_registration` | off |
//! | | `MCP_GATEWAY_ENDPOINT_ALLOWLIST` (comma-separated) | `endpoint_allowlist` (array) | none |
//! | | `MCP_GATEWAY_TRUSTED_PROXIES` (comma-separated CIDRs) | `trusted_proxies` (array) | none: `X-Forwarded-For` is ignored |
//! | | `MCP_GATEWAY_RATE_LIMIT_USER` / `_ADMIN` (per minute) | `rate_limit_user` / `rate_limit_admin` | 1200 / 6000 |
//! | | `MCP_GATEWAY_ADMIN_PASSWORD` | — | generated and printed once |
//! | | `MCP_GATEWAY_BCRYPT_COST` | — | 12 (lower only in debug builds) |
//! | | `MCP_GATEWAY_PUBLIC_URL`, `MCP_GATEWAY_OAUTH_ISSUERS` | `public_url`, `oauth_issuers` | see `config/oauth.rs` |

use std::{num::NonZeroU32, time::Duration};

use gateway_auth::{
    AuthConfig, EndpointAllowlist, MIN_JWT_SECRET_LEN, RoleLimits, Secret, TrustedProxies,
};

use super::{ConfigError, boolean};

/// Authentication and registration-policy settings.
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// Whether requests must authenticate.
    pub enabled: bool,
    /// Allows binding a non-loopback address without authentication.
    pub insecure_no_auth: bool,
    /// Whether stdio commands may be registered over the API (by admins when auth is on).
    pub allow_stdio_registration: bool,
    /// Hosts that HTTP/SSE instances registered over the API may point at (SSRF guard).
    pub endpoint_allowlist: Option<EndpointAllowlist>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for login throttling,
    /// the invalid-credential throttle and the audit log).
    pub trusted_proxies: TrustedProxies,
    /// Tokens, hashing, caching and rate limits.
    pub config: AuthConfig,
    /// External identity providers whose access tokens are accepted (see `oauth`).
    pub oauth: super::OAuthSettings,
}

/// The authentication keys of the configuration file.
#[derive(Debug, Default)]
pub(super) struct AuthFile {
    pub(super) auth: Option<bool>,
    pub(super) jwt_secret: Option<String>,
    pub(super) jwt_expiry: Option<u64>,
    pub(super) jwt_issuer: Option<String>,
    pub(super) jwt_audience: Option<String>,
    pub(super) allow_stdio_registration: Option<bool>,
    pub(super) endpoint_allowlist: Option<Vec<String>>,
    pub(super) trusted_proxies: Option<Vec<String>>,
    pub(super) rate_limit_user: Option<u32>,
    pub(super) rate_limit_admin: Option<u32>,
}

/// Resolves the authentication settings.
pub(super) fn load(
    file: AuthFile,
    flag_auth: Option<bool>,
    flag_insecure: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<AuthSettings, ConfigError> {
    let var = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let enabled = match flag_auth {
        Some(on) => on,
        None => match var("MCP_GATEWAY_AUTH") {
            Some(v) => boolean("MCP_GATEWAY_AUTH", &v)?,
            None => file.auth.unwrap_or(false),
        },
    };
    let insecure_no_auth = flag_insecure
        || var("MCP_GATEWAY_INSECURE_NO_AUTH")
            .map(|v| boolean("MCP_GATEWAY_INSECURE_NO_AUTH", &v))
            .transpose()?
            .unwrap_or(false);
    let allow_stdio_registration = match var("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION") {
        Some(v) => boolean("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", &v)?,
        None => file.allow_stdio_registration.unwrap_or(false),
    };
    let endpoint_allowlist = match var("MCP_GATEWAY_ENDPOINT_ALLOWLIST") {
        Some(v) => Some(
            EndpointAllowlist::parse(&v)
                .map_err(|e| ConfigError::new("MCP_GATEWAY_ENDPOINT_ALLOWLIST", e))?,
        ),
        None => file
            .endpoint_allowlist
            .map(|list| {
                EndpointAllowlist::parse(&list.join(","))
                    .map_err(|e| ConfigError::new("endpoint_allowlist", e))
            })
            .transpose()?,
    };
    let trusted_proxies = match var("MCP_GATEWAY_TRUSTED_PROXIES") {
        Some(v) => TrustedProxies::parse(&v)
            .map_err(|e| ConfigError::new("MCP_GATEWAY_TRUSTED_PROXIES", e))?,
        None => TrustedProxies::parse(&file.trusted_proxies.unwrap_or_default().join(","))
            .map_err(|e| ConfigError::new("trusted_proxies", e))?,
    };

    let defaults = AuthConfig::default();
    let (jwt_secret, secret_key) = match var("MCP_GATEWAY_JWT_SECRET") {
        Some(v) => (Some(v), "MCP_GATEWAY_JWT_SECRET"),
        None => (file.jwt_secret, "jwt_secret"),
    };
    if let Some(secret) = &jwt_secret
        && secret.len() < MIN_JWT_SECRET_LEN
    {
        return Err(ConfigError::new(
            secret_key,
            format!(
                "must be at least {MIN_JWT_SECRET_LEN} bytes (256 bits); generate one with `openssl rand -base64 48`"
            ),
        ));
    }
    let token_ttl = match number("MCP_GATEWAY_JWT_EXPIRY", &var)? {
        Some(v) => (v, "MCP_GATEWAY_JWT_EXPIRY"),
        None => (
            file.jwt_expiry.unwrap_or(defaults.token_ttl.as_secs()),
            "jwt_expiry",
        ),
    };
    if !(60..=30 * 24 * 3600).contains(&token_ttl.0) {
        return Err(ConfigError::new(
            token_ttl.1,
            "must be between 60 and 2592000 seconds (30 days)",
        ));
    }
    let text = |env_key: &str, file_value: Option<String>, default: &str| {
        var(env_key)
            .or(file_value)
            .unwrap_or_else(|| default.to_owned())
    };
    let rate = |env_key: &'static str, file_key: &'static str, file_value: Option<u32>, default| {
        let (value, key) = match number(env_key, &var)? {
            Some(v) => (u32::try_from(v).unwrap_or(u32::MAX), env_key),
            None => (file_value.unwrap_or(default), file_key),
        };
        NonZeroU32::new(value)
            .filter(|v| v.get() <= 10_000_000)
            .ok_or_else(|| {
                ConfigError::new(key, "must be between 1 and 10000000 requests per minute")
            })
    };
    let bcrypt_cost = match number("MCP_GATEWAY_BCRYPT_COST", &var)? {
        Some(v) => gateway_auth::password::check_cost(u32::try_from(v).unwrap_or(u32::MAX))
            .map_err(|e| ConfigError::new("MCP_GATEWAY_BCRYPT_COST", e.to_string()))?,
        None => defaults.bcrypt_cost,
    };
    let config = AuthConfig {
        jwt_secret: jwt_secret.map(Secret::new),
        issuer: text("MCP_GATEWAY_JWT_ISSUER", file.jwt_issuer, &defaults.issuer),
        audience: text(
            "MCP_GATEWAY_JWT_AUDIENCE",
            file.jwt_audience,
            &defaults.audience,
        ),
        token_ttl: Duration::from_secs(token_ttl.0),
        bcrypt_cost,
        cache_ttl: defaults.cache_ttl,
        rate_limits: RoleLimits {
            user: rate(
                "MCP_GATEWAY_RATE_LIMIT_USER",
                "rate_limit_user",
                file.rate_limit_user,
                defaults.rate_limits.user.get(),
            )?,
            admin: rate(
                "MCP_GATEWAY_RATE_LIMIT_ADMIN",
                "rate_limit_admin",
                file.rate_limit_admin,
                defaults.rate_limits.admin.get(),
            )?,
        },
        admin_password: var("MCP_GATEWAY_ADMIN_PASSWORD").map(Secret::new),
        // Settled once the listener is bound (the resource identifier may be its address).
        oauth: None,
    };
    Ok(AuthSettings {
        enabled,
        insecure_no_auth,
        allow_stdio_registration,
        endpoint_allowlist,
        trusted_proxies,
        config,
        oauth: super::OAuthSettings::default(),
    })
}

fn number(key: &str, var: &impl Fn(&str) -> Option<String>) -> Result<Option<u64>, ConfigError> {
    var(key)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::new(key, format!("{v:?} is not a whole number")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::config::test_env as env;

    #[test]
    fn off_by_default_and_flags_win() {
        let s = load(AuthFile::default(), None, false, &env(&[])).unwrap();
        assert!(!s.enabled && !s.insecure_no_auth && !s.allow_stdio_registration);
        assert!(s.trusted_proxies.is_empty());
        assert!(s.config.jwt_secret.is_none() && s.endpoint_allowlist.is_none());
        assert_eq!(s.config.bcrypt_cost, 12);
        let file = AuthFile {
            auth: Some(true),
            ..AuthFile::default()
        };
        assert!(load(file, None, false, &env(&[])).unwrap().enabled);
        let s = load(
            AuthFile::default(),
            None,
            false,
            &env(&[("MCP_GATEWAY_AUTH", "1")]),
        )
        .unwrap();
        assert!(s.enabled);
        let s = load(
            AuthFile::default(),
            Some(false),
            true,
            &env(&[("MCP_GATEWAY_AUTH", "1")]),
        )
        .unwrap();
        assert!(!s.enabled && s.insecure_no_auth);
    }

    #[test]
    fn the_file_keys_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.json");
        std::fs::write(
            &path,
            r#"{"auth": true, "jwt_expiry": 600, "allow_stdio_registration": true,
                "endpoint_allowlist": ["127.0.0.1:7071", "*.internal"], "rate_limit_user": 5,
                "trusted_proxies": ["10.0.0.0/8", "::1"],
                "jwt_secret": "0123456789abcdef0123456789abcdef"}"#,
        )
        .unwrap();
        let overrides = crate::config::Overrides {
            config_file: Some(path),
            ..Default::default()
        };
        let s = crate::config::Settings::load_with_env(overrides, env(&[]))
            .unwrap()
            .auth;
        assert!(s.enabled && s.allow_stdio_registration);
        assert_eq!(s.config.token_ttl, Duration::from_secs(600));
        assert_eq!(s.config.rate_limits.user.get(), 5);
        assert!(s.config.jwt_secret.is_some());
        assert!(s.trusted_proxies.contains("10.9.8.7".parse().unwrap()));
        assert!(s.trusted_proxies.contains("::1".parse().unwrap()));
        assert!(
            s.endpoint_allowlist
                .unwrap()
                .allows("https://a.internal/mcp")
        );
    }

    #[test]
    fn values_are_validated_and_secrets_redacted() {
        let bad =
            |vars: &[(&str, &str)]| load(AuthFile::default(), None, false, &env(vars)).unwrap_err();
        assert_eq!(
            bad(&[("MCP_GATEWAY_AUTH", "maybe")]).key(),
            "MCP_GATEWAY_AUTH"
        );
        assert_eq!(
            bad(&[("MCP_GATEWAY_JWT_SECRET", "short")]).key(),
            "MCP_GATEWAY_JWT_SECRET"
        );
        assert_eq!(
            bad(&[("MCP_GATEWAY_JWT_EXPIRY", "5")]).key(),
            "MCP_GATEWAY_JWT_EXPIRY"
        );
        assert_eq!(
            bad(&[("MCP_GATEWAY_ENDPOINT_ALLOWLIST", "a/b")]).key(),
            "MCP_GATEWAY_ENDPOINT_ALLOWLIST"
        );
        assert_eq!(
            bad(&[("MCP_GATEWAY_RATE_LIMIT_USER", "0")]).key(),
            "MCP_GATEWAY_RATE_LIMIT_USER"
        );
        assert_eq!(
            bad(&[("MCP_GATEWAY_BCRYPT_COST", "40")]).key(),
            "MCP_GATEWAY_BCRYPT_COST"
        );
        let e = bad(&[("MCP_GATEWAY_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")]);
        assert_eq!(e.key(), "MCP_GATEWAY_TRUSTED_PROXIES");
        assert!(e.to_string().contains("proxy.internal"), "{e}");
        let secret = "s3cret-s3cret-s3cret-s3cret-s3cret-s3cret";
        let s = load(
            AuthFile::default(),
            None,
            false,
            &env(&[
                ("MCP_GATEWAY_JWT_SECRET", secret),
                ("MCP_GATEWAY_ADMIN_PASSWORD", "admin-pass-admin-pass"),
                (
                    "MCP_GATEWAY_ENDPOINT_ALLOWLIST",
                    "localhost:7071,*.internal",
                ),
                ("MCP_GATEWAY_ALLOW_STDIO_REGISTRATION", "true"),
                ("MCP_GATEWAY_RATE_LIMIT_USER", "30"),
            ]),
        )
        .unwrap();
        assert!(s.allow_stdio_registration);
        assert_eq!(s.config.rate_limits.user.get(), 30);
        assert!(
            s.endpoint_allowlist
                .as_ref()
                .unwrap()
                .allows("http://localhost:7071/mcp")
        );
        let debug = format!("{s:?}");
        assert!(
            !debug.contains(secret) && !debug.contains("admin-pass"),
            "{debug}"
        );
    }
}
