//! Every route and the layer order, on one screen.

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{Method, Uri},
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    admin, auth, browser, drain, error::ApiError, fleet, mcp, metrics, openapi, request_id, rest,
    state::AppState, trace::RequestSpan,
};

/// The application: MCP endpoints, REST facade, management API, API docs.
pub(crate) fn app(state: AppState) -> Router {
    let max_body = state.max_body;
    let access = state.access.clone();
    let drain = state.drain.clone();
    let browser = state.browser.clone();
    let hop = state.mcp.hop.clone();
    // A request for a session another replica holds goes there (mcp/forward.rs).
    let mcp_routes = mcp::routes().route_layer(axum::middleware::from_fn_with_state(
        state.mcp.clone(),
        mcp::divert,
    ));
    let http = state.http.clone();
    // The document declares credentials only when the gateway asks for them.
    let auth_on = state.access.is_enabled();
    Router::new()
        .merge(mcp_routes)
        .merge(rest::routes())
        .merge(admin::routes())
        .merge(auth::routes())
        .with_state(state)
        .merge(openapi::routes(auth_on))
        // After every route: it applies to the method routers registered so far.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // The middleware, outermost first, applied to every route as one stack: axum
        // boxes each `Router::layer` call separately, and every request then clones and
        // drops each box (the hot path's profile showed it).
        .layer(
            ServiceBuilder::new()
                // Outermost: every request and response carries `x-request-id` (a
                // client's own id is kept), and the trace span sees it.
                .layer(SetRequestIdLayer::x_request_id(NewRequestId))
                .layer(PropagateRequestIdLayer::x_request_id())
                // Inside the layer that sets `x-request-id`: error bodies quote it.
                .layer(request_id::ScopeLayer)
                // Requests by route and status class, and the request's log line
                // (metrics/http.rs, request_log.rs); inside the scope of the request id.
                .layer(axum::middleware::from_fn_with_state(http, metrics::observe))
                // Shutdown: sees every request for as long as its response (or event
                // stream) is open, and cuts off what outlives the drain deadline
                // (drain.rs). Inside the request-id layers, so a cut-off answer carries
                // the id like any other error.
                .layer(axum::middleware::from_fn_with_state(drain, drain::track))
                // One `request` span per request, with its matched route (trace.rs).
                .layer(TraceLayer::new_for_http().make_span_with(RequestSpan))
                // Before authentication: cross-site and DNS-rebinding requests, CORS
                // (browser/).
                .layer(axum::middleware::from_fn_with_state(
                    browser,
                    browser::guard,
                ))
                .layer(DefaultBodyLimit::max(max_body))
                // Before authentication: a request forwarded by another replica proves
                // it (403 otherwise), and is then not rate-limited twice (fleet/hop.rs).
                .layer(axum::middleware::from_fn_with_state(hop, fleet::hop::admit))
                // Authentication, route scopes, template allowlists, rate limits
                // (auth/layer.rs).
                .layer(axum::middleware::from_fn_with_state(
                    access,
                    auth::authorize,
                )),
        )
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

/// A known path with a method it does not serve (axum's default is an empty body;
/// its `Allow` header is still added).
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// Random request ids (UUID v4).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        // Encoded on the stack: no `String` and no formatter per request.
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        axum::http::HeaderValue::from_str(text)
            .ok()
            .map(RequestId::new)
    }
}
