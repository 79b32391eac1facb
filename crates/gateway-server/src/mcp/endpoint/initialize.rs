//! `initialize`: negotiates the version, issues a sealed session id and presents the
//! server (the upstream's own description on `/mcp/{template}`). On a `dedicated`
//! template the session's upstream opens first, counted against the principal.

use std::sync::Arc;

use axum::{http::HeaderValue, response::Response};
use gateway_core::{
    jsonrpc::{Message, Response as RpcResponse},
    mcp::wire::HEADER_SESSION_ID,
};

use super::answer::encode;
use crate::{
    mcp::{
        dedicated::Dedicated,
        describe,
        dispatch::{ClientRequest, Ctx},
        reply,
        session::Claims,
    },
    registry::TemplateRoute,
};

/// Answers `initialize` (`route`: the template's, when it is in dedicated mode).
pub(super) async fn initialize(
    mut ctx: Ctx,
    request: ClientRequest,
    route: Option<Arc<TemplateRoute>>,
) -> Response {
    #[derive(serde::Deserialize)]
    struct InitParams<'a> {
        #[serde(rename = "protocolVersion", borrow)]
        protocol_version: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow, default)]
        capabilities: Option<&'a serde_json::value::RawValue>,
    }
    let params: Option<InitParams<'_>> = request
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str(p.get()).ok());
    let version = describe::negotiate(params.as_ref().and_then(|p| p.protocol_version.as_deref()));
    let capabilities = params.as_ref().and_then(|p| p.capabilities);
    let mut claims = Claims::new(
        ctx.scope.template().map(str::to_owned),
        version,
        ctx.principal.as_ref().map(|p| p.actor().to_owned()),
        capabilities,
    );
    let outbox = Arc::default();
    if let Some(route) = route {
        let opened = Dedicated::open(
            &ctx.mcp.dedicated_counts,
            ctx.mcp.limits.max_dedicated_per_principal,
            &route,
            ctx.principal.as_ref().map(|p| p.actor()),
            None,
            capabilities,
            Arc::clone(&outbox),
        )
        .await;
        match opened {
            Ok(dedicated) => {
                claims.pinned = Some(dedicated.instance().to_string());
                // Its upstream lives here: other replicas forward its requests here.
                claims.owner = Some(ctx.mcp.hop.me.clone());
                ctx.dedicated = Some(dedicated);
            }
            Err(e) => return reply::json(encode(request.id, None, reply::open_error(&e))),
        }
    }
    let result = describe::initialize_result(ctx.subject(), version).await;
    let issued = ctx
        .mcp
        .sessions
        .issue(claims, outbox, ctx.dedicated.clone());
    let session_id = match issued {
        Ok((session_id, _)) => session_id,
        Err(e) => return reply::overloaded(request.id, &e),
    };
    let body = Message::from(RpcResponse::result(request.id, result)).to_vec();
    let mut response = reply::json(body);
    if let Ok(value) = HeaderValue::from_str(&session_id) {
        response.headers_mut().insert(HEADER_SESSION_ID, value);
    }
    response
}
