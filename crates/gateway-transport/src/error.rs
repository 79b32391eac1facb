//! [`Error`]: why a call to an upstream failed, with the predicates retry policy needs.

use std::time::Duration;

use gateway_core::InstanceId;

/// A failed upstream operation. Opaque: match on the `is_*` predicates, not on text.
#[derive(Debug, thiserror::Error)]
#[error("upstream {instance}: {kind}")]
pub struct Error {
    instance: InstanceId,
    kind: ErrorKind,
}

/// What went wrong (internal; exposed through [`Error`]'s predicates and `Display`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ErrorKind {
    #[error("failed to start process `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("not ready (starting or restarting)")]
    NotReady,
    #[error("shutting down")]
    ShuttingDown,
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("connection closed before the response arrived ({0})")]
    Closed(String),
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("I/O error: {0}")]
    Io(String),
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

    /// The request provably never reached the upstream (connect refused, process not
    /// running, shutting down), so even a non-idempotent call may go to another instance.
    pub fn is_unsent(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Spawn { .. }
                | ErrorKind::Connect(_)
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
}

/// Shorthand for building errors inside the crate.
pub(crate) fn err(instance: &InstanceId, kind: ErrorKind) -> Error {
    Error::new(instance, kind)
}
