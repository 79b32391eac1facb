//! Entry points for the coverage-guided fuzz targets in `fuzz/` (feature `fuzzing`):
//! the readers of bytes an upstream controls, each with the invariants it must keep.
//! Not an API: the signatures follow the fuzzers' needs.

use std::{
    pin::pin,
    task::{Context, Poll, Waker},
};

use gateway_core::{
    jsonrpc::{Message, RequestId, Response, to_raw},
    mcp::Era,
};

use crate::{
    Options,
    http::sse::SseParser,
    session::outbound::{Identity, prepare, restore_response},
    stdio::codec::{Frame, read_frame},
};

/// The SSE parser over `data` cut into pieces at the positions its first byte picks:
/// events never exceed the limit, whatever the chunking.
pub fn sse(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let limit = 256;
    let mut parser = SseParser::new(limit);
    let mut events = Vec::new();
    let step = usize::from(seed % 17) + 1;
    for chunk in body.chunks(step) {
        if parser.push(chunk, &mut events).is_err() {
            return;
        }
    }
    for event in &events {
        assert!(event.data.len() <= limit, "an event over the limit");
    }
}

/// The stdio line framer over `data` (its first byte picks the line limit): lines hold
/// no newline and stay within the limit; oversized lines keep bounded ends.
pub fn stdio_frames(data: &[u8]) {
    let Some((&seed, mut body)) = data.split_first() else {
        return;
    };
    let max = usize::from(seed) * 4 + 1;
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        // A byte slice never waits, so one poll settles each frame.
        let Poll::Ready(next) = pin!(read_frame(&mut body, max)).poll(&mut cx) else {
            unreachable!("reading a byte slice is never pending");
        };
        match next {
            Ok(Some(Frame::Line(line))) => {
                assert!(!line.contains(&b'\n'), "a line with a newline");
                assert!(line.len() <= max, "a line over the limit");
            }
            Ok(Some(Frame::TooLarge { size, head, tail })) => {
                assert!(size > max, "a small line reported as too large");
                assert!(head.len() <= size && tail.len() <= size);
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// The outbound rewrite of any request (legacy or modern upstream, by the first byte):
/// the rewritten request is valid JSON-RPC carrying the gateway's id, and the answer
/// gets the client's id back.
pub fn outbound(data: &[u8]) {
    let Some((&seed, body)) = data.split_first() else {
        return;
    };
    let Ok(Message::Request(mut request)) = Message::parse(body) else {
        return;
    };
    let original = request.id.clone();
    let era = if seed % 2 == 0 {
        Era::Legacy
    } else {
        Era::Modern
    };
    let identity = Identity::new(&Options::default());
    let prepared = prepare(&mut request, 7, era, &identity);
    assert!(matches!(request.id, RequestId::Number(7)));
    let rewritten = Message::Request(request).to_vec();
    assert!(
        Message::parse(&rewritten).is_ok(),
        "the rewritten request is not JSON-RPC: {}",
        String::from_utf8_lossy(&rewritten)
    );
    let answer = Response::result(RequestId::Number(7), to_raw(&serde_json::Value::Null));
    let restored = restore_response(answer, &prepared.restore);
    assert_eq!(
        restored.id.map(|id| id.to_string()),
        Some(original.to_string()),
        "the client's id is not restored"
    );
}
