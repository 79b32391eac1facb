//! Wire shapes of the gateway's REST API, shared by the server and the client SDK so
//! both sides agree by construction. Validation lives here too: one place per input.

mod auth;
mod instance_info;
mod load_balancer;
mod predecessor;
mod register;
mod time;
mod upstream_auth;
mod upstream_limits;
mod upstream_tls;
pub mod whole;

pub use auth::{
    ApiKeyInfo, AuditEntry, AuditPage, CreateApiKey, CreateUser, CreatedApiKey, LoginRequest, Me,
    TokenResponse, UpdateUser, UserInfo,
};
pub use instance_info::InstanceInfo;
pub use load_balancer::{LoadBalancerConfig, LoadBalancerUpdate};
pub use predecessor::{CreateApiKeyBody, LegacyRegisterInstance};
pub use register::{CommandLine, RegisterInstance, ValidRegistration};
pub use time::{parse_rfc3339, rfc3339};
pub use upstream_auth::UpstreamAuthConfig;
pub use upstream_limits::UpstreamLimitsConfig;
pub use upstream_tls::UpstreamTlsConfig;

use serde::{Deserialize, Serialize};

/// A rejected input field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The JSON field (or query/path parameter) at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// The body of every API error response:
/// `{"error": code, "detail": message, "field"?, "request_id"?}`.
/// `detail` matches what FastAPI-era clients print.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `not_found`, `invalid_field`.
    pub error: String,
    /// Human-readable message.
    pub detail: String,
    /// The offending field, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The response's `X-Request-Id`, to quote when reporting a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}
