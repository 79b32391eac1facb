//! `POST /mcp/{template}/tools/call`, `resources/read`, `prompts/get`: the upstream's
//! result is returned verbatim (a tool error stays HTTP 200 with `isError: true`).

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use gateway_core::jsonrpc::to_raw;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::body::JsonBody;
use crate::{error::ApiError, relay, state::AppState};

/// `{"name": "...", "arguments": {...}}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct NamedCall {
    /// Tool or prompt name.
    name: String,
    /// Arguments object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    arguments: Option<Map<String, Value>>,
    /// Request `_meta`, forwarded as is.
    #[serde(default, rename = "_meta")]
    #[schema(value_type = Option<Object>)]
    meta: Option<Map<String, Value>>,
}

/// `{"uri": "..."}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ReadResource {
    /// Resource URI.
    uri: String,
}

/// Calls a tool.
#[utoipa::path(post, path = "/mcp/{template}/tools/call", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = NamedCall,
    responses((status = 200, description = "The upstream CallToolResult verbatim (`content`, `isError`, `structuredContent`, `_meta`)"),
              (status = 400, body = gateway_core::api::ErrorBody), (status = 404, body = gateway_core::api::ErrorBody),
              (status = 503, body = gateway_core::api::ErrorBody), (status = 504, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn call_tool(
    State(state): State<AppState>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<NamedCall>,
) -> Result<Response, ApiError> {
    named(&state, &template, "tools/call", body).await
}

/// Gets a prompt.
#[utoipa::path(post, path = "/mcp/{template}/prompts/get", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = NamedCall,
    responses((status = 200, description = "The upstream GetPromptResult verbatim"), (status = 400, body = gateway_core::api::ErrorBody), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn get_prompt(
    State(state): State<AppState>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<NamedCall>,
) -> Result<Response, ApiError> {
    named(&state, &template, "prompts/get", body).await
}

/// Reads a resource.
#[utoipa::path(post, path = "/mcp/{template}/resources/read", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    request_body = ReadResource,
    responses((status = 200, description = "The upstream ReadResourceResult verbatim"), (status = 400, body = gateway_core::api::ErrorBody), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn read_resource(
    State(state): State<AppState>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<ReadResource>,
) -> Result<Response, ApiError> {
    if body.uri.is_empty() {
        return Err(ApiError::invalid("uri", "must not be empty"));
    }
    let params = to_raw(&serde_json::json!({ "uri": body.uri }));
    forward(&state, &template, "resources/read", params).await
}

async fn named(
    state: &AppState,
    template: &str,
    method: &str,
    body: NamedCall,
) -> Result<Response, ApiError> {
    if body.name.is_empty() {
        return Err(ApiError::invalid("name", "must not be empty"));
    }
    let mut params = serde_json::json!({
        "name": body.name,
        "arguments": body.arguments.unwrap_or_default(),
    });
    if let (Some(meta), Some(map)) = (body.meta, params.as_object_mut()) {
        map.insert("_meta".to_owned(), Value::Object(meta));
    }
    forward(state, template, method, to_raw(&params)).await
}

async fn forward(
    state: &AppState,
    template: &str,
    method: &str,
    params: Box<serde_json::value::RawValue>,
) -> Result<Response, ApiError> {
    let relayed = relay::call(state, template, method, Some(params)).await?;
    let body = String::from(Box::<str>::from(relayed.result));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
