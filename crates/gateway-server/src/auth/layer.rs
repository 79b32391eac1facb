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
    extract::{Caller, ClientAddr, RequestMeta},
    policy,
};
use crate::error::ApiError;

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
    let Some(authenticator) = &access.authenticator else {
        return next.run(request).await;
    };
    if policy::is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let meta = RequestMeta::of(request.extensions(), request.headers());
    let credential = match credential(request.headers()) {
        Ok(Some(c)) => c,
        Ok(None) => return ApiError::Unauthenticated { invalid: false }.into_response(),
        Err(()) => return ApiError::Unauthenticated { invalid: true }.into_response(),
    };
    let principal = match authenticator.authenticate(credential, meta.client).await {
        Ok(p) => p,
        Err(e) if e.is_unauthenticated() => {
            access.audit(meta.event(
                None,
                "auth.invalid_credentials",
                Some(request.uri().path().to_owned()),
                Outcome::Failure,
            ));
            return ApiError::Unauthenticated { invalid: true }.into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let requirement = policy::requirement(request.method(), matched);
    let denial = if let Some(scope) = requirement.scope.filter(|s| !principal.has(*s)) {
        Some(ApiError::from(gateway_auth::Error::MissingScope(scope)))
    } else if requirement.template {
        policy::template_of(request.uri().path())
            .filter(|t| !principal.allows_template(t))
            .map(|t| ApiError::TemplateForbidden(t.into_owned()))
    } else {
        None
    };
    if let Some(denial) = denial {
        access.audit(meta.event(
            Some(principal.actor()),
            "authz.deny",
            Some(format!("{} {}", request.method(), request.uri().path())),
            Outcome::Denied,
        ));
        return denial.into_response();
    }
    let decision = access
        .limiter
        .check(principal.actor(), access.quota(&principal))
        .await;
    if !decision.allowed {
        let mut response = ApiError::RateLimited(decision).into_response();
        rate_headers(response.headers_mut(), &decision);
        return response;
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
    rate_headers(response.headers_mut(), &decision);
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

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

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
