//! What one HTTP+SSE connection has accepted and not yet handed to its stream: requests
//! being answered and answers waiting for the client to read. Bounded in messages and
//! bytes, so a client that never reads is refused (429) instead of growing memory.

use std::sync::Arc;

/// A connection's count of messages and bytes in flight, against its limits.
pub(crate) struct Backlog {
    /// (messages, bytes) held.
    held: parking_lot::Mutex<(usize, usize)>,
    max_messages: usize,
    max_bytes: usize,
}

impl Backlog {
    pub(crate) fn new(max_messages: usize, max_bytes: usize) -> Self {
        Self {
            held: parking_lot::Mutex::new((0, 0)),
            max_messages: max_messages.max(1),
            max_bytes,
        }
    }

    /// A place for a message of `bytes`, unless the backlog is full. An empty backlog
    /// takes any one message (its size is bounded by the request size limit).
    pub(crate) fn try_reserve(self: &Arc<Self>, bytes: usize) -> Option<Place> {
        let mut held = self.held.lock();
        let (messages, used) = *held;
        let fits = messages == 0
            || (messages < self.max_messages && used.saturating_add(bytes) <= self.max_bytes);
        if !fits {
            return None;
        }
        *held = (messages + 1, used.saturating_add(bytes));
        Some(Place {
            backlog: self.clone(),
            bytes,
        })
    }

    /// (messages, bytes) this backlog holds at most.
    pub(crate) fn limits(&self) -> (usize, usize) {
        (self.max_messages, self.max_bytes)
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        *self.held.lock()
    }
}

/// One message's place in a [`Backlog`], given back on drop.
pub(crate) struct Place {
    backlog: Arc<Backlog>,
    bytes: usize,
}

impl Place {
    /// The message changed size (the request became its answer).
    pub(crate) fn resize(&mut self, bytes: usize) {
        let mut held = self.backlog.held.lock();
        held.1 = held.1.saturating_sub(self.bytes).saturating_add(bytes);
        self.bytes = bytes;
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut held = self.backlog.held.lock();
        held.0 = held.0.saturating_sub(1);
        held.1 = held.1.saturating_sub(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_and_bytes() {
        let backlog = Arc::new(Backlog::new(3, 100));
        let a = backlog.try_reserve(40).unwrap();
        let mut b = backlog.try_reserve(40).unwrap();
        assert!(backlog.try_reserve(40).is_none(), "120 bytes > 100");
        let c = backlog.try_reserve(20).unwrap();
        assert!(backlog.try_reserve(0).is_none(), "three messages");
        assert_eq!(backlog.held(), (3, 100));
        b.resize(10);
        assert_eq!(backlog.held(), (3, 70));
        drop((a, b, c));
        assert_eq!(backlog.held(), (0, 0));
    }

    #[test]
    fn an_empty_backlog_takes_one_large_message() {
        let backlog = Arc::new(Backlog::new(3, 100));
        let big = backlog.try_reserve(1000).unwrap();
        assert!(backlog.try_reserve(1).is_none());
        drop(big);
        assert!(backlog.try_reserve(1).is_some());
    }
}
