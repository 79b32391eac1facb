//! `GET /mcp/{template}/{tools,resources,resources/templates,prompts}/list`: every page
//! drained from one instance, items forwarded verbatim, plus a `count`.
//!
//! An upstream that offers no resources or prompts (it answers the list with
//! method-not-found, −32601) has an empty list here: the guide's clients (the
//! predecessor's `GatewayClient.list_resources`/`list_prompts`) expect 200 and `[]`, not
//! an error, for a server without them. Reading a resource or getting a prompt there is
//! still an error.

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use gateway_core::mcp::Method;
use tracing::Instrument as _;

use crate::{
    auth::Caller,
    error::ApiError,
    relay::{ListError, Relay},
};

/// `{"tools": [...], "count": N}` for tools/list.
#[utoipa::path(get, path = "/mcp/{template}/tools/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"tools\": [...], \"count\": N}` with the upstream's tool objects verbatim"),
              (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn tools(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(&relay, caller, &template, Method::ToolsList, "tools").await
}

/// `{"resources": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/resources/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"resources\": [...], \"count\": N}` (empty when the upstream offers no resources: it answered method-not-found)"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn resources(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(
        &relay,
        caller,
        &template,
        Method::ResourcesList,
        "resources",
    )
    .await
}

/// `{"resourceTemplates": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/resources/templates/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"resourceTemplates\": [...], \"count\": N}` (empty when the upstream offers none)"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn resource_templates(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(
        &relay,
        caller,
        &template,
        Method::ResourcesTemplatesList,
        "resourceTemplates",
    )
    .await
}

/// `{"prompts": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/prompts/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"prompts\": [...], \"count\": N}` (empty when the upstream offers no prompts)"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn prompts(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(&relay, caller, &template, Method::PromptsList, "prompts").await
}

async fn list_all(
    relay: &Relay,
    caller: Option<Caller>,
    template: &str,
    method: Method,
    key: &'static str,
) -> Result<Response, ApiError> {
    crate::trace::record_method(&method);
    let span = crate::trace::server_span(&method, None, Default::default());
    let caller = caller.map(|c| c.0);
    let items = match relay
        .list_all(template, &method, key, caller.as_ref())
        .instrument(span)
        .await
    {
        Ok(items) => items,
        Err(ListError::Rpc(error)) if method != Method::ToolsList && not_offered(&error) => {
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let mut body = Vec::with_capacity(items.iter().map(|i| i.get().len() + 1).sum::<usize>() + 32);
    body.extend_from_slice(b"{\"");
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b"\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item.get().as_bytes());
    }
    // Written in place (writing to a Vec cannot fail).
    let _ = std::io::Write::write_fmt(&mut body, format_args!("],\"count\":{}}}", items.len()));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Whether an upstream's JSON-RPC error says it has no such method (−32601).
fn not_offered(error: &serde_json::value::RawValue) -> bool {
    #[derive(serde::Deserialize)]
    struct Code {
        code: i64,
    }
    serde_json::from_str::<Code>(error.get())
        .is_ok_and(|e| e.code == i64::from(gateway_core::jsonrpc::code::METHOD_NOT_FOUND))
}
