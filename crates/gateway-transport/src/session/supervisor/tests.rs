#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::*;
use crate::EraPreference;

/// A fake MCP server per dial: answers `initialize`, dies when the test kills it, or (with
/// `die_at_once`) dies before answering anything.
#[derive(Clone, Default)]
struct FakeDial {
    kills: Arc<parking_lot::Mutex<Vec<oneshot::Sender<()>>>>,
    die_at_once: Arc<AtomicBool>,
}

impl FakeDial {
    /// Kills the most recently dialled link.
    fn kill_latest(&self) {
        let kill = self.kills.lock().pop().expect("a live link");
        kill.send(()).unwrap();
    }
}

impl Dial for FakeDial {
    async fn dial(&self, mux: Arc<Mux>) -> Result<Dialed, Error> {
        let (writer, mut inbox) = mpsc::channel::<Vec<u8>>(16);
        let (kill, killed) = oneshot::channel::<()>();
        let closed: BoxFuture<LinkClosed> = if self.die_at_once.load(Ordering::Relaxed) {
            Box::pin(async { LinkClosed::Test("exited at once") })
        } else {
            self.kills.lock().push(kill);
            Box::pin(async move {
                let _ = killed.await;
                LinkClosed::Test("killed")
            })
        };
        tokio::spawn(async move {
            while let Some(bytes) = inbox.recv().await {
                let message: Value = serde_json::from_slice(&bytes).unwrap();
                if message["method"] == "initialize" {
                    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "serverInfo": {"name": "fake", "version": "0"}}});
                    mux.dispatch(reply.to_string().as_bytes());
                }
            }
        });
        Ok(Dialed {
            writer,
            closed,
            shutdown: Box::new(|| Box::pin(async {})),
            pid: None,
        })
    }
}

fn start(dialer: FakeDial, links: usize) -> Supervisor {
    let options = Options {
        era: EraPreference::Legacy,
        restart_backoff: Duration::from_millis(20),
        restart_backoff_max: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        ..Options::default()
    };
    let identity = Arc::new(Identity::new(&options));
    Supervisor::start(
        InstanceId::parse("fake").unwrap(),
        dialer,
        links,
        Arc::new(options),
        identity,
        broadcast::channel(4).0,
    )
}

/// The next published state that `pred` accepts (within 5 s).
async fn until(
    rx: &mut watch::Receiver<LinkState>,
    pred: impl Fn(&LinkState) -> bool,
) -> LinkState {
    let state = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| pred(s)))
        .await
        .expect("state reached in time")
        .expect("publisher alive");
    *state
}

#[tokio::test]
async fn crashes_are_published_with_attempts_and_a_growing_back_off() {
    let dialer = FakeDial::default();
    let sup = start(dialer.clone(), 1);
    let mut rx = sup.link_state();
    assert_eq!(*rx.borrow(), LinkState::Starting);
    until(&mut rx, |s| *s == LinkState::Connected).await;
    let mut backoffs = Vec::new();
    for expected in 1..=3 {
        dialer.kill_latest();
        let state = until(&mut rx, LinkState::is_restarting).await;
        let LinkState::Restarting {
            attempt, backoff, ..
        } = state
        else {
            unreachable!()
        };
        assert_eq!(attempt, expected, "{state:?}");
        // 20 ms doubling per attempt, plus up to 20% jitter.
        let base = Duration::from_millis(20) * 2u32.pow(expected - 1);
        assert!(backoff >= base && backoff <= base.mul_f64(1.2), "{state:?}");
        backoffs.push(backoff);
        assert!(sup.ready_links().is_empty(), "no link while restarting");
        until(&mut rx, |s| *s == LinkState::Connected).await;
    }
    assert!(backoffs.windows(2).all(|w| w[1] > w[0]), "{backoffs:?}");
    sup.close().await;
    assert_eq!(*rx.borrow(), LinkState::Closed);
}

#[tokio::test]
async fn a_pool_stays_connected_while_one_link_restarts() {
    let dialer = FakeDial::default();
    let sup = start(dialer.clone(), 2);
    let mut rx = sup.link_state();
    tokio::time::timeout(Duration::from_secs(5), async {
        while sup.ready_links().len() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    rx.borrow_and_update();
    dialer.kill_latest();
    tokio::time::timeout(Duration::from_secs(5), async {
        while sup.ready_links().len() == 2 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(*rx.borrow(), LinkState::Connected);
    assert!(
        !rx.has_changed().unwrap(),
        "one live link keeps the pool up"
    );
    sup.close().await;
}

#[tokio::test]
async fn a_link_dying_in_its_handshake_restarts_without_waiting_for_the_timeout() {
    let dialer = FakeDial::default();
    dialer.die_at_once.store(true, Ordering::Relaxed);
    let sup = start(dialer, 1);
    let mut rx = sup.link_state();
    let started = Instant::now();
    // The connect timeout is 5 s: restarting twice within 2 s proves the handshake did
    // not wait for it.
    let state = tokio::time::timeout(
        Duration::from_secs(2),
        rx.wait_for(|s| matches!(s, LinkState::Restarting { attempt: 2, .. })),
    )
    .await
    .expect("restarted twice quickly")
    .map(|s| *s)
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "{state:?}");
    sup.close().await;
}
