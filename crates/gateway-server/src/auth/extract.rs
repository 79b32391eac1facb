//! [`Caller`] (the authenticated principal) and [`RequestMeta`] (client address and
//! request id, for audit events).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts},
    http::{Extensions, HeaderMap, HeaderValue, request::Parts},
};
use gateway_auth::{AuditEvent, Outcome, Principal};

use crate::error::ApiError;

/// The principal the auth layer authenticated. Extracting it where authentication is off
/// fails with 404 `auth_disabled` (only the `/auth/*` handlers require it).
#[derive(Clone)]
pub(crate) struct Caller(pub(crate) Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::AuthDisabled)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Caller>().cloned())
    }
}

/// Who sent the request, for the audit log.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestMeta {
    pub(crate) client: Option<IpAddr>,
    /// Kept as the header value (a cheap clone); text only when an event is recorded.
    request_id: Option<HeaderValue>,
}

impl RequestMeta {
    /// From a request's extensions (the peer address) and headers (`x-request-id`).
    /// Forwarded-for headers are not trusted: they are the client's to forge.
    pub(crate) fn of(extensions: &Extensions, headers: &HeaderMap) -> RequestMeta {
        RequestMeta {
            client: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
            request_id: headers.get("x-request-id").cloned(),
        }
    }

    /// An audit event from this request.
    pub(crate) fn event(
        &self,
        actor: Option<&str>,
        action: &'static str,
        target: Option<String>,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            actor: actor.map(str::to_owned),
            action,
            target,
            outcome,
            client_addr: self.client.map(|ip| ip.to_string()),
            request_id: self
                .request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.len() <= 128)
                .map(str::to_owned),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestMeta::of(&parts.extensions, &parts.headers))
    }
}
