//! The request id as a task-local, so every JSON error body can carry the same
//! `request_id` as the `x-request-id` header without threading it through each handler
//! and middleware. The scope wraps the service future directly (no boxing), and costs
//! one clone of the header value per request.

use std::task::{Context, Poll};

use axum::http::{HeaderValue, Request};
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static REQUEST_ID: Option<HeaderValue>;
}

/// The header `SetRequestIdLayer::x_request_id` fills in.
const X_REQUEST_ID: &str = "x-request-id";

/// The id of the request being served, when running inside [`ScopeLayer`] (absent when
/// the router is embedded without it, or in a task spawned off the request).
pub(crate) fn current() -> Option<String> {
    REQUEST_ID
        .try_with(|id| id.as_ref().and_then(|v| v.to_str().ok()).map(str::to_owned))
        .ok()
        .flatten()
}

/// Runs the inner service with the request's `x-request-id` in scope; goes inside the
/// layer that sets the header.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ScopeLayer;

impl<S> tower::Layer<S> for ScopeLayer {
    type Service = Scope<S>;

    fn layer(&self, inner: S) -> Scope<S> {
        Scope { inner }
    }
}

/// See [`ScopeLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Scope<S> {
    inner: S,
}

impl<S, B> tower::Service<Request<B>> for Scope<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Option<HeaderValue>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let id = request.headers().get(X_REQUEST_ID).cloned();
        REQUEST_ID.scope(id, self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn current_is_the_scoped_id_and_none_outside() {
        assert_eq!(current(), None);
        let id = Some(HeaderValue::from_static("abc"));
        let seen = REQUEST_ID.scope(id, async { current() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
        assert_eq!(REQUEST_ID.scope(None, async { current() }).await, None);
    }
}
