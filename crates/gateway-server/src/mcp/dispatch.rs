//! One client request in, one JSON-RPC outcome out: answers what the gateway owns
//! (`ping`, `server/discover`, `logging/setLevel`), routes the rest to a template
//! (`/mcp/{template}`: unchanged; `/mcp`: by name prefix or URI prefix, lists fanned out)
//! and passes the upstream's result or error through untouched.

use std::sync::Arc;

use gateway_auth::Principal;
use gateway_core::{
    Scope as AuthScope,
    jsonrpc::{Notification, Outcome, Request, RequestId, code, to_raw},
    mcp::{Method, ParamsView, RawObject},
};
use serde_json::{json, value::RawValue};
use tokio::sync::mpsc;

use super::{
    dedicated::Dedicated, describe, fanout, names::Namespace, reply, scope::Scope, state::McpState,
};
use crate::{
    metrics::Interface,
    relay::{Call, Options, Target},
};

/// A client's request, its method parsed once where it came in.
pub(crate) struct ClientRequest {
    pub(crate) id: RequestId,
    pub(crate) method: Method,
    pub(crate) params: Option<Box<RawValue>>,
}

impl From<Request> for ClientRequest {
    fn from(request: Request) -> Self {
        Self {
            method: Method::parse(&request.method),
            id: request.id,
            params: request.params,
        }
    }
}

/// Everything a request needs besides itself.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) mcp: Arc<McpState>,
    pub(crate) scope: Scope,
    pub(crate) principal: Option<Arc<Principal>>,
    /// Receives the call's progress notifications (with the client's token).
    pub(crate) progress: Option<mpsc::Sender<Notification>>,
    /// The session's own upstream (templates in `dedicated` mode).
    pub(crate) dedicated: Option<Arc<Dedicated>>,
    /// The transport the request came in on (a label of its metrics).
    pub(crate) interface: Interface,
}

impl Ctx {
    /// Who answers for this request's endpoint (`initialize`, `server/discover`).
    pub(crate) fn subject(&self) -> describe::Subject<'_> {
        describe::Subject {
            relay: &self.mcp.relay,
            scope: &self.scope,
            dedicated: self.dedicated.as_deref(),
        }
    }
}

/// Handles one request (not `initialize`, which the endpoint owns). The request id
/// stays with the caller, who answers with it.
pub(crate) async fn dispatch(ctx: &Ctx, method: Method, params: Option<Box<RawValue>>) -> Outcome {
    // The Streamable HTTP endpoint refuses these with 403 first; this covers the
    // transports whose refusals can only travel as JSON-RPC (the HTTP+SSE stream).
    if let Some(scope) = missing_scope(ctx.principal.as_deref(), &method) {
        return Outcome::Error(to_raw(&reply::scope_error(&method, scope)));
    }
    match (&method, &ctx.scope) {
        // A dedicated upstream is the client's own: its log level is the client's to set.
        (Method::LoggingSetLevel, Scope::Template(template)) if ctx.dedicated.is_some() => {
            forward(ctx, template, method, params).await
        }
        (Method::Ping | Method::LoggingSetLevel, _) => Outcome::Result(to_raw(&json!({}))),
        (Method::Initialize, _) => {
            reply::error(code::INVALID_REQUEST, "the session is already initialized")
        }
        (Method::ServerDiscover, _) => {
            Outcome::Result(describe::discover_result(ctx.subject()).await)
        }
        (_, Scope::Template(template)) => forward(ctx, template, method, params).await,
        (
            Method::ToolsList
            | Method::PromptsList
            | Method::ResourcesList
            | Method::ResourcesTemplatesList,
            Scope::Aggregate(ns),
        ) => {
            let view = ParamsView::parse(params.as_deref()).unwrap_or_default();
            if view.cursor.is_some() {
                // The merged list is served as one page: no cursor was ever issued.
                return reply::error(code::INVALID_PARAMS, "invalid cursor");
            }
            fanout::list(&ctx.mcp.relay, ns, &method, ctx.principal.as_ref()).await
        }
        (Method::ToolsCall | Method::PromptsGet, Scope::Aggregate(ns)) => {
            route_by(ctx, ns, method, params, "name").await
        }
        (
            Method::ResourcesRead | Method::ResourcesSubscribe | Method::ResourcesUnsubscribe,
            Scope::Aggregate(ns),
        ) => route_by(ctx, ns, method, params, "uri").await,
        (Method::CompletionComplete, Scope::Aggregate(ns)) => {
            complete(ctx, ns, method, params).await
        }
        (_, Scope::Aggregate(_)) => reply::error(
            code::METHOD_NOT_FOUND,
            format!("method `{method}` is not offered by the aggregated endpoint"),
        ),
    }
}

