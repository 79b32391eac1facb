//! [`TrustedProxies`]: which peers may say who the client is, through
//! `X-Forwarded-For`.
//!
//! The client address feeds login throttling, the invalid-credential throttle and the
//! audit log. By default it is the TCP peer and `X-Forwarded-For` is ignored (any client
//! can write it). When the peer is in the trusted list, the header's hops are read from
//! the right (the hop nearest to us) and the first address *not* in the list is the
//! client; a malformed hop stops the walk at the nearest trusted hop. So a client can
//! prepend whatever it likes: only what the trusted proxies appended counts.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
};

/// Most `X-Forwarded-For` hops examined.
const MAX_HOPS: usize = 32;

/// Trusted reverse proxies, as CIDR blocks (`10.0.0.0/8`, `::1/128`, or a bare
/// address). Empty by default: `X-Forwarded-For` is never believed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<Net>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Net {
    /// The network address (host bits cleared).
    addr: IpAddr,
    prefix: u8,
}

impl TrustedProxies {
    /// Parses comma-separated CIDR blocks (empty entries are skipped).
    ///
    /// ```
    /// use gateway_auth::TrustedProxies;
    /// let proxies = TrustedProxies::parse("10.0.0.0/8, 127.0.0.1").unwrap();
    /// let peer = "10.1.2.3".parse().unwrap();
    /// // The client prepended a fake hop; the proxy appended the real address.
    /// let client = proxies.client_of(peer, ["6.6.6.6, 203.0.113.9"]);
    /// assert_eq!(client, "203.0.113.9".parse::<std::net::IpAddr>().unwrap());
    /// // An untrusted peer's header is ignored.
    /// let stranger = "198.51.100.1".parse().unwrap();
    /// assert_eq!(proxies.client_of(stranger, ["203.0.113.9"]), stranger);
    /// assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    /// ```
    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(Net::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { nets })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client behind `peer`, given the `X-Forwarded-For` header values in the order
    /// received.
    pub fn client_of<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let values: Vec<&str> = forwarded_for.into_iter().collect();
        let hops = values.iter().rev().flat_map(|v| v.rsplit(','));
        for hop in hops.take(MAX_HOPS) {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip.to_canonical();
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]` or `[::1]:5678`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}

impl Net {
    fn parse(raw: &str) -> Result<Net, String> {
        let bad = |why: &str| format!("invalid CIDR block {raw:?}: {why}");
        let (addr, prefix) = match raw.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (raw, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| bad("expected an IP address such as 10.0.0.0/8 or ::1"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("the prefix length must be 0 to {max}")))?,
            None => max,
        };
        Ok(Net {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.nets.iter().map(|n| format!("{}/{}", n.addr, n.prefix)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_parse_and_match() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7, fd00::/8,").unwrap();
        assert!(t.contains(ip("10.255.0.1")));
        assert!(t.contains(ip("::ffff:10.0.0.1")), "IPv4-mapped");
        assert!(t.contains(ip("192.168.1.7")) && !t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("fd12::1")) && !t.contains(ip("fe80::1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert_eq!(
            format!("{t:?}"),
            r#"["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]"#
        );
        let all = TrustedProxies::parse("0.0.0.0/0").unwrap();
        assert!(all.contains(ip("8.8.8.8")) && !all.contains(ip("::2")));
        assert_eq!(
            TrustedProxies::parse("10.1.2.3/8").unwrap(),
            TrustedProxies::parse("10.0.0.0/8").unwrap(),
            "host bits are cleared"
        );
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host.example",
            "1.2.3.4/x",
        ] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let proxy = ip("10.0.0.1");
        let client = |values: &[&str]| t.client_of(proxy, values.iter().copied());
        assert_eq!(client(&[]), proxy, "no header: the proxy itself");
        assert_eq!(client(&["203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(client(&["6.6.6.6, 203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(
            client(&["6.6.6.6", "203.0.113.9, 10.0.0.5"]),
            ip("203.0.113.9"),
            "two headers, an inner trusted proxy skipped"
        );
        assert_eq!(
            client(&["10.0.0.9, 10.0.0.8"]),
            ip("10.0.0.9"),
            "all trusted"
        );
        assert_eq!(client(&["203.0.113.9:4711"]), ip("203.0.113.9"));
        assert_eq!(client(&["[2001:db8::1]:443"]), ip("2001:db8::1"));
        assert_eq!(client(&["[2001:db8::2]"]), ip("2001:db8::2"));
        assert_eq!(
            client(&["203.0.113.9, garbage, 10.0.0.7"]),
            ip("10.0.0.7"),
            "a malformed hop stops at the nearest trusted one"
        );
        let stranger = ip("198.51.100.1");
        assert_eq!(t.client_of(stranger, ["203.0.113.9"]), stranger);
        let none = TrustedProxies::default();
        assert_eq!(none.client_of(proxy, ["203.0.113.9"]), proxy);
    }
}
