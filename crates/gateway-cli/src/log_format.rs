//! The server's log lines start with `replica=<id>`, so the logs of a fleet, once
//! collected in one place, say which replica wrote each line (`MCP_GATEWAY_REPLICA_ID`,
//! default `{hostname}-{pid}`).

use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::{
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    registry::LookupSpan,
};

/// Prefixes each event of `inner` with `replica=<id> `.
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
