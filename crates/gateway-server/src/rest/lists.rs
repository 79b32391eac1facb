//! `GET /mcp/{template}/{tools,resources,resources/templates,prompts}/list`: every page
//! drained from one instance, items forwarded verbatim, plus a `count`.

use axum::{
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
};
use gateway_core::{jsonrpc::to_raw, mcp::RawObject};
use serde_json::value::RawValue;

use crate::{
    error::ApiError,
    relay::{self, Failure},
    state::AppState,
};

/// Upper bound on pages drained for one listing (a loop guard against broken cursors).
const MAX_PAGES: usize = 1000;

/// `{"tools": [...], "count": N}` for tools/list.
#[utoipa::path(get, path = "/mcp/{template}/tools/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"tools\": [...], \"count\": N}` with the upstream's tool objects verbatim"),
              (status = 404, description = "Not found", body = gateway_core::api::ErrorBody), (status = 503, description = "No instance available (see Retry-After)", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn tools(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(&state, &template, "tools/list", "tools").await
}

/// `{"resources": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/resources/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"resources\": [...], \"count\": N}`"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn resources(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(&state, &template, "resources/list", "resources").await
}

/// `{"resourceTemplates": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/resources/templates/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"resourceTemplates\": [...], \"count\": N}`"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn resource_templates(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(
        &state,
        &template,
        "resources/templates/list",
        "resourceTemplates",
    )
    .await
}

/// `{"prompts": [...], "count": N}`.
#[utoipa::path(get, path = "/mcp/{template}/prompts/list", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "`{\"prompts\": [...], \"count\": N}`"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn prompts(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Response, ApiError> {
    list_all(&state, &template, "prompts/list", "prompts").await
}

async fn list_all(
    state: &AppState,
    template: &str,
    method: &str,
    key: &str,
) -> Result<Response, ApiError> {
    let first = relay::call(state, template, method, None).await?;
    let mut items = Vec::new();
    let mut next = read_page(&first.result, key, &mut items)?;
    let table = state.registry.snapshot();
    let route = table
        .get(template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.to_owned()))?;
    let mut pages = 1;
    while let Some(cursor) = next {
        if pages >= MAX_PAGES {
            tracing::warn!(
                template,
                method,
                "pagination stopped after {MAX_PAGES} pages"
            );
            break;
        }
        let params = to_raw(&serde_json::json!({ "cursor": cursor }));
        let page = match relay::call_on(route, &first.instance, method, Some(params)).await {
            Ok(page) => page,
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Transport(e)) => {
                return Err(ApiError::Unavailable {
                    template: template.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        next = read_page(&page, key, &mut items)?;
        pages += 1;
    }
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
    body.extend_from_slice(format!("],\"count\":{}}}", items.len()).as_bytes());
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Appends the page's items (raw) and returns its `nextCursor`.
fn read_page(
    result: &RawValue,
    key: &str,
    items: &mut Vec<Box<RawValue>>,
) -> Result<Option<String>, ApiError> {
    let page = RawObject::parse(result)
        .map_err(|e| ApiError::BadUpstream(format!("list result is not an object: {e}")))?;
    if let Some(list) = page.get(key) {
        let mut parsed: Vec<Box<RawValue>> = serde_json::from_str(list.get())
            .map_err(|e| ApiError::BadUpstream(format!("`{key}` is not an array: {e}")))?;
        items.append(&mut parsed);
    }
    Ok(page.get("nextCursor").and_then(|c| {
        serde_json::from_str::<Option<String>>(c.get())
            .ok()
            .flatten()
    }))
}
