//! The stdio adapter: MCP servers run as child processes speaking line-delimited
//! JSON-RPC. One process (or a small pool) per instance serves every caller: calls are
//! multiplexed by rewriting ids, never one process per request.

pub(crate) mod codec;
mod spawn;

use std::sync::Arc;

use gateway_core::{InstanceId, StdioCommand};
use tokio::{
    io::{AsyncWriteExt, BufReader, BufWriter},
    process::{ChildStderr, ChildStdin, ChildStdout},
    sync::{mpsc, oneshot},
};

use crate::{
    Error,
    error::{ErrorKind, LinkClosed, err},
    session::{
        mux::Mux,
        supervisor::{Dial, Dialed},
    },
};
use codec::{Frame, find_numeric_id, read_frame};

/// Outbound messages queued per child before callers wait.
const WRITE_QUEUE: usize = 1024;
/// Longest stderr line forwarded to the log.
const STDERR_LINE_MAX: usize = 4096;

/// Dials stdio links: spawns the child and starts its reader, writer and stderr tasks.
pub(crate) struct StdioDialer {
    pub(crate) instance: InstanceId,
    pub(crate) command: StdioCommand,
    pub(crate) env_allowlist: Vec<String>,
    pub(crate) max_message_size: usize,
    pub(crate) shutdown_grace: std::time::Duration,
}

impl Dial for StdioDialer {
    async fn dial(&self, mux: Arc<Mux>) -> Result<Dialed, Error> {
        let mut child = spawn::spawn(&self.command, &self.env_allowlist).map_err(|source| {
            err(
                &self.instance,
                ErrorKind::Spawn {
                    command: self.command.command().to_owned(),
                    source,
                },
            )
        })?;
        let pid = child.id();
        // Piped at spawn, so always there; a pipe that is not is an I/O failure.
        let io_err = |what: &'static str| {
            err(
                &self.instance,
                ErrorKind::Io(Box::new(std::io::Error::other(what))),
            )
        };
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io_err("child stdin not captured"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io_err("child stdout not captured"))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| io_err("child stderr not captured"))?;

        let (writer, queue) = mpsc::channel(WRITE_QUEUE);
        let (close_stdin, close_rx) = oneshot::channel::<()>();
        tokio::spawn(write_loop(stdin, queue, close_rx));
        let reader_done = tokio::spawn(read_loop(
            self.instance.clone(),
            stdout,
            mux,
            writer.clone(),
            self.max_message_size,
        ));
        tokio::spawn(stderr_loop(self.instance.clone(), stderr, pid));

        // The child is owned by a task that reports its exit and runs the shutdown
        // ladder on request, so it is always reaped.
        let (exited_tx, exited_rx) = oneshot::channel::<LinkClosed>();
        let (stop_tx, mut stop_rx) = oneshot::channel::<oneshot::Sender<()>>();
        let grace = self.shutdown_grace;
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    // Stdout may still hold the last responses: let the reader drain it.
                    let _ = reader_done.await;
                    spawn::signal_group(pid, nix::sys::signal::Signal::SIGKILL);
                    let reason = match status {
                        Ok(s) => LinkClosed::Exited(s),
                        Err(e) => LinkClosed::WaitFailed(Arc::new(e)),
                    };
                    let _ = exited_tx.send(reason);
                    if let Ok(done) = stop_rx.await {
                        let _ = done.send(());
                    }
                }
                Ok(done) = &mut stop_rx => {
                    let _ = close_stdin.send(());
                    spawn::stop(&mut child, grace).await;
                    let _ = done.send(());
                }
            }
        });

        let closed = Box::pin(async move { exited_rx.await.unwrap_or(LinkClosed::TaskEnded) });
        let shutdown = Box::new(move || -> crate::session::supervisor::BoxFuture<()> {
            Box::pin(async move {
                let (done_tx, done_rx) = oneshot::channel();
                if stop_tx.send(done_tx).is_ok() {
                    let _ = done_rx.await;
                }
            })
        });
        Ok(Dialed {
            writer,
            closed,
            shutdown,
            pid,
        })
    }
}

async fn write_loop(
    stdin: ChildStdin,
    mut queue: mpsc::Receiver<Vec<u8>>,
    mut close: oneshot::Receiver<()>,
) {
    let mut out = BufWriter::new(stdin);
    loop {
        let message = tokio::select! {
            m = queue.recv() => m,
            _ = &mut close => None,
        };
        let Some(mut message) = message else { break };
        message.push(b'\n');
        if out.write_all(&message).await.is_err() {
            break;
        }
        // Batch whatever else is queued into the same flush.
        while let Ok(mut more) = queue.try_recv() {
            more.push(b'\n');
            if out.write_all(&more).await.is_err() {
                return;
            }
        }
        if out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.shutdown().await;
}

async fn read_loop(
    instance: InstanceId,
    stdout: ChildStdout,
    mux: Arc<Mux>,
    writer: mpsc::Sender<Vec<u8>>,
    max: usize,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    loop {
        match read_frame(&mut reader, max).await {
            Ok(Some(Frame::Line(line))) => {
                if let Some(reply) = mux.dispatch(&line) {
                    let _ = writer.send(reply).await;
                }
            }
            Ok(Some(Frame::TooLarge { size, head, tail })) => {
                tracing::warn!(%instance, size, limit = max, "upstream message over the size limit dropped");
                if let Some(id) = find_numeric_id(&head, &tail) {
                    mux.fail_one(id, err(&instance, ErrorKind::TooLarge { size, limit: max }));
                }
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(%instance, error = %e, "reading upstream stdout failed");
                break;
            }
        }
    }
}

async fn stderr_loop(instance: InstanceId, stderr: ChildStderr, pid: Option<u32>) {
    // Free-form logging of the child: captured line by line (bounded), never parsed.
    let mut reader = BufReader::new(stderr);
    loop {
        let line = match read_frame(&mut reader, STDERR_LINE_MAX).await {
            Ok(Some(Frame::Line(line))) => line,
            Ok(Some(Frame::TooLarge { head, .. })) => head,
            Ok(None) | Err(_) => break,
        };
        let text = String::from_utf8_lossy(&line);
        tracing::info!(target: "gateway_transport::stdio::stderr", %instance, pid, line = %text.trim_end());
    }
}
