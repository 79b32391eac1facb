//! [`Supervisor`]: keeps N links of one instance alive. A dead link fails its pending
//! calls, is re-dialled after an exponential back-off, and is handshaken again; calls
//! go to the ready link with the fewest calls in flight. Every change is published as a
//! [`LinkState`] so health checking sees crashes and restarts as they happen.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use gateway_core::InstanceId;
use tokio::sync::{broadcast, mpsc, watch};

use super::{
    handshake::handshake,
    link::{HandshakeExchange, MessageLink},
    mux::Mux,
    outbound::Identity,
};
use crate::{
    Error, LinkState, Options, ServerInfo, ServerMessage,
    error::{ErrorKind, HandshakeFailure, LinkClosed, Opening, err},
    link_state::fold,
};

/// A boxed future that resolves once.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A freshly opened transport link.
pub(crate) struct Dialed {
    /// Outbound messages (the link's writer task drains it).
    pub(crate) writer: mpsc::Sender<Vec<u8>>,
    /// Resolves with a reason when the link dies on its own.
    pub(crate) closed: BoxFuture<LinkClosed>,
    /// Closes the link gracefully (e.g. the stdio shutdown ladder).
    pub(crate) shutdown: Box<dyn FnOnce() -> BoxFuture<()> + Send>,
    /// OS process id, for stdio links.
    pub(crate) pid: Option<u32>,
}

/// Opens one link of a transport, wiring its inbound messages into `mux`.
pub(crate) trait Dial: Send + Sync + 'static {
    /// Opens the link.
    fn dial(&self, mux: Arc<Mux>) -> impl Future<Output = Result<Dialed, Error>> + Send;
}

/// A ready link with what its handshake learned.
pub(crate) struct Ready {
    pub(crate) link: MessageLink,
    pub(crate) info: Arc<ServerInfo>,
    pub(crate) pid: Option<u32>,
}

#[derive(Clone)]
enum SlotState {
    Starting,
    Ready(Arc<Ready>),
    Stopped,
}

/// Each slot's [`LinkState`], folded into the instance's published one.
struct LinkBoard {
    slots: parking_lot::Mutex<Vec<LinkState>>,
    published: watch::Sender<LinkState>,
}

impl LinkBoard {
    fn new(slots: usize) -> Self {
        Self {
            slots: parking_lot::Mutex::new(vec![LinkState::Starting; slots]),
            published: watch::channel(LinkState::Starting).0,
        }
    }

    fn set(&self, slot: usize, state: LinkState) {
        let mut slots = self.slots.lock();
        if let Some(s) = slots.get_mut(slot) {
            *s = state;
        }
        let folded = fold(&slots);
        self.published.send_if_modified(|current| {
            let changed = *current != folded;
            *current = folded;
            changed
        });
    }
}

/// Supervises `options.stdio_processes` (stdio) or one (SSE) link(s).
pub(crate) struct Supervisor {
    instance: InstanceId,
    slots: Vec<watch::Receiver<SlotState>>,
    links: Arc<LinkBoard>,
    shutdown: watch::Sender<bool>,
    tasks: parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    connect_timeout: Duration,
}

impl Supervisor {
    /// Starts `links` supervised links dialled by `dialer`.
    pub(crate) fn start<D: Dial>(
        instance: InstanceId,
        dialer: D,
        links: usize,
        options: Arc<Options>,
        identity: Arc<Identity>,
        server_tx: broadcast::Sender<ServerMessage>,
    ) -> Self {
        let dialer = Arc::new(dialer);
        let (shutdown, _) = watch::channel(false);
        let board = Arc::new(LinkBoard::new(links));
        let mut slots = Vec::with_capacity(links);
        let mut tasks = Vec::with_capacity(links);
        for slot in 0..links {
            let (state_tx, state_rx) = watch::channel(SlotState::Starting);
            slots.push(state_rx);
            let run = SlotRunner {
                instance: instance.clone(),
                slot,
                dialer: dialer.clone(),
                options: options.clone(),
                identity: identity.clone(),
                server_tx: server_tx.clone(),
                state: state_tx,
                links: board.clone(),
                shutdown: shutdown.subscribe(),
            };
            tasks.push(tokio::spawn(run.run()));
        }
        Self {
            instance,
            slots,
            links: board,
            shutdown,
            tasks: parking_lot::Mutex::new(tasks),
            connect_timeout: options.connect_timeout,
        }
    }

    /// The ready link with the fewest calls in flight, waiting up to the connect
    /// timeout for one to come up.
    pub(crate) async fn pick(&self) -> Result<Arc<Ready>, Error> {
        self.pick_within(self.connect_timeout).await
    }

