//! [`ApiError`]: the only place HTTP status codes and error bodies are chosen. The
//! errors of the layers below (the relay's, the registry's, auth's, the store's) keep
//! their causes and are mapped here, once.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gateway_core::api::ErrorBody;
use serde_json::value::RawValue;

use crate::{
    registry::RegistryError,
    relay::{ListError, RelayError},
};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("request body is larger than the configured limit")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("template {0:?} not found")]
    TemplateNotFound(String),
    #[error("instance {instance:?} not found in template {template:?}")]
    InstanceNotFound { template: String, instance: String },
    #[error("instance {0:?} is already registered")]
    Conflict(String),
    /// The relay got no answer (the transport cause goes to the log only: it can name
    /// internal hosts).
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error("upstream returned a JSON-RPC error {code}: {message}")]
    Rpc {
        code: i32,
        message: String,
        error: serde_json::Value,
    },
    #[error("upstream sent an invalid result: {0}")]
    BadUpstream(String),
    #[error("database error")]
    Store(#[source] gateway_store::Error),
    #[error("no route for {0}")]
    RouteNotFound(String),
    #[error("method {method} is not allowed for {path}")]
    MethodNotAllowed { method: String, path: String },
    // === authentication and authorization ===
    #[error("{}", if *invalid { "invalid or expired credentials" } else { "authentication required: send `Authorization: Bearer <token>` or `X-API-Key: <key>`" })]
    Unauthenticated { invalid: bool },
    #[error("template {0:?} is not in your template allowlist")]
    TemplateForbidden(String),
    #[error("{0}")]
    Forbidden(String),
    /// A request claiming to come from another replica whose `X-Gateway-Forwarded`
    /// header does not verify.
    #[error("X-Gateway-Forwarded refused: {0}")]
    ForwardRefused(gateway_auth::HopError),
    #[error("{}", browser_refusal(*.0))]
    BrowserRefused(Refused),
    #[error("rate limit exceeded ({} requests per minute)", .0.limit)]
    RateLimited(gateway_auth::Decision),
    #[error("authentication is not enabled on this gateway (start it with --auth)")]
    AuthDisabled,
    #[error("{0}")]
    Auth(#[source] gateway_auth::Error),
}

impl ApiError {
    /// Logs what the client is not told (an upstream failure's cause), with the request
    /// id the client sees, so an operator can find it.
    pub(crate) fn log_hidden_cause(&self) {
        if let ApiError::Relay(e) = self {
            e.log_hidden_cause();
        }
    }

    /// An upstream's JSON-RPC error object (raw), as the REST facade answers it.
    pub(crate) fn rpc(raw: &RawValue) -> Self {
        let error: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
        ApiError::Rpc {
            code: error["code"]
                .as_i64()
                .and_then(|c| i32::try_from(c).ok())
                .unwrap_or(0),
            message: error["message"]
                .as_str()
                .unwrap_or("upstream error")
                .chars()
                .take(500)
                .collect(),
            error,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(e: ListError) -> Self {
        match e {
            ListError::Relay(e) => ApiError::Relay(e),
            ListError::Rpc(raw) => ApiError::rpc(&raw),
            ListError::BadPage(page) => ApiError::BadUpstream(page.to_string()),
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::TemplateNotFound(name) => ApiError::TemplateNotFound(name.to_string()),
            RegistryError::InstanceId(e) => ApiError::invalid("instance_id", e.to_string()),
            RegistryError::Endpoint(e) => ApiError::invalid("endpoint", e.to_string()),
            RegistryError::Settings(e) => {
                ApiError::invalid(e.field().unwrap_or("load_balancer"), e.to_string())
            }
            RegistryError::UpstreamTls(e) => ApiError::invalid(e.field(), e.message()),
            RegistryError::UpstreamAuth { field, message } => ApiError::invalid(field, message),
            RegistryError::Store(e) => ApiError::from(e),
        }
    }
}

impl From<gateway_store::Error> for ApiError {
    fn from(e: gateway_store::Error) -> Self {
        match e {
            gateway_store::Error::Conflict { key, .. } => ApiError::Conflict(key),
            other => ApiError::Store(other),
        }
    }
}

impl From<gateway_auth::Error> for ApiError {
    fn from(e: gateway_auth::Error) -> Self {
        match e {
            gateway_auth::Error::Invalid { field, message } => ApiError::invalid(field, message),
            other => ApiError::Auth(other),
        }
    }
}

impl From<gateway_core::api::FieldError> for ApiError {
    fn from(e: gateway_core::api::FieldError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::InvalidField { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::TemplateNotFound(_) => (StatusCode::NOT_FOUND, "template_not_found"),
            ApiError::InstanceNotFound { .. } => (StatusCode::NOT_FOUND, "instance_not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Relay(e) => relay_status(e),
            ApiError::RouteNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Rpc { code, .. } => match *code {
                gateway_core::jsonrpc::code::METHOD_NOT_FOUND => {
                    (StatusCode::NOT_FOUND, "method_not_found")
                }
                gateway_core::jsonrpc::code::INVALID_PARAMS => {
                    (StatusCode::BAD_REQUEST, "invalid_params")
                }
                gateway_core::jsonrpc::code::RESOURCE_NOT_FOUND => {
                    (StatusCode::NOT_FOUND, "resource_not_found")
                }
                _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
            },
            ApiError::BadUpstream(_) => (StatusCode::BAD_GATEWAY, "bad_upstream"),
            ApiError::Store(e) => {
                // Details go to the log, never to the client.
                let mut cause = String::new();
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    cause.push_str(": ");
                    cause.push_str(&s.to_string());
                    source = s.source();
                }
                tracing::error!(error = %e, %cause, "database error");
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
            ApiError::Unauthenticated { invalid: false } => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            ApiError::Unauthenticated { invalid: true } => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            ApiError::TemplateForbidden(_) => (StatusCode::FORBIDDEN, "template_forbidden"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::ForwardRefused(_) => (StatusCode::FORBIDDEN, "forward_refused"),
            ApiError::BrowserRefused(Refused::Host) => (StatusCode::FORBIDDEN, "forbidden_host"),
            ApiError::BrowserRefused(_) => (StatusCode::FORBIDDEN, "forbidden_origin"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::AuthDisabled => (StatusCode::NOT_FOUND, "auth_disabled"),
            ApiError::Auth(e) => auth_status(e),
        };
        self.log_hidden_cause();
        let field = match &self {
            ApiError::InvalidField { field, .. } => Some(field.clone()),
            _ => None,
        };
        let mut body = serde_json::to_value(ErrorBody {
            error: code.to_owned(),
            detail: self.to_string(),
            field,
            request_id: crate::request_id::current(),
        })
        .unwrap_or_default();
        if let (ApiError::Rpc { error, .. }, Some(map)) = (&self, body.as_object_mut()) {
            map.insert("rpc_error".to_owned(), error.clone());
        }
        if let (ApiError::Auth(gateway_auth::Error::MissingScope(scope)), Some(map)) =
            (&self, body.as_object_mut())
        {
            map.insert("required_scope".to_owned(), scope.as_str().into());
        }
        let mut response = (status, Json(body)).into_response();
        auth_headers(&self, response.headers_mut());
        if let ApiError::Relay(RelayError::Overloaded { .. }) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RelayError::OVERLOADED_RETRY_AFTER_SECS),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .entry(header::RETRY_AFTER)
                .or_insert(HeaderValue::from_static("5"));
        }
        response
    }
}

/// Status and code of a relayed call that got no answer: 504 when the upstream did not
/// answer in time, 503 when nothing was sent (`Retry-After`), 502 when the call broke at
/// the upstream.
fn relay_status(e: &RelayError) -> (StatusCode, &'static str) {
    match e {
        RelayError::TemplateNotFound(_) => (StatusCode::NOT_FOUND, "template_not_found"),
        RelayError::NoInstances(_) | RelayError::Unavailable { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        RelayError::Overloaded { .. } => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
        RelayError::TimedOut { .. } => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
        RelayError::Failed { .. } => (StatusCode::BAD_GATEWAY, "upstream_failed"),
        RelayError::Credentials { cause, .. } if cause.is_caller_error() => {
            (StatusCode::FORBIDDEN, "upstream_credentials")
        }
        RelayError::Credentials { .. } => (StatusCode::BAD_GATEWAY, "upstream_credentials"),
    }
}

/// Which header made the browser guard (`crate::browser`) refuse a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A `Host` outside the allowlist (DNS rebinding).
    Host,
    /// An `Origin` of a page that may not call the gateway.
    Origin,
    /// No `Origin`, but the browser says the request is a cross-site subresource fetch.
    SecFetchSite,
}

impl Refused {
    /// The header's name, for messages.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Refused::Host => "Host",
            Refused::Origin => "Origin",
            Refused::SecFetchSite => "Sec-Fetch-Site",
        }
    }
}

/// What a refused browser request is told (see `browser`).
fn browser_refusal(which: Refused) -> &'static str {
    match which {
        Refused::Host => {
            "Host header not allowed (DNS-rebinding protection):              add the name to MCP_GATEWAY_ALLOWED_HOSTS"
        }
        Refused::Origin => {
            "Origin not allowed (cross-site request): add it to MCP_GATEWAY_ALLOWED_ORIGINS"
        }
        Refused::SecFetchSite => "cross-site request refused (Sec-Fetch-Site: cross-site)",
    }
}

/// Status and code of an authentication or account failure.
fn auth_status(e: &gateway_auth::Error) -> (StatusCode, &'static str) {
    use gateway_auth::Error as E;
    match e {
        E::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        E::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
        E::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
        E::MissingScope(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
        E::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        E::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
        E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
        E::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
        E::LastAdmin => (StatusCode::CONFLICT, "last_admin"),
        E::Store(inner) => {
            tracing::error!(error = %inner, "database error");
            (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
        }
        other => {
            tracing::error!(error = %other, "authentication failure");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
        }
    }
}

/// `WWW-Authenticate` on 401 and on a missing scope (RFC 6750, with the protected
/// resource metadata URL when OAuth issuers are configured: see `auth::challenge`),
/// `Retry-After` on 429.
fn auth_headers(error: &ApiError, headers: &mut axum::http::HeaderMap) {
    use crate::auth::challenge::{self, Kind};
    let challenge = match error {
        ApiError::Unauthenticated { invalid: false } => Some(Kind::Missing),
        ApiError::Unauthenticated { invalid: true }
        | ApiError::Auth(gateway_auth::Error::InvalidCredentials) => Some(Kind::Invalid),
        ApiError::Auth(gateway_auth::Error::MissingScope(scope)) => {
            Some(Kind::Insufficient(*scope))
        }
        _ => None,
    };
    if let Some(value) = challenge.and_then(challenge::header) {
        headers.insert(header::WWW_AUTHENTICATE, value);
    }
    let wait = match error {
        ApiError::RateLimited(decision) => decision.retry_after,
        ApiError::Auth(
            gateway_auth::Error::Throttled { retry_after }
            | gateway_auth::Error::Busy { retry_after },
        ) => Some(*retry_after),
        _ => None,
    };
    if let Some(wait) = wait {
        // Whole seconds, at least 1.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let secs = (wait.as_secs_f64().ceil() as u64).max(1);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
}

#[cfg(test)]
mod readme {
    /// Every error code this module answers with (the string beside each status) is in
    /// the README's error table, in backquotes, so clients can look each one up.
    #[test]
    fn every_error_code_is_documented() {
        let source = include_str!("error.rs");
        let readme = include_str!("../../../README.md");
        let mut codes = Vec::new();
        for piece in source.split("StatusCode::").skip(1) {
            let Some(rest) = piece.split_once(", \"").map(|(_, r)| r) else {
                continue;
            };
            if let Some((code, _)) = rest.split_once('"')
                && !code.is_empty()
                && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                codes.push(code);
            }
        }
        codes.push("request_timeout"); // listen/body.rs
        assert!(codes.len() > 30, "found only {codes:?}");
        let missing: Vec<_> = codes
            .iter()
            .filter(|c| !readme.contains(&format!("`{c}`")))
            .collect();
        assert!(missing.is_empty(), "README lacks {missing:?}");
    }
}
