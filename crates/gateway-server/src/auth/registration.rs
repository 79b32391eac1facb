//! Who may register what over the API.
//!
//! - A stdio command runs a program on the gateway host: over the API it needs
//!   `allow_stdio_registration` (`MCP_GATEWAY_ALLOW_STDIO_REGISTRATION=1`, off by
//!   default) whether authentication is on or off, and with authentication on also the
//!   `admin` scope. With authentication off any local process or (without the browser
//!   guard) web page could otherwise run commands as the gateway's user. Commands from
//!   the configuration file and `mcpp gateway register --offline` (which writes the
//!   database directly) are not affected.
//! - HTTP and SSE endpoints must match `MCP_GATEWAY_ENDPOINT_ALLOWLIST` when one is set
//!   (an SSRF guard), whether or not authentication is on.

use gateway_auth::Outcome;
use gateway_core::{InstanceSpec, Scope, api::ValidRegistration};

use super::{Access, Caller, RequestMeta};
use crate::error::ApiError;

/// `Ok` if `caller` may register `registration`; a refusal is audited.
pub(crate) fn check(
    access: &Access,
    caller: Option<&Caller>,
    meta: &RequestMeta,
    registration: &ValidRegistration,
) -> Result<(), ApiError> {
    let refusal = match &registration.spec {
        InstanceSpec::Stdio(_) => {
            let is_admin = caller.is_some_and(|Caller(p)| p.has(Scope::Admin));
            if access.is_enabled() && !is_admin {
                Some(ApiError::from(gateway_auth::Error::MissingScope(
                    Scope::Admin,
                )))
            } else if !access.allow_stdio_registration {
                Some(ApiError::Forbidden(
                    "registering stdio commands over the API is disabled: start the gateway \
                     with MCP_GATEWAY_ALLOW_STDIO_REGISTRATION=1, declare the command in the \
                     configuration file, or use `mcpp gateway register --offline`"
                        .to_owned(),
                ))
            } else {
                None
            }
        }
        InstanceSpec::Http { url, .. } | InstanceSpec::Sse { url, .. } => access
            .endpoint_allowlist
            .as_ref()
            .filter(|list| !list.allows(url.as_str()))
            .map(|_| {
                ApiError::Forbidden(
                    "the endpoint's host is not in MCP_GATEWAY_ENDPOINT_ALLOWLIST".to_owned(),
                )
            }),
    };
    match refusal {
        Some(error) => {
            access.audit(meta.event(
                caller.map(|Caller(p)| p.actor()),
                "instance.register",
                Some(registration.template.to_string()),
                Outcome::Denied,
            ));
            Err(error)
        }
        None => Ok(()),
    }
}
