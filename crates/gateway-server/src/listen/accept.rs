//! The accept loop: one semaphore permit per open connection, so at the cap the loop
//! stops accepting and further clients wait in the kernel's listen backlog until a
//! connection closes. On the stop signal the listening socket closes at once (new
//! connections are refused), open connections are asked to finish, and the loop returns
//! when the last one is gone, i.e. when every permit is back.

use std::{future::Future, io, sync::Arc, time::Duration};

use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    time::Instant,
};

use super::conn::{self, Shared};

/// At most one "cap reached" warning per this period.
const CAP_WARNING_EVERY: Duration = Duration::from_secs(10);
/// After an accept error other than a client giving up (e.g. out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

pub(super) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: impl Future<Output = ()>,
) {
    let max = shared.limits.max_connections;
    let permits = Arc::new(Semaphore::new(max));
    let (closing, closing_rx) = watch::channel(false);
    let mut warned_at: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if warned_at.is_none_or(|at| at.elapsed() >= CAP_WARNING_EVERY) {
                    warned_at = Some(Instant::now());
                    tracing::warn!(
                        max_connections = max,
                        "connection cap reached: new connections wait in the listen backlog \
                         until one closes (MCP_GATEWAY_MAX_CONNECTIONS)"
                    );
                }
                tokio::select! {
                    biased;
                    () = &mut stop => break,
                    permit = permits.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                }
            }
        };
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot accept connections; retrying in 1 s");
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        // No Nagle delay: replies and SSE events go out as soon as they are written.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        tokio::spawn(conn::serve(
            tcp,
            peer,
            shared.clone(),
            closing_rx.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = closing.send(true);
    // Each connection holds a permit until it is closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// Errors that concern one client only (it gave up before we accepted it).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
