//! Outgoing message framing: stdio lines or SSE events, sent through an mpsc channel.

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

/// Returned if serialising a message ever fails (it cannot for a `Value`, but no panics here).
const INTERNAL_ERROR: &[u8] =
    br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#;

/// How messages are framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One JSON message per line (stdio).
    Line,
    /// `event: message\ndata: <json>\n\n` (Streamable HTTP SSE responses).
    Sse,
}

/// Sends framed messages to a writer task (stdio) or a streaming HTTP body (SSE).
#[derive(Debug, Clone)]
pub(crate) struct Emitter {
    tx: UnboundedSender<Bytes>,
    framing: Framing,
}

impl Emitter {
    /// An emitter framing messages with `framing` into `tx`.
    pub(crate) fn new(tx: UnboundedSender<Bytes>, framing: Framing) -> Self {
        Self { tx, framing }
    }

    /// Frames and sends one message. A closed receiver (client gone) is silently ignored.
    pub(crate) fn emit(&self, message: &Value) {
        // Ignoring the error is right: the peer went away and nobody is left to tell.
        let _ = self.tx.send(encode(message, self.framing));
    }
}

/// Serialises `message` with the given framing.
pub(crate) fn encode(message: &Value, framing: Framing) -> Bytes {
    let mut buf = Vec::with_capacity(128);
    if framing == Framing::Sse {
        buf.extend_from_slice(b"event: message\ndata: ");
    }
    let start = buf.len();
    if serde_json::to_writer(&mut buf, message).is_err() {
        buf.truncate(start);
        buf.extend_from_slice(INTERNAL_ERROR);
    }
    match framing {
        Framing::Line => buf.push(b'\n'),
        Framing::Sse => buf.extend_from_slice(b"\n\n"),
    }
    Bytes::from(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_lines_and_sse_events() {
        let msg = json!({"a": "x\ny"});
        assert_eq!(&encode(&msg, Framing::Line)[..], b"{\"a\":\"x\\ny\"}\n");
        assert_eq!(
            &encode(&msg, Framing::Sse)[..],
            b"event: message\ndata: {\"a\":\"x\\ny\"}\n\n"
        );
    }
}
