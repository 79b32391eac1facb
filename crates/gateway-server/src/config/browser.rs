//! What browsers may do: the `Host` names a request may carry (DNS-rebinding protection),
//! the `Origin`s whose pages may call the gateway, and the CORS answers they get. These
//! apply to every route (native MCP, REST facade, `/gateway/*`, `/auth/*`, docs).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MCP_GATEWAY_ALLOWED_HOSTS` | loopback names when bound to loopback, else any | `Host` values accepted (`*` = any) |
//! | `MCP_GATEWAY_ALLOWED_ORIGINS` | none listed (loopback and same-origin pages pass) | `Origin`s accepted, comma-separated `scheme://host[:port]` (`*` = any); listed origins also get CORS |
//! | `MCP_GATEWAY_CORS_ALLOW_CREDENTIALS` | off | send `Access-Control-Allow-Credentials: true` to listed origins |
//! | `MCP_GATEWAY_CORS_MAX_AGE` | 600 | seconds a browser may cache a preflight answer (0 to 86400) |

use super::ConfigError;

/// Validated browser-facing settings.
#[derive(Debug, Clone)]
pub struct BrowserSettings {
    /// Accepted `Host` names (lower case, without port); `None` = any.
    pub(crate) allowed_hosts: Option<Vec<String>>,
    /// Accepted `Origin`s (lower case, `scheme://host[:port]`); `None` = any.
    pub(crate) allowed_origins: Option<Vec<String>>,
    /// `Access-Control-Allow-Credentials: true` for CORS answers.
    pub(crate) cors_allow_credentials: bool,
    /// `Access-Control-Max-Age` of preflight answers, seconds.
    pub(crate) cors_max_age: u32,
}

/// Host names that are always local.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

pub(super) fn load(
    bind_host: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<BrowserSettings, ConfigError> {
    let get = |key: &str| {
        env(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let list = |key: &str| -> Option<Vec<String>> {
        get(key).map(|v| {
            v.split(',')
                .map(|s| s.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
    };
    let any_or = |values: Option<Vec<String>>, default: Option<Vec<String>>| match values {
        Some(v) if v.iter().any(|s| s == "*") => None,
        Some(v) => Some(v),
        None => default,
    };
    // A gateway bound to loopback is what DNS rebinding attacks: only local names may
    // reach it. Bound elsewhere, it sits behind names the operator knows (set the list).
    let default_hosts = super::is_loopback(bind_host)
        .then(|| LOOPBACK_HOSTS.iter().map(|s| (*s).to_owned()).collect());
    let allowed_hosts = any_or(list("MCP_GATEWAY_ALLOWED_HOSTS"), default_hosts);
    let allowed_origins = any_or(list("MCP_GATEWAY_ALLOWED_ORIGINS"), Some(Vec::new()));
    if let Some(origins) = &allowed_origins
        && let Some(bad) = origins.iter().find(|o| !is_origin(o))
    {
        return Err(ConfigError::new(
            "MCP_GATEWAY_ALLOWED_ORIGINS",
            format!(
                "{bad:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com"
            ),
        ));
    }
    let cors_allow_credentials = match get("MCP_GATEWAY_CORS_ALLOW_CREDENTIALS") {
        Some(v) => super::boolean("MCP_GATEWAY_CORS_ALLOW_CREDENTIALS", &v)?,
        None => false,
    };
    let cors_max_age = match get("MCP_GATEWAY_CORS_MAX_AGE") {
        None => 600,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 86_400)
            .ok_or_else(|| {
                ConfigError::new(
                    "MCP_GATEWAY_CORS_MAX_AGE",
                    format!("{v:?} must be a whole number of seconds from 0 to 86400"),
                )
            })?,
    };
    Ok(BrowserSettings {
        allowed_hosts,
        allowed_origins,
        cors_allow_credentials,
        cors_max_age,
    })
}

/// `scheme://host[:port]` with nothing after it.
fn is_origin(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
    })
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::config::test_env as env;

    #[test]
    fn defaults_depend_on_the_bind_address() {
        let local = load("127.0.0.1", &env(&[])).unwrap();
        assert_eq!(local.allowed_hosts.unwrap().len(), 3);
        assert_eq!(local.allowed_origins, Some(vec![]));
        assert!(!local.cors_allow_credentials);
        assert_eq!(local.cors_max_age, 600);
        let public = load("0.0.0.0", &env(&[])).unwrap();
        assert!(public.allowed_hosts.is_none());
    }

    #[test]
    fn lists_and_wildcards() {
        let s = load(
            "127.0.0.1",
            &env(&[
                ("MCP_GATEWAY_ALLOWED_HOSTS", "*"),
                (
                    "MCP_GATEWAY_ALLOWED_ORIGINS",
                    "https://App.example.com/, http://localhost:6274",
                ),
                ("MCP_GATEWAY_CORS_ALLOW_CREDENTIALS", "1"),
                ("MCP_GATEWAY_CORS_MAX_AGE", "0"),
            ]),
        )
        .unwrap();
        assert!(s.allowed_hosts.is_none());
        assert_eq!(
            s.allowed_origins.unwrap(),
            ["https://app.example.com", "http://localhost:6274"]
        );
        assert!(s.cors_allow_credentials);
        assert_eq!(s.cors_max_age, 0);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (key, value) in [
            ("MCP_GATEWAY_ALLOWED_ORIGINS", "app.example.com"),
            ("MCP_GATEWAY_ALLOWED_ORIGINS", "https://a.example/path"),
            ("MCP_GATEWAY_CORS_ALLOW_CREDENTIALS", "maybe"),
            ("MCP_GATEWAY_CORS_MAX_AGE", "-1"),
            ("MCP_GATEWAY_CORS_MAX_AGE", "90000"),
        ] {
            let e = load("127.0.0.1", &env(&[(key, value)])).unwrap_err();
            assert_eq!(e.key(), key, "{value}");
        }
    }
}
