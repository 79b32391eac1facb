//! One client request in, one JSON-RPC outcome out: answers what the gateway owns
//! (`ping`, `server/discover`, `logging/setLevel`), routes the rest to a template
//! (`/mcp/{template}`: unchanged; `/mcp`: by name prefix or URI prefix, lists fanned out)
//! and passes the upstream's result or error through untouched.

use std::sync::Arc;

use gateway_auth::Principal;
use gateway_core::{
    Scope as AuthScope,
    jsonrpc::{ErrorObject, Notification, Outcome, Request, code, to_raw},
    mcp::{Method, ParamsView, RawObject},
};
use serde_json::{json, value::RawValue};
use tokio::sync::mpsc;

use super::{dedicated::Dedicated, describe, fanout, names::Namespace};
use crate::{error::ApiError, relay, state::AppState};

/// Which MCP endpoint a request came to.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// `/mcp/{template}`: one template, names unchanged.
    Template(Arc<str>),
    /// `/mcp`: every template the caller may use.
    Aggregate(Namespace),
}

/// Everything a request needs besides itself.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) state: AppState,
    pub(crate) scope: Scope,
    pub(crate) principal: Option<Arc<Principal>>,
    /// Receives the call's progress notifications (with the client's token).
    pub(crate) progress: Option<mpsc::Sender<Notification>>,
    /// The session's own upstream (templates in `dedicated` mode).
    pub(crate) dedicated: Option<Arc<Dedicated>>,
}

/// A JSON-RPC error produced by the gateway.
pub(crate) fn error(code: i32, message: impl Into<String>) -> Outcome {
    Outcome::Error(to_raw(&ErrorObject::new(code, message)))
}