/// The scope `principal` lacks for `method`, if any: the endpoints admit `mcp:read`;
/// calls, reads, prompts and completions also need `mcp:call`. `None` with
/// authentication off.
pub(crate) fn missing_scope(principal: Option<&Principal>, method: &Method) -> Option<AuthScope> {
    let principal = principal?;
    (!is_read(method) && !principal.has(AuthScope::McpCall)).then_some(AuthScope::McpCall)
}

/// Methods a principal with only `mcp:read` may use.
fn is_read(method: &Method) -> bool {
    matches!(
        method,
        Method::Ping
            | Method::Initialize
            | Method::ServerDiscover
            | Method::ToolsList
            | Method::PromptsList
            | Method::ResourcesList
            | Method::ResourcesTemplatesList
            | Method::LoggingSetLevel
    )
}

/// Sends `method` to `template` (or to the session's own upstream) through the relay and
/// returns the upstream's answer verbatim.
async fn forward(
    ctx: &Ctx,
    template: &str,
    method: Method,
    params: Option<Box<RawValue>>,
) -> Outcome {
    let target = match &ctx.dedicated {
        Some(dedicated) => Target::Pinned(&dedicated.pinned),
        None => Target::Template(template),
    };
    let options = Options {
        progress: ctx.progress.clone(),
        caller: ctx.principal.clone(),
        interface: ctx.interface,
    };
    match ctx
        .mcp
        .relay
        .call(target, Call::new(method, params), options)
        .await
    {
        Ok(relayed) => relayed.outcome,
        Err(e) => reply::relay_error(&e),
    }
}

/// Routes by the prefixed `params.{field}` (`name` or `uri`), rewriting it to the
/// upstream's own value; every other byte of the params is kept.
async fn route_by(
    ctx: &Ctx,
    ns: &Namespace,
    method: Method,
    params: Option<Box<RawValue>>,
    field: &str,
) -> Outcome {
    let Some(params) = params.as_deref() else {
        return reply::error(code::INVALID_PARAMS, format!("missing params.{field}"));
    };
    let Ok(mut object) = RawObject::parse(params) else {
        return reply::error(code::INVALID_PARAMS, "params must be an object");
    };
    let Some(value) = object
        .get(field)
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    else {
        return reply::error(code::INVALID_PARAMS, format!("missing params.{field}"));
    };
    let split = match field {
        "uri" => ns.split_uri(&value),
        _ => ns.split_name(&value),
    };
    let Some((template, inner)) = split else {
        let what = if field == "uri" {
            "resource"
        } else {
            "tool or prompt"
        };
        return reply::error(
            code::INVALID_PARAMS,
            format!("unknown {what} {value:?} (names are `template{{separator}}name`)"),
        );
    };
    object.insert_value(field, inner);
    forward(ctx, &template, method, Some(object.to_raw())).await
}

/// `completion/complete`: routed by `params.ref.name` (prompts) or `params.ref.uri`
/// (resource templates).
async fn complete(
    ctx: &Ctx,
    ns: &Namespace,
    method: Method,
    params: Option<Box<RawValue>>,
) -> Outcome {
    let parsed = params.as_deref().and_then(|p| RawObject::parse(p).ok());
    let Some(mut object) = parsed else {
        return reply::error(code::INVALID_PARAMS, "params must be an object");
    };
    let reference: serde_json::Value = object
        .get("ref")
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let (field, split) = match (reference["name"].as_str(), reference["uri"].as_str()) {
        (Some(name), _) => ("name", ns.split_name(name)),
        (None, Some(uri)) => ("uri", ns.split_uri(uri)),
        _ => return reply::error(code::INVALID_PARAMS, "params.ref needs a name or a uri"),
    };
    let Some((template, inner)) = split else {
        return reply::error(code::INVALID_PARAMS, "params.ref names no known template");
    };
    let inner = inner.to_owned();
    object.edit_object("ref", |r| r.insert_value(field, &inner));
    forward(ctx, &template, method, Some(object.to_raw())).await
}
