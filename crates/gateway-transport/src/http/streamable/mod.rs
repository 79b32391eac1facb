//! The Streamable HTTP adapter: one long-lived MCP session per upstream instance, shared
//! by every concurrent call. Responses may be JSON or an SSE stream (progress arrives
//! before the final response). An expired session (404) is re-initialized once,
//! transparently. 2026-07-28 upstreams get no session and the `Mcp-Method` / `Mcp-Name`
//! headers instead. A legacy session with an id also gets a [`GetStream`] listener for
//! the messages the server sends outside any call.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use gateway_core::{
    InstanceId,
    jsonrpc::{Message, Notification, Request, RequestId, Response},
    mcp::{
        Era, Method, ProtocolVersion,
        wire::{HEADER_METHOD, HEADER_NAME, HEADER_SESSION_ID},
    },
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc};

use super::{
    HttpClient,
    get_stream::{GetStream, Listener},
    post_back::{PostBack, route_server_request},
    request,
    sse::{Event, SseParser},
};
mod handshake;
mod reply;

use handshake::HandshakeHttp;

use crate::{
    Error, Options, ServerInfo, ServerMessage, TraceContext,
    error::{ErrorKind, LinkClosed, Opening, Violation, err},
    session::{
        handshake::{Exchange, handshake},
        outbound::{self, Identity, Restore},
    },
};

/// What one call adds to its POSTs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallHeaders<'a> {
    /// Replaces the instance's stored `Authorization` header (a per-user token).
    pub(crate) authorization: Option<&'a HeaderValue>,
    /// Sent as the W3C `traceparent`/`tracestate` headers.
    pub(crate) trace: Option<&'a TraceContext>,
}

/// The session state shared by concurrent calls.
#[derive(Debug)]
struct HttpSession {
    id: Option<HeaderValue>,
    version: HeaderValue,
    info: Arc<ServerInfo>,
    /// The session's GET stream listener (legacy sessions with an id only); aborted when
    /// the session is dropped, closed or expired.
    get_stream: Option<GetStream>,
}

impl HttpSession {
    fn stop_get_stream(&self) {
        if let Some(listener) = &self.get_stream {
            listener.stop();
        }
    }
}

/// A Streamable HTTP upstream.
pub(crate) struct StreamableUpstream {
    instance: InstanceId,
    url: http::Uri,
    headers: HeaderMap,
    client: HttpClient,
    options: Arc<Options>,
    identity: Arc<Identity>,
    session: parking_lot::RwLock<Option<Arc<HttpSession>>>,
    opening: tokio::sync::Mutex<()>,
    next_id: AtomicI64,
    in_flight: std::sync::atomic::AtomicUsize,
    closed: std::sync::atomic::AtomicBool,
    server_tx: broadcast::Sender<ServerMessage>,
}

/// What a POST produced.
enum Posted {
    Reply(Response),
    Accepted,
    SessionExpired,
    /// A notification or response answered with this non-2xx status and a JSON-RPC
    /// error body (e.g. 400 for an unsupported protocol version).
    Refused(u16),
}

/// Per-call routing for messages that arrive on the call's SSE stream.
struct CallStream<'a> {
    /// The gateway id of the call (`None` for a notification or response, which has no
    /// answer to wait for).
    upstream_id: Option<i64>,
    restore: Option<&'a Restore>,
    progress: Option<&'a mpsc::Sender<Notification>>,
}

impl StreamableUpstream {
    pub(crate) fn new(
        instance: InstanceId,
        url: http::Uri,
        headers: HeaderMap,
        client: HttpClient,
        options: Arc<Options>,
        identity: Arc<Identity>,
        server_tx: broadcast::Sender<ServerMessage>,
    ) -> Self {
        Self {
            instance,
            url,
            headers,
            client,
            options,
            identity,
            session: parking_lot::RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
            next_id: AtomicI64::new(1),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
            server_tx,
        }
    }

