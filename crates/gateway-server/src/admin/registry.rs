//! Registration and the registry views: `/gateway/register`, `/gateway/deregister`,
//! `/gateway/registry`, `/gateway/templates` (+ the predecessor's aliases) and
//! per-template load-balancer settings.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use gateway_core::{
    InstanceId, TemplateName,
    api::{InstanceInfo, LoadBalancerConfig, LoadBalancerUpdate, RegisterInstance},
};
use serde_json::{Value, json};

use crate::{error::ApiError, rest::JsonBody, state::AppState};

/// Registers an instance.
#[utoipa::path(post, path = "/gateway/register", tag = "registry",
    request_body = RegisterInstance,
    responses((status = 201, body = InstanceInfo), (status = 400, body = gateway_core::api::ErrorBody), (status = 409, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterInstance>,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    register_in(&state, None, body).await
}

/// Registers an instance of the template named in the path (predecessor's route).
#[utoipa::path(post, path = "/gateway/templates/{template}/instances", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    request_body = RegisterInstance,
    responses((status = 201, body = InstanceInfo), (status = 400, body = gateway_core::api::ErrorBody), (status = 409, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn register_alias(
    State(state): State<AppState>,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<RegisterInstance>,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    register_in(&state, Some(&template), body).await
}

async fn register_in(
    state: &AppState,
    template: Option<&str>,
    body: RegisterInstance,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    let valid = body.validate(template)?;
    let handle = state.registry.register(valid).await?;
    Ok((
        StatusCode::CREATED,
        Json(InstanceInfo::new(
            &handle.instance,
            handle.stats.status().as_str(),
        )),
    ))
}

/// Removes an instance.
#[utoipa::path(delete, path = "/gateway/deregister/{template}/{instance_id}", tag = "registry",
    params(("template" = String, Path, description = "Template name"), ("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "`{\"message\": \"Instance deregistered successfully\", ...}`"), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn deregister(
    State(state): State<AppState>,
    Path((template, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let not_found = || ApiError::InstanceNotFound {
        template: template.clone(),
        instance: id.clone(),
    };
    let (Ok(t), Ok(i)) = (TemplateName::parse(&template), InstanceId::parse(&id)) else {
        return Err(not_found());
    };
    if !state.registry.deregister(&t, &i).await? {
        return Err(not_found());
    }
    Ok(Json(json!({
        "message": "Instance deregistered successfully",
        "template_name": template,
        "instance_id": id,
    })))
}

/// Removes an instance (predecessor's route).
#[utoipa::path(delete, path = "/gateway/templates/{template}/instances/{instance_id}", tag = "registry",
    params(("template" = String, Path, description = "Template name"), ("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "Deregistered"), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn deregister_alias(
    state: State<AppState>,
    path: Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    deregister(state, path).await
}

/// Everything registered: totals, and per template its settings and instances.
#[utoipa::path(get, path = "/gateway/registry", tag = "registry",
    responses((status = 200, description = "`{total_templates, total_instances, healthy_instances, unhealthy_instances, templates: {name: {..., instances: [InstanceInfo]}}}`")))]
pub(crate) async fn registry(State(state): State<AppState>) -> Json<Value> {
    let table = state.registry.snapshot();
    let mut templates = BTreeMap::new();
    let mut total = 0;
    let mut healthy = 0;
    for t in table.templates.values() {
        let instances: Vec<InstanceInfo> = t
            .instances
            .iter()
            .map(|h| InstanceInfo::new(&h.instance, h.stats.status().as_str()))
            .collect();
        total += instances.len();
        healthy += t.healthy_count();
        templates.insert(
            t.name.to_string(),
            json!({
                "total_instances": instances.len(),
                "healthy_instances": t.healthy_count(),
                "load_balancer_strategy": t.settings.strategy().as_str(),
                "load_balancer": LoadBalancerConfig::from(t.settings),
                "instances": instances,
            }),
        );
    }
    Json(json!({
        "total_templates": templates.len(),
        "total_instances": total,
        "healthy_instances": healthy,
        "unhealthy_instances": total - healthy,
        "templates": templates,
    }))
}

/// Template names (`{"templates": [...]}`, the predecessor client's shape).
#[utoipa::path(get, path = "/gateway/templates", tag = "registry",
    responses((status = 200, description = "`{\"templates\": [\"name\", ...]}`")))]
pub(crate) async fn templates(State(state): State<AppState>) -> Json<Value> {
    let table = state.registry.snapshot();
    let names: Vec<String> = table.templates.keys().map(ToString::to_string).collect();
    Json(json!({ "templates": names }))
}

/// A template's load-balancer settings.
#[utoipa::path(get, path = "/gateway/templates/{template}/load-balancer", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, body = LoadBalancerConfig), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn get_load_balancer(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Json<LoadBalancerConfig>, ApiError> {
    let table = state.registry.snapshot();
    let route = table
        .get(&template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.clone()))?;
    Ok(Json(route.settings.into()))
}

/// Changes a template's load-balancer settings (absent fields are kept).
#[utoipa::path(put, path = "/gateway/templates/{template}/load-balancer", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    request_body = LoadBalancerUpdate,
    responses((status = 200, body = LoadBalancerConfig), (status = 400, body = gateway_core::api::ErrorBody), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn set_load_balancer(
    State(state): State<AppState>,
    Path(template): Path<String>,
    JsonBody(update): JsonBody<LoadBalancerUpdate>,
) -> Result<Json<LoadBalancerConfig>, ApiError> {
    let name =
        TemplateName::parse(&template).map_err(|_| ApiError::TemplateNotFound(template.clone()))?;
    let settings = state.registry.set_settings(&name, &update).await?;
    Ok(Json(settings.into()))
}
