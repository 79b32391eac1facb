//! `POST /auth/login` (JSON or the OAuth2 password form) and `GET /auth/me`.

use axum::{
    Form, Json,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use gateway_auth::Outcome;
use gateway_core::api::{LoginRequest, Me, TokenResponse};
use serde::Deserialize;

use super::Access;
use super::{Caller, RequestMeta};
use crate::{error::ApiError, metrics::RateLimited};

/// The OAuth2 resource-owner password form (`grant_type=password`).
#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    grant_type: Option<String>,
    username: String,
    password: String,
}

/// Logs in; returns a bearer token. Failed attempts are slowed per (user name, address),
/// per address and per user name, counted before the password is checked (429
/// `too_many_attempts` with `Retry-After`); when too many password checks are queued
/// the answer is 503 `busy` with `Retry-After`. Failures are audited.
#[utoipa::path(post, path = "/auth/login", tag = "auth", operation_id = "login",
    request_body(content = LoginRequest, description = "JSON, or the OAuth2 password form (`application/x-www-form-urlencoded`: `grant_type=password&username=...&password=...`)"),
    responses((status = 200, description = "A token", body = TokenResponse),
              (status = 401, description = "Invalid credentials", body = gateway_core::api::ErrorBody),
              (status = 429, description = "Too many failed attempts (see `Retry-After`)", body = gateway_core::api::ErrorBody),
              (status = 503, description = "Too many logins in progress (see `Retry-After`)", body = gateway_core::api::ErrorBody),
              (status = 404, description = "Authentication is not enabled", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn login(
    State(access): State<std::sync::Arc<Access>>,
    meta: RequestMeta,
    request: Request,
) -> Result<Response, ApiError> {
    let authenticator = access.authenticator()?;
    let LoginRequest { username, password } = parse(request).await?;
    match authenticator.login(&username, &password, meta.client).await {
        Ok(issued) => {
            let actor = format!("user:{}", issued.username);
            access.audit(meta.event(
                Some(&actor),
                "login",
                Some(issued.username.to_string()),
                Outcome::Success,
            ));
            let body = TokenResponse {
                access_token: issued.token.expose().to_owned(),
                token_type: "bearer".to_owned(),
                expires_in: issued.expires_in,
            };
            let mut response = Json(body).into_response();
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            Ok(response)
        }
        Err(e) => {
            // The attempted name is recorded only if such a user exists: people type
            // passwords into the name field.
            // (From the user cache: a flood of refused logins costs no database reads.)
            let known = authenticator
                .known_user(&username)
                .await
                .map(|u| u.to_string());
            let action = match e {
                gateway_auth::Error::Throttled { .. } => {
                    access.refusals.rate_limited(RateLimited::LoginThrottle);
                    "login.throttled"
                }
                gateway_auth::Error::Busy { .. } => "login.busy",
                _ => "login",
            };
            let target = Some(known.unwrap_or_else(|| "<unknown user>".to_owned()));
            access.audit(meta.event(None, action, target, Outcome::Failure));
            Err(e.into())
        }
    }
}

async fn parse(request: Request) -> Result<LoginRequest, ApiError> {
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let Form(form) = Form::<PasswordForm>::from_request(request, &())
            .await
            .map_err(|_| ApiError::invalid("body", "expected username and password form fields"))?;
        if form.grant_type.as_deref().is_some_and(|g| g != "password") {
            return Err(ApiError::invalid(
                "grant_type",
                "only `password` is supported",
            ));
        }
        return Ok(LoginRequest {
            username: form.username,
            password: form.password,
        });
    }
    if !crate::media::is_json(request.headers()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|e| ApiError::invalid("body", e.body_text()))?;
    // Not echoing serde's message: it could quote the password.
    serde_json::from_slice::<LoginRequest>(&body)
        .map_err(|_| ApiError::invalid("body", "expected {\"username\": ..., \"password\": ...}"))
}

/// Who the caller is: user or key, role, effective scopes and templates.
#[utoipa::path(get, path = "/auth/me", tag = "auth", operation_id = "me",
    responses((status = 200, description = "The caller", body = Me),
              (status = 401, description = "Not authenticated", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn me(Caller(principal): Caller) -> Json<Me> {
    Json(gateway_auth::me(&principal))
}
