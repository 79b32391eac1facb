//! What every request to `/mcp` or `/mcp/{template}` needs before its method's handler
//! runs: [`Endpoint`] (the scope, the caller, the session id; the session itself on
//! demand): the preamble POST, GET and DELETE share; and [`Posted`] (a POST's headers
//! and body, taken without a copy).

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{FromRef, FromRequest, FromRequestParts, OptionalFromRequestParts, Path, Request},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, request::Parts},
};
use gateway_auth::Principal;
use gateway_core::{jsonrpc::code, mcp::wire::HEADER_SESSION_ID};

use crate::{
    auth::Caller,
    mcp::{
        dispatch::Ctx, names::Namespace, reply::Refusal, scope::Scope, session::Live,
        state::McpState,
    },
    metrics::Interface,
};

/// The endpoint a request came to and who sent it.
pub(crate) struct Endpoint {
    pub(super) mcp: Arc<McpState>,
    pub(super) scope: Scope,
    pub(super) principal: Option<Arc<Principal>>,
    /// `Mcp-Session-Id`, when present, printable and not empty.
    session_id: Option<HeaderValue>,
}

impl<S> FromRequestParts<S> for Endpoint
where
    Arc<McpState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refusal> {
        let template =
            <Path<String> as OptionalFromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map_err(|e| {
                    Refusal::new(StatusCode::NOT_FOUND, code::INVALID_PARAMS, e.body_text())
                })?;
        let mcp = Arc::<McpState>::from_ref(state);
        let principal = parts.extensions.get::<Caller>().map(|c| c.0.clone());
        let scope = scope(&mcp, template.map(|Path(t)| t), principal.as_deref())?;
        let session_id = parts
            .headers
            .get(HEADER_SESSION_ID)
            .filter(|v| v.to_str().is_ok_and(|v| !v.is_empty()))
            .cloned();
        Ok(Endpoint {
            mcp,
            scope,
            principal,
            session_id,
        })
    }
}

/// `/mcp/{template}` when the template exists (else 404); `/mcp` with the templates
/// the caller may use.
fn scope(
    mcp: &McpState,
    template: Option<String>,
    principal: Option<&Principal>,
) -> Result<Scope, Refusal> {
    let table = mcp.relay.routes();
    match template {
        Some(template) => {
            if table.get(&template).is_none() {
                return Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    code::INVALID_PARAMS,
                    format!("unknown template {template:?}"),
                ));
            }
            Ok(Scope::Template(Arc::from(template)))
        }
        None => {
            let visible = table
                .templates
                .keys()
                .filter(|t| principal.is_none_or(|p| p.allows_template(t.as_str())))
                .map(|t| Arc::from(t.as_str()))
                .collect();
            Ok(Scope::Aggregate(Namespace::new(
                visible,
                mcp.separator.clone(),
            )))
        }
    }
}

impl Endpoint {
    /// What dispatch needs of the request (its session's dedicated upstream, if any, is
    /// added once opened).
    pub(super) fn into_ctx(self) -> Ctx {
        Ctx {
            mcp: self.mcp,
            scope: self.scope,
            principal: self.principal,
            progress: None,
            dedicated: None,
            interface: Interface::Mcp,
        }
    }

    /// Whether the request names a session.
    pub(super) fn has_session(&self) -> bool {
        self.session_id.is_some()
    }

    /// The session the request names, if it names one: 404 when it is unknown, expired,
    /// closed, or another endpoint's or principal's; 503 when the replica is full.
    pub(super) fn session(&self) -> Option<Result<Arc<Live>, Refusal>> {
        let id = self.session_id.as_ref()?;
        let id = id.to_str().unwrap_or_default();
        let actor = self.principal.as_ref().map(|p| p.actor());
        Some(
            self.mcp
                .sessions
                .open(id, self.scope.template(), actor)
                .map_err(|e| Refusal::session(&e)),
        )
    }

    /// GET and DELETE: the session they need (405 without one, as in 2026-07-28, which
    /// has neither).
    pub(super) fn required_session_id(&self) -> Result<&str, Refusal> {
        match &self.session_id {
            Some(id) => Ok(id.to_str().unwrap_or_default()),
            None => Err(Refusal::transport(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method Not Allowed: this endpoint takes POST (GET and DELETE need an \
                 Mcp-Session-Id)",
            )
            .allow("POST, GET, DELETE")),
        }
    }
}

/// A POST's headers, URI and body. Headers and URI are moved out of the request, not
/// copied (axum's `HeaderMap` and `Uri` extractors clone them); the body keeps the size
/// limit.
pub(crate) struct Posted {
    pub(super) headers: HeaderMap,
    pub(super) uri: Uri,
    pub(super) body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = axum::extract::rejection::BytesRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let uri = std::mem::take(&mut parts.uri);
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Posted { headers, uri, body })
    }
}
