//! Streamable HTTP for `/mcp` and `/mcp/{template}`: checks Origin/Host, `Accept` and the
//! body, tells the eras apart (`initialize` or a session id: legacy; `_meta`
//! protocolVersion: 2026-07-28), and answers with JSON or, when the request asked for
//! progress and the client accepts it, an SSE stream.
//!
//! | request | answer |
//! |---|---|
//! | POST `initialize` | 200 + `Mcp-Session-Id` (sealed) |
//! | POST request with a session id | 200 JSON or SSE; 404 for an unknown, expired or closed session |
//! | POST 2026-07-28 request (no session) | 200; 400 + −32020 / −32022 for bad headers or versions |
//! | POST call, read, prompt or completion without `mcp:call` | 403 + `insufficient_scope` challenge |
//! | POST `initialize` or any session request on a `dedicated` template without `mcp:call` | 403 + `insufficient_scope` challenge |
//! | POST `initialize` when every live session entry is busy and the cap is reached | 503 + `Retry-After` |
//! | POST notification or response | 202, empty |
//! | GET with a session id | SSE stream of list_changed / resource updates (ends at shutdown); 409 if one is open |
//! | DELETE with a session id | 200, session closed |
//! | GET / DELETE without a session id | 405 (2026-07-28 has neither) |
//! | bad `Origin`/`Host` | 403 · bad `Accept` | 406 · non-JSON body | 415 |

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use gateway_core::{
    SessionMode,
    jsonrpc::{
        ErrorObject, Message, Notification, Outcome, ParseError, Request, RequestId,
        Response as RpcResponse, code,
    },
    mcp::{Method, ParamsView, wire::HEADER_SESSION_ID},
};
use tokio::sync::mpsc;

use super::{
    dedicated::Dedicated,
    describe,
    dispatch::{self, Ctx, Scope},
    era,
    names::Namespace,
    notify::notification_forwarders,
    refusal::{Refusal, http_error, overloaded, rpc_http},
    session::{Claims, Live, SessionError},
    stream::{AbortOnDrop, sse_response},
};
use crate::{
    auth::{Caller, RequestMeta},
    drain::Phase,
    error::ApiError,
    registry::TemplateRoute,
    state::AppState,
};

/// JSON-RPC code for a request the client cancelled (as in LSP; MCP leaves it open).
const REQUEST_CANCELLED: i32 = -32800;

/// `POST /mcp/{template}`.
pub(crate) async fn post_template(
    State(state): State<AppState>,
    Path(template): Path<String>,
    caller: Option<Caller>,
    meta: RequestMeta,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let who = Who { caller, meta };
    post(state, Some(template), who, headers, uri, body).await
}

/// `POST /mcp`.
pub(crate) async fn post_aggregate(
    State(state): State<AppState>,
    caller: Option<Caller>,
    meta: RequestMeta,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let who = Who { caller, meta };
    post(state, None, who, headers, uri, body).await
}

/// Who sent a POST: the principal, and the request's address and id for the audit log.
struct Who {
    caller: Option<Caller>,
    meta: RequestMeta,
}

/// `GET /mcp/{template}`.
pub(crate) async fn get_template(
    State(state): State<AppState>,
    Path(template): Path<String>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    get(state, Some(template), caller, headers).await
}

/// `GET /mcp`.
pub(crate) async fn get_aggregate(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    get(state, None, caller, headers).await
}

/// `DELETE /mcp/{template}`.
pub(crate) async fn delete_template(
    State(state): State<AppState>,
    Path(template): Path<String>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    delete(state, Some(template), caller, headers)
}

