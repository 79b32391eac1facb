//! JSON-RPC and MCP error codes used by the gateway: every code the gateway sends is a
//! named constant here (no literal codes elsewhere).
//!
//! | range | who defines it |
//! |---|---|
//! | −32700, −32600 … −32603 | JSON-RPC 2.0 |
//! | −32000, −32001 | the MCP SDKs' Streamable HTTP transport (implementation-defined server errors) |
//! | −32002, −32020 … −32022 | the MCP specification |
//! | −32050 … −32053 | this gateway (upstream failures) |
//! | −32800 | request cancelled (as in LSP; MCP leaves it open) |

/// Invalid JSON was received.
pub const PARSE_ERROR: i32 = -32700;
/// The JSON is not a valid request object.
pub const INVALID_REQUEST: i32 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i32 = -32601;
/// Invalid method parameters (also MCP 2026-07-28 "resource not found").
pub const INVALID_PARAMS: i32 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i32 = -32603;
/// A request refused by the Streamable HTTP transport before it reached dispatch (bad
/// `Accept`, `Content-Type` or session header, an origin outside the allowlists, a full
/// replica or connection backlog), as the MCP SDKs answer such requests.
pub const SERVER_ERROR: i32 = -32000;
/// The `Mcp-Session-Id` names no session this endpoint serves (unknown, expired, closed,
/// or another endpoint's or principal's): the client re-initializes.
pub const SESSION_NOT_FOUND: i32 = -32001;
/// MCP (legacy era): resource not found.
pub const RESOURCE_NOT_FOUND: i32 = -32002;
/// MCP 2026-07-28: an `Mcp-*` header does not match the body.
pub const HEADER_MISMATCH: i32 = -32020;
/// MCP 2026-07-28: the request needs a client capability it did not declare.
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i32 = -32021;
/// MCP 2026-07-28: unsupported protocol version.
pub const UNSUPPORTED_PROTOCOL_VERSION: i32 = -32022;
/// Gateway: no upstream instance could serve the request.
pub const UPSTREAM_UNAVAILABLE: i32 = -32050;
/// Gateway: the upstream did not answer in time.
pub const UPSTREAM_TIMEOUT: i32 = -32051;
/// Gateway: a message exceeded the configured size limit.
pub const MESSAGE_TOO_LARGE: i32 = -32052;
/// Gateway: the request reached an upstream and the call broke there (process exited,
/// connection reset, HTTP 5xx, invalid reply).
pub const UPSTREAM_FAILED: i32 = -32053;
/// Gateway: the credentials the template's upstream needs (`upstream_auth` passthrough
/// or token_exchange) could not be had for this caller or from its identity provider.
pub const UPSTREAM_CREDENTIALS: i32 = -32054;
/// The client cancelled the request (`notifications/cancelled`) before it was answered.
pub const REQUEST_CANCELLED: i32 = -32800;
