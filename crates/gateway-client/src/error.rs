//! The SDK's one error type: opaque, with predicates instead of public variants (hyper's
//! style), so new failure kinds can be added without breaking callers.

use std::time::Duration;

use gateway_core::api::ErrorBody;
use reqwest::{StatusCode, header::HeaderMap};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a gateway call failed.
///
/// Ask it questions rather than matching on it: [`status`](Self::status),
/// [`is_retryable`](Self::is_retryable), [`is_not_found`](Self::is_not_found),
/// [`is_conflict`](Self::is_conflict), [`field`](Self::field). `Display` shows only this
/// level (for an HTTP error, the status and the server's `detail`); the cause, if any, is
/// in [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Kind>);

#[derive(Debug, thiserror::Error)]
enum Kind {
    #[error("invalid client configuration: {what}")]
    Builder {
        what: String,
        #[source]
        source: Option<BoxError>,
    },
    #[error("cannot connect to the gateway")]
    Connect(#[source] reqwest::Error),
    #[error("the gateway did not answer in time")]
    Timeout(#[source] reqwest::Error),
    #[error("request to the gateway failed")]
    Request(#[source] reqwest::Error),
    #[error("{}", status_message(*.status, .body.as_ref(), .text.as_deref()))]
    Status {
        status: StatusCode,
        body: Option<ErrorBody>,
        /// Start of a body that is not an [`ErrorBody`] (proxies, HTML error pages).
        text: Option<String>,
        retry_after: Option<Duration>,
    },
    #[error("the gateway sent an unexpected response body")]
    Decode(#[source] serde_json::Error),
}

/// How much of a non-JSON error body is kept for `Display`.
const TEXT_SNIPPET: usize = 200;

fn status_message(status: StatusCode, body: Option<&ErrorBody>, text: Option<&str>) -> String {
    match (body, text) {
        (Some(body), _) => format!("{status}: {}", body.detail),
        (None, Some(text)) => format!("{status}: {text}"),
        (None, None) => status.to_string(),
    }
}

// === impl Error ===

impl Error {
    pub(crate) fn builder(what: impl Into<String>, source: Option<BoxError>) -> Self {
        Self(Box::new(Kind::Builder {
            what: what.into(),
            source,
        }))
    }

    /// Classifies a transport failure from reqwest.
    pub(crate) fn transport(e: reqwest::Error) -> Self {
        let kind = if e.is_connect() {
            Kind::Connect(e)
        } else if e.is_timeout() {
            Kind::Timeout(e)
        } else {
            Kind::Request(e)
        };
        Self(Box::new(kind))
    }

    pub(crate) fn decode(e: serde_json::Error) -> Self {
        Self(Box::new(Kind::Decode(e)))
    }

    /// An error for a non-2xx response, decoding the gateway's [`ErrorBody`] if present.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let decoded = serde_json::from_slice::<ErrorBody>(body).ok();
        let text = match decoded {
            Some(_) => None,
            None => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                (!text.is_empty()).then(|| text.chars().take(TEXT_SNIPPET).collect())
            }
        };
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Self(Box::new(Kind::Status {
            status,
            body: decoded,
            text,
            retry_after,
        }))
    }

    /// The HTTP status of the gateway's answer, if it answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match &*self.0 {
            Kind::Status { status, .. } => Some(status.as_u16()),
            _ => None,
        }
    }

    /// Whether trying again later (or against another gateway) may succeed: the gateway
    /// could not be reached, or it answered 502, 503 or 504. Timeouts are not included:
    /// the request may have been carried out, so only the caller knows whether repeating
    /// it is safe (see [`is_timeout`](Self::is_timeout)).
    pub fn is_retryable(&self) -> bool {
        match &*self.0 {
            Kind::Connect(_) => true,
            Kind::Status { status, .. } => matches!(status.as_u16(), 502..=504),
            _ => false,
        }
    }

    /// Whether the connection to the gateway could not be opened (refused, DNS, TLS).
    pub fn is_connect(&self) -> bool {
        matches!(&*self.0, Kind::Connect(_))
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.0, Kind::Timeout(_))
    }

    /// Whether the client was built with invalid settings (base URL, credentials).
    pub fn is_builder(&self) -> bool {
        matches!(&*self.0, Kind::Builder { .. })
    }

    /// Whether the gateway rejected the request itself (a 4xx status).
    pub fn is_client_error(&self) -> bool {
        matches!(&*self.0, Kind::Status { status, .. } if status.is_client_error())
    }

    /// Whether the template, instance, tool or resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the request conflicts with existing state, e.g. a duplicate instance id (409).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// Whether the gateway wants (other) credentials: none were sent, or they are invalid
    /// or expired (401).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// Whether the credentials are valid but lack a permission (403); see
    /// [`code`](Self::code) (`insufficient_scope`, `template_forbidden`, `forbidden`).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// Whether a rate limit or the login throttle refused the request (429); see
    /// [`retry_after`](Self::retry_after).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// The gateway's machine-readable error code (`not_found`, `invalid_field`, …).
    pub fn code(&self) -> Option<&str> {
        self.body().map(|b| b.error.as_str())
    }

    /// The gateway's human-readable message.
    pub fn detail(&self) -> Option<&str> {
        self.body().map(|b| b.detail.as_str())
    }

    /// The request field the gateway rejected, for validation errors (400).
    pub fn field(&self) -> Option<&str> {
        self.body().and_then(|b| b.field.as_deref())
    }

    /// How long the gateway asked clients to wait (`Retry-After`, in seconds), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match &*self.0 {
            Kind::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    fn body(&self) -> Option<&ErrorBody> {
        match &*self.0 {
            Kind::Status { body, .. } => body.as_ref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
