//! [`Connector`] builds [`Upstream`]s; an `Upstream` is one instance's connection,
//! whatever its transport.

use std::{sync::Arc, time::Duration};

use gateway_core::{
    Headers, InstanceId, InstanceSpec, Transport, UpstreamTls,
    jsonrpc::{Message, Notification, Request, RequestId, Response},
};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc, watch};

use crate::{
    Error, LinkState, Options, ServerInfo, ServerMessage, TlsConfigError,
    error::{ConfigProblem, ErrorKind, err},
    http::{
        HttpClient, PoolLimits,
        legacy_sse::SseDialer,
        streamable::{CallHeaders, StreamableUpstream},
    },
    session::{outbound::Identity, supervisor::Supervisor},
    stdio::StdioDialer,
};

/// Server-initiated messages buffered per upstream for slow subscribers. They are rare
/// (list_changed, logging); tokio allocates every slot up front, so keep it small
/// (256 slots measured 22 KiB per instance).
const SERVER_MESSAGE_BUFFER: usize = 16;

/// Creates upstream connections that share one HTTP pool and one set of [`Options`].
#[derive(Clone)]
pub struct Connector {
    options: Arc<Options>,
    identity: Arc<Identity>,
    http: HttpClient,
}

impl Connector {
    /// A connector with its own HTTP connection pool.
    pub fn new(options: Options) -> Self {
        let http = HttpClient::new(options.connect_timeout);
        Self {
            identity: Arc::new(Identity::new(&options)),
            options: Arc::new(options),
            http,
        }
    }

    /// A connector sharing this one's HTTP pool with `edit` applied to its options
    /// (e.g. another stdio pool size for one template).
    pub fn with_options(&self, edit: impl FnOnce(&mut Options)) -> Self {
        let mut options = (*self.options).clone();
        edit(&mut options);
        Self {
            identity: Arc::new(Identity::new(&options)),
            options: Arc::new(options),
            http: self.http.clone(),
        }
    }

    /// A connector like this one whose HTTP and SSE upstreams verify and authenticate
    /// as `tls` says, over a connection pool of their own (a template's CA bundle and
    /// client certificate). `None` keeps this connector's pool. Reads the PEM files now
    /// (blocking file I/O): the error names the setting and the file.
    pub fn with_upstream_tls(&self, tls: Option<&UpstreamTls>) -> Result<Self, TlsConfigError> {
        let Some(tls) = tls else {
            return Ok(self.clone());
        };
        Ok(Self {
            http: HttpClient::with_tls(self.options.connect_timeout, tls)?,
            ..self.clone()
        })
    }

    /// A connector like this one whose HTTPS upstreams all fail verification (it trusts
    /// no CA). For a template whose TLS files cannot be loaded: its upstreams fail
    /// closed rather than fall back to weaker settings.
    pub fn with_refusing_tls(&self) -> Self {
        Self {
            http: HttpClient::refusing_tls(self.options.connect_timeout),
            ..self.clone()
        }
    }

    /// The options every upstream from this connector uses.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Starts the connection to `instance`. Stdio children and legacy SSE streams are
    /// opened at once in the background; Streamable HTTP sessions on first use. Must be
    /// called inside a tokio runtime.
    pub fn connect(&self, instance: InstanceId, spec: &InstanceSpec) -> Result<Upstream, Error> {
        let (server_tx, _) = broadcast::channel(SERVER_MESSAGE_BUFFER);
        // Limits hold per instance: a limited instance (and its probes) gets a pool of
        // its own.
        let shared = self.options.pool_limits == PoolLimits::default();
        let http = if shared || matches!(spec, InstanceSpec::Stdio(_)) {
            self.http.clone()
        } else {
            self.http.limited(self.options.pool_limits)
        };
        let adapter = match spec {
            InstanceSpec::Stdio(command) => {
                let dialer = StdioDialer {
                    instance: instance.clone(),
                    command: command.clone(),
                    env_allowlist: self.options.stdio_env_allowlist.clone(),
                    max_message_size: self.options.max_message_size,
                    shutdown_grace: self.options.stdio_shutdown_grace,
                };
                Adapter::Linked(Supervisor::start(
                    instance.clone(),
                    dialer,
                    self.options.stdio_processes.get(),
                    self.options.clone(),
                    self.identity.clone(),
                    server_tx.clone(),
                ))
            }
            InstanceSpec::Sse { url, headers } => {
                let dialer = SseDialer {
                    instance: instance.clone(),
                    url: parse_url(&instance, url.as_str())?,
                    headers: header_map(&instance, headers)?,
                    client: http.clone(),
                    max_message_size: self.options.max_message_size,
                };
                Adapter::Linked(Supervisor::start(
                    instance.clone(),
                    dialer,
                    1,
                    self.options.clone(),
                    self.identity.clone(),
                    server_tx.clone(),
                ))
            }
            InstanceSpec::Http { url, headers } => {
                Adapter::Http(Box::new(StreamableUpstream::new(
                    instance.clone(),
                    parse_url(&instance, url.as_str())?,
                    header_map(&instance, headers)?,
                    http.clone(),
                    self.options.clone(),
                    self.identity.clone(),
                    server_tx.clone(),
                )))
            }
        };
        let origin = match spec {
            InstanceSpec::Http { url, headers } | InstanceSpec::Sse { url, headers } => {
                let uri = parse_url(&instance, url.as_str())?;
                Some(Origin {
                    base: format!(
                        "{}://{}",
                        uri.scheme_str().unwrap_or("http"),
                        uri.authority().map_or("", |a| a.as_str())
                    ),
                    headers: header_map(&instance, headers)?,
                    http,
                })
            }
            InstanceSpec::Stdio(_) => None,
        };
        Ok(Upstream {
            inner: Arc::new(Inner {
                instance,
                origin,
                transport: spec.transport(),
                adapter,
                server_tx,
                request_timeout: self.options.request_timeout,
            }),
        })
    }
}

