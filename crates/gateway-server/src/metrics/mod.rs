//! Prometheus metrics (`GET /metrics`, optionally on a listener of its own): the MCP
//! semantic conventions' operation histograms on both sides of the gateway, sessions,
//! instance health, retries, refusals, HTTP basics, build and process information.
//!
//! Recording is atomics on structures that already exist per template and instance
//! (no registry lookup, no allocation after a label set's first use), and labels are
//! bounded: methods the gateway does not know are `other`, and no user, session or
//! argument is ever a label. The page itself is written at scrape time
//! (`admin::metrics`), reading these counters and the same ones `/gateway/stats` reads.

mod histogram;
mod http;
mod labels;
mod ops;
mod process;
mod refusals;
mod text;

pub(crate) use histogram::Histogram;
pub(crate) use http::{HttpMetrics, observe};
pub(crate) use labels::{Interface, client_outcome, server_outcome};
pub(crate) use ops::{ClientOps, ServerOps};
pub(crate) use process::Process;
pub(crate) use refusals::{AuthFailure, RateLimited, Refusals};
pub(crate) use text::{CONTENT_TYPE, Exposition};

/// The `mcp_method_name` label of `method` (`other` for methods the gateway does not
/// know).
pub(crate) fn method_label(method: &gateway_core::mcp::Method) -> &'static str {
    labels::METHODS[labels::method_index(method)]
}
