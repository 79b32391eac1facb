//! HTTP upstreams: [`streamable`] (Streamable HTTP, both eras) and [`legacy_sse`]
//! (2024-11-05 HTTP+SSE), over one pooled [`HttpClient`].

mod client;
pub(crate) mod legacy_sse;
pub(crate) mod sse;
pub(crate) mod streamable;

pub use client::HttpClient;
