//! [`EndpointAllowlist`]: which upstream hosts may be registered over the API (an SSRF
//! guard). Patterns are `host`, `host:port`, `*.domain` or `*.domain:port`; IPv6 hosts
//! are written in brackets (`[::1]:8080`). Without a port, any port matches.
//!
//! The check compares the host *name* in the URL; it does not resolve it. Allow names
//! whose DNS you control, or literal addresses.

use std::fmt;

/// Allowed upstream hosts.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointAllowlist {
    patterns: Vec<Pattern>,
}

#[derive(Clone, PartialEq, Eq)]
struct Pattern {
    /// Lower-case host (without brackets); for a wildcard, the suffix after `*.`.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl EndpointAllowlist {
    /// Parses comma-separated patterns (empty entries are skipped).
    ///
    /// ```
    /// use gateway_auth::EndpointAllowlist;
    /// let list = EndpointAllowlist::parse("127.0.0.1:7071, *.internal.example").unwrap();
    /// assert!(list.allows("http://127.0.0.1:7071/mcp"));
    /// assert!(list.allows("https://mcp.internal.example/x"));
    /// assert!(!list.allows("http://127.0.0.1:8080/mcp"));
    /// assert!(!list.allows("http://169.254.169.254/latest/meta-data"));
    /// ```
    pub fn parse(list: &str) -> Result<Self, String> {
        let patterns = list
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Pattern::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if patterns.is_empty() {
            return Err("the allowlist has no entries".to_owned());
        }
        Ok(Self { patterns })
    }

    /// Whether `url` (an `http(s)://` URL) points at an allowed host and port.
    pub fn allows(&self, url: &str) -> bool {
        let Some((host, port)) = host_and_port(url) else {
            return false;
        };
        self.patterns.iter().any(|p| p.matches(&host, port))
    }
}

impl fmt::Debug for EndpointAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.patterns.iter()).finish()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let star = if self.wildcard { "*." } else { "" };
        match self.port {
            Some(port) => write!(f, "{star}{host}:{port}"),
            None => write!(f, "{star}{host}"),
        }
    }
}

impl Pattern {
    fn parse(raw: &str) -> Result<Pattern, String> {
        let bad = |why: &str| format!("invalid endpoint pattern {raw:?}: {why}");
        let (wildcard, rest) = match raw.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (host, port) = split_host_port(rest).ok_or_else(|| bad("expected host[:port]"))?;
        if host.is_empty() || host.contains(['*', '/', '@', ' ']) {
            return Err(bad("expected host[:port]"));
        }
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| bad("invalid port")))
            .transpose()?;
        Ok(Pattern {
            host: host.to_ascii_lowercase(),
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        let host_ok = if self.wildcard {
            host.strip_suffix(self.host.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        } else {
            host == self.host
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

/// `host` and `port` of `host[:port]` or `[v6][:port]` (host without brackets).
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port))),
        Some(_) => None,
        None => Some((authority, None)),
    }
}

/// The lower-case host and effective port of an `http(s)://` URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    // Userinfo (`user:pass@`) is not part of the host.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = split_host_port(authority)?;
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hosts_ports_and_wildcards() {
        let list = EndpointAllowlist::parse(
            "localhost:7071,*.svc.cluster.local,[::1]:9000,api.example.com",
        )
        .unwrap();
        for ok in [
            "http://localhost:7071/mcp",
            "http://LOCALHOST:7071",
            "http://a.svc.cluster.local:1234/mcp",
            "https://x.y.svc.cluster.local/",
            "http://[::1]:9000/mcp",
            "https://api.example.com/mcp",
            "http://api.example.com:8443/",
            "http://user:pw@api.example.com/",
            "http://api.example.com./",
        ] {
            assert!(list.allows(ok), "{ok} refused");
        }
        for bad in [
            "http://localhost:7072/mcp",
            "http://localhost/mcp",
            "http://svc.cluster.local/",
            "http://evilsvc.cluster.local/",
            "http://[::1]:9001/",
            "http://api.example.com@169.254.169.254/",
            "http://api.example.com.evil.net/",
            "ftp://api.example.com/",
            "api.example.com",
            "http://169.254.169.254/latest",
        ] {
            assert!(!list.allows(bad), "{bad} allowed");
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in ["", " , ", "host:port", "a/b", "*", "[::1", "http://x"] {
            assert!(EndpointAllowlist::parse(bad).is_err(), "{bad:?}");
        }
        let list = EndpointAllowlist::parse("*.a.b:80").unwrap();
        assert_eq!(format!("{list:?}"), "[*.a.b:80]");
    }
}
