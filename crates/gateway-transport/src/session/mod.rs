//! What every adapter shares: rewriting outbound requests ([`outbound`]), matching
//! inbound messages to pending calls ([`mux`]), and the MCP handshake ([`handshake`]).

pub(crate) mod handshake;
pub(crate) mod link;
pub(crate) mod mux;
pub(crate) mod outbound;
pub(crate) mod supervisor;