/// `DELETE /mcp`.
pub(crate) async fn delete_aggregate(
    State(state): State<AppState>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    delete(state, None, caller, headers)
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

fn method_not_allowed() -> Response {
    let mut response = http_error(
        StatusCode::METHOD_NOT_ALLOWED,
        -32000,
        "Method Not Allowed: this endpoint takes POST (GET and DELETE need an Mcp-Session-Id)",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST, GET, DELETE"));
    response
}

/// What the `Accept` header allows.
struct Accepts {
    json: bool,
    sse: bool,
}

fn accepts(headers: &HeaderMap) -> Accepts {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Accepts {
            json: true,
            sse: false,
        };
    }
    let has = |kind: &str| {
        values.iter().any(|v| {
            v.split(',').any(|part| {
                let media = part.split(';').next().unwrap_or("").trim();
                media.eq_ignore_ascii_case(kind) || media == "*/*"
            })
        })
    };
    Accepts {
        json: has("application/json"),
        sse: has("text/event-stream"),
    }
}

/// Common checks; returns the caller's scope.
fn prepare(
    state: &AppState,
    template: Option<String>,
    caller: Option<&Caller>,
) -> Result<Scope, Refusal> {
    let table = state.registry.snapshot();
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
                .filter(|t| caller.is_none_or(|c| c.0.allows_template(t.as_str())))
                .map(|t| Arc::from(t.as_str()))
                .collect();
            Ok(Scope::Aggregate(Namespace::new(
                visible,
                state.mcp.separator.clone(),
            )))
        }
    }
}

fn template_of(scope: &Scope) -> Option<&str> {
    match scope {
        Scope::Template(t) => Some(t),
        Scope::Aggregate(_) => None,
    }
}

fn session_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(HEADER_SESSION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

fn open_session(
    state: &AppState,
    id: &str,
    scope: &Scope,
    caller: Option<&Caller>,
) -> Result<Arc<Live>, Refusal> {
    state
        .mcp
        .sessions
        .open(id, template_of(scope), caller.map(|c| c.0.actor()))
        .map_err(|e| match e {
            SessionError::Overloaded(_) => Refusal::overloaded(&e),
            e => Refusal::new(
                StatusCode::NOT_FOUND,
                -32001,
                format!("Session not found: {e}"),
            ),
        })
}

async fn post(
    state: AppState,
    template: Option<String>,
    who: Who,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let Who { caller, meta } = who;
    let scope = match prepare(&state, template, caller.as_ref()) {
        Ok(scope) => scope,
        Err(refusal) => return refusal.into_response(),
    };
    let accept = accepts(&headers);
    if !accept.json && !accept.sse {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            -32000,
            "Not Acceptable: Accept must include application/json and text/event-stream",
        );
    }
    if !crate::media::is_json(&headers) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            -32000,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let message = match Message::parse(&body) {
        Ok(message) => message,
        Err(e) => {
            let id = match &e {
                ParseError::InvalidMessage { id, .. } => id.clone(),
                _ => None,
            };
            let message = match e {
                ParseError::Batch => "batches are not supported (removed in 2025-06-18)".into(),
                other => other.to_string(),
            };
            return rpc_http(
                StatusCode::BAD_REQUEST,
                id,
                &ErrorObject::new(e_code(&message), message),
            );
        }
    };
    let ctx = Ctx {
        state: state.clone(),
        scope,
        principal: caller.as_ref().map(|c| c.0.clone()),
        progress: None,
        dedicated: None,
    };
    let session = session_header(&headers);
    let request = match message {
        Message::Notification(n) => {
            if let Some(id) = session {
                let live = match open_session(&state, id, &ctx.scope, caller.as_ref()) {
                    Ok(live) => live,
                    Err(refusal) => return refusal.into_response(),
                };
                client_notification(&live, &n);
            }
            return accepted();
        }
        Message::Response(response) => {
            // Answers to server-to-client requests, which only dedicated upstream
            // sessions send (shared ones never see the client's capabilities).
            return match session {
                Some(id) => match open_session(&state, id, &ctx.scope, caller.as_ref()) {
                    Ok(live) => {
                        if let Some(dedicated) = live.dedicated.get()
                            && !dedicated.answer(response).await
                        {
                            tracing::debug!("client answered a request it was never sent");
                        }
                        accepted()
                    }
                    Err(refusal) => refusal.into_response(),
                },
                None => http_error(
                    StatusCode::BAD_REQUEST,
                    code::INVALID_REQUEST,
                    "responses are only accepted within a session",
                ),
            };
        }
        Message::Request(request) => request,
    };
    if let Some(scope) =
        dispatch::missing_scope(ctx.principal.as_deref(), &Method::parse(&request.method))
    {
        let error = dispatch::scope_error(&request.method, scope);
        return insufficient_scope(&ctx, &meta, uri.path(), request, scope, error);
    }
    let initializing = request.method == Method::Initialize.as_str();
    let dedicated = dedicated_route(&state, &ctx.scope);
    if let Some(route) = &dedicated
        && (session.is_some() || initializing)
        && let Some(scope) = dispatch::missing_scope(ctx.principal.as_deref(), &Method::ToolsCall)
    {
        // A dedicated session runs an upstream (a process, for stdio) of its own: a
        // read-only principal must not be able to take those places.
        let mut error = dispatch::scope_error(&request.method, scope);
        error.message = format!(
            "`{}` needs the {scope} scope: template `{}` gives each session its own \
             upstream (session_mode dedicated)",
            request.method, route.name
        );
        return insufficient_scope(&ctx, &meta, uri.path(), request, scope, error);
    }

    if let Some(id) = session {
        let live = match open_session(&state, id, &ctx.scope, caller.as_ref()) {
            Ok(live) => live,
            Err(refusal) => return refusal.into_response(),
        };
        if let Err(message) = era::check_legacy_header(&headers) {
            return http_error(StatusCode::BAD_REQUEST, -32000, message);
        }
        let mut ctx = ctx;
        if let Some(route) = dedicated {
            let opened = live
                .dedicated
                .get_or_try_init(|| {
                    Dedicated::open(
                        &state,
                        &route,
                        live.claims.actor.as_deref(),
                        live.claims.pinned.as_deref(),
                        live.claims.capabilities.as_deref(),
                        live.outbox.clone(),
                    )
                })
                .await;
            match opened {
                Ok(dedicated) => ctx.dedicated = Some(dedicated.clone()),
                Err(e) => return json_reply(request.id, &request.method, e.into_outcome(), false),
            }
        }
        return answer(ctx, request, Some(live), false, accept.sse).await;
    }
    if initializing {
        return initialize(ctx, request, dedicated).await;
    }
    match era::meta_version(&request) {
        Some(version) => match era::check_modern(&headers, &request, &version) {
            Ok(_) => answer(ctx, request, None, true, accept.sse).await,
            Err(error) => rpc_http(StatusCode::BAD_REQUEST, Some(request.id), &error),
        },
        None => http_error(
            StatusCode::BAD_REQUEST,
            -32000,
            "Bad Request: Mcp-Session-Id header is required (send initialize first, or \
             2026-07-28 requests with _meta io.modelcontextprotocol/protocolVersion)",
        ),
    }
}

