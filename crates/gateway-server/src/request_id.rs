//! The request id as a task-local, so every JSON error body can carry the same
//! `request_id` as the `x-request-id` header without threading it through each handler
//! and middleware. The scope wraps the service future directly (no boxing), and costs
//! one clone of the header value per request. The client's W3C trace context
//! (`traceparent`/`tracestate` headers) rides along, for the relay to pass on to
//! upstreams and for the SERVER span's parent: one header lookup when there is none.

use std::task::{Context, Poll};

use axum::http::{HeaderValue, Request};
use gateway_transport::TraceContext;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static REQUEST_ID: Scoped;
}

/// What a request's scope holds.
pub(crate) struct Scoped {
    id: Option<HeaderValue>,
    trace: Option<TraceContext>,
}

/// The header `SetRequestIdLayer::x_request_id` fills in.
const X_REQUEST_ID: &str = "x-request-id";

/// The id of the request being served, when running inside [`ScopeLayer`] (absent when
/// the router is embedded without it, or in a task spawned off the request without
/// [`carried`]).
pub(crate) fn current() -> Option<String> {
    REQUEST_ID
        .try_with(|s| {
            s.id.as_ref()
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .ok()
        .flatten()
}

/// The trace context the client sent as `traceparent`/`tracestate` headers, when
/// running inside [`ScopeLayer`].
pub(crate) fn client_trace() -> Option<TraceContext> {
    REQUEST_ID.try_with(|s| s.trace.clone()).ok().flatten()
}

/// `future` in the current request's scope (its id and the client's trace context),
/// for work spawned off the request (an SSE answer, an HTTP+SSE message).
pub(crate) fn carried<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let scoped = REQUEST_ID
        .try_with(|s| Scoped {
            id: s.id.clone(),
            trace: s.trace.clone(),
        })
        .ok();
    async move {
        match scoped {
            Some(scoped) => REQUEST_ID.scope(scoped, future).await,
            None => future.await,
        }
    }
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
    type Future = TaskLocalFuture<Scoped, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let headers = request.headers();
        let scoped = Scoped {
            id: headers.get(X_REQUEST_ID).cloned(),
            trace: crate::trace_context::from_headers(headers),
        };
        REQUEST_ID.scope(scoped, self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spawned_work_can_carry_the_scope() {
        let scoped = Scoped {
            id: Some(HeaderValue::from_static("abc")),
            trace: TraceContext::parse(
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                None,
            ),
        };
        let (seen, trace) = REQUEST_ID
            .scope(scoped, async {
                tokio::spawn(carried(async { (current(), client_trace()) }))
                    .await
                    .unwrap()
            })
            .await;
        assert_eq!(seen.as_deref(), Some("abc"));
        assert!(trace.is_some());
        assert_eq!(carried(async { current() }).await, None);
    }

    #[tokio::test]
    async fn current_is_the_scoped_id_and_none_outside() {
        assert_eq!(current(), None);
        let id = Some(HeaderValue::from_static("abc"));
        let scoped = Scoped { id, trace: None };
        let seen = REQUEST_ID.scope(scoped, async { current() }).await;
        assert_eq!(seen.as_deref(), Some("abc"));
        let none = Scoped {
            id: None,
            trace: None,
        };
        assert_eq!(REQUEST_ID.scope(none, async { current() }).await, None);
    }
}
