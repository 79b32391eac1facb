//! [`Outbox`]: where a dedicated session's server-initiated messages go (sampling,
//! elicitation and roots requests, notifications): the session's most recent open
//! stream (a POST's SSE response, else the GET stream), or a small buffer while none is
//! open or the open one is not read (at most 64 messages and 4 MiB; the oldest are
//! dropped first).

use std::collections::VecDeque;

use axum::body::Bytes;
use tokio::sync::mpsc;

/// Server messages kept while the client has no stream open (or does not read it).
const PENDING_LIMIT: usize = 64;
/// Their bytes (the newest message is kept whatever its size).
const PENDING_BYTES_LIMIT: usize = 4 * 1024 * 1024;

/// A session's open streams and the messages waiting for one.
#[derive(Default)]
pub(crate) struct Outbox {
    /// Open streams, most recent last.
    sinks: Vec<(u64, mpsc::Sender<Bytes>)>,
    pending: VecDeque<Bytes>,
    pending_bytes: usize,
    next_sink: u64,
}

impl Outbox {
    /// Registers an open stream; buffered messages go to it at once.
    pub(crate) fn attach(&mut self, tx: mpsc::Sender<Bytes>) -> u64 {
        self.next_sink += 1;
        self.sinks.push((self.next_sink, tx));
        self.flush();
        self.next_sink
    }

    pub(crate) fn detach(&mut self, id: u64) {
        self.sinks.retain(|(i, _)| *i != id);
    }

    /// Moves waiting messages, oldest first, to the most recent open stream while it
    /// has room.
    fn flush(&mut self) {
        self.sinks.retain(|(_, tx)| !tx.is_closed());
        let Some((_, tx)) = self.sinks.last() else {
            return;
        };
        while let Some(message) = self.pending.pop_front() {
            self.pending_bytes -= message.len();
            if let Err(e) = tx.try_send(message) {
                // Full (the client is not reading): it waits, first in line.
                let message = e.into_inner();
                self.pending_bytes += message.len();
                self.pending.push_front(message);
                break;
            }
        }
    }

    /// Queues `message` for the client and sends what the open stream takes.
    pub(crate) fn deliver(&mut self, message: Bytes) {
        self.pending_bytes += message.len();
        self.pending.push_back(message);
        self.flush();
        let mut dropped = 0usize;
        while self.pending.len() > PENDING_LIMIT
            || (self.pending_bytes > PENDING_BYTES_LIMIT && self.pending.len() > 1)
        {
            if let Some(oldest) = self.pending.pop_front() {
                self.pending_bytes -= oldest.len();
                dropped += 1;
            }
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "client reads no stream; oldest server messages dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: &Bytes) -> &str {
        std::str::from_utf8(message).unwrap()
    }

    #[test]
    fn the_outbox_keeps_a_bounded_backlog_when_nobody_reads() {
        let mut outbox = Outbox::default();
        for n in 0..200 {
            outbox.deliver(Bytes::from(format!("m{n}")));
        }
        assert_eq!(outbox.pending.len(), PENDING_LIMIT);
        assert_eq!(outbox.pending.front().map(text), Some("m136"));
        // Large messages: bounded in bytes too, the newest kept.
        let big = Bytes::from("x".repeat(PENDING_BYTES_LIMIT / 3));
        for _ in 0..10 {
            outbox.deliver(big.clone());
        }
        assert!(outbox.pending_bytes <= PENDING_BYTES_LIMIT);
        assert_eq!(
            outbox.pending_bytes,
            outbox.pending.iter().map(Bytes::len).sum::<usize>()
        );
        let huge = Bytes::from("y".repeat(PENDING_BYTES_LIMIT * 2));
        outbox.deliver(huge);
        assert_eq!(outbox.pending.len(), 1, "only the newest, however large");
    }

    #[test]
    fn a_stream_that_is_not_read_leaves_the_rest_pending() {
        let mut outbox = Outbox::default();
        for n in 0..5 {
            outbox.deliver(Bytes::from(format!("m{n}")));
        }
        let (tx, mut rx) = mpsc::channel(2);
        outbox.attach(tx);
        assert_eq!(outbox.pending.len(), 3, "the stream took two");
        assert_eq!(rx.try_recv().ok().as_ref().map(text), Some("m0"));
        // Room for one: the oldest waiting message takes it, and order is kept.
        outbox.deliver(Bytes::from_static(b"m5"));
        assert_eq!(
            outbox.pending.iter().map(text).collect::<Vec<_>>(),
            ["m3", "m4", "m5"]
        );
        assert_eq!(rx.try_recv().ok().as_ref().map(text), Some("m1"));
        assert_eq!(rx.try_recv().ok().as_ref().map(text), Some("m2"));
    }
}
