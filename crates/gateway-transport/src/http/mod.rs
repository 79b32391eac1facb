//! HTTP upstreams: [`streamable`] (Streamable HTTP, both eras) and [`legacy_sse`]
//! (2024-11-05 HTTP+SSE), over one pooled [`HttpClient`]; [`get_stream`] listens on a
//! legacy Streamable HTTP session's GET stream; [`post_back`] routes the server-to-client
//! requests both read (streamable -> get_stream -> post_back, no cycle).

mod client;
mod get_stream;
pub(crate) mod legacy_sse;
mod limited;
mod post_back;
mod request;
pub(crate) mod sse;
pub(crate) mod streamable;
mod tls;

pub use client::{HttpClient, PoolLimits};
pub use tls::{TlsConfigError, check_upstream_tls};
