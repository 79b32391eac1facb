//! `POST /mcp/{template}/tools/call`, `resources/read`, `prompts/get`: the upstream's
//! result is returned verbatim (a tool error stays HTTP 200 with `isError: true`).

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use gateway_core::{
    jsonrpc::{Outcome, to_raw},
    mcp::Method,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Instrument as _;

use super::body::JsonBody;
use crate::{
    auth::Caller,
    error::ApiError,
    relay::{Call, Options, Relay, Target},
};

/// `{"name": "...", "arguments": {...}}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NamedCall {
    /// Tool or prompt name.
    #[schema(min_length = 1)]
    name: String,
    /// Arguments object (forwarded byte for byte).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    arguments: Option<Box<RawValue>>,
    /// Request `_meta`, forwarded as is.
    #[serde(default, rename = "_meta")]
    #[schema(value_type = Option<Object>)]
    meta: Option<Box<RawValue>>,
}

/// `{"uri": "..."}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReadResource {
    /// Resource URI.
    #[schema(min_length = 1)]
    uri: String,
}

/// Calls a tool.
#[utoipa::path(post, path = "/mcp/{template}/tools/call", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = NamedCall,
    responses((status = 200, description = "The upstream CallToolResult verbatim (`content`, `isError`, `structuredContent`, `_meta`)"),
              (status = 400, description = "Invalid input (the `field` names it)", body = gateway_core::api::ErrorBody), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn call_tool(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<NamedCall>,
) -> Result<Response, ApiError> {
    named(&relay, caller, &template, Method::ToolsCall, body).await
}

/// Gets a prompt.
#[utoipa::path(post, path = "/mcp/{template}/prompts/get", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = NamedCall,
    responses((status = 200, description = "The upstream GetPromptResult verbatim"), (status = 400, description = "Invalid input (the `field` names it)", body = gateway_core::api::ErrorBody), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn get_prompt(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<NamedCall>,
) -> Result<Response, ApiError> {
    named(&relay, caller, &template, Method::PromptsGet, body).await
}

/// Reads a resource.
#[utoipa::path(post, path = "/mcp/{template}/resources/read", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = ReadResource,
    responses((status = 200, description = "The upstream ReadResourceResult verbatim"), (status = 400, description = "Invalid input (the `field` names it)", body = gateway_core::api::ErrorBody), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody),
              (status = 502, description = "The upstream failed during the call (`upstream_failed`: process exited, connection reset, HTTP 5xx, invalid reply; no Retry-After) or answered with a JSON-RPC error (`upstream_error`, kept in `rpc_error`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "No instance available, or the request could not be sent (see Retry-After)", body = gateway_core::api::ErrorBody), (status = 504, description = "Upstream timed out", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn read_resource(
    State(relay): State<Relay>,
    caller: Option<Caller>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<ReadResource>,
) -> Result<Response, ApiError> {
    if body.uri.is_empty() {
        return Err(ApiError::invalid("uri", "must not be empty"));
    }
    let params = to_raw(&serde_json::json!({ "uri": body.uri }));
    forward(&relay, caller, &template, Method::ResourcesRead, params).await
}

async fn named(
    relay: &Relay,
    caller: Option<Caller>,
    template: &str,
    method: Method,
    body: NamedCall,
) -> Result<Response, ApiError> {
    if body.name.is_empty() {
        return Err(ApiError::invalid("name", "must not be empty"));
    }
    let is_object = |raw: &RawValue| raw.get().trim_start().starts_with('{');
    if body
        .arguments
        .as_deref()
        .is_some_and(|a| !is_object(a) && a.get() != "null")
    {
        return Err(ApiError::invalid("arguments", "must be an object"));
    }
    if body.meta.as_deref().is_some_and(|m| !is_object(m)) {
        return Err(ApiError::invalid("_meta", "must be an object"));
    }
    // Assembled from raw parts: the arguments are never re-encoded, and the result is
    // not parsed again (serde_json writes raw values as they are).
    let params = to_raw(&NamedParams {
        name: &body.name,
        arguments: Arguments(body.arguments.as_deref().filter(|a| a.get() != "null")),
        meta: body.meta.as_deref(),
    });
    forward(relay, caller, template, method, params).await
}

/// The params of `tools/call` and `prompts/get`: `{"name", "arguments", "_meta"?}`.
#[derive(serde::Serialize)]
struct NamedParams<'a> {
    name: &'a str,
    arguments: Arguments<'a>,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<&'a RawValue>,
}

/// The caller's arguments, raw; `{}` when absent or `null`.
struct Arguments<'a>(Option<&'a RawValue>);

impl serde::Serialize for Arguments<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(raw) => raw.serialize(s),
            None => serde::ser::SerializeMap::end(s.serialize_map(Some(0))?),
        }
    }
}

async fn forward(
    relay: &Relay,
    caller: Option<Caller>,
    template: &str,
    method: Method,
    params: Box<RawValue>,
) -> Result<Response, ApiError> {
    crate::trace::record_method(&method);
    let span = crate::trace::server_span(&method, Some(&params), Default::default());
    let call = Call::new(method, Some(params));
    let options = Options {
        caller: caller.map(|c| c.0),
        ..Options::default()
    };
    let relayed = relay
        .call(Target::Template(template), call, options)
        .instrument(span)
        .await?;
    let result = match relayed.outcome {
        Outcome::Result(result) => result,
        Outcome::Error(error) => return Err(ApiError::rpc(&error)),
    };
    let body = String::from(Box::<str>::from(result));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