/// 403 for a method the caller's scopes do not cover, as the REST facade answers a
/// missing scope and as the MCP authorization spec asks (an `insufficient_scope`
/// challenge, so a client can step up), with a JSON-RPC error for the request; audited.
fn insufficient_scope(
    ctx: &Ctx,
    meta: &RequestMeta,
    path: &str,
    request: Request,
    scope: gateway_core::Scope,
    error: ErrorObject,
) -> Response {
    let actor = ctx.principal.as_ref().map(|p| p.actor());
    let target = format!("POST {path} {}", request.method);
    ctx.state.access.audit(meta.event(
        actor,
        "authz.deny",
        Some(target),
        gateway_auth::Outcome::Denied,
    ));
    let mut response = rpc_http(StatusCode::FORBIDDEN, Some(request.id), &error);
    // The challenge as the REST facade writes it (one definition of its realm).
    let rest = ApiError::from(gateway_auth::Error::MissingScope(scope)).into_response();
    if let Some(challenge) = rest.headers().get(header::WWW_AUTHENTICATE) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.clone());
    }
    response
}

fn e_code(message: &str) -> i32 {
    if message.starts_with("parse error") {
        code::PARSE_ERROR
    } else {
        code::INVALID_REQUEST
    }
}

/// `notifications/cancelled` stops the named request; the rest need no action with
/// shared upstream sessions (`initialized`, `roots/list_changed`, ...).
fn client_notification(live: &Live, notification: &Notification) {
    if notification.method != Method::Cancelled.as_str() {
        return;
    }
    let request_id = notification
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p.get()).ok())
        .and_then(|p| p.get("requestId").map(ToString::to_string));
    if let Some(id) = request_id
        && live.cancel(&id)
    {
        tracing::debug!(request = %id, "request cancelled by the client");
    }
}

