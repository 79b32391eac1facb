//! [`HashingGate`]: bounds the bcrypt work logins and password changes can cause.
//!
//! At most one bcrypt computation per CPU runs at a time; at most
//! [`QUEUE_PER_WORKER`] × CPUs more wait, each for at most [`MAX_WAIT`]. Beyond that a
//! login is answered at once with [`Error::Busy`] (503 with `Retry-After`) instead of
//! queueing without bound. The permit travels with the computation onto the blocking
//! pool, so a client that disconnects mid-check does not free a slot while its hash is
//! still being computed.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    error::{Error, Result},
    password,
};

/// Waiting checks allowed per running one.
pub(crate) const QUEUE_PER_WORKER: usize = 8;
/// Longest wait for a turn.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(5);
/// What a refused caller is told to wait.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// Admission to the bcrypt workers.
#[derive(Debug)]
pub(crate) struct HashingGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

/// Decrements the waiting count when a waiter leaves (served, refused or cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashingGate {
    /// `workers` computations at once, `max_waiting` more queued for up to `max_wait`.
    pub(crate) fn new(workers: usize, max_waiting: usize, max_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// One worker per CPU, [`QUEUE_PER_WORKER`] waiting per worker, [`MAX_WAIT`].
    pub(crate) fn for_this_host() -> Self {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(workers, workers * QUEUE_PER_WORKER, MAX_WAIT)
    }

    /// A turn, or [`Error::Busy`] when too many are waiting or the wait is too long.
    async fn enter(&self) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        let busy = Error::Busy {
            retry_after: BUSY_RETRY,
        };
        if before >= self.max_waiting {
            return Err(busy);
        }
        match tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(Error::Hashing),
            Err(_elapsed) => Err(busy),
        }
    }

    /// Runs `work` on the blocking pool once admitted.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = self.enter().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| Error::Hashing)
    }

    /// Whether `password` matches `hash` (a malformed hash never matches).
    pub(crate) async fn verify(&self, password: String, hash: String) -> Result<bool> {
        self.run(move || password::verify_now(&password, &hash))
            .await
    }

    /// A bcrypt hash of `password` at `cost`.
    pub(crate) async fn hash(&self, password: String, cost: u32) -> Result<String> {
        self.run(move || password::hash_now(&password, cost))
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let gate = Arc::new(HashingGate::new(1, 2, Duration::from_secs(60)));
        // The worker is busy…
        let held = gate.permits.clone().try_acquire_owned().unwrap();
        // …two wait…
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.verify("pw".into(), "bad".into()).await })
            })
            .collect();
        while gate.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        // …and the next is refused without waiting.
        let refused = gate.verify("pw".into(), "bad".into()).await.unwrap_err();
        assert!(matches!(refused, Error::Busy { .. }), "{refused:?}");
        drop(held);
        for w in waiters {
            assert!(!w.await.unwrap().unwrap(), "served once the worker is free");
        }
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_is_cut_short() {
        let gate = HashingGate::new(1, 10, Duration::from_secs(5));
        let _held = gate.permits.clone().try_acquire_owned().unwrap();
        let refused = gate.verify("pw".into(), "bad".into()).await.unwrap_err();
        assert!(matches!(refused, Error::Busy { .. }), "{refused:?}");
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let gate = HashingGate::new(2, 2, Duration::from_secs(5));
        let hash = gate.hash("correct horse battery".into(), 4).await.unwrap();
        assert!(
            gate.verify("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!gate.verify("wrong".into(), hash).await.unwrap());
    }
}
