//! What one connection is doing, for its watchdog: reading a request head, serving
//! requests (not timed: a response may stream for as long as it needs), or idle; and
//! whether the client has stopped reading. [`Watched`] wraps the connection's IO, notes
//! the first byte of each request head and when a write starts to wait for the client;
//! [`Activity::enter`] counts a request until its response body is done.
//!
//! | state | deadline |
//! |---|---|
//! | a write waiting for the client to read (any state) | since then + send timeout |
//! | a request in flight (HTTP/1 or 2) | none |
//! | HTTP/1, bytes of a request head arrived (or just accepted) | that moment + header-read timeout |
//! | HTTP/1 idle, HTTP/2 without open streams | last request done + keep-alive idle timeout |

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::Notify,
    time::Instant,
};

use crate::config::ConnLimits;

/// Why a connection's watchdog closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// A request head (or the TLS handshake) took longer than the header-read timeout.
    HeaderRead,
    /// Nothing in flight and no new request for the keep-alive idle timeout.
    Idle,
    /// The client read nothing of what was sent to it for the send timeout.
    Send,
}

impl Expiry {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Expiry::HeaderRead => "header_read_timeout",
            Expiry::Idle => "keepalive_idle_timeout",
            Expiry::Send => "send_timeout",
        }
    }
}

/// One connection's state, shared by its IO, its requests and its watchdog. Times are
/// milliseconds since `start`, plus one (0 means "not set").
pub(super) struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    idle_since: AtomicU64,
    head_since: AtomicU64,
    /// Since when a write has been waiting for the client (0: none is).
    blocked_since: AtomicU64,
    h2: AtomicBool,
    wake: Notify,
}

impl Activity {
    /// A connection accepted now: reading its first request head (the TLS handshake
    /// counts towards it).
    pub(super) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(1),
            head_since: AtomicU64::new(1),
            blocked_since: AtomicU64::new(0),
            h2: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    fn at(&self, stamp: u64) -> Instant {
        self.start + Duration::from_millis(stamp.saturating_sub(1))
    }

    /// Bytes arrived. On an idle HTTP/1 connection they start a request head.
    fn on_read(&self) {
        if self.head_since.load(Ordering::Relaxed) == 0
            && self.in_flight.load(Ordering::Acquire) == 0
        {
            self.head_since.store(self.now(), Ordering::Relaxed);
            self.wake.notify_one();
        }
    }

    /// A write (or flush) returned: `Pending` means the client is not reading.
    fn on_write<T>(&self, polled: &Poll<T>) {
        let blocked = self.blocked_since.load(Ordering::Relaxed) != 0;
        match (polled.is_pending(), blocked) {
            (true, false) => {
                self.blocked_since.store(self.now(), Ordering::Relaxed);
                self.wake.notify_one();
            }
            // No wake-up needed: the watchdog re-checks when its deadline comes.
            (false, true) => self.blocked_since.store(0, Ordering::Relaxed),
            _ => {}
        }
    }

    /// A request was dispatched; it counts until the guard (kept with its response
    /// body) drops.
    pub(super) fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(0, Ordering::Relaxed);
        InFlight {
            activity: self.clone(),
        }
    }

    /// Whether the connection speaks HTTP/2 (seen from its preface).
    pub(super) fn is_h2(&self) -> bool {
        self.h2.load(Ordering::Relaxed)
    }

    /// When the connection must close if nothing changes, and why; `None` while a
    /// request is in flight and the client reads what it is sent.
    fn deadline(&self, limits: &ConnLimits) -> Option<(Instant, Expiry)> {
        let blocked = self.blocked_since.load(Ordering::Relaxed);
        let send = (blocked != 0).then(|| (self.at(blocked) + limits.send_timeout, Expiry::Send));
        match (send, self.request_deadline(limits)) {
            (Some(send), Some(other)) => Some(if send.0 <= other.0 { send } else { other }),
            (send, other) => send.or(other),
        }
    }

    fn request_deadline(&self, limits: &ConnLimits) -> Option<(Instant, Expiry)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let head = self.head_since.load(Ordering::Relaxed);
        if head != 0 && !self.is_h2() {
            return Some((
                self.at(head) + limits.header_read_timeout,
                Expiry::HeaderRead,
            ));
        }
        let idle = self.idle_since.load(Ordering::Relaxed);
        Some((self.at(idle) + limits.keepalive_idle_timeout, Expiry::Idle))
    }

    /// Resolves when the connection has stalled past a deadline.
    pub(super) async fn expired(&self, limits: &ConnLimits) -> Expiry {
        loop {
            // Registered before the state is read, so a change in between still wakes us.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.deadline(limits) {
                None => notified.await,
                Some((at, why)) if Instant::now() >= at => return why,
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notified => {}
                    }
                }
            }
        }
    }
}

