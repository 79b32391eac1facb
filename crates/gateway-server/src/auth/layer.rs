//! The auth middleware: authenticate, authorize the route, rate-limit, audit.

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use gateway_auth::{Credential, Decision, Outcome};

use super::Access;
use super::{
    challenge,
    extract::{Caller, ClientAddr, RequestMeta},
    policy,
    resource::Discovery,
};
use crate::{
    error::ApiError,
    fleet::hop::Forwarded,
    metrics::{AuthFailure, RateLimited},
};

/// `X-API-Key`.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Runs before every route (see the module docs for the order of checks).
pub(crate) async fn authorize(
    State(access): State<std::sync::Arc<Access>>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = &*access;
    // The client behind a trusted proxy, once per request (throttles and audit read it).
    if let Some(client) = ClientAddr::resolve(
        &access.trusted_proxies,
        request.extensions(),
        request.headers(),
    ) {
        request.extensions_mut().insert(client);
    }
    if access.authenticator.is_none() || policy::is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let requirement = policy::requirement(request.method(), matched);
    match &access.discovery {
        // Challenges written while serving this request point at its metadata.
        Some(discovery) => {
            let is_mcp = matches!(matched, Some("/mcp" | "/mcp/{template}"));
            let needs = challenge::needs(is_mcp, requirement.scope);
            let context = challenge::Context::new(discovery.clone(), request.uri().clone(), needs);
            context
                .scope(check(access, requirement, request, next))
                .await
        }
        None => check(access, requirement, request, next).await,
    }
}

/// Authenticates, authorizes `requirement`, rate-limits and audits a non-public request.
async fn check(
    access: &Access,
    requirement: policy::Requirement,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(authenticator) = &access.authenticator else {
        return next.run(request).await;
    };
    let meta = RequestMeta::of(request.extensions(), request.headers());
    let credential = match credential(request.headers()) {
        Ok(Some(c)) => c,
        Ok(None) => {
            access.refusals.auth_failed(AuthFailure::MissingCredentials);
            let refusal = ApiError::Unauthenticated { invalid: false }.into_response();
            return refuse(request, refusal).await;
        }
        Err(()) => {
            access
                .refusals
                .auth_failed(AuthFailure::MalformedCredentials);
            let refusal = ApiError::Unauthenticated { invalid: true }.into_response();
            return refuse(request, refusal).await;
        }
    };
    // RFC 8707: an external token may name the MCP endpoint it is for.
    let resource_path = access
        .discovery
        .as_ref()
        .and_then(|_| Discovery::endpoint_of(request.uri().path()));
    let authenticated = authenticator
        .authenticate_at(credential, meta.client, resource_path)
        .await;
    let principal = match authenticated {
        Ok(p) => p,
        Err(e) if e.is_unauthenticated() => {
            access.refusals.auth_failed(AuthFailure::InvalidCredentials);
            access.audit(meta.event(
                None,
                "auth.invalid_credentials",
                Some(request.uri().path().to_owned()),
                Outcome::Failure,
            ));
            let refusal = ApiError::Unauthenticated { invalid: true }.into_response();
            return refuse(request, refusal).await;
        }
        Err(e) => {
            access.refusals.auth_failed(AuthFailure::Unavailable);
            return refuse(request, ApiError::from(e).into_response()).await;
        }
    };
    crate::request_log::principal(principal.username());
    let denial = if let Some(scope) = requirement.scope.filter(|s| !principal.has(*s)) {
        Some((
            AuthFailure::MissingScope,
            ApiError::from(gateway_auth::Error::MissingScope(scope)),
        ))
    } else if requirement.template {
        policy::template_of(request.uri().path())
            .filter(|t| !principal.allows_template(t))
            .map(|t| {
                let denial = ApiError::TemplateForbidden(t.into_owned());
                (AuthFailure::TemplateForbidden, denial)
            })
    } else {
        None
    };
    if let Some((reason, denial)) = denial {
        access.refusals.auth_failed(reason);
        access.audit(meta.event(
            Some(principal.actor()),
            "authz.deny",
            Some(format!("{} {}", request.method(), request.uri().path())),
            Outcome::Denied,
        ));
        return refuse(request, denial.into_response()).await;
    }
    // A request another replica forwarded was charged there (fleet/hop.rs).
    let decision = match request.extensions().get::<Forwarded>() {
        Some(_) => None,
        None => Some(
            access
                .limiter
                .check(principal.actor(), access.quota(&principal))
                .await,
        ),
    };
    if let Some(decision) = decision.filter(|d| !d.allowed) {
        access.refusals.rate_limited(RateLimited::RequestQuota);
        let mut response = ApiError::RateLimited(decision).into_response();
        rate_headers(response.headers_mut(), &decision);
        return refuse(request, response).await;
    }
    let audit = requirement.audit.map(|action| {
        (
            action,
            format!("{} {}", request.method(), request.uri().path()),
        )
    });
    let actor = principal.clone();
    request.extensions_mut().insert(Caller(principal));
    let mut response = next.run(request).await;
    if let Some(decision) = &decision {
        rate_headers(response.headers_mut(), decision);
    }
    if let Some((action, target)) = audit {
        let outcome = match response.status().as_u16() {
            200..=299 => Outcome::Success,
            401 | 403 => Outcome::Denied,
            _ => Outcome::Failure,
        };
        access.audit(meta.event(Some(actor.actor()), action, Some(target), outcome));
    }
    response
}

