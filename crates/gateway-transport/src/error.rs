//! [`Error`]: why a call to an upstream failed, with the predicates retry policy needs.
//!
//! The kind is typed: each variant names what happened and carries its context
//! (durations, sizes, statuses, the reason a link closed), and a failure of a library
//! below (hyper, `std::io`, serde_json) stays reachable as the error's
//! [`source`](std::error::Error::source). `Display` prints the instance and the kind;
//! [`Error::report`] adds the causes, for logs and health reports.

use std::{fmt, process::ExitStatus, sync::Arc, time::Duration};

use gateway_core::InstanceId;

/// A failure of a library below the transport, kept as the cause.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A failed upstream operation. Opaque: match on the `is_*` predicates, not on text.
#[derive(Debug)]
pub struct Error {
    instance: InstanceId,
    kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream {}: {}", self.instance, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// What went wrong (internal; exposed through [`Error`]'s predicates and `Display`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ErrorKind {
    /// The child process could not be started.
    #[error("failed to start process `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The connection (TCP, TLS, the HTTP exchange that opens it) failed.
    #[error("connection failed")]
    Connect(#[source] Cause),
    /// Opening a link or session did not finish within the connect timeout.
    #[error("connection failed: {0} timed out after {1:?}")]
    OpenTimedOut(Opening, Duration),
    /// A legacy SSE stream could not serve as a link.
    #[error("connection failed: {0}")]
    Stream(StreamRefusal),
    #[error("not ready (starting or restarting)")]
    NotReady,
    #[error("shutting down")]
    ShuttingDown,
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The link or response stream went away while the call waited.
    #[error("connection closed before the response arrived ({0})")]
    Closed(LinkClosed),
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The upstream broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(Violation),
    /// The instance's own settings cannot be used (checked again at connect time).
    #[error("protocol error: {0}")]
    Config(ConfigProblem),
    #[error("handshake failed: {0}")]
    Handshake(HandshakeFailure),
    #[error("HTTP status {0}")]
    Status(u16),
    /// A legacy SSE endpoint refused a POSTed message.
    #[error("POST answered {0}")]
    PostRefused(u16),
    #[error("I/O error")]
    Io(#[source] Cause),
}

/// What was being opened when the connect timeout struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// Spawning a child or opening a stream.
    Link,
    /// The MCP handshake of a Streamable HTTP session.
    Handshake,
}

impl fmt::Display for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Opening::Link => "opening the link",
            Opening::Handshake => "the handshake",
        })
    }
}

/// Why a legacy SSE stream could not serve as a link.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamRefusal {
    #[error("GET stream answered {0}")]
    Status(http::StatusCode),
    #[error("stream ended before the endpoint event")]
    NoEndpoint,
    #[error("{0}")]
    Endpoint(EndpointError),
}

/// Why an `endpoint` event's URL is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EndpointError {
    #[error("invalid endpoint URL {0:?} in the endpoint event")]
    Invalid(String),
    /// The POSTs would carry the instance's headers (often credentials) to another
    /// server.
    #[error(
        "the endpoint event names {announced}, a different origin than the SSE stream \
         ({stream}); refused, since messages and the instance's headers would go there"
    )]
    CrossOrigin { announced: String, stream: String },
}

/// Why a link (stdio child, legacy SSE stream) or a call's response stream closed.
/// Cloned to every call pending on the link.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum LinkClosed {
    #[error("process exited ({0})")]
    Exited(ExitStatus),
    #[error("process wait failed: {0}")]
    WaitFailed(Arc<std::io::Error>),
    #[error("process task ended")]
    TaskEnded,
    #[error("SSE stream ended")]
    StreamEnded,
    #[error("SSE stream failed: {0}")]
    StreamFailed(Arc<hyper::Error>),
    #[error("oversized SSE event")]
    Oversized,
    #[error("SSE reader stopped")]
    ReaderStopped,
    #[error("gateway is shutting down")]
    Shutdown,
    #[error("link dropped")]
    Dropped,
    #[error("SSE stream ended without a response")]
    NoResponse,
    #[error("response stream broke: {0}")]
    Body(Arc<hyper::Error>),
    /// A test link's own reason.
    #[cfg(test)]
    #[error("{0}")]
    Test(&'static str),
}

/// A broken protocol rule.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Violation {
    #[error("202 Accepted for a request")]
    AcceptedRequest,
    #[error("response body is not a JSON-RPC response")]
    NotAResponse,
    #[error("no response to the handshake")]
    NoHandshakeResponse,
    #[error("oversized SSE event")]
    OversizedEvent,
    #[error("cannot build request: {0}")]
    HeaderValue(#[from] http::header::InvalidHeaderValue),
}