fn parse_url(instance: &InstanceId, url: &str) -> Result<http::Uri, Error> {
    url.parse()
        .map_err(|e| err(instance, ErrorKind::Config(ConfigProblem::Url(e))))
}

fn header_map(instance: &InstanceId, headers: &Headers) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::new();
    for (name, value) in headers.iter() {
        let bad = || {
            err(
                instance,
                ErrorKind::Config(ConfigProblem::Header(name.to_owned())),
            )
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| bad())?;
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}

/// Per-call settings.
#[derive(Debug, Default)]
pub struct CallOptions {
    /// Overrides the connector's request timeout.
    pub timeout: Option<Duration>,
    /// Receives this call's `notifications/progress` (with the caller's own token),
    /// when the request carries `_meta.progressToken`.
    pub progress: Option<mpsc::Sender<Notification>>,
    /// How long to wait for a starting or restarting stdio/SSE link (default: the
    /// connect timeout). Zero fails at once with an unsent error, so a caller with
    /// other instances can go elsewhere.
    pub ready_timeout: Option<Duration>,
    /// Replaces the instance's stored `Authorization` header on this call's requests (a
    /// per-user token; Streamable HTTP only: stdio and legacy SSE links ignore it, so
    /// the gateway refuses per-user credentials for them). Marked sensitive.
    pub authorization: Option<HeaderValue>,
    /// The W3C trace context the upstream is given: as `traceparent`/`tracestate`
    /// headers on Streamable HTTP (the caller puts it in `params._meta` for every
    /// transport).
    pub trace: Option<TraceContext>,
}

/// A W3C trace context (<https://www.w3.org/TR/trace-context/>): `traceparent` and an
/// optional `tracestate`, as header values (visible ASCII, checked once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// `00-{trace id}-{parent span id}-{flags}`.
    pub traceparent: HeaderValue,
    /// Vendor entries, passed on as they came.
    pub tracestate: Option<HeaderValue>,
}

impl TraceContext {
    /// A context from a `traceparent` (and `tracestate`) as received: `None` unless the
    /// `traceparent` has the W3C shape (`vv-{32 hex}-{16 hex}-{2 hex}`, ids not all
    /// zero), so nothing malformed is passed on.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let parts: Vec<&str> = traceparent.trim().split('-').collect();
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let valid = match parts.as_slice() {
            [version, trace, span, flags, rest @ ..] => {
                hex(version, 2)
                    && *version != "ff"
                    && (rest.is_empty() || *version != "00")
                    && hex(trace, 32)
                    && hex(span, 16)
                    && hex(flags, 2)
                    && trace.bytes().any(|b| b != b'0')
                    && span.bytes().any(|b| b != b'0')
            }
            _ => false,
        };
        if !valid {
            return None;
        }
        Some(Self {
            traceparent: HeaderValue::from_str(traceparent.trim()).ok()?,
            tracestate: tracestate
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .and_then(|s| HeaderValue::from_str(s).ok()),
        })
    }

    /// The trace id (32 hex digits).
    pub fn trace_id(&self) -> &str {
        self.traceparent
            .to_str()
            .ok()
            .and_then(|t| t.get(3..35))
            .unwrap_or_default()
    }
}

/// A connection to one upstream instance, shared by all callers. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    instance: InstanceId,
    /// Where HTTP and SSE instances live (for HTTP probes).
    origin: Option<Origin>,
    transport: Transport,
    adapter: Adapter,
    server_tx: broadcast::Sender<ServerMessage>,
    request_timeout: Duration,
}