    pub(crate) fn info(&self) -> Option<Arc<ServerInfo>> {
        self.session.read().as_ref().map(|s| s.info.clone())
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Whether the current session's GET stream listener has ended (`None`: no session,
    /// or a session without a listener).
    #[cfg(test)]
    pub(super) fn get_stream_finished(&self) -> Option<bool> {
        let session = self.session.read().clone()?;
        session.get_stream.as_ref().map(GetStream::is_finished)
    }

    /// The current session, opening one (once, for all waiting callers) if needed. A
    /// session opened for a call with its own `authorization` (a per-user token) opens
    /// with it: an upstream that authenticates every request sees the handshake
    /// authenticated too.
    async fn session(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Arc<HttpSession>, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(err(&self.instance, ErrorKind::ShuttingDown));
        }
        if let Some(s) = self.session.read().clone() {
            return Ok(s);
        }
        let _guard = self.opening.lock().await;
        if let Some(s) = self.session.read().clone() {
            return Ok(s);
        }
        let exchange = HandshakeHttp {
            up: self,
            authorization: authorization.cloned(),
            session_id: parking_lot::Mutex::new(None),
            version: parking_lot::Mutex::new(None),
        };
        let open = handshake(&exchange, self.options.era, &self.identity, &self.instance);
        let info = tokio::time::timeout(self.options.connect_timeout, open)
            .await
            .map_err(|_| {
                err(
                    &self.instance,
                    ErrorKind::OpenTimedOut(Opening::Handshake, self.options.connect_timeout),
                )
            })??;
        if self.closed.load(Ordering::Acquire) {
            return Err(err(&self.instance, ErrorKind::ShuttingDown));
        }
        let version = HeaderValue::from_static(info.protocol_version.as_str());
        let id = exchange.session_id.lock().take();
        let get_stream = match &id {
            Some(id) if info.era() == Era::Legacy => Some(GetStream::spawn(Listener {
                instance: self.instance.clone(),
                post_back: PostBack {
                    client: self.client.clone(),
                    url: self.url.clone(),
                    headers: self.headers.clone(),
                    session_id: Some(id.clone()),
                    version: version.clone(),
                },
                max_message_size: self.options.max_message_size,
                server_tx: self.server_tx.clone(),
            })),
            _ => None,
        };
        let session = Arc::new(HttpSession {
            id,
            version,
            info: Arc::new(info),
            get_stream,
        });
        tracing::info!(instance = %self.instance, protocol = %session.info.protocol_version, session = session.id.is_some(), "upstream session opened");
        *self.session.write() = Some(session.clone());
        Ok(session)
    }

