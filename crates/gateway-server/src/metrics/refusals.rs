//! [`Refusals`]: requests the gateway turned away before any upstream saw them, by
//! reason: authentication and authorization failures, and rate-limit rejections.

use std::sync::atomic::{AtomicU64, Ordering};

use super::text::Exposition;

/// Why a request failed authentication or authorization
/// (`mcp_gateway_auth_failures_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credential at all.
    MissingCredentials,
    /// A header that is not a usable credential (another scheme, empty, not UTF-8).
    MalformedCredentials,
    /// A credential that does not authenticate (unknown, expired, revoked, bad password).
    InvalidCredentials,
    /// Authenticated, without the scope the route needs.
    MissingScope,
    /// Authenticated, with the template off the principal's allowlist.
    TemplateForbidden,
    /// Authentication could not be decided (the database or an issuer is unreachable).
    Unavailable,
}

impl AuthFailure {
    const ALL: [AuthFailure; 6] = [
        AuthFailure::MissingCredentials,
        AuthFailure::MalformedCredentials,
        AuthFailure::InvalidCredentials,
        AuthFailure::MissingScope,
        AuthFailure::TemplateForbidden,
        AuthFailure::Unavailable,
    ];

    fn as_str(self) -> &'static str {
        match self {
            AuthFailure::MissingCredentials => "missing_credentials",
            AuthFailure::MalformedCredentials => "malformed_credentials",
            AuthFailure::InvalidCredentials => "invalid_credentials",
            AuthFailure::MissingScope => "missing_scope",
            AuthFailure::TemplateForbidden => "template_forbidden",
            AuthFailure::Unavailable => "unavailable",
        }
    }
}

/// Why a request was rejected by a rate limit (`mcp_gateway_rate_limited_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RateLimited {
    /// The principal's requests-per-minute quota.
    RequestQuota,
    /// Login attempts throttled (per account or client address).
    LoginThrottle,
}

impl RateLimited {
    const ALL: [RateLimited; 2] = [RateLimited::RequestQuota, RateLimited::LoginThrottle];

    fn as_str(self) -> &'static str {
        match self {
            RateLimited::RequestQuota => "request_quota",
            RateLimited::LoginThrottle => "login_throttle",
        }
    }
}

/// The counters.
#[derive(Default)]
pub(crate) struct Refusals {
    auth: [AtomicU64; AuthFailure::ALL.len()],
    rate: [AtomicU64; RateLimited::ALL.len()],
}

impl Refusals {
    pub(crate) fn auth_failed(&self, reason: AuthFailure) {
        self.auth[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rate_limited(&self, reason: RateLimited) {
        self.rate[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Writes both families, every reason (zeros included: the set is fixed).
    pub(crate) fn write(&self, page: &mut Exposition) {
        let name = "mcp_gateway_auth_failures_total";
        page.family(
            name,
            "counter",
            "Requests refused by authentication or authorization, by reason.",
        );
        for (reason, n) in AuthFailure::ALL.iter().zip(&self.auth) {
            let n = n.load(Ordering::Relaxed) as f64;
            page.sample(name, &[("reason", reason.as_str())], n);
        }
        let name = "mcp_gateway_rate_limited_total";
        page.family(
            name,
            "counter",
            "Requests rejected by a rate limit, by reason.",
        );
        for (reason, n) in RateLimited::ALL.iter().zip(&self.rate) {
            let n = n.load(Ordering::Relaxed) as f64;
            page.sample(name, &[("reason", reason.as_str())], n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_own_counter() {
        for (i, r) in AuthFailure::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        for (i, r) in RateLimited::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let r = Refusals::default();
        r.auth_failed(AuthFailure::MissingScope);
        r.rate_limited(RateLimited::LoginThrottle);
        let mut page = Exposition::default();
        r.write(&mut page);
        let text = page.finish();
        assert!(text.contains("mcp_gateway_auth_failures_total{reason=\"missing_scope\"} 1\n"));
        assert!(
            text.contains("mcp_gateway_auth_failures_total{reason=\"missing_credentials\"} 0\n")
        );
        assert!(text.contains("mcp_gateway_rate_limited_total{reason=\"login_throttle\"} 1\n"));
    }
}