/// One request in flight on a connection (see [`Activity::enter`]).
pub(super) struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.activity;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.idle_since.store(activity.now(), Ordering::Relaxed);
            activity.wake.notify_one();
        }
    }
}

/// The start of the HTTP/2 connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// A connection's IO, reporting reads to its [`Activity`] and telling HTTP/2 from
/// HTTP/1 by the first bytes (the same rule hyper's auto-detection uses).
pub(super) struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
    /// Bytes of the preface matched so far; `None` once decided.
    sniffed: Option<usize>,
}

impl<T> Watched<T> {
    pub(super) fn new(inner: T, activity: Arc<Activity>) -> Watched<T> {
        Watched {
            inner,
            activity,
            sniffed: Some(0),
        }
    }

    fn sniff(&mut self, bytes: &[u8]) {
        let Some(matched) = self.sniffed else { return };
        let want = &H2_PREFACE[matched..];
        let n = want.len().min(bytes.len());
        self.sniffed = if want[..n] != bytes[..n] {
            None
        } else if matched + n == H2_PREFACE.len() {
            self.activity.h2.store(true, Ordering::Relaxed);
            None
        } else {
            Some(matched + n)
        };
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() > before
        {
            this.sniff(&buf.filled()[before..]);
            this.activity.on_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.activity.on_write(&polled);
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.activity.on_write(&polled);
        polled
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.activity.on_write(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tokio::io::AsyncReadExt as _;

    use super::*;

    fn limits() -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_secs(2),
            keepalive_idle_timeout: Duration::from_secs(10),
            ..ConnLimits::default()
        }
    }

    /// How long the watchdog takes to fire from now (paused time).
    async fn fires_after(activity: &Activity) -> (Duration, Expiry) {
        let started = Instant::now();
        let why = activity.expired(&limits()).await;
        (started.elapsed(), why)
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_must_send_its_head_within_the_header_timeout() {
        let activity = Activity::new();
        assert_eq!(
            fires_after(&activity).await,
            (Duration::from_secs(2), Expiry::HeaderRead)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_gets_the_idle_timeout_then_a_head_gets_the_header_timeout() {
        let activity = Activity::new();
        drop(activity.enter());
        // Idle since now: the longer idle timeout, not the header timeout.
        assert_eq!(
            fires_after(&activity).await,
            (Duration::from_secs(10), Expiry::Idle)
        );
        let activity = Activity::new();
        drop(activity.enter());
        tokio::time::advance(Duration::from_secs(9)).await;
        activity.on_read();
        assert_eq!(
            fires_after(&activity).await,
            (Duration::from_secs(2), Expiry::HeaderRead),
            "the first byte of the next request starts the header clock"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_fires_while_a_request_is_in_flight() {
        let activity = Activity::new();
        let request = activity.enter();
        let watchdog = {
            let activity = activity.clone();
            tokio::spawn(async move { fires_after(&activity).await })
        };
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!watchdog.is_finished(), "a long response is never cut");
        drop(request);
        let (after, why) = watchdog.await.unwrap();
        assert_eq!(why, Expiry::Idle);
        assert_eq!(after, Duration::from_secs(3610), "idle counts from the end");
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_stops_reading_is_cut_even_mid_response() {
        let activity = Activity::new();
        let _request = activity.enter();
        let watchdog = {
            let activity = activity.clone();
            tokio::spawn(async move { fires_after(&activity).await })
        };
        tokio::time::sleep(Duration::from_secs(100)).await;
        activity.on_write(&Poll::<()>::Pending);
        tokio::time::sleep(Duration::from_secs(30)).await;
        // Writes went through again: the clock stops.
        activity.on_write(&Poll::Ready(()));
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!watchdog.is_finished());
        activity.on_write(&Poll::<()>::Pending);
        activity.on_write(&Poll::<()>::Pending);
        let (after, why) = watchdog.await.unwrap();
        assert_eq!(why, Expiry::Send);
        assert_eq!(after, Duration::from_secs(230 + 60));
    }

    #[tokio::test(start_paused = true)]
    async fn http2_connections_only_get_the_idle_timeout() {
        let activity = Activity::new();
        let mut io = Watched::new(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..], activity.clone());
        let mut buf = [0u8; 5];
        io.read_exact(&mut buf).await.unwrap();
        assert!(!activity.is_h2(), "not decided on a prefix");
        let mut rest = Vec::new();
        io.read_to_end(&mut rest).await.unwrap();
        assert!(activity.is_h2());
        assert_eq!(
            fires_after(&activity).await,
            (Duration::from_secs(10), Expiry::Idle)
        );
        let activity = Activity::new();
        let mut io = Watched::new(&b"POST / HTTP/1.1\r\n"[..], activity.clone());
        io.read_to_end(&mut Vec::new()).await.unwrap();
        assert!(!activity.is_h2());
    }
}
