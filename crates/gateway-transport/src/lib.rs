//! Upstream MCP transports for the gateway: talk to one MCP server instance over stdio
//! (child processes), Streamable HTTP (both protocol eras) or legacy HTTP+SSE, behind one
//! [`Upstream`] surface: `call`, `notify`, `subscribe`, `close`; supervised ones (stdio,
//! legacy SSE) also publish their [`LinkState`] (connected, restarting, closed).
//!
//! Every adapter assigns its own JSON-RPC ids upstream and restores the caller's on the
//! way back, so any number of callers share one process or one session. Payloads are
//! forwarded as raw JSON: only ids, progress tokens and (for 2026-07-28 upstreams) the
//! request `_meta` keys are rewritten.
//!
//! ```no_run
//! use gateway_core::{InstanceId, InstanceSpec, StdioCommand, jsonrpc::{Request, RequestId}};
//! use gateway_transport::{CallOptions, Connector, Options};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let connector = Connector::new(Options::default());
//! let spec = InstanceSpec::Stdio(StdioCommand::from_shell_words("mcp-server-time", Default::default(), None)?);
//! let upstream = connector.connect(InstanceId::parse("time-1")?, &spec)?;
//! let info = upstream.ready().await?;
//! println!("speaking {}", info.protocol_version);
//! let list = Request::new(RequestId::Number(1), "tools/list", None);
//! let response = upstream.call(list, CallOptions::default()).await?;
//! upstream.close().await;
//! # let _ = response; Ok(()) }
//! ```
//!
//! | transport | spec | connection | when to use |
//! |---|---|---|---|
//! | stdio | [`gateway_core::InstanceSpec::Stdio`] | a pool of supervised child processes (restart with back-off) | local servers (npx, uvx, binaries) |
//! | Streamable HTTP | [`gateway_core::InstanceSpec::Http`] | one shared session over a pooled keep-alive client | remote or containerised servers |
//! | HTTP+SSE | [`gateway_core::InstanceSpec::Sse`] | one supervised GET stream + POSTs | servers that only speak 2024-11-05 |

mod error;
#[cfg(any(test, feature = "test-util"))]
mod fake;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod info;
mod link_state;
mod options;
mod session;
mod stdio;
mod upstream;

pub use error::{Error, Report};
/// Helpers for tests of crates above (feature `test-util`): fake upstreams
/// ([`Upstream::fake`]) and the failures they report.
#[cfg(any(test, feature = "test-util"))]
pub mod test_util {
    pub use crate::error::test_util::Failure;
}
pub use http::{HttpClient, PoolLimits, TlsConfigError, check_upstream_tls};
pub use info::{ServerInfo, ServerMessage};
pub use link_state::LinkState;
pub use options::{DEFAULT_ENV_ALLOWLIST, EraPreference, Options};
pub use upstream::{CallOptions, Connector, TraceContext, Upstream};
