//! DNS-rebinding protection: a present `Origin` or a `Host` outside the allowlist gets
//! 403 before anything else runs (MCP 2025-11-25 Streamable HTTP, "Security").

use axum::http::{HeaderMap, Uri, header};

/// Origins that are always local.
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The Host and Origin allowlists (`None` = any).
#[derive(Debug, Clone)]
pub(crate) struct OriginPolicy {
    pub(crate) hosts: Option<Vec<String>>,
    pub(crate) origins: Option<Vec<String>>,
}

impl OriginPolicy {
    /// `Err` names the refused header.
    pub(crate) fn check(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), &'static str> {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .map(|h| strip_port(h).to_ascii_lowercase());
        if let (Some(allowed), Some(host)) = (&self.hosts, &host)
            && !allowed.iter().any(|a| a == host)
        {
            return Err("Host");
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let Some(allowed) = &self.origins else {
            return Ok(());
        };
        let origin = origin.to_str().map_err(|_| "Origin")?.to_ascii_lowercase();
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| strip_port(rest).to_owned())
            .ok_or("Origin")?;
        let same_origin = host.as_deref() == Some(origin_host.as_str());
        if LOOPBACK.contains(&origin_host.as_str()) || same_origin || allowed.contains(&origin) {
            Ok(())
        } else {
            Err("Origin")
        }
    }
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
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn local() -> OriginPolicy {
        OriginPolicy {
            hosts: Some(LOOPBACK.iter().map(|s| (*s).to_owned()).collect()),
            origins: Some(vec!["https://app.example.com".into()]),
        }
    }

    #[test]
    fn loopback_hosts_and_origins_pass() {
        let uri = Uri::from_static("/mcp");
        for (host, origin) in [
            ("127.0.0.1:8080", "http://localhost:3000"),
            ("localhost", "http://127.0.0.1"),
            ("[::1]:9", "http://[::1]:5173"),
            ("127.0.0.1:1", "https://app.example.com"),
        ] {
            assert_eq!(
                local().check(&headers(&[("host", host), ("origin", origin)]), &uri),
                Ok(()),
                "{host} {origin}"
            );
        }
        assert_eq!(
            local().check(&headers(&[("host", "127.0.0.1")]), &uri),
            Ok(())
        );
    }

    #[test]
    fn rebinding_attempts_are_refused() {
        let uri = Uri::from_static("/mcp");
        assert_eq!(
            local().check(&headers(&[("host", "evil.example.com")]), &uri),
            Err("Host")
        );
        assert_eq!(
            local().check(
                &headers(&[
                    ("host", "127.0.0.1:8080"),
                    ("origin", "http://evil.example.com")
                ]),
                &uri
            ),
            Err("Origin")
        );
        assert_eq!(
            local().check(&headers(&[("host", "localhost"), ("origin", "null")]), &uri),
            Err("Origin")
        );
        let open = OriginPolicy {
            hosts: None,
            origins: None,
        };
        assert_eq!(
            open.check(
                &headers(&[("host", "evil.example.com"), ("origin", "http://x")]),
                &uri
            ),
            Ok(())
        );
    }
}
