//! One client connection: the TLS handshake (if any), then HTTP/1.1 or HTTP/2 (told
//! apart by hyper's auto builder) serving the router, under a watchdog that closes it
//! when a request head stalls or it sits idle too long ([`super::activity`]).

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{Request, Response},
};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
    sync::{OwnedSemaphorePermit, watch},
};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::{
    activity::{Activity, Expiry, InFlight, Watched},
    body,
};
use crate::config::ConnLimits;

/// After an HTTP/2 connection was told to go away (GOAWAY), how long it may take to close.
const GOAWAY_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// What every connection shares.
pub(super) struct Shared {
    pub(super) app: Router,
    pub(super) limits: ConnLimits,
    pub(super) tls: Option<TlsAcceptor>,
    builder: auto::Builder<TokioExecutor>,
    /// Connections open now.
    open: Arc<AtomicUsize>,
}

impl Shared {
    pub(super) fn new(
        app: Router,
        limits: ConnLimits,
        tls: Option<TlsAcceptor>,
        open: Arc<AtomicUsize>,
    ) -> Shared {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        // The header-read and idle timeouts are the watchdog's (hyper's own header timer
        // would also run between requests, making the idle timeout the shorter of both).
        builder.http1().header_read_timeout(None);
        builder
            .http2()
            .timer(TokioTimer::new())
            .keep_alive_interval(limits.http2_keepalive_interval)
            .keep_alive_timeout(limits.http2_keepalive_timeout);
        Shared {
            app,
            limits,
            tls,
            builder,
            open,
        }
    }
}

/// Serves one accepted connection until it closes; `_permit` is its slot under the cap.
pub(super) async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut closing: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _open = Open::count(&shared.open);
    let activity = Activity::new();
    let Some(tls) = &shared.tls else {
        let io = Watched::new(tcp, activity.clone());
        return http(io, peer, &shared, activity, closing).await;
    };
    let handshake = tokio::time::timeout(shared.limits.header_read_timeout, tls.accept(tcp));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, timeout = Expiry::HeaderRead.as_str(), "TLS handshake timed out");
                return;
            }
        },
        () = closed(&mut closing) => return,
    };
    let io = Watched::new(stream, activity.clone());
    http(io, peer, &shared, activity, closing).await;
}

/// Counts a connection as open until dropped.
struct Open(Arc<AtomicUsize>);

impl Open {
    fn count(open: &Arc<AtomicUsize>) -> Open {
        open.fetch_add(1, Ordering::Relaxed);
        Open(open.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn http<I>(
    io: Watched<I>,
    peer: SocketAddr,
    shared: &Shared,
    activity: Arc<Activity>,
    mut closing: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = Service {
        app: shared.app.clone(),
        peer,
        activity: activity.clone(),
        chunk: shared.limits.body_chunk_timeout,
        total: shared.limits.body_read_timeout,
    };
    let connection = shared.builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let watchdog = activity.expired(&shared.limits);
    tokio::pin!(watchdog);
    let mut draining = false;
    loop {
        tokio::select! {
            done = connection.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            // Shutdown: HTTP/1 closes after the response in progress (at once if idle),
            // HTTP/2 sends GOAWAY and finishes its open streams.
            () = closed(&mut closing), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            why = &mut watchdog => {
                tracing::debug!(%peer, timeout = why.as_str(), "closing a stalled connection");
                if activity.is_h2() {
                    // Nothing is in flight: GOAWAY tells the client not to reuse it.
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(GOAWAY_LINGER, connection.as_mut()).await;
                }
                // Dropping the connection closes the socket.
                return;
            }
        }
    }
}

/// Resolves once the server is closing (or gone).
async fn closed(closing: &mut watch::Receiver<bool>) {
    let _ = closing.wait_for(|closing| *closing).await;
}

/// The router as a hyper service for one connection: adds the peer address
/// (`ConnectInfo<SocketAddr>`, as axum's own server does), times the request body, and
/// counts the request in flight until its response body is done.
#[derive(Clone)]
struct Service {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
    chunk: std::time::Duration,
    total: std::time::Duration,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Tracked>, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.enter();
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let version = request.version();
        let (request, timed_out) = body::with_timeouts(request, self.chunk, self.total);
        let app = self.app.clone();
        Box::pin(async move {
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let response = match timed_out {
                Some(flag) if flag.is_set() => body::answer_timed_out(&response, version),
                _ => response,
            };
            Ok(response.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that keeps its request counted as in flight until it is done.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
