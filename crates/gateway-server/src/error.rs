//! [`ApiError`]: the only place HTTP status codes and error bodies are chosen.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gateway_core::api::ErrorBody;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("template {0:?} not found")]
    TemplateNotFound(String),
    #[error("instance {instance:?} not found in template {template:?}")]
    InstanceNotFound { template: String, instance: String },
    #[error("instance {0:?} is already registered")]
    Conflict(String),
    #[error("template {0:?} has no instances")]
    NoInstances(String),
    #[error("no instance of template {template:?} could serve the request: {reason}")]
    Unavailable { template: String, reason: String },
    #[error("upstream of template {template:?} timed out")]
    Timeout { template: String },
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
}

impl ApiError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field: field.into(),
            message: message.into(),
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

impl From<gateway_core::api::FieldError> for ApiError {
    fn from(e: gateway_core::api::FieldError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ApiError::InvalidField { .. } => (StatusCode::BAD_REQUEST, "invalid_field"),
            ApiError::TemplateNotFound(_) => (StatusCode::NOT_FOUND, "template_not_found"),
            ApiError::InstanceNotFound { .. } => (StatusCode::NOT_FOUND, "instance_not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::NoInstances(_) | ApiError::Unavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            ApiError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout"),
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
                tracing::error!(error = %e, "database error");
                (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable")
            }
        };
        let field = match &self {
            ApiError::InvalidField { field, .. } => Some(field.clone()),
            _ => None,
        };
        let mut body = serde_json::to_value(ErrorBody {
            error: code.to_owned(),
            detail: self.to_string(),
            field,
        })
        .unwrap_or_default();
        if let (ApiError::Rpc { error, .. }, Some(map)) = (&self, body.as_object_mut()) {
            map.insert("rpc_error".to_owned(), error.clone());
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
