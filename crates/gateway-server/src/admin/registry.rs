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
    InstanceId, LoadBalancerSettings, TemplateName,
    api::{InstanceInfo, LoadBalancerConfig, LoadBalancerUpdate, RegisterInstance},
};
use serde_json::{Value, json};

use super::audience::Audience;
use crate::{
    auth::{Caller, RequestMeta, registration},
    error::ApiError,
    rest::JsonBody,
    state::AppState,
};

/// Registers an instance.
#[utoipa::path(post, path = "/gateway/register", tag = "registry",
    request_body = RegisterInstance,
    responses((status = 201, description = "Created", body = InstanceInfo), (status = 400, description = "Invalid input (the `field` names it)", body = gateway_core::api::ErrorBody), (status = 409, description = "Already exists", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn register(
    State(state): State<AppState>,
    caller: Option<Caller>,
    meta: RequestMeta,
    JsonBody(body): JsonBody<RegisterInstance>,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    register_in(&state, (caller, meta), None, body).await
}

/// Registers an instance of the template named in the path (predecessor's route). It
/// also takes the predecessor's instance body: `instance_metadata` is `metadata`, and
/// its state fields (`status`, `backend`, `consecutive_failures`, ...) are ignored.
#[utoipa::path(post, path = "/gateway/templates/{template}/instances", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    request_body = gateway_core::api::LegacyRegisterInstance,
    responses((status = 201, description = "Created", body = InstanceInfo), (status = 400, description = "Invalid input (the `field` names it)", body = gateway_core::api::ErrorBody), (status = 409, description = "Already exists", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn register_alias(
    State(state): State<AppState>,
    caller: Option<Caller>,
    meta: RequestMeta,
    Path(template): Path<String>,
    JsonBody(body): JsonBody<gateway_core::api::LegacyRegisterInstance>,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    let body = body.into_registration()?;
    register_in(&state, (caller, meta), Some(&template), body).await
}

async fn register_in(
    state: &AppState,
    (caller, meta): (Option<Caller>, RequestMeta),
    template: Option<&str>,
    body: RegisterInstance,
) -> Result<(StatusCode, Json<InstanceInfo>), ApiError> {
    let valid = body.validate(template)?;
    let audience = Audience::of(caller.as_ref());
    let target = valid.template.to_string();
    if !audience.sees_template(&target) {
        state.access.audit(meta.event(
            caller.as_ref().map(|Caller(p)| p.actor()),
            "instance.register",
            Some(target.clone()),
            gateway_auth::Outcome::Denied,
        ));
        return Err(ApiError::TemplateForbidden(target));
    }
    // Who may register what (stdio over the API, the endpoint allowlist): auth/registration.rs.
    registration::check(&state.access, caller.as_ref(), &meta, &valid)?;
    let result = state.registry.register(valid).await;
    let outcome = match &result {
        Ok(_) => gateway_auth::Outcome::Success,
        Err(_) => gateway_auth::Outcome::Failure,
    };
    let actor = caller.as_ref().map(|Caller(p)| p.actor());
    state
        .access
        .audit(meta.event(actor, "instance.register", Some(target), outcome));
    let handle = result?;
    Ok((
        StatusCode::CREATED,
        Json(audience.instance(&handle.instance, handle.status().as_str())),
    ))
}

/// Removes an instance.
#[utoipa::path(delete, path = "/gateway/deregister/{template}/{instance_id}", tag = "registry",
    params(("template" = String, Path, description = "Template name"), ("instance_id" = String, Path, description = "Instance id")),
    responses((status = 200, description = "`{\"message\": \"Instance deregistered successfully\", ...}`"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
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
    responses((status = 200, description = "Deregistered"), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn deregister_alias(
    state: State<AppState>,
    path: Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    deregister(state, path).await
}

/// Everything registered that the caller may use: totals, and per template its
/// settings and instances. Endpoint query strings, command arguments and working
/// directories are shown to admins only.
#[utoipa::path(get, path = "/gateway/registry", tag = "registry",
    responses((status = 200, description = "`{total_templates, total_instances, healthy_instances, unhealthy_instances, templates: {name: {..., instances: [InstanceInfo]}}}`; only the caller's templates")))]
pub(crate) async fn registry(State(state): State<AppState>, audience: Audience) -> Json<Value> {
    let table = state.registry.snapshot();
    let mut templates = BTreeMap::new();
    let mut total = 0;
    let mut healthy = 0;
    for t in table
        .templates
        .values()
        .filter(|t| audience.sees_template(t.name.as_str()))
    {
        let instances: Vec<InstanceInfo> = t
            .instances
            .iter()
            .map(|h| audience.instance(&h.instance, h.status().as_str()))
            .collect();
        total += instances.len();
        healthy += t.healthy_count();
        templates.insert(
            t.name.to_string(),
            json!({
                "total_instances": instances.len(),
                "healthy_instances": t.healthy_count(),
                "load_balancer_strategy": t.settings.strategy().as_str(),
                "load_balancer": settings_view(&t.settings, &audience),
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

/// Template names the caller may use (`{"templates": [...]}`, the predecessor client's
/// shape).
#[utoipa::path(get, path = "/gateway/templates", tag = "registry",
    responses((status = 200, description = "`{\"templates\": [\"name\", ...]}`")))]
pub(crate) async fn templates(State(state): State<AppState>, audience: Audience) -> Json<Value> {
    let table = state.registry.snapshot();
    let names: Vec<String> = table
        .templates
        .keys()
        .filter(|t| audience.sees_template(t.as_str()))
        .map(ToString::to_string)
        .collect();
    Json(json!({ "templates": names }))
}

/// A template's load-balancer settings.
#[utoipa::path(get, path = "/gateway/templates/{template}/load-balancer", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "OK (`upstream_tls` shown to admins only)", body = LoadBalancerConfig), (status = 403, description = "Not in the caller's template allowlist", body = gateway_core::api::ErrorBody), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn get_load_balancer(
    State(state): State<AppState>,
    audience: Audience,
    Path(template): Path<String>,
) -> Result<Json<LoadBalancerConfig>, ApiError> {
    // The auth layer refused it already (auth/policy.rs); kept here so the handler is
    // safe on its own.
    if !audience.sees_template(&template) {
        return Err(ApiError::TemplateForbidden(template));
    }
    let table = state.registry.snapshot();
    let route = table
        .get(&template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.clone()))?;
    Ok(Json(settings_view(&route.settings, &audience)))
}

/// Changes a template's load-balancer settings (absent fields are kept). An
/// `upstream_tls` object replaces the template's upstream TLS settings (`null` removes
/// them): its files are read and checked first, and the template's HTTP and SSE
/// instances reconnect with them. An `upstream_auth` object replaces which credentials
/// the upstreams get (`none`, `static`, `passthrough`, `token_exchange`); it is checked
/// against the instances and the configured issuers.
#[utoipa::path(put, path = "/gateway/templates/{template}/load-balancer", tag = "registry",
    params(("template" = String, Path, description = "Template name")),
    request_body = LoadBalancerUpdate,
    responses((status = 200, description = "OK (`upstream_tls` shown to admins only)", body = LoadBalancerConfig), (status = 400, description = "Invalid input (the `field` names it, e.g. `upstream_tls.ca_bundle` for a missing or non-PEM file, `upstream_auth.issuer` for an issuer without a token-exchange client)", body = gateway_core::api::ErrorBody), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn set_load_balancer(
    State(state): State<AppState>,
    audience: Audience,
    Path(template): Path<String>,
    JsonBody(update): JsonBody<LoadBalancerUpdate>,
) -> Result<Json<LoadBalancerConfig>, ApiError> {
    let name =
        TemplateName::parse(&template).map_err(|_| ApiError::TemplateNotFound(template.clone()))?;
    let settings = state.registry.set_settings(&name, &update).await?;
    Ok(Json(settings_view(&settings, &audience)))
}

/// A template's settings as `audience` may see them: `upstream_tls` (file paths on the
/// gateway host) only for admins, or everyone when authentication is off.
fn settings_view(settings: &LoadBalancerSettings, audience: &Audience) -> LoadBalancerConfig {
    let view = LoadBalancerConfig::from(settings);
    if audience.sees_access_details() {
        view
    } else {
        view.without_upstream_tls()
    }
}