/// `initialize`: negotiates the version, issues a sealed session id and presents the
/// server (the upstream's own description on `/mcp/{template}`). On a `dedicated`
/// template (`route`) the session's upstream opens first, counted against the principal.
async fn initialize(ctx: Ctx, request: Request, route: Option<Arc<TemplateRoute>>) -> Response {
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
        template_of(&ctx.scope).map(str::to_owned),
        version,
        ctx.principal.as_ref().map(|p| p.actor().to_owned()),
        capabilities,
    );
    let outbox = Arc::default();
    let mut ctx = ctx;
    if let Some(route) = route {
        let opened = Dedicated::open(
            &ctx.state,
            &route,
            ctx.principal.as_ref().map(|p| p.actor()),
            None,
            capabilities,
            Arc::clone(&outbox),
        )
        .await;
        match opened {
            Ok(dedicated) => {
                claims.pinned = Some(dedicated.instance.to_string());
                ctx.dedicated = Some(dedicated);
            }
            Err(e) => return json_reply(request.id, &request.method, e.into_outcome(), false),
        }
    }
    let result = describe::initialize_result(&ctx, version).await;
    let issued = ctx
        .state
        .mcp
        .sessions
        .issue(claims, outbox, ctx.dedicated.clone());
    let session_id = match issued {
        Ok((session_id, _)) => session_id,
        Err(e) => return overloaded(request.id, &e),
    };
    let body = Message::from(RpcResponse::result(request.id, result)).to_vec();
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&session_id) {
        response.headers_mut().insert(HEADER_SESSION_ID, value);
    }
    response
}

