//! The server's log lines carry the replica's id, so the logs of a fleet, once collected
//! in one place, say which replica wrote each line (`MCP_GATEWAY_REPLICA_ID`, default
//! `{hostname}-{pid}`): text lines start with `replica=<id>`, JSON lines (one object per
//! line, the event's fields at the top level) have a `replica` key.

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// Prefixes each text event of `inner` with `replica=<id> `.
pub(crate) struct WithReplica<F> {
    pub(crate) replica: String,
    pub(crate) inner: F,
}

impl<S, N, F> FormatEvent<S, N> for WithReplica<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "replica={} ", self.replica)?;
        self.inner.format_event(ctx, writer, event)
    }
}

/// Adds `"replica": "<id>"` as the first key of each JSON event of `inner`.
pub(crate) struct JsonWithReplica<F> {
    /// The id as a JSON string (quoted and escaped once).
    replica: String,
    inner: F,
}

impl<F> JsonWithReplica<F> {
    pub(crate) fn new(replica: &str, inner: F) -> Self {
        let replica = serde_json::to_string(replica).unwrap_or_else(|_| "\"\"".to_owned());
        Self { replica, inner }
    }
}

impl<S, N, F> FormatEvent<S, N> for JsonWithReplica<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) if rest.trim_start().starts_with('}') => {
                write!(writer, "{{\"replica\":{}{rest}", self.replica)
            }
            Some(rest) => write!(writer, "{{\"replica\":{},{rest}", self.replica),
            None => writer.write_str(&line),
        }
    }
}
