//! Loopback-only target URLs: the load generator never sends traffic off this machine.

use std::net::IpAddr;

use anyhow::{Context as _, bail};
use hyper::Uri;

/// Parses `url` and checks that it is `http://` to a loopback address (`127.0.0.0/8`,
/// `::1` or `localhost`).
pub(crate) fn parse_loopback(url: &str) -> anyhow::Result<Uri> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("invalid URL {url:?}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("{url:?}: only http:// targets are supported");
    }
    let host = uri
        .host()
        .with_context(|| format!("{url:?}: the URL has no host"))?;
    if !is_loopback_host(host) {
        bail!("{url:?}: refusing a non-loopback target (load tests run against 127.0.0.1 only)");
    }
    Ok(uri)
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_loopback_http() {
        assert!(parse_loopback("http://127.0.0.1:8080/mcp").is_ok());
        assert!(parse_loopback("http://127.1.2.3:1/x").is_ok());
        assert!(parse_loopback("http://[::1]:8080/mcp").is_ok());
        assert!(parse_loopback("http://localhost:8080/").is_ok());
        for bad in [
            "http://10.0.0.1:8080/mcp",
            "http://example.com/mcp",
            "https://127.0.0.1/mcp",
            "http://0.0.0.0:8080/",
            "127.0.0.1:8080",
            "not a url",
        ] {
            assert!(parse_loopback(bad).is_err(), "{bad} must be refused");
        }
    }
}