/// Instance settings the transport cannot use.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigProblem {
    #[error("invalid URL: {0}")]
    Url(#[from] http::uri::InvalidUri),
    #[error("invalid header {0}")]
    Header(String),
    #[error("not an HTTP instance")]
    NotHttp,
    #[error("invalid probe path: {0}")]
    ProbePath(http::uri::InvalidUri),
    #[error("cannot build the probe request: {0}")]
    ProbeRequest(#[from] http::Error),
}

/// Why the MCP handshake failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeFailure {
    #[error("upstream does not support protocol 2026-07-28")]
    NoModernSupport,
    /// The upstream answered `initialize` with this JSON-RPC error (truncated).
    #[error("initialize returned an error: {0}")]
    Refused(String),
    #[error("invalid InitializeResult: {0}")]
    InvalidResult(serde_json::Error),
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(String),
    /// The link failed during the handshake.
    #[error("{0}")]
    Link(Box<Error>),
}

impl Error {
    pub(crate) fn new(instance: &InstanceId, kind: ErrorKind) -> Self {
        Self {
            instance: instance.clone(),
            kind,
        }
    }

    /// The instance that failed.
    pub fn instance(&self) -> &InstanceId {
        &self.instance
    }

    /// The error and its causes, `: `-separated (for logs and health reports).
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// The request provably never reached the upstream (connect refused, process not
    /// running, shutting down), so even a non-idempotent call may go to another instance.
    pub fn is_unsent(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Spawn { .. }
                | ErrorKind::Connect(_)
                | ErrorKind::OpenTimedOut(..)
                | ErrorKind::Stream(_)
                | ErrorKind::NotReady
                | ErrorKind::ShuttingDown
                | ErrorKind::Handshake(_)
        )
    }

    /// The upstream did not answer within the deadline.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }

    /// A message exceeded the configured size limit.
    pub fn is_too_large(&self) -> bool {
        matches!(self.kind, ErrorKind::TooLarge { .. })
    }

    /// The failure says the instance is unwell (as opposed to a bad request), so health
    /// checking should count it: transport errors, timeouts and 5xx; not oversize
    /// messages or 4xx answers.
    pub fn is_instance_failure(&self) -> bool {
        match self.kind {
            ErrorKind::TooLarge { .. } => false,
            ErrorKind::Status(s) => s >= 500,
            _ => true,
        }
    }

    /// The upstream's HTTP status, when it answered with an unusable one.
    pub fn http_status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }

    /// A low-cardinality name of the failure class, for metrics and trace attributes
    /// (OpenTelemetry `error.type`): `timeout`, `unsent`, `too_large`, `http_status`,
    /// `closed`, `protocol` or `io`.
    pub fn class(&self) -> &'static str {
        match self.kind {
            ErrorKind::Timeout(_) => "timeout",
            ErrorKind::TooLarge { .. } => "too_large",
            ErrorKind::Status(_) | ErrorKind::PostRefused(_) => "http_status",
            ErrorKind::Closed(_) => "closed",
            ErrorKind::Protocol(_) | ErrorKind::Config(_) => "protocol",
            ErrorKind::Io(_) => "io",
            _ if self.is_unsent() => "unsent",
            _ => "io",
        }
    }
}

/// [`Error::report`]: an error with its causes.
pub struct Report<'a>(&'a Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = std::error::Error::source(self.0);
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Shorthand for building errors inside the crate.
pub(crate) fn err(instance: &InstanceId, kind: ErrorKind) -> Error {
    Error::new(instance, kind)
}

/// Errors a test builds for its fake upstreams (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub(crate) mod test_util {
    use super::*;

    /// How a fake upstream call fails.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Failure {
        /// Nothing was sent: the connection was refused.
        Refused,
        /// No answer within `after`.
        TimedOut(Duration),
        /// Sent, then the link closed before the answer.
        Broke,
        /// The upstream answered HTTP `status`.
        Status(u16),
    }

    impl Error {
        /// A transport error of `instance` as a real adapter would report `failure`.
        pub fn fake(instance: &InstanceId, failure: Failure) -> Error {
            let kind = match failure {
                Failure::Refused => ErrorKind::Connect(Box::new(std::io::Error::from(
                    std::io::ErrorKind::ConnectionRefused,
                ))),
                Failure::TimedOut(after) => ErrorKind::Timeout(after),
                Failure::Broke => ErrorKind::Closed(LinkClosed::Dropped),
                Failure::Status(s) => ErrorKind::Status(s),
            };
            Error::new(instance, kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_carries_the_causes() {
        let id = InstanceId::parse("i").unwrap_or_else(|_| unreachable!());
        let e = test_util::Failure::Refused;
        let e = Error::fake(&id, e);
        assert_eq!(e.to_string(), "upstream i: connection failed");
        assert_eq!(
            e.report().to_string(),
            "upstream i: connection failed: connection refused"
        );
        assert!(e.is_unsent() && e.class() == "unsent");
        let closed = err(
            &id,
            ErrorKind::Closed(LinkClosed::Test("process exited (1)")),
        );
        assert!(closed.to_string().contains("process exited"), "{closed}");
        assert_eq!(closed.class(), "closed");
    }
}
