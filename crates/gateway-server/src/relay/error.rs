//! [`RelayError`]: why the relay could not get an answer from an upstream. The transport
//! error that decided it stays its [`source`](std::error::Error::source); the HTTP answer
//! is chosen in `crate::error`, the JSON-RPC one in `crate::mcp::reply`, each once.

use gateway_transport::Error as TransportError;

/// A relayed call that got no answer. An upstream's JSON-RPC error is an answer, not a
/// `RelayError`: it comes back as the call's outcome.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RelayError {
    /// No template of that name.
    #[error("template {0:?} not found")]
    TemplateNotFound(Box<str>),
    /// The template has no instances registered.
    #[error("template {0:?} has no instances")]
    NoInstances(Box<str>),
    /// Nothing reached an upstream: every instance was unhealthy, ejected or
    /// circuit-open, or refused the connection, or the budget or deadline ran out before
    /// one could be tried. Another try may succeed.
    #[error(
        "no instance of template {template:?} could serve the request \
         (the gateway's log has the cause under this request_id)"
    )]
    Unavailable {
        template: Box<str>,
        /// The last attempt's failure, when there was an attempt.
        #[source]
        cause: Option<TransportError>,
    },
    /// Every instance that could take the call was at its `upstream_limits`: all
    /// in-flight slots taken and the wait queue full, or the call waited in line until
    /// its deadline. Nothing was sent; another try after `Retry-After` may succeed.
    #[error(
        "every instance of template {template:?} is at its limit of requests in flight \
         ({}); retry after {} s",
        if *.waited { "waited in line until the deadline" } else { "wait queue full" },
        RelayError::OVERLOADED_RETRY_AFTER_SECS
    )]
    Overloaded { template: Box<str>, waited: bool },
    /// The upstream did not answer within the template's request timeout.
    #[error("upstream of template {template:?} timed out")]
    TimedOut {
        template: Box<str>,
        #[source]
        cause: TransportError,
    },
    /// The request reached an upstream and the call broke there (process exited,
    /// connection reset, HTTP 5xx, invalid reply): not retried, it may have acted.
    #[error(
        "the upstream of template {template:?} failed during the call \
         (the gateway's log has the cause under this request_id)"
    )]
    Failed {
        template: Box<str>,
        #[source]
        cause: TransportError,
    },
    /// The credentials the template's upstream needs could not be had for this caller
    /// (403) or from the identity provider (502); nothing was sent upstream.
    #[error("template {template:?}: {cause}")]
    Credentials {
        template: Box<str>,
        cause: super::CredentialError,
    },
}

impl RelayError {
    /// `Retry-After` of an overloaded answer: slots free up as calls finish, so soon.
    pub(crate) const OVERLOADED_RETRY_AFTER_SECS: u64 = 1;

    /// The call was refused by an instance's admission gate.
    pub(crate) fn overloaded(template: &str, refusal: gateway_health::Refusal) -> Self {
        RelayError::Overloaded {
            template: template.into(),
            waited: refusal == gateway_health::Refusal::Expired,
        }
    }

    /// The transport failure a client is not shown, logged with the request id the
    /// client sees (its error body quotes it), so an operator can find it.
    pub(crate) fn log_hidden_cause(&self) {
        crate::trace::record_error(self.class());
        let (template, cause) = match self {
            RelayError::Unavailable { template, cause } => (template, cause.as_ref()),
            RelayError::Failed { template, cause } => (template, Some(cause)),
            _ => return,
        };
        let request_id = crate::request_id::current();
        let request_id = request_id.as_deref().unwrap_or("-");
        match cause {
            Some(cause) => tracing::info!(
                request_id,
                %template,
                reason = %cause.report(),
                "upstream failure answered"
            ),
            None => tracing::info!(
                request_id,
                %template,
                reason = "every instance is unhealthy, ejected or circuit-open",
                "upstream failure answered"
            ),
        }
    }

    /// A low-cardinality name of the failure (OpenTelemetry `error.type`).
    pub(crate) fn class(&self) -> &'static str {
        match self {
            RelayError::TemplateNotFound(_) => "template_not_found",
            RelayError::NoInstances(_) | RelayError::Unavailable { .. } => "unavailable",
            RelayError::Overloaded { .. } => "overloaded",
            RelayError::TimedOut { .. } => "timeout",
            RelayError::Failed { .. } => "upstream_failed",
            RelayError::Credentials { .. } => "upstream_credentials",
        }
    }

    /// A transport failure as the client sees it: 504 when the upstream did not answer
    /// in time, 503 when the request never left the gateway (another try may succeed),
    /// 502 when it reached the upstream and the call broke there.
    pub(crate) fn from_transport(template: &str, cause: TransportError) -> Self {
        let template = template.into();
        if cause.is_timeout() {
            RelayError::TimedOut { template, cause }
        } else if cause.is_unsent() {
            RelayError::Unavailable {
                template,
                cause: Some(cause),
            }
        } else {
            RelayError::Failed { template, cause }
        }
    }
}
