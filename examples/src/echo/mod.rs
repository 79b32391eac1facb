//! The echo MCP server: a small, fast, dual-era MCP server used as a test fixture and as a
//! benchmark upstream.
//!
//! # Transports
//! - **stdio** ([`serve_stdio`]): one JSON-RPC message per line on stdin/stdout. Every request
//!   runs on its own task, so slow requests (`sleep_ms`) overlap; all output goes through one
//!   writer. When stdin reaches EOF the server waits up to 5 s for in-flight requests and
//!   returns.
//! - **Streamable HTTP** ([`serve_http`]): `POST /mcp` (JSON or, for `sleep_ms` with a
//!   `progressToken`, an SSE stream), `DELETE /mcp` (ends a legacy session), `GET /mcp` → 405,
//!   every other path → 404. Legacy `initialize` issues an `Mcp-Session-Id`; the session set
//!   lives in memory, so a restarted server answers 404 to its old sessions.
//!
//! # Eras
//! - **Legacy** (`2024-11-05`, `2025-03-26`, `2025-06-18`, `2025-11-25`): `initialize`
//!   handshake and (over HTTP) sessions.
//! - **Modern** (`2026-07-28`): a request whose `params._meta["io.modelcontextprotocol/protocolVersion"]`
//!   (or, over HTTP, `MCP-Protocol-Version` header) is `2026-07-28`. No session is needed;
//!   results carry `resultType: "complete"` and `_meta["io.modelcontextprotocol/serverInfo"]`.
//!   `server/discover` is answered in both eras.
//!
//! # Tools
//! | tool | arguments | result |
//! |---|---|---|
//! | `echo` | `message: string` | the message as text |
//! | `add` | `a, b: integer` | the sum as text, `structuredContent: {"result": sum}` |
//! | `sleep_ms` | `ms: integer` | sleeps (without blocking other requests), text `slept <ms>ms`; with a `progressToken` sends progress 1/2 before and 2/2 after sleeping |
//! | `fail` | `message?: string` | a result with `isError: true` |
//! | `crash` | none | the process exits with code 3 without answering |
//! | `whoami` | none | the instance id as text and `structuredContent: {"instance_id": id, "pid": process id}` |
//!
//! # Test hook
//! With `--record-requests`, `GET /__test/requests` answers `{"requests": [{"method",
//! "tool", "authorization"}, ...]}`: the last 256 JSON-RPC requests received over HTTP
//! with the `Authorization` header each carried (`null` when absent), and the W3C trace
//! context: the `traceparent` header and `params._meta` (`traceparent`, `meta`).
//! The unlisted tool `meta` (any transport) answers with the request's `params._meta`
//! as `structuredContent` (`{}` when absent).

mod body;
mod cli;
mod emit;
mod headers;
mod http;
mod post;
mod rpc;
mod stdio;
mod tools;

#[cfg(test)]
mod rpc_tests;

pub use cli::main_with_args;
pub use http::serve_http;
pub use stdio::serve_stdio;

/// `serverInfo.name` reported by the echo server.
pub const SERVER_NAME: &str = "echo-server";

/// `serverInfo.version` reported by the echo server.
pub const SERVER_VERSION: &str = "0.1.0";

/// The modern (stateless) protocol revision.
pub const MODERN_PROTOCOL_VERSION: &str = "2026-07-28";

/// Legacy protocol revisions accepted by `initialize`, oldest first.
pub const LEGACY_PROTOCOL_VERSIONS: [&str; 4] =
    ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];

/// The legacy revision answered when `initialize` asks for one the server does not know.
pub const LATEST_LEGACY_PROTOCOL_VERSION: &str = "2025-11-25";

/// Every revision the server supports, newest first (as listed by `server/discover`).
pub const SUPPORTED_PROTOCOL_VERSIONS: [&str; 5] = [
    "2026-07-28",
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];

/// Configuration of one echo server instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoConfig {
    /// Identifier reported by the `whoami` tool (lets tests tell replicas apart).
    pub instance_id: String,
    /// Over HTTP, remember the `Authorization` header of each request (the last 256)
    /// and serve them at `GET /__test/requests` (`--record-requests`): lets tests see
    /// which credentials a gateway sent upstream. Off by default (a benchmark upstream
    /// takes no lock per request).
    pub record_requests: bool,
}

impl EchoConfig {
    /// A configuration with the given instance id.
    pub fn new(instance_id: impl Into<String>) -> Self {
        Self {
            instance_id: instance_id.into(),
            record_requests: false,
        }
    }
}

impl Default for EchoConfig {
    /// The instance id defaults to `echo-<pid>`.
    fn default() -> Self {
        Self::new(format!("echo-{}", std::process::id()))
    }
}