/// Runs a request and answers it: JSON, or SSE with progress first when the request
/// carries a progress token and the client accepts event streams.
async fn answer(
    mut ctx: Ctx,
    request: Request,
    live: Option<Arc<Live>>,
    modern: bool,
    sse_ok: bool,
) -> Response {
    // Dedicated sessions stream whenever they may: the upstream can send requests
    // (sampling, elicitation, roots) while the call runs.
    let wants_progress = sse_ok
        && (ctx.dedicated.is_some()
            || ParamsView::parse(request.params.as_deref())
                .ok()
                .and_then(|p| p.meta().ok())
                .is_some_and(|m| m.progress_token.is_some()));
    let id = request.id.clone();
    let method = request.method.clone();
    let keepalive = ctx.state.mcp.keepalive;
    if !wants_progress {
        let outcome = run(&ctx, request, live).await;
        let body = reply(id, &method, outcome, modern);
        return (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
    }
    let (events_tx, events_rx) = mpsc::channel::<String>(32);
    let sink = match (&ctx.dedicated, &live) {
        (Some(_), Some(live)) => Some((
            live.outbox.clone(),
            live.outbox.lock().attach(events_tx.clone()),
        )),
        _ => None,
    };
    let (progress_tx, mut progress_rx) = mpsc::channel::<Notification>(32);
    ctx.progress = Some(progress_tx);
    let forward_progress = {
        let events_tx = events_tx.clone();
        tokio::spawn(async move {
            while let Some(n) = progress_rx.recv().await {
                let text = String::from_utf8(Message::from(n).to_vec()).unwrap_or_default();
                if events_tx.send(text).await.is_err() {
                    return;
                }
            }
        })
    };
    let work = tokio::spawn(async move {
        let outcome = run(&ctx, request, live).await;
        drop(ctx);
        // Progress sent before the response goes out first.
        let _ = forward_progress.await;
        let body = reply(id, &method, outcome, modern);
        if let Some((outbox, sink)) = sink {
            outbox.lock().detach(sink);
        }
        let _ = events_tx
            .send(String::from_utf8(body).unwrap_or_default())
            .await;
    });
    // An in-flight request: it may finish while the server drains (the drain layer
    // ends it at the deadline).
    sse_response(
        events_rx,
        AbortOnDrop(vec![work]),
        keepalive,
        std::future::pending(),
    )
}

fn json_reply(id: RequestId, method: &str, outcome: Outcome, modern: bool) -> Response {
    let body = reply(id, method, outcome, modern);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The template's route when `scope` is a template in `dedicated` session mode.
fn dedicated_route(state: &AppState, scope: &Scope) -> Option<Arc<TemplateRoute>> {
    let Scope::Template(template) = scope else {
        return None;
    };
    state
        .registry
        .snapshot()
        .get(template)
        .filter(|r| r.settings.session_mode() == SessionMode::Dedicated)
        .cloned()
}

/// Dispatches, racing a client `notifications/cancelled` within a session.
async fn run(ctx: &Ctx, request: Request, live: Option<Arc<Live>>) -> Outcome {
    let Some(live) = live else {
        return dispatch::dispatch(ctx, request).await;
    };
    let (cancelled, _guard) = live.track(request.id.to_json());
    tokio::select! {
        outcome = dispatch::dispatch(ctx, request) => outcome,
        Ok(()) = cancelled => dispatch::error(REQUEST_CANCELLED, "request cancelled by the client"),
    }
}

/// The response bytes; 2026-07-28 results get the fields modern clients require.
fn reply(id: RequestId, method: &str, outcome: Outcome, modern: bool) -> Vec<u8> {
    let outcome = match outcome {
        Outcome::Result(result) if modern => Outcome::Result(era::modernize(method, result)),
        other => other,
    };
    Message::from(RpcResponse {
        id: Some(id),
        outcome,
    })
    .to_vec()
}

/// GET: the session's stream of server notifications (legacy era only).
async fn get(
    state: AppState,
    template: Option<String>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    let scope = match prepare(&state, template, caller.as_ref()) {
        Ok(scope) => scope,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(id) = session_header(&headers) else {
        return method_not_allowed();
    };
    if !accepts(&headers).sse {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            -32000,
            "Not Acceptable: Accept must include text/event-stream",
        );
    }
    let live = match open_session(&state, id, &scope, caller.as_ref()) {
        Ok(live) => live,
        Err(refusal) => return refusal.into_response(),
    };
    if live
        .stream_open
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        return http_error(
            StatusCode::CONFLICT,
            -32000,
            "Conflict: only one GET stream is allowed per session",
        );
    }
    let (tx, rx) = mpsc::channel::<String>(32);
    // A dedicated session's upstream messages all come through its outbox; shared
    // sessions hear list changes from every instance in scope.
    let (tasks, sink) = if dedicated_route(&state, &scope).is_some() {
        (Vec::new(), Some(live.outbox.lock().attach(tx)))
    } else {
        (notification_forwarders(&state, &scope, tx), None)
    };
    struct Open {
        live: Arc<Live>,
        sink: Option<u64>,
        _forwarders: AbortOnDrop,
    }
    impl Drop for Open {
        fn drop(&mut self) {
            if let Some(sink) = self.sink {
                self.live.outbox.lock().detach(sink);
            }
            self.live
                .stream_open
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }
    sse_response(
        rx,
        Open {
            live,
            sink,
            _forwarders: AbortOnDrop(tasks),
        },
        state.mcp.keepalive,
        // A notification stream has no end of its own: shutdown ends it, cleanly, so
        // the server need not wait for the drain deadline (clients reconnect elsewhere).
        state.drain.reached(Phase::Draining),
    )
}

/// DELETE: ends the session.
fn delete(
    state: AppState,
    template: Option<String>,
    caller: Option<Caller>,
    headers: HeaderMap,
) -> Response {
    let scope = match prepare(&state, template, caller.as_ref()) {
        Ok(scope) => scope,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(id) = session_header(&headers) else {
        return method_not_allowed();
    };
    match open_session(&state, id, &scope, caller.as_ref()) {
        Ok(live) => state.mcp.sessions.close(id, live.claims.issued),
        Err(refusal) => return refusal.into_response(),
    }
    StatusCode::OK.into_response()
}
