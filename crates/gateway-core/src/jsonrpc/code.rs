//! JSON-RPC and MCP error codes used by the gateway.

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
