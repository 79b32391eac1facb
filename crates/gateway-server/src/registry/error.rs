//! [`RegistryError`]: why a registry operation failed, in the registry's own terms; the
//! HTTP answer is chosen in `crate::error` (one place).

use gateway_core::{TemplateName, ValidationError};

/// A failed registration, deregistration, settings change or load.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    /// The template is not registered.
    #[error("template {:?} not found", .0.as_str())]
    TemplateNotFound(TemplateName),
    /// A generated or configured instance id is not a valid id.
    #[error("{0}")]
    InstanceId(#[source] ValidationError),
    /// The instance's endpoint cannot be connected to (an unusable URL or header).
    #[error("{0}")]
    Endpoint(#[source] gateway_transport::Error),
    /// New load-balancer settings are invalid.
    #[error("{0}")]
    Settings(#[source] ValidationError),
    /// The template's upstream TLS files cannot be used.
    #[error("{0}")]
    UpstreamTls(#[source] gateway_transport::TlsConfigError),
    /// The template's `upstream_auth` and an instance do not fit together, or the
    /// setting names an issuer that cannot exchange tokens; `field` is the input at
    /// fault (`upstream_auth.mode`, `upstream_auth.issuer`, or the instance's
    /// `transport` or `headers`).
    #[error("{message}")]
    UpstreamAuth {
        field: &'static str,
        message: String,
    },
    /// The store failed (or refused a duplicate).
    #[error("database error")]
    Store(#[from] gateway_store::Error),
}
