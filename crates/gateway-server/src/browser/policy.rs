//! [`OriginPolicy`]: which `Host`, `Origin` and `Sec-Fetch-Site` combinations may reach
//! the gateway (MCP 2025-11-25 Streamable HTTP, "Security", applied to every route).

use axum::http::{HeaderMap, HeaderValue, Uri, header};

use crate::config::BrowserSettings;

/// Origins that are always local.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The Host and Origin allowlists (`None` = any).
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    pub(crate) hosts: Option<Vec<String>>,
    pub(crate) origins: Option<Vec<String>>,
}

/// What the policy says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it through. `cors` is the request's `Origin` when that origin gets CORS
    /// answers (it is listed, or any origin is allowed).
    Pass { cors: Option<HeaderValue> },
    /// 403: the named header is not acceptable.
    Refuse(Refused),
}

/// The header a refusal names (defined with the other rejections, in `crate::error`).
pub(crate) use crate::error::Refused;

impl OriginPolicy {
    pub(crate) fn new(settings: &BrowserSettings) -> Self {
        Self {
            hosts: settings.allowed_hosts.clone(),
            origins: settings.allowed_origins.clone(),
        }
    }

    /// Checks, in order: the `Host` against the allowlist; a present `Origin` (loopback
    /// pages, same-origin pages and listed origins pass); without an `Origin`, a
    /// cross-site `Sec-Fetch-Site` that is not a top-level navigation is refused (browsers
    /// omit `Origin` on cross-site GETs of images, scripts and the like).
    pub(crate) fn check(&self, headers: &HeaderMap, uri: &Uri) -> Verdict {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .map(|h| strip_port(h).to_ascii_lowercase());
        if let (Some(allowed), Some(host)) = (&self.hosts, &host)
            && !allowed.iter().any(|a| a == host)
        {
            return Verdict::Refuse(Refused::Host);
        }
        let Some(origin_header) = headers.get(header::ORIGIN) else {
            return match cross_site_subresource(headers) {
                true => Verdict::Refuse(Refused::SecFetchSite),
                false => Verdict::Pass { cors: None },
            };
        };
        let Ok(origin) = origin_header.to_str().map(str::to_ascii_lowercase) else {
            return Verdict::Refuse(Refused::Origin);
        };
        let Some(allowed) = &self.origins else {
            return Verdict::Pass {
                cors: Some(origin_header.clone()),
            };
        };
        if allowed.contains(&origin) {
            return Verdict::Pass {
                cors: Some(origin_header.clone()),
            };
        }
        let Some(origin_host) = origin
            .split_once("://")
            .map(|(_, rest)| strip_port(rest).to_owned())
        else {
            return Verdict::Refuse(Refused::Origin);
        };
        let same_origin = host.as_deref() == Some(origin_host.as_str());
        if LOOPBACK.contains(&origin_host.as_str()) || same_origin {
            Verdict::Pass { cors: None }
        } else {
            Verdict::Refuse(Refused::Origin)
        }
    }
}

/// `Sec-Fetch-Site: cross-site` on anything but a top-level navigation (a user following
/// a link to `/docs` is fine; a page embedding `<img src=".../gateway/registry">` is not).
fn cross_site_subresource(headers: &HeaderMap) -> bool {
    let is = |name: &str, value: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    is("sec-fetch-site", "cross-site") && !is("sec-fetch-mode", "navigate")
}

/// `host[:port]` without the port (`[::1]:80` keeps its brackets).
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::headers;

    fn local() -> OriginPolicy {
        OriginPolicy {
            hosts: Some(LOOPBACK.iter().map(|s| (*s).to_owned()).collect()),
            origins: Some(vec!["https://app.example.com".into()]),
        }
    }

    const PASS: Verdict = Verdict::Pass { cors: None };

    #[test]
    fn loopback_hosts_and_origins_pass() {
        let uri = Uri::from_static("/mcp");
        for (host, origin) in [
            ("127.0.0.1:8080", "http://localhost:3000"),
            ("localhost", "http://127.0.0.1"),
            ("[::1]:9", "http://[::1]:5173"),
        ] {
            assert_eq!(
                local().check(&headers(&[("host", host), ("origin", origin)]), &uri),
                PASS,
                "{host} {origin}"
            );
        }
        assert_eq!(
            local().check(&headers(&[("host", "127.0.0.1")]), &uri),
            PASS
        );
    }

    #[test]
    fn listed_origins_get_cors() {
        let uri = Uri::from_static("/gateway/registry");
        let verdict = local().check(
            &headers(&[
                ("host", "127.0.0.1:1"),
                ("origin", "https://App.example.com"),
            ]),
            &uri,
        );
        assert_eq!(
            verdict,
            Verdict::Pass {
                cors: Some(HeaderValue::from_static("https://App.example.com"))
            }
        );
        let open = OriginPolicy {
            hosts: None,
            origins: None,
        };
        assert!(matches!(
            open.check(&headers(&[("origin", "http://x.example")]), &uri),
            Verdict::Pass { cors: Some(_) }
        ));
    }

    #[test]
    fn rebinding_and_cross_site_attempts_are_refused() {
        let uri = Uri::from_static("/gateway/register");
        let refused = |h: &[(&'static str, &str)]| match local().check(&headers(h), &uri) {
            Verdict::Refuse(which) => Some(which),
            Verdict::Pass { .. } => None,
        };
        assert_eq!(
            refused(&[("host", "evil.example.com")]),
            Some(Refused::Host)
        );
        assert_eq!(
            refused(&[
                ("host", "127.0.0.1:8080"),
                ("origin", "http://evil.example.com")
            ]),
            Some(Refused::Origin)
        );
        assert_eq!(
            refused(&[("host", "localhost"), ("origin", "null")]),
            Some(Refused::Origin)
        );
        assert_eq!(
            refused(&[
                ("host", "localhost"),
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "no-cors")
            ]),
            Some(Refused::SecFetchSite)
        );
        assert_eq!(
            refused(&[
                ("host", "localhost"),
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate")
            ]),
            None
        );
        assert_eq!(
            refused(&[("host", "localhost"), ("sec-fetch-site", "same-origin")]),
            None
        );
        let open = OriginPolicy {
            hosts: None,
            origins: None,
        };
        assert!(matches!(
            open.check(
                &headers(&[("host", "evil.example.com"), ("origin", "http://x")]),
                &uri
            ),
            Verdict::Pass { .. }
        ));
    }
}