    /// Forgets `stale` (if still current) so the next call re-initializes.
    fn expire(&self, stale: &Arc<HttpSession>) {
        let mut current = self.session.write();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, stale)) {
            tracing::info!(instance = %self.instance, "upstream session expired (404); re-initializing");
            stale.stop_get_stream();
            *current = None;
        }
    }

    /// Sends `request` with this call's own `headers`.
    pub(crate) async fn call(
        &self,
        request: Request,
        progress: Option<mpsc::Sender<Notification>>,
        timeout: std::time::Duration,
        headers: CallHeaders<'_>,
    ) -> Result<Response, Error> {
        self.call_parts(
            &request.id,
            &request.method,
            request.params.as_deref(),
            progress,
            timeout,
            headers,
        )
        .await
    }

    /// [`Self::call`] from borrowed parts: the request is encoded straight into the POST
    /// body (its params written verbatim or spliced), never copied first.
    pub(crate) async fn call_parts(
        &self,
        id: &RequestId,
        method: &str,
        params: Option<&RawValue>,
        progress: Option<mpsc::Sender<Notification>>,
        timeout: std::time::Duration,
        headers: CallHeaders<'_>,
    ) -> Result<Response, Error> {
        let CallHeaders {
            authorization,
            trace,
        } = headers;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let _done = InFlightGuard(&self.in_flight);
        let attempt = async {
            let mut retried = false;
            loop {
                let session = self.session(authorization).await?;
                let upstream_id = self.next_id.fetch_add(1, Ordering::Relaxed);
                let encoded = outbound::encode(
                    id,
                    method,
                    params,
                    upstream_id,
                    session.info.era(),
                    &self.identity,
                );
                let prepared = encoded.prepared;
                let restore = prepared.restore;
                let target = CallStream {
                    upstream_id: Some(upstream_id),
                    restore: Some(&restore),
                    progress: progress.as_ref(),
                };
                // 2026-07-28 upstreams get the method and routed name as headers too.
                let name = prepared.routed_name.map(name_header);
                let modern = match session.info.era() {
                    Era::Modern => Some((self.header_value(method)?, name.as_deref())),
                    Era::Legacy => None,
                };
                match self
                    .post(
                        &session,
                        encoded.bytes,
                        modern,
                        target,
                        authorization,
                        trace,
                    )
                    .await?
                {
                    Posted::Reply(response) => {
                        return Ok(outbound::restore_response(response, &restore));
                    }
                    Posted::SessionExpired if !retried => {
                        self.expire(&session);
                        retried = true;
                    }
                    Posted::SessionExpired => {
                        return Err(err(&self.instance, ErrorKind::Status(404)));
                    }
                    // Not produced for requests (they carry a restore); kept exhaustive.
                    Posted::Refused(status) => {
                        return Err(err(&self.instance, ErrorKind::Status(status)));
                    }
                    Posted::Accepted => {
                        return Err(err(
                            &self.instance,
                            ErrorKind::Protocol(Violation::AcceptedRequest),
                        ));
                    }
                }
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(err(&self.instance, ErrorKind::Timeout(timeout))))
    }

    /// Sends a notification or a response to a server request.
    pub(crate) async fn send(&self, message: Message) -> Result<(), Error> {
        let session = self.session(None).await?;
        let bytes = message.to_vec();
        let target = CallStream {
            upstream_id: None,
            restore: None,
            progress: None,
        };
        match self.post(&session, bytes, None, target, None, None).await? {
            Posted::SessionExpired => {
                self.expire(&session);
                Err(err(&self.instance, ErrorKind::Status(404)))
            }
            Posted::Refused(status) => Err(err(&self.instance, ErrorKind::Status(status))),
            Posted::Reply(_) | Posted::Accepted => Ok(()),
        }
    }

    /// Ends the upstream session (DELETE), best effort.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let Some(session) = self.session.write().take() else {
            return;
        };
        session.stop_get_stream();
        let Some(id) = &session.id else { return };
        let mut request = request::build(
            http::Method::DELETE,
            &self.url,
            None,
            &self.headers,
            Vec::new(),
        );
        request::with_session(&mut request, &session.version, Some(id));
        let _ = tokio::time::timeout(
            self.options.connect_timeout,
            self.client.inner.request(request),
        )
        .await;
    }

    async fn post(
        &self,
        session: &HttpSession,
        bytes: Vec<u8>,
        modern: Option<(HeaderValue, Option<&str>)>,
        target: CallStream<'_>,
        authorization: Option<&HeaderValue>,
        trace: Option<&TraceContext>,
    ) -> Result<Posted, Error> {
        self.check_size(bytes.len())?;
        let mut request = self.base_request(bytes, authorization);
        request::with_session(&mut request, &session.version, session.id.as_ref());
        let headers = request.headers_mut();
        if let Some(trace) = trace {
            headers.insert(
                HeaderName::from_static("traceparent"),
                trace.traceparent.clone(),
            );
            match &trace.tracestate {
                Some(state) => headers.insert(HeaderName::from_static("tracestate"), state.clone()),
                None => headers.remove("tracestate"),
            };
        }
        if let Some((method, name)) = modern {
            headers.insert(HeaderName::from_static(HEADER_METHOD), method);
            if let Some(name) = name {
                headers.insert(
                    HeaderName::from_static(HEADER_NAME),
                    self.header_value(name)?,
                );
            }
        }
        let had_session = session.id.is_some();
        self.send_post(request, had_session, target, None).await
    }

    /// A POST of `bytes` to the MCP endpoint with the content headers and the instance's
    /// own headers, `authorization` replacing its `Authorization` when given.
    fn base_request(
        &self,
        bytes: Vec<u8>,
        authorization: Option<&HeaderValue>,
    ) -> request::UpstreamRequest {
        let mut request = request::build(
            http::Method::POST,
            &self.url,
            Some(request::JSON_OR_SSE),
            &self.headers,
            bytes,
        );
        if let Some(value) = authorization {
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value.clone());
        }
        request
    }

    /// A header value the gateway sends (a method or routed name); one that is not a
    /// valid header value is a protocol error for this call.
    fn header_value(&self, value: &str) -> Result<HeaderValue, Error> {
        HeaderValue::from_str(value).map_err(|e| {
            err(
                &self.instance,
                ErrorKind::Protocol(Violation::HeaderValue(e)),
            )
        })
    }

    async fn send_post(
        &self,
        request: request::UpstreamRequest,
        had_session: bool,
        target: CallStream<'_>,
        capture_session: Option<&parking_lot::Mutex<Option<HeaderValue>>>,
    ) -> Result<Posted, Error> {
        let response = self.client.inner.request(request).await.map_err(|e| {
            if e.is_connect() {
                err(&self.instance, ErrorKind::Connect(Box::new(e)))
            } else {
                err(&self.instance, ErrorKind::Io(Box::new(e)))
            }
        })?;
        if let (Some(sink), Some(id)) = (capture_session, response.headers().get(HEADER_SESSION_ID))
        {
            *sink.lock() = Some(id.clone());
        }
        let status = response.status();
        if status == StatusCode::ACCEPTED {
            return Ok(Posted::Accepted);
        }
        if status == StatusCode::NOT_FOUND && had_session {
            return Ok(Posted::SessionExpired);
        }
        let is_sse = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if status.is_success() && is_sse {
            return self.read_sse(response.into_body(), target).await;
        }
        let body = self
            .read_body(response.into_body(), status.is_success())
            .await?;
        match Message::parse(&body) {
            // Only a request has an answer to carry an error; for anything else the
            // error body means the upstream refused the message.
            Ok(Message::Response(_)) if !status.is_success() && target.restore.is_none() => {
                Ok(Posted::Refused(status.as_u16()))
            }
            Ok(Message::Response(r)) if status.is_success() || r.error_object().is_some() => {
                Ok(Posted::Reply(r))
            }
            _ if status.is_success() && body.is_empty() => Ok(Posted::Accepted),
            _ if status.is_success() => Err(err(
                &self.instance,
                ErrorKind::Protocol(Violation::NotAResponse),
            )),
            _ => Err(err(&self.instance, ErrorKind::Status(status.as_u16()))),
        }
    }
}

struct InFlightGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The `Mcp-Name` value for a modern request: plain when header-safe, else
/// `=?base64?…?=`.
fn name_header(value: String) -> String {
    let plain = !value.is_empty()
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.starts_with("=?");
    if plain {
        value
    } else {
        format!("=?base64?{}?=", base64_encode(value.as_bytes()))
    }
}

fn base64_encode(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}
