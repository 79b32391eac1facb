//! An in-process [`Upstream`](crate::Upstream) adapter for tests (feature `test-util`):
//! calls go to a closure, so a test can play any upstream behaviour (answers, failures,
//! slowness, cancellation) with paused tokio time and no process or socket.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use gateway_core::{
    jsonrpc::{Request, Response, to_raw},
    mcp::ProtocolVersion,
};

use crate::{CallOptions, Error, ServerInfo};

type Call = Pin<Box<dyn Future<Output = Result<Response, Error>> + Send>>;
type Handler = Box<dyn Fn(Request, CallOptions) -> Call + Send + Sync>;

/// The fake adapter: a handler and a count of calls in flight.
pub(crate) struct FakeUpstream {
    handler: Handler,
    in_flight: Arc<AtomicUsize>,
    info: Arc<ServerInfo>,
}

impl FakeUpstream {
    pub(crate) fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(Request, CallOptions) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        Self {
            handler: Box::new(move |request, options| Box::pin(handler(request, options))),
            in_flight: Arc::default(),
            info: Arc::new(ServerInfo {
                protocol_version: ProtocolVersion::LATEST_LEGACY,
                capabilities: to_raw(&serde_json::json!({"tools": {}})),
                server_info: Some(to_raw(&serde_json::json!({"name": "fake", "version": "0"}))),
                instructions: None,
            }),
        }
    }

    pub(crate) fn info(&self) -> Arc<ServerInfo> {
        self.info.clone()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Runs the handler; the caller's id comes back on the response, as with every
    /// adapter.
    pub(crate) async fn call(
        &self,
        request: Request,
        options: CallOptions,
    ) -> Result<Response, Error> {
        let id = request.id.clone();
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _done = Done(&self.in_flight);
        let mut response = (self.handler)(request, options).await?;
        response.id = Some(id);
        Ok(response)
    }
}

struct Done<'a>(&'a AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
