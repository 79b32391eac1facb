//! [`AdmissionGate`]: at most `max_in_flight` requests on one instance at once, at most
//! `max_pending` more waiting for a slot (in arrival order, each until its own
//! deadline), and everything beyond refused at once: load shedding instead of an
//! unbounded queue in front of an upstream that is already at capacity.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use gateway_health::{AdmissionGate, Refusal};
//! use tokio::time::{Duration, Instant};
//!
//! let gate = AdmissionGate::new(1, 0);
//! let first = gate.admit(None).await.unwrap();
//! // Full, and no room to wait: refused at once.
//! assert_eq!(gate.admit(Some(Instant::now() + Duration::from_secs(1))).await.unwrap_err(), Refusal::Full);
//! drop(first);
//! assert!(gate.admit(None).await.is_ok());
//! # }
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is taken and the wait queue is full (or the caller may not wait).
    Full,
    /// The request waited for a slot until its deadline.
    Expired,
}

/// One instance's in-flight slots and bounded wait queue. Admission when a slot is free
/// is one compare-and-swap.
#[derive(Debug)]
pub struct AdmissionGate {
    slots: Semaphore,
    max_in_flight: usize,
    max_pending: usize,
    pending: AtomicUsize,
    /// Requests refused because everything was full, and because their deadline passed
    /// while they waited (monotonic).
    refused_full: AtomicU64,
    refused_expired: AtomicU64,
}

/// A taken slot; dropping it frees the slot for the next waiter.
#[derive(Debug)]
pub struct Admitted<'a> {
    _slot: SemaphorePermit<'a>,
}

impl AdmissionGate {
    /// A gate with `max_in_flight` slots (at least 1) and room for `max_pending` waiters.
    pub fn new(max_in_flight: usize, max_pending: usize) -> Self {
        let max_in_flight = max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Semaphore::new(max_in_flight),
            max_in_flight,
            max_pending,
            pending: AtomicUsize::new(0),
            refused_full: AtomicU64::new(0),
            refused_expired: AtomicU64::new(0),
        }
    }

    /// Takes a slot: at once when one is free; else, with a `deadline`, waits in line
    /// for one until then if the queue has room; else refuses at once.
    pub async fn admit(&self, deadline: Option<Instant>) -> Result<Admitted<'_>, Refusal> {
        if let Ok(slot) = self.slots.try_acquire() {
            return Ok(Admitted { _slot: slot });
        }
        let Some(deadline) = deadline else {
            return Err(self.refuse(Refusal::Full));
        };
        if self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_pending).then_some(n + 1)
            })
            .is_err()
        {
            return Err(self.refuse(Refusal::Full));
        }
        let _in_line = InLine(&self.pending);
        match tokio::time::timeout_at(deadline, self.slots.acquire()).await {
            Ok(Ok(slot)) => Ok(Admitted { _slot: slot }),
            // The semaphore is never closed; a deadline is what ends a wait.
            Ok(Err(_)) | Err(_) => Err(self.refuse(Refusal::Expired)),
        }
    }

    fn refuse(&self, why: Refusal) -> Refusal {
        let counter = match why {
            Refusal::Full => &self.refused_full,
            Refusal::Expired => &self.refused_expired,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        why
    }

    /// Requests being served now.
    pub fn in_flight(&self) -> usize {
        self.max_in_flight
            .saturating_sub(self.slots.available_permits())
    }

    /// Requests waiting for a slot now.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    /// Requests refused so far: (everything full, deadline passed while waiting).
    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_full.load(Ordering::Relaxed),
            self.refused_expired.load(Ordering::Relaxed),
        )
    }

    /// The slots.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

/// Leaves the wait queue when the wait ends, whichever way (also when the caller's
/// future is dropped).
struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_then_queue_then_refusal() {
        let gate = Arc::new(AdmissionGate::new(2, 1));
        let far = Some(Instant::now() + Duration::from_secs(10));
        let a = gate.admit(None).await.unwrap();
        let _b = gate.admit(None).await.unwrap();
        assert_eq!(gate.in_flight(), 2);
        assert_eq!(gate.admit(None).await.unwrap_err(), Refusal::Full);
        // One may wait...
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.admit(far).await.map(|_| ()) })
        };
        tokio::task::yield_now().await;
        assert_eq!(gate.pending(), 1);
        // ...a second may not.
        assert_eq!(gate.admit(far).await.unwrap_err(), Refusal::Full);
        drop(a);
        assert!(waiter.await.unwrap().is_ok());
        assert_eq!(gate.pending(), 0);
        assert_eq!(gate.refused(), (2, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_at_the_deadline_and_leaves_the_queue() {
        let gate = AdmissionGate::new(1, 4);
        let _a = gate.admit(None).await.unwrap();
        let started = Instant::now();
        let e = gate
            .admit(Some(started + Duration::from_millis(250)))
            .await
            .unwrap_err();
        assert_eq!(e, Refusal::Expired);
        assert_eq!(started.elapsed(), Duration::from_millis(250));
        assert_eq!(gate.pending(), 0);
        assert_eq!(gate.refused(), (0, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_waiter_gives_its_place_back() {
        let gate = AdmissionGate::new(1, 1);
        let _a = gate.admit(None).await.unwrap();
        let far = Some(Instant::now() + Duration::from_secs(10));
        {
            let wait = gate.admit(far);
            tokio::pin!(wait);
            assert!(futures_poll_once(wait.as_mut()).await.is_none());
            assert_eq!(gate.pending(), 1);
        }
        assert_eq!(gate.pending(), 0);
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(f: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            out = f => Some(out),
            () = tokio::task::yield_now() => None,
        }
    }
}