/// `scheme://authority`, extra headers and client of an HTTP or SSE instance.
struct Origin {
    base: String,
    headers: HeaderMap,
    http: HttpClient,
}

enum Adapter {
    /// stdio children and legacy SSE sessions: supervised message links.
    Linked(Supervisor),
    Http(Box<StreamableUpstream>),
    /// An in-process stand-in for tests (feature `test-util`).
    #[cfg(any(test, feature = "test-util"))]
    Fake(crate::fake::FakeUpstream),
}

impl Upstream {
    /// The instance this connection serves.
    pub fn instance(&self) -> &InstanceId {
        &self.inner.instance
    }

    /// Whether `other` is this very connection (a clone of it), not merely one to the
    /// same instance.
    pub fn same_connection(&self, other: &Upstream) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// How this connection reaches its instance.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The host and port of an HTTP or SSE instance (OpenTelemetry `server.address`
    /// and `server.port`; the scheme's default port when the URL has none); `None` for
    /// stdio.
    pub fn server_address(&self) -> Option<(String, u16)> {
        let origin = self.inner.origin.as_ref()?;
        let (scheme, authority) = origin.base.split_once("://")?;
        let authority: http::uri::Authority = authority.parse().ok()?;
        let port = authority
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Some((authority.host().to_owned(), port))
    }

    /// Waits until the upstream has completed its handshake (at most the connect
    /// timeout) and returns what it learned.
    pub async fn ready(&self) -> Result<Arc<ServerInfo>, Error> {
        match &self.inner.adapter {
            Adapter::Linked(sup) => Ok(sup.pick().await?.info.clone()),
            Adapter::Http(http) => {
                if let Some(info) = http.info() {
                    return Ok(info);
                }
                let ping = Request::new(gateway_core::jsonrpc::RequestId::Number(0), "ping", None);
                let _ = http
                    .call(ping, None, self.inner.request_timeout, Default::default())
                    .await;
                http.info()
                    .ok_or_else(|| err(&self.inner.instance, ErrorKind::NotReady))
            }
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(fake) => Ok(fake.info()),
        }
    }

    /// What the last handshake learned, if one has completed.
    pub fn info(&self) -> Option<Arc<ServerInfo>> {
        match &self.inner.adapter {
            Adapter::Linked(sup) => sup.ready_links().first().map(|r| r.info.clone()),
            Adapter::Http(http) => http.info(),
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(fake) => Some(fake.info()),
        }
    }

    /// Sends `request` and awaits its response, which carries `request`'s id again.
    /// Concurrent calls are multiplexed over the shared connection(s).
    pub async fn call(&self, request: Request, options: CallOptions) -> Result<Response, Error> {
        let timeout = options.timeout.unwrap_or(self.inner.request_timeout);
        match &self.inner.adapter {
            Adapter::Linked(sup) => {
                let ready = match options.ready_timeout {
                    Some(wait) => sup.pick_within(wait).await?,
                    None => sup.pick().await?,
                };
                ready
                    .link
                    .request(request, ready.info.era(), options.progress, timeout)
                    .await
            }
            Adapter::Http(http) => {
                let headers = CallHeaders {
                    authorization: options.authorization.as_ref(),
                    trace: options.trace.as_ref(),
                };
                http.call(request, options.progress, timeout, headers).await
            }
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(fake) => fake.call(request, options).await,
        }
    }

    /// [`Upstream::call`] from borrowed parts, for a caller that may send the same call
    /// again (the relay's retries): Streamable HTTP encodes them straight into the POST
    /// body, without a copy; the other transports take a copy as [`Upstream::call`].
    /// The response carries `id`.
    pub async fn call_parts(
        &self,
        id: &RequestId,
        method: &str,
        params: Option<&RawValue>,
        options: CallOptions,
    ) -> Result<Response, Error> {
        match &self.inner.adapter {
            Adapter::Http(http) => {
                let timeout = options.timeout.unwrap_or(self.inner.request_timeout);
                http.call_parts(
                    id,
                    method,
                    params,
                    options.progress,
                    timeout,
                    CallHeaders {
                        authorization: options.authorization.as_ref(),
                        trace: options.trace.as_ref(),
                    },
                )
                .await
            }
            _ => {
                let request = Request::new(id.clone(), method, params.map(ToOwned::to_owned));
                self.call(request, options).await
            }
        }
    }

    /// Sends a notification (to every process of a stdio pool).
    pub async fn notify(&self, notification: Notification) -> Result<(), Error> {
        self.send(Message::from(notification)).await
    }

    /// Answers a server-to-client request received from [`Upstream::subscribe`].
    pub async fn send_response(&self, response: Response) -> Result<(), Error> {
        self.send(Message::from(response)).await
    }

