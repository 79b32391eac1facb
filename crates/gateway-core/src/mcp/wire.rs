//! Wire constants shared by every MCP speaker in the workspace: header names and
//! `_meta` keys.

/// Session header (legacy Streamable HTTP).
pub const HEADER_SESSION_ID: &str = "mcp-session-id";
/// Negotiated protocol version header.
pub const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// 2026-07-28: the request's method, mirrored from the body.
pub const HEADER_METHOD: &str = "mcp-method";
/// 2026-07-28: the request's `params.name` / `params.uri`, mirrored from the body.
pub const HEADER_NAME: &str = "mcp-name";
/// Resumption cursor of an SSE stream.
pub const HEADER_LAST_EVENT_ID: &str = "last-event-id";

/// `_meta` key: the protocol version of a 2026-07-28 request.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities on a 2026-07-28 request.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's name and version on a 2026-07-28 request.
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the server's name and version on a 2026-07-28 result.
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key: a request's progress token.
pub const META_PROGRESS_TOKEN: &str = "progressToken";
