//! [`ServerInfo`] and [`ServerMessage`]: what an upstream told us about itself, and
//! what it sends unasked.

use gateway_core::{
    jsonrpc::{Notification, Request},
    mcp::{Era, ProtocolVersion},
};
use serde_json::value::RawValue;

/// What the handshake learned about an upstream.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The negotiated revision (2026-07-28 for modern upstreams).
    pub protocol_version: ProtocolVersion,
    /// The upstream's `capabilities`, raw.
    pub capabilities: Box<RawValue>,
    /// The upstream's `serverInfo` (`name`, `version`, ...), raw.
    pub server_info: Option<Box<RawValue>>,
    /// The upstream's `instructions`, if any.
    pub instructions: Option<String>,
}

impl ServerInfo {
    /// The era of the conversation.
    pub fn era(&self) -> Era {
        self.protocol_version.era()
    }
}

/// A message an upstream sent on its own (not a response or progress for a call).
#[derive(Debug, Clone)]
pub enum ServerMessage {
    /// E.g. `notifications/tools/list_changed`, `notifications/message`.
    Notification(Notification),
    /// A server-to-client request (`sampling/createMessage`, `roots/list`, ...); answer
    /// it with [`crate::Upstream::send_response`].
    Request(Request),
}