/// Most request-body bytes read and dropped before an early refusal.
const DISCARD_LIMIT: u64 = 64 * 1024;
/// How long reading them may take.
const DISCARD_TIME: std::time::Duration = std::time::Duration::from_secs(1);

/// Answers `refusal` after reading and dropping a small request body. hyper closes an
/// HTTP/1.1 connection whose request body was left unread, and clients in the MCP
/// authorization flow send their next request (with the token) on the same connection
/// right after the 401: without this they would find it closed.
async fn refuse(request: Request, refusal: Response) -> Response {
    let small = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > 0 && n <= DISCARD_LIMIT);
    if small {
        let body = axum::body::to_bytes(request.into_body(), DISCARD_LIMIT as usize);
        let _ = tokio::time::timeout(DISCARD_TIME, body).await;
    }
    refusal
}

/// The credential in `X-API-Key` or `Authorization: Bearer`; `Err` for a malformed
/// header (another scheme, not UTF-8, empty).
fn credential(headers: &HeaderMap) -> Result<Option<Credential<'_>>, ()> {
    if let Some(key) = headers.get(X_API_KEY) {
        let key = key.to_str().map_err(|_| ())?.trim();
        return if key.is_empty() {
            Err(())
        } else {
            Ok(Some(Credential::ApiKey(key)))
        };
    }
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(())?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(());
    }
    Ok(Some(Credential::Bearer(token)))
}

/// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (seconds until the quota is whole again).
fn rate_headers(headers: &mut HeaderMap, decision: &Decision) {
    let reset = decision.reset_after.as_secs_f64().ceil();
    headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(decision.limit));
    headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(decision.remaining));
    // Whole seconds; the value is small and non-negative.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    headers.insert(X_RATELIMIT_RESET, HeaderValue::from(reset as u64));
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_util::headers;

    #[test]
    fn reads_both_credential_headers() {
        assert!(credential(&headers(&[])).unwrap().is_none());
        let h = headers(&[("authorization", "Bearer abc")]);
        assert!(matches!(
            credential(&h),
            Ok(Some(Credential::Bearer("abc")))
        ));
        let h = headers(&[("authorization", "bearer  abc ")]);
        assert!(matches!(
            credential(&h),
            Ok(Some(Credential::Bearer("abc")))
        ));
        let h = headers(&[("x-api-key", "k"), ("authorization", "Bearer t")]);
        assert!(matches!(credential(&h), Ok(Some(Credential::ApiKey("k")))));
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "token"] {
            assert!(
                credential(&headers(&[("authorization", bad)])).is_err(),
                "{bad}"
            );
        }
        assert!(credential(&headers(&[("x-api-key", " ")])).is_err());
    }
}