    /// Like [`Supervisor::pick`], waiting at most `wait` (zero: ready now or fail).
    pub(crate) async fn pick_within(&self, wait: Duration) -> Result<Arc<Ready>, Error> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut watchers = self.slots.clone();
        loop {
            if *self.shutdown.borrow() {
                return Err(err(&self.instance, ErrorKind::ShuttingDown));
            }
            let best = watchers
                .iter_mut()
                .filter_map(|w| match &*w.borrow_and_update() {
                    SlotState::Ready(r) => Some(r.clone()),
                    _ => None,
                })
                .min_by_key(|r| r.link.mux.in_flight());
            if let Some(ready) = best {
                return Ok(ready);
            }
            let changed = futures_any(&mut watchers);
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(err(&self.instance, ErrorKind::NotReady));
            }
        }
    }

    /// Follows the instance's [`LinkState`].
    pub(crate) fn link_state(&self) -> watch::Receiver<LinkState> {
        self.links.published.subscribe()
    }

    /// Every ready link.
    pub(crate) fn ready_links(&self) -> Vec<Arc<Ready>> {
        self.slots
            .iter()
            .filter_map(|w| match &*w.borrow() {
                SlotState::Ready(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    /// Stops every link (shutdown ladder) and waits for the supervisors to finish.
    pub(crate) async fn close(&self) {
        let _ = self.shutdown.send(true);
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Resolves when any watcher sees a change (or its sender is gone).
async fn futures_any(watchers: &mut [watch::Receiver<SlotState>]) {
    let futures: Vec<_> = watchers.iter_mut().map(|w| Box::pin(w.changed())).collect();
    let _ = futures_util::future::select_all(futures).await;
}

struct SlotRunner<D> {
    instance: InstanceId,
    slot: usize,
    dialer: Arc<D>,
    options: Arc<Options>,
    identity: Arc<Identity>,
    server_tx: broadcast::Sender<ServerMessage>,
    state: watch::Sender<SlotState>,
    links: Arc<LinkBoard>,
    shutdown: watch::Receiver<bool>,
}

impl<D: Dial> SlotRunner<D> {
    async fn run(mut self) {
        let mut backoff = self.options.restart_backoff;
        // Restarts in the current streak; reset with the back-off.
        let mut attempt = 0u32;
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            let _ = self.state.send(SlotState::Starting);
            let started = Instant::now();
            let delay = match self.open().await {
                Ok((ready, dialed)) => {
                    let Dialed {
                        closed, shutdown, ..
                    } = dialed;
                    tracing::info!(instance = %self.instance, slot = self.slot, pid = ready.pid, protocol = %ready.info.protocol_version, "upstream link ready");
                    let mux = ready.link.mux.clone();
                    let _ = self.state.send(SlotState::Ready(ready));
                    self.links.set(self.slot, LinkState::Connected);
                    tokio::select! {
                        reason = closed => {
                            let _ = self.state.send(SlotState::Starting);
                            tracing::warn!(instance = %self.instance, slot = self.slot, %reason, "upstream link died; restarting");
                            if started.elapsed() > self.options.restart_backoff_max {
                                backoff = self.options.restart_backoff;
                                attempt = 0;
                            }
                            // Published before the pending calls fail, so a caller told
                            // of the crash already finds the instance restarting.
                            let delay = self.restarting(&mut attempt, backoff);
                            mux.fail_all(&reason);
                            shutdown().await;
                            delay
                        }
                        _ = self.shutdown.changed() => {
                            let _ = self.state.send(SlotState::Stopped);
                            self.links.set(self.slot, LinkState::Closed);
                            mux.fail_all(&LinkClosed::Shutdown);
                            shutdown().await;
                            break;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(instance = %self.instance, slot = self.slot, error = %e.report(), "upstream link failed to start");
                    let _ = self.state.send(SlotState::Starting);
                    self.restarting(&mut attempt, backoff)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = self.shutdown.changed() => break,
            }
            backoff = (backoff * 2).min(self.options.restart_backoff_max);
        }
        let _ = self.state.send(SlotState::Stopped);
        self.links.set(self.slot, LinkState::Closed);
    }

    /// Counts one more restart in the streak and publishes it; returns its delay
    /// (`backoff` plus up to 20% jitter, so restarted pools do not move in lockstep).
    fn restarting(&self, attempt: &mut u32, backoff: Duration) -> Duration {
        let delay = backoff + backoff.mul_f64(fastrand::f64() * 0.2);
        *attempt = attempt.saturating_add(1);
        self.links.set(
            self.slot,
            LinkState::Restarting {
                attempt: *attempt,
                backoff: delay,
                next_retry: Instant::now() + delay,
            },
        );
        tracing::info!(instance = %self.instance, slot = self.slot, attempt = *attempt, delay_ms = delay.as_millis(), "restarting upstream link after back-off");
        delay
    }

    async fn open(&self) -> Result<(Arc<Ready>, Dialed), Error> {
        let mux = Mux::new(self.instance.clone(), self.server_tx.clone());
        let mut dialed =
            tokio::time::timeout(self.options.connect_timeout, self.dialer.dial(mux.clone()))
                .await
                .map_err(|_| {
                    err(
                        &self.instance,
                        ErrorKind::OpenTimedOut(Opening::Link, self.options.connect_timeout),
                    )
                })??;
        let link = MessageLink {
            instance: self.instance.clone(),
            mux,
            writer: dialed.writer.clone(),
            identity: self.identity.clone(),
            max_message_size: self.options.max_message_size,
        };
        let exchange = HandshakeExchange {
            link: &link,
            timeout: self.options.connect_timeout,
        };
        // A link that dies during the handshake (a child exiting at once, e.g. on a usage
        // error) fails it now rather than after the connect timeout.
        let outcome = tokio::select! {
            biased;
            r = handshake(&exchange, self.options.era, &self.identity, &self.instance) => r,
            reason = &mut dialed.closed => Err(err(&self.instance, ErrorKind::Closed(reason))),
        };
        let info = match outcome {
            Ok(info) => info,
            Err(e) => {
                (dialed.shutdown)().await;
                let failure = HandshakeFailure::Link(Box::new(e));
                return Err(err(&self.instance, ErrorKind::Handshake(failure)));
            }
        };
        let pid = dialed.pid;
        Ok((
            Arc::new(Ready {
                link,
                info: Arc::new(info),
                pid,
            }),
            dialed,
        ))
    }
}

#[cfg(test)]
mod tests;