    async fn send(&self, message: Message) -> Result<(), Error> {
        match &self.inner.adapter {
            Adapter::Linked(sup) => {
                let links = sup.ready_links();
                if links.is_empty() {
                    return Err(err(&self.inner.instance, ErrorKind::NotReady));
                }
                let bytes = message.to_vec();
                for ready in links {
                    ready.link.send(bytes.clone()).await?;
                }
                Ok(())
            }
            Adapter::Http(http) => http.send(message).await,
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(_) => Ok(()),
        }
    }

    /// Follows the state of a supervised upstream (stdio children, legacy SSE stream):
    /// connected, restarting after a crash (with the attempt and its back-off), closed.
    /// `None` for Streamable HTTP, which keeps no link to supervise (its health shows in
    /// probes and calls).
    pub fn link_state(&self) -> Option<watch::Receiver<LinkState>> {
        match &self.inner.adapter {
            Adapter::Linked(sup) => Some(sup.link_state()),
            Adapter::Http(_) => None,
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(_) => None,
        }
    }

    /// Messages the upstream sends on its own: notifications such as
    /// `notifications/tools/list_changed`, and server-to-client requests. While nobody
    /// subscribes, server requests other than `ping` are refused with -32601.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerMessage> {
        self.inner.server_tx.subscribe()
    }

    /// Calls waiting for a response right now.
    pub fn in_flight(&self) -> usize {
        match &self.inner.adapter {
            Adapter::Linked(sup) => sup
                .ready_links()
                .iter()
                .map(|r| r.link.mux.in_flight())
                .sum(),
            Adapter::Http(http) => http.in_flight(),
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(fake) => fake.in_flight(),
        }
    }

    /// OS process ids of the running stdio children (empty for HTTP).
    pub fn process_ids(&self) -> Vec<u32> {
        match &self.inner.adapter {
            Adapter::Linked(sup) => sup.ready_links().iter().filter_map(|r| r.pid).collect(),
            Adapter::Http(_) => Vec::new(),
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(_) => Vec::new(),
        }
    }

    /// `GET {origin}{path}` on an HTTP or SSE instance (e.g. a `/healthz` health probe),
    /// with the instance's headers; returns the status code. Errors for stdio instances.
    pub async fn http_get(&self, path: &str, timeout: Duration) -> Result<u16, Error> {
        let instance = &self.inner.instance;
        let Some(origin) = &self.inner.origin else {
            return Err(err(instance, ErrorKind::Config(ConfigProblem::NotHttp)));
        };
        let uri: http::Uri = format!("{}{path}", origin.base)
            .parse()
            .map_err(|e| err(instance, ErrorKind::Config(ConfigProblem::ProbePath(e))))?;
        let mut builder = http::Request::get(uri);
        for (k, v) in &origin.headers {
            builder = builder.header(k, v);
        }
        let request = builder
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .map_err(|e| err(instance, ErrorKind::Config(e.into())))?;
        match tokio::time::timeout(timeout, origin.http.inner.request(request)).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(e)) if e.is_connect() => Err(err(instance, ErrorKind::Connect(Box::new(e)))),
            Ok(Err(e)) => Err(err(instance, ErrorKind::Io(Box::new(e)))),
            Err(_) => Err(err(instance, ErrorKind::Timeout(timeout))),
        }
    }

    /// Closes the connection: stdio children get the shutdown ladder (close stdin, wait,
    /// SIGTERM, wait, SIGKILL) and are reaped; HTTP sessions are ended with DELETE.
    pub async fn close(&self) {
        match &self.inner.adapter {
            Adapter::Linked(sup) => sup.close().await,
            Adapter::Http(http) => http.close().await,
            #[cfg(any(test, feature = "test-util"))]
            Adapter::Fake(_) => {}
        }
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("instance", &self.inner.instance)
            .field("transport", &self.inner.transport)
            .finish_non_exhaustive()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Upstream {
    /// An in-process upstream for tests (feature `test-util`): every call goes to
    /// `handler`, which answers (or fails, see [`crate::test_util::Failure`]) as a real
    /// adapter would; the handshake is done, notifications go nowhere.
    pub fn fake<F, Fut>(instance: InstanceId, transport: Transport, handler: F) -> Upstream
    where
        F: Fn(Request, CallOptions) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, Error>> + Send + 'static,
    {
        let (server_tx, _) = broadcast::channel(SERVER_MESSAGE_BUFFER);
        Upstream {
            inner: Arc::new(Inner {
                instance,
                origin: None,
                transport,
                adapter: Adapter::Fake(crate::fake::FakeUpstream::new(handler)),
                server_tx,
                request_timeout: Options::default().request_timeout,
            }),
        }
    }
}
