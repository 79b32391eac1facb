//! Request-body timeouts: [`TimedBody`] fails a body whose next piece takes longer than
//! the chunk timeout, or whose whole takes longer than the read timeout, both counted
//! from when the gateway starts reading it. Only the request body is timed: once it has
//! been read, a slow upstream or a long event stream is never cut here.
//! [`answer_timed_out`] turns the handler's reaction to the failed body into a 408.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    Json,
    body::Body,
    http::{HeaderValue, Request, Response, StatusCode, Version, header},
    response::IntoResponse as _,
};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// The error a timed-out body yields to whoever reads it.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time ({0})")]
pub(super) struct BodyTimedOut(&'static str);

/// Set when a request's body timed out, so the answer becomes a 408.
#[derive(Clone, Default)]
pub(super) struct TimedOut(Arc<AtomicBool>);

impl TimedOut {
    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(super) fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The request with its body under the chunk and total timeouts; `None` for a request
/// without a body (nothing to time, nothing allocated).
pub(super) fn with_timeouts<B>(
    request: Request<B>,
    chunk: Duration,
    total: Duration,
) -> (Request<Body>, Option<TimedOut>)
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError>,
{
    if request.body().is_end_stream() {
        return (request.map(Body::new), None);
    }
    let flag = TimedOut::default();
    let timed = flag.clone();
    let request = request.map(move |inner| {
        Body::new(TimedBody {
            inner,
            chunk,
            total,
            started: None,
            last_frame: None,
            sleep: None,
            flag: timed,
            finished: false,
        })
    });
    (request, Some(flag))
}

/// A request body with read timeouts.
pub(super) struct TimedBody<B> {
    inner: B,
    chunk: Duration,
    total: Duration,
    /// When reading started (the first poll).
    started: Option<Instant>,
    last_frame: Option<Instant>,
    /// Allocated only when the body makes the reader wait.
    sleep: Option<Pin<Box<Sleep>>>,
    flag: TimedOut,
    finished: bool,
}

impl<B> TimedBody<B> {
    /// The deadline for the next frame, and which limit sets it.
    fn deadline(&self, started: Instant) -> (Instant, &'static str) {
        let whole = started + self.total;
        let next = self.last_frame.unwrap_or(started) + self.chunk;
        if next < whole {
            (next, "body_chunk_timeout")
        } else {
            (whole, "body_read_timeout")
        }
    }
}

impl<B> http_body::Body for TimedBody<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last_frame = Some(Instant::now());
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => {
                this.finished = true;
                this.sleep = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let (at, which) = this.deadline(started);
                let sleep = match &mut this.sleep {
                    Some(sleep) => {
                        if sleep.deadline() != at {
                            sleep.as_mut().reset(at);
                        }
                        sleep
                    }
                    None => this.sleep.insert(Box::pin(tokio::time::sleep_until(at))),
                };
                ready!(sleep.as_mut().poll(cx));
                this.finished = true;
                this.sleep = None;
                this.flag.set();
                tracing::debug!(
                    timeout = which,
                    "request body not received in time: answering 408 and closing"
                );
                Poll::Ready(Some(Err(BodyTimedOut(which).into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The 408 that replaces whatever the handler answered to a body that timed out. It
/// keeps the request id; on HTTP/1 it closes the connection (the rest of the body is
/// never read).
pub(super) fn answer_timed_out(answered: &Response<Body>, version: Version) -> Response<Body> {
    let request_id = answered.headers().get("x-request-id").cloned();
    let body = gateway_core::api::ErrorBody {
        error: "request_timeout".to_owned(),
        detail: "the request body was not received in time".to_owned(),
        field: None,
        request_id: request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let mut response = (StatusCode::REQUEST_TIMEOUT, Json(body)).into_response();
    if let Some(id) = request_id {
        response.headers_mut().insert("x-request-id", id);
    }
    // `Connection` is illegal in HTTP/2; there the stream is reset instead.
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::convert::Infallible;

    use futures_util::StreamExt as _;
    use http_body_util::{BodyExt as _, StreamBody};
    use tokio::sync::mpsc;

    use super::*;

    /// A body fed by the test, one chunk per message.
    fn channel_body() -> (
        mpsc::Sender<Bytes>,
        impl http_body::Body<Data = Bytes, Error = Infallible> + Send + Unpin + 'static,
    ) {
        let (tx, rx) = mpsc::channel::<Bytes>(8);
        let stream = tokio_stream(rx).map(|b| Ok::<_, Infallible>(Frame::data(b)));
        (tx, StreamBody::new(Box::pin(stream)))
    }

    fn tokio_stream(
        mut rx: mpsc::Receiver<Bytes>,
    ) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
        futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    fn timed(chunk: u64, total: u64) -> (mpsc::Sender<Bytes>, Body, Option<TimedOut>) {
        let (tx, body) = channel_body();
        let request = Request::post("/").body(body).unwrap();
        let (request, flag) = with_timeouts(
            request,
            Duration::from_secs(chunk),
            Duration::from_secs(total),
        );
        (tx, request.into_body(), flag)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_after_the_chunk_timeout() {
        let (tx, body, flag) = timed(1, 60);
        tx.send(Bytes::from_static(b"{\"user")).await.unwrap();
        let started = Instant::now();
        let err = body.collect().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert!(err.to_string().contains("body_chunk_timeout"), "{err}");
        assert!(flag.unwrap().is_set());
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickling_body_fails_after_the_total_timeout() {
        let (tx, body, flag) = timed(2, 5);
        let feeder = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tx.send(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
            }
        });
        let started = Instant::now();
        let err = body.collect().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(err.to_string().contains("body_read_timeout"), "{err}");
        assert!(flag.unwrap().is_set());
        feeder.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_read_in_time_is_untouched_and_reading_late_is_not_the_clients_fault() {
        let (tx, body, flag) = timed(1, 2);
        // The reader starts late (e.g. the handler was busy): the clock starts with it.
        tokio::time::sleep(Duration::from_secs(30)).await;
        tx.send(Bytes::from_static(b"abc")).await.unwrap();
        drop(tx);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"abc");
        assert!(!flag.unwrap().is_set());
    }

    #[test]
    fn a_request_without_a_body_is_not_wrapped() {
        let request = Request::get("/").body(Body::empty()).unwrap();
        let (_, flag) = with_timeouts(request, Duration::from_secs(1), Duration::from_secs(1));
        assert!(flag.is_none());
    }

    #[test]
    fn the_408_keeps_the_request_id_and_closes_http1_only() {
        let mut answered = Response::new(Body::empty());
        answered
            .headers_mut()
            .insert("x-request-id", HeaderValue::from_static("rid-1"));
        let r = answer_timed_out(&answered, Version::HTTP_11);
        assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers()["x-request-id"], "rid-1");
        assert_eq!(r.headers()[header::CONNECTION], "close");
        let r = answer_timed_out(&answered, Version::HTTP_2);
        assert!(r.headers().get(header::CONNECTION).is_none());
    }
}
