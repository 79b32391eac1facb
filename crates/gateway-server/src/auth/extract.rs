//! [`Caller`] (the authenticated principal), [`ClientAddr`] (the client behind a trusted
//! proxy) and [`RequestMeta`] (client address and request id, for throttling and audit
//! events).

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts},
    http::{Extensions, HeaderMap, HeaderName, HeaderValue, request::Parts},
};
use gateway_auth::{AuditEvent, Outcome, Principal, TrustedProxies};

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

/// The client's address when it differs from the TCP peer's (a trusted proxy's
/// `X-Forwarded-For`): set by the auth layer, read by [`RequestMeta`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

impl ClientAddr {
    /// The client behind the request's peer per `proxies`; `None` when no proxy is
    /// trusted or the peer is unknown (then the peer is the client).
    pub(crate) fn resolve(
        proxies: &TrustedProxies,
        extensions: &Extensions,
        headers: &HeaderMap,
    ) -> Option<ClientAddr> {
        if proxies.is_empty() {
            return None;
        }
        let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
        let forwarded = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .map(|v| v.to_str().unwrap_or("invalid"));
        Some(ClientAddr(proxies.client_of(peer, forwarded)))
    }
}

/// `X-Forwarded-For`.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Who sent the request, for the audit log.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestMeta {
    pub(crate) client: Option<IpAddr>,
    /// Kept as the header value (a cheap clone); text only when an event is recorded.
    request_id: Option<HeaderValue>,
}

impl RequestMeta {
    /// From a request's extensions (the [`ClientAddr`] the auth layer resolved, else the
    /// peer address) and headers (`x-request-id`). `X-Forwarded-For` counts only through
    /// [`ClientAddr`], that is from trusted proxies: otherwise it is the client's to forge.
    pub(crate) fn of(extensions: &Extensions, headers: &HeaderMap) -> RequestMeta {
        RequestMeta {
            client: extensions.get::<ClientAddr>().map(|c| c.0).or_else(|| {
                extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|ConnectInfo(addr)| addr.ip().to_canonical())
            }),
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
