//! CORS for the origins the operator listed: preflight answers and the headers added to
//! every response they get. Other origins get no CORS headers at all.

use axum::{
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::config::BrowserSettings;

/// Methods a page may use.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE");

/// Request headers a page may send (plus any `Mcp-Param-*`, which 2026-07-28 tools
/// declare themselves).
const ALLOW_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "x-api-key",
    "x-request-id",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
];

/// Response headers a page may read.
const EXPOSE_HEADERS: HeaderValue = HeaderValue::from_static(
    "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate, X-Request-Id, Retry-After, \
     X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset",
);

/// The CORS answers of one gateway.
#[derive(Debug, Clone)]
pub(crate) struct Cors {
    allow_credentials: bool,
    max_age: HeaderValue,
}

impl Cors {
    pub(crate) fn new(settings: &BrowserSettings) -> Self {
        Self {
            allow_credentials: settings.cors_allow_credentials,
            max_age: HeaderValue::from(settings.cors_max_age),
        }
    }

    /// The answer to a preflight from `origin` (an origin that gets CORS).
    pub(crate) fn preflight(&self, origin: HeaderValue, request: &HeaderMap) -> Response {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        self.common(headers, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            allowed_request_headers(request),
        );
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        response
    }

    /// Adds the CORS headers of an actual request from `origin` to its response.
    pub(crate) fn decorate(&self, response: &mut Response, origin: HeaderValue) {
        let headers = response.headers_mut();
        self.common(headers, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS);
    }

    fn common(&self, headers: &mut HeaderMap, origin: HeaderValue) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// Whether `method` + `headers` make a CORS preflight.
pub(crate) fn is_preflight(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::OPTIONS
        && headers.contains_key(header::ORIGIN)
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The requested headers that are allowed; a header left out makes the browser refuse
/// the request (which is the point).
fn allowed_request_headers(request: &HeaderMap) -> HeaderValue {
    let requested = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allowed: Vec<String> = requested
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| {
            ALLOW_HEADERS.contains(&h.as_str())
                || (h.starts_with("mcp-param-") && HeaderName::from_bytes(h.as_bytes()).is_ok())
        })
        .collect();
    let list = if allowed.is_empty() {
        ALLOW_HEADERS.join(", ")
    } else {
        allowed.join(", ")
    };
    HeaderValue::from_str(&list).unwrap_or_else(|_| HeaderValue::from_static("content-type"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(credentials: bool) -> BrowserSettings {
        BrowserSettings {
            allowed_hosts: None,
            allowed_origins: None,
            cors_allow_credentials: credentials,
            cors_max_age: 600,
        }
    }

    #[test]
    fn preflight_allows_mcp_headers_only() {
        let mut request = HeaderMap::new();
        request.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://a.example"),
        );
        request.insert(
            header::ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        request.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("Content-Type, mcp-session-id, Mcp-Param-Region, x-evil"),
        );
        assert!(is_preflight(&Method::OPTIONS, &request));
        assert!(!is_preflight(&Method::POST, &request));
        let response = Cors::new(&settings(false))
            .preflight(HeaderValue::from_static("https://a.example"), &request);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "content-type, mcp-session-id, mcp-param-region"
        );
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
        assert!(!h.contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }

    #[test]
    fn responses_expose_the_mcp_headers() {
        let mut response = StatusCode::OK.into_response();
        Cors::new(&settings(true)).decorate(&mut response, HeaderValue::from_static("https://a"));
        let h = response.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let exposed = h[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap();
        for name in ["Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate"] {
            assert!(exposed.contains(name), "{exposed}");
        }
        assert_eq!(h[header::VARY], "Origin");
    }
}
