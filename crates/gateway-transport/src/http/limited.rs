//! [`LimitedConnector`]: a connector whose connections each hold one of a fixed number
//! of slots, so one instance's pool never has more than `max_connections` open
//! connections (busy or idle) however many requests want one. A request that finds
//! every slot taken waits (within its own deadline) for an idle connection to come back
//! or a connection to close.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a connector; `slots: None` leaves it unlimited.
#[derive(Clone, Debug)]
pub(crate) struct LimitedConnector<C> {
    inner: C,
    slots: Option<Arc<Semaphore>>,
}

impl<C> LimitedConnector<C> {
    pub(crate) fn new(inner: C, max_connections: Option<usize>) -> Self {
        Self {
            inner,
            slots: max_connections
                .map(|n| Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS)))),
        }
    }
}

impl<C> Service<Uri> for LimitedConnector<C>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Future: Send,
    C::Error: Into<BoxError>,
{
    type Response = Limited<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // The clone takes the readiness `poll_ready` saw; this one is left unready.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let slots = self.slots.clone();
        Box::pin(async move {
            let slot = match slots {
                // Never closed: acquiring only ends by getting a slot (or being dropped
                // with the request).
                Some(slots) => Some(slots.acquire_owned().await.map_err(Box::new)?),
                None => None,
            };
            let io = inner.call(uri).await.map_err(Into::into)?;
            Ok(Limited { io, _slot: slot })
        })
    }
}

/// A connection holding its slot until it closes.
#[derive(Debug)]
pub(crate) struct Limited<T> {
    io: T,
    _slot: Option<OwnedSemaphorePermit>,
}

impl<T: Read + Unpin> Read for Limited<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: Write + Unpin> Write for Limited<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl<T: Connection> Connection for Limited<T> {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}