/// Handles one request (not `initialize`, which the endpoint owns).
pub(crate) async fn dispatch(ctx: &Ctx, request: Request) -> Outcome {
    let method = Method::parse(&request.method);
    // The Streamable HTTP endpoint refuses these with 403 first; this covers the
    // transports whose refusals can only travel as JSON-RPC (the HTTP+SSE stream).
    if let Some(scope) = missing_scope(ctx.principal.as_deref(), &method) {
        return Outcome::Error(to_raw(&scope_error(&request.method, scope)));
    }
    match (&method, &ctx.scope) {
        // A dedicated upstream is the client's own: its log level is the client's to set.
        (Method::LoggingSetLevel, Scope::Template(template)) if ctx.dedicated.is_some() => {
            forward(ctx, template, &request.method, request.params).await
        }
        (Method::Ping | Method::LoggingSetLevel, _) => Outcome::Result(to_raw(&json!({}))),
        (Method::Initialize, _) => {
            error(code::INVALID_REQUEST, "the session is already initialized")
        }
        (Method::ServerDiscover, _) => Outcome::Result(describe::discover_result(ctx).await),
        (_, Scope::Template(template)) => {
            forward(ctx, template, &request.method, request.params).await
        }
        (
            Method::ToolsList
            | Method::PromptsList
            | Method::ResourcesList
            | Method::ResourcesTemplatesList,
            Scope::Aggregate(ns),
        ) => {
            let params = ParamsView::parse(request.params.as_deref()).unwrap_or_default();
            if params.cursor.is_some() {
                // The merged list is served as one page: no cursor was ever issued.
                return error(code::INVALID_PARAMS, "invalid cursor");
            }
            fanout::list(&ctx.state, ns, &method).await
        }
        (Method::ToolsCall | Method::PromptsGet, Scope::Aggregate(ns)) => {
            route_by(ctx, ns, request, "name").await
        }
        (Method::ResourcesRead, Scope::Aggregate(ns)) => route_by(ctx, ns, request, "uri").await,
        (Method::ResourcesSubscribe | Method::ResourcesUnsubscribe, Scope::Aggregate(ns)) => {
            route_by(ctx, ns, request, "uri").await
        }
        (Method::CompletionComplete, Scope::Aggregate(ns)) => complete(ctx, ns, request).await,
        (_, Scope::Aggregate(_)) => error(
            code::METHOD_NOT_FOUND,
            format!(
                "method `{}` is not offered by the aggregated endpoint",
                request.method
            ),
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

/// The JSON-RPC error for a method the caller's scopes do not cover (`data` names the
/// scope, like `required_scope` on the REST facade).
pub(crate) fn scope_error(method: &str, scope: AuthScope) -> ErrorObject {
    ErrorObject::new(
        code::INVALID_REQUEST,
        format!("`{method}` needs the {scope} scope"),
    )
    .with_data(json!({"required_scope": scope.as_str()}))
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

/// Sends `method` to `template` and returns the upstream's answer verbatim.
async fn forward(
    ctx: &Ctx,
    template: &str,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Outcome {
    if let Some(dedicated) = &ctx.dedicated {
        return dedicated.call(method, params, ctx.progress.clone()).await;
    }
    match relay::forward(&ctx.state, template, method, params, ctx.progress.clone()).await {
        Ok(forwarded) => forwarded.outcome,
        Err(e) => api_error(&e),
    }
}

/// A gateway failure as a JSON-RPC error.
pub(crate) fn api_error(e: &ApiError) -> Outcome {
    let code = match e {
        ApiError::TemplateNotFound(_) => code::INVALID_PARAMS,
        ApiError::NoInstances(_) | ApiError::Unavailable { .. } => code::UPSTREAM_UNAVAILABLE,
        ApiError::Timeout { .. } => code::UPSTREAM_TIMEOUT,
        ApiError::UpstreamFailed { .. } | ApiError::BadUpstream(_) => code::UPSTREAM_FAILED,
        ApiError::Rpc { error, .. } => return Outcome::Error(to_raw(error)),
        _ => code::INTERNAL_ERROR,
    };
    e.log_hidden_cause();
    let mut object = ErrorObject::new(code, e.to_string());
    if let Some(id) = crate::request_id::current() {
        object = object.with_data(serde_json::json!({ "request_id": id }));
    }
    Outcome::Error(to_raw(&object))
}

/// Routes by the prefixed `params.{field}` (`name` or `uri`), rewriting it to the
/// upstream's own value; every other byte of the params is kept.
async fn route_by(ctx: &Ctx, ns: &Namespace, request: Request, field: &str) -> Outcome {
    let Some(params) = request.params.as_deref() else {
        return error(code::INVALID_PARAMS, format!("missing params.{field}"));
    };
    let Ok(mut object) = RawObject::parse(params) else {
        return error(code::INVALID_PARAMS, "params must be an object");
    };
    let Some(value) = object
        .get(field)
        .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    else {
        return error(code::INVALID_PARAMS, format!("missing params.{field}"));
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
        return error(
            code::INVALID_PARAMS,
            format!("unknown {what} {value:?} (names are `template{{separator}}name`)"),
        );
    };
    object.insert_value(field, inner);
    forward(ctx, &template, &request.method, Some(object.to_raw())).await
}

/// `completion/complete`: routed by `params.ref.name` (prompts) or `params.ref.uri`
/// (resource templates).
async fn complete(ctx: &Ctx, ns: &Namespace, request: Request) -> Outcome {
    let parsed = request
        .params
        .as_deref()
        .and_then(|p| RawObject::parse(p).ok());
    let Some(mut object) = parsed else {
        return error(code::INVALID_PARAMS, "params must be an object");
    };
    let reference: serde_json::Value = object
        .get("ref")
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default();
    let (field, split) = match (reference["name"].as_str(), reference["uri"].as_str()) {
        (Some(name), _) => ("name", ns.split_name(name)),
        (None, Some(uri)) => ("uri", ns.split_uri(uri)),
        _ => return error(code::INVALID_PARAMS, "params.ref needs a name or a uri"),
    };
    let Some((template, inner)) = split else {
        return error(code::INVALID_PARAMS, "params.ref names no known template");
    };
    let inner = inner.to_owned();
    object.edit_object("ref", |r| r.insert_value(field, &inner));
    forward(ctx, &template, &request.method, Some(object.to_raw())).await
}
