//! The candidates of one selection: the strategy's choice, then every other endpoint once.

use std::{fmt, iter::FusedIterator};

use crate::endpoint::Endpoint;

/// The endpoints to try for one request, best first; each appears exactly once.
///
/// The first item is the strategy's (or the affinity ring's) choice. The rest are the
/// fallbacks for a retry, so a retry goes to another instance without selecting again:
/// for [`select_by_key`](crate::Balancer::select_by_key), the next instance clockwise on
/// the ring (where the key would go if the first were removed), then the others; in all
/// cases the others follow in set order from the first choice, wrapping around.
///
/// Borrowing iterator over the set: no allocation, O(1) per item. Yields nothing for an
/// empty set.
pub struct Candidates<'a, T> {
    endpoints: &'a [Endpoint<T>],
    first: usize,
    /// The preferred fallback, or `first` when there is none.
    second: usize,
    /// Items yielded so far from the head (`first`, then `second`).
    head: u8,
    /// Next offset from `first` for the tail walk, in `1..len`.
    offset: usize,
    remaining: usize,
}

impl<'a, T> Candidates<'a, T> {
    /// `first`, then the rest in set order. `first < endpoints.len()` unless empty.
    pub(crate) fn new(endpoints: &'a [Endpoint<T>], first: usize) -> Self {
        Self::with_fallback(endpoints, first, first)
    }

    /// `first`, then `second` (if it differs from `first`), then the rest in set order.
    pub(crate) fn with_fallback(endpoints: &'a [Endpoint<T>], first: usize, second: usize) -> Self {
        let len = endpoints.len();
        let in_range = first < len && second < len;
        Self {
            endpoints,
            first: if in_range { first } else { 0 },
            second: if in_range { second } else { 0 },
            head: 0,
            offset: 1,
            remaining: len,
        }
    }

    /// An iterator that yields nothing.
    pub(crate) fn empty() -> Self {
        Self::new(&[], 0)
    }

    fn next_index(&mut self) -> usize {
        if self.head == 0 {
            self.head = 1;
            return self.first;
        }
        if self.head == 1 {
            self.head = 2;
            if self.second != self.first {
                return self.second;
            }
        }
        let len = self.endpoints.len();
        loop {
            let mut i = self.first + self.offset;
            if i >= len {
                i -= len;
            }
            self.offset += 1;
            if i != self.second {
                return i;
            }
        }
    }
}

impl<'a, T> Iterator for Candidates<'a, T> {
    type Item = &'a Endpoint<T>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let i = self.next_index();
        self.endpoints.get(i)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for Candidates<'_, T> {}

impl<T> FusedIterator for Candidates<'_, T> {}

impl<T> Clone for Candidates<'_, T> {
    fn clone(&self) -> Self {
        Self { ..*self }
    }
}

impl<T> fmt::Debug for Candidates<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidates")
            .field("first", &self.first)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
