//! The listener: accepts TCP connections under a cap, optionally terminates TLS, and
//! serves the router over HTTP/1.1 or HTTP/2 with connection timeouts. Settings and
//! defaults: `config/listen.rs`.
//!
//! | module | job |
//! |---|---|
//! | `accept` | the accept loop, the connection cap, shutdown (stop accepting, let connections finish) |
//! | `conn` | one connection: TLS handshake, hyper's auto (HTTP/1 + HTTP/2) builder, the watchdog |
//! | `activity` | what a connection is doing, and when it has stalled (header-read and idle timeouts) |
//! | `body` | request-body timeouts (per chunk and total) and the 408 they lead to |
//! | `tls` | rustls config, certificate reload, client certificates |
//!
//! What each timeout covers, and what it never does: a response (an SSE stream, a long
//! tool call) is not timed here, only the client's side of getting a request in.

mod accept;
mod activity;
mod body;
mod conn;
mod tls;

use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{Arc, atomic::AtomicUsize},
};

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub(crate) use tls::TlsError;

use crate::config::{ConnLimits, ListenSettings};

/// File descriptors kept for what is not a client connection: upstream connections,
/// the database pool, stdio children's pipes, logs.
const FD_RESERVE: u64 = 256;

/// A bound listener with its TLS and limits, ready to serve.
pub(crate) struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: ConnLimits,
    /// Connections open now (a metric).
    open: Arc<AtomicUsize>,
}

impl Listener {
    /// Loads the TLS files (a start-up error names the bad one) and fits the connection
    /// cap to the open-files limit.
    pub(crate) fn new(tcp: TcpListener, settings: &ListenSettings) -> Result<Listener, TlsError> {
        let tls = settings.tls.as_ref().map(tls::acceptor).transpose()?;
        let mut limits = settings.limits.clone();
        limits.max_connections = fit_open_files(&limits, open_files_limit());
        Ok(Listener {
            tcp,
            tls,
            limits,
            open: Arc::default(),
        })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The count of connections open now, kept up to date while serving.
    pub(crate) fn open_connections(&self) -> Arc<AtomicUsize> {
        self.open.clone()
    }

    /// `https` with TLS, else `http`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// Serves `app` until `stop` resolves, then closes the listening socket and returns
    /// once every connection has closed.
    pub(crate) async fn serve(self, app: Router, stop: impl Future<Output = ()>) {
        let shared = Arc::new(conn::Shared::new(app, self.limits, self.tls, self.open));
        accept::run(self.tcp, shared, stop).await;
    }
}

/// The soft open-files limit (`ulimit -n`), where the platform tells it.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The connection cap to use: the default is lowered to leave [`FD_RESERVE`] descriptors
/// free under the open-files limit; an explicit cap is kept, with a warning.
fn fit_open_files(limits: &ConnLimits, open_files: Option<u64>) -> usize {
    let wanted = limits.max_connections;
    let Some(open_files) = open_files else {
        return wanted;
    };
    let room = open_files
        .saturating_sub(FD_RESERVE)
        .max(open_files / 2)
        .max(1);
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    if wanted <= room {
        return wanted;
    }
    if limits.max_connections_explicit {
        tracing::warn!(
            max_connections = wanted,
            open_files_limit = open_files,
            "the open-files limit (ulimit -n) is too low for max_connections: clients beyond \
             about {room} connections will be refused with 'too many open files', and upstream \
             connections may fail; raise the limit (e.g. LimitNOFILE= in systemd)"
        );
        return wanted;
    }
    tracing::info!(
        max_connections = room,
        open_files_limit = open_files,
        "connection cap lowered to fit the open-files limit (ulimit -n); raise the limit \
         or set MCP_GATEWAY_MAX_CONNECTIONS"
    );
    room
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_fits_the_open_files_limit_and_an_explicit_one_is_kept() {
        let default = ConnLimits::default();
        assert_eq!(fit_open_files(&default, None), 10_000);
        assert_eq!(fit_open_files(&default, Some(1_048_576)), 10_000);
        assert_eq!(fit_open_files(&default, Some(1024)), 768);
        assert_eq!(fit_open_files(&default, Some(256)), 128);
        let explicit = ConnLimits {
            max_connections: 5000,
            max_connections_explicit: true,
            ..ConnLimits::default()
        };
        assert_eq!(fit_open_files(&explicit, Some(1024)), 5000);
    }

    #[test]
    fn reads_the_open_files_limit_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|n| n > 0));
        }
    }
}
