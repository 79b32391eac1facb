//! [`Mux`]: many concurrent calls over one message link (a stdio child, a legacy SSE
//! session). Each call gets a gateway id; responses are matched back by that id and
//! handed the caller's id again, so callers can never collide.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use gateway_core::{
    InstanceId,
    jsonrpc::{ErrorObject, Message, Notification, Request, Response, code, to_raw},
    mcp::Era,
};
use parking_lot::Mutex;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::outbound::{self, Identity, Restore};
use crate::{
    Error, ServerMessage,
    error::{ErrorKind, LinkClosed, err},
};

type Reply = Result<Response, Error>;

struct Pending {
    tx: oneshot::Sender<Reply>,
    restore: Restore,
    progress: Option<mpsc::Sender<Notification>>,
}

/// The pending-call table of one link.
pub(crate) struct Mux {
    instance: InstanceId,
    next_id: AtomicI64,
    pending: Mutex<HashMap<i64, Pending>>,
    server_tx: broadcast::Sender<ServerMessage>,
}

impl Mux {
    pub(crate) fn new(
        instance: InstanceId,
        server_tx: broadcast::Sender<ServerMessage>,
    ) -> Arc<Self> {
        Arc::new(Self {
            instance,
            next_id: AtomicI64::new(1),
            pending: Mutex::new(HashMap::new()),
            server_tx,
        })
    }

    /// Calls waiting for a response.
    pub(crate) fn in_flight(&self) -> usize {
        self.pending.lock().len()
    }

    /// Registers `request` and returns its encoded bytes plus a handle to await.
    /// `writer` is used to tell the upstream when the caller gives up.
    pub(crate) fn begin(
        self: &Arc<Self>,
        mut request: Request,
        era: Era,
        identity: &Identity,
        progress: Option<mpsc::Sender<Notification>>,
        writer: mpsc::Sender<Vec<u8>>,
    ) -> (Vec<u8>, PendingCall) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let restore = outbound::prepare(&mut request, id, era, identity).restore;
        let bytes = Message::from(request).to_vec();
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(
            id,
            Pending {
                tx,
                restore,
                progress,
            },
        );
        let call = PendingCall {
            id,
            rx,
            mux: self.clone(),
            writer,
            done: false,
        };
        (bytes, call)
    }

    /// Handles one inbound message; returns a reply to write back, if any.
    pub(crate) fn dispatch(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let message = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(instance = %self.instance, error = %e, size = bytes.len(), "upstream sent an invalid JSON-RPC message");
                return None;
            }
        };
        match message {
            Message::Response(response) => {
                let id = match &response.id {
                    Some(gateway_core::jsonrpc::RequestId::Number(n)) => *n,
                    other => {
                        tracing::debug!(instance = %self.instance, id = ?other, "response to an unknown request");
                        return None;
                    }
                };
                let pending = self.pending.lock().remove(&id);
                match pending {
                    Some(p) => {
                        let _ =
                            p.tx.send(Ok(outbound::restore_response(response, &p.restore)));
                    }
                    None => {
                        tracing::debug!(instance = %self.instance, id, "late response (caller gone)")
                    }
                }
                None
            }
            Message::Notification(n) if n.method == "notifications/progress" => {
                self.route_progress(n);
                None
            }
            Message::Notification(n) => {
                let _ = self.server_tx.send(ServerMessage::Notification(n));
                None
            }
            Message::Request(r) => self.server_request(r),
        }
    }

    fn route_progress(&self, n: Notification) {
        let Some(target) = outbound::progress_target(&n) else {
            let _ = self.server_tx.send(ServerMessage::Notification(n));
            return;
        };
        let pending = self.pending.lock();
        let Some(p) = pending.get(&target) else {
            return;
        };
        if let (Some(sink), Some(token)) = (&p.progress, &p.restore.original_progress_token) {
            // A slow consumer loses progress updates rather than stalling the link.
            let _ = sink.try_send(outbound::restore_progress(n, token));
        }
    }

    /// Server-to-client requests: `ping` is answered here; others go to subscribers,
    /// or get "method not found" when nobody listens (an upstream must never hang).
    fn server_request(&self, request: Request) -> Option<Vec<u8>> {
        if request.method == "ping" {
            return Some(
                Message::from(Response::result(request.id, to_raw(&serde_json::json!({}))))
                    .to_vec(),
            );
        }
        if self.server_tx.receiver_count() > 0 {
            let _ = self.server_tx.send(ServerMessage::Request(request));
            return None;
        }
        let error = ErrorObject::new(
            code::METHOD_NOT_FOUND,
            format!("gateway does not handle {}", request.method),
        );
        Some(Message::from(Response::error(Some(request.id), &error)).to_vec())
    }

    /// Fails one pending call (its response could not be delivered).
    pub(crate) fn fail_one(&self, id: i64, error: Error) {
        if let Some(p) = self.pending.lock().remove(&id) {
            let _ = p.tx.send(Err(error));
        }
    }

    /// Fails every pending call (the link died).
    pub(crate) fn fail_all(&self, reason: &LinkClosed) {
        let drained: Vec<Pending> = self.pending.lock().drain().map(|(_, p)| p).collect();
        for p in drained {
            let _ =
                p.tx.send(Err(err(&self.instance, ErrorKind::Closed(reason.clone()))));
        }
    }
}

/// A call in flight. Dropping it before the response (timeout, caller gone) removes it
/// from the table and sends `notifications/cancelled` upstream.
pub(crate) struct PendingCall {
    id: i64,
    rx: oneshot::Receiver<Reply>,
    mux: Arc<Mux>,
    writer: mpsc::Sender<Vec<u8>>,
    done: bool,
}

impl PendingCall {
    /// Waits for the response, at most `timeout`.
    pub(crate) async fn wait(mut self, timeout: Duration) -> Reply {
        let result = tokio::time::timeout(timeout, &mut self.rx).await;
        self.done = true;
        match result {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(err(
                &self.mux.instance,
                ErrorKind::Closed(LinkClosed::Dropped),
            )),
            Err(_) => {
                self.cancel("timeout");
                Err(err(&self.mux.instance, ErrorKind::Timeout(timeout)))
            }
        }
    }

    fn cancel(&self, reason: &str) {
        if self.mux.pending.lock().remove(&self.id).is_some() {
            let note = Notification {
                method: "notifications/cancelled".into(),
                params: Some(to_raw(
                    &serde_json::json!({"requestId": self.id, "reason": reason}),
                )),
            };
            let _ = self.writer.try_send(Message::from(note).to_vec());
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        if !self.done {
            self.cancel("caller went away");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use gateway_core::jsonrpc::RequestId;

    type Setup = (
        Arc<Mux>,
        Identity,
        mpsc::Sender<Vec<u8>>,
        mpsc::Receiver<Vec<u8>>,
    );

    fn setup() -> Setup {
        let (tx, _) = broadcast::channel(8);
        let (wtx, wrx) = mpsc::channel(8);
        (
            Mux::new(InstanceId::parse("i").unwrap(), tx),
            Identity::new(&Options::default()),
            wtx,
            wrx,
        )
    }

    fn req(id: &str) -> Request {
        Request::new(RequestId::from(id), "tools/list", None)
    }

    #[tokio::test]
    async fn matches_responses_by_gateway_id() {
        let (mux, identity, w, _wrx) = setup();
        let (b1, c1) = mux.begin(req("same"), Era::Legacy, &identity, None, w.clone());
        let (b2, c2) = mux.begin(req("same"), Era::Legacy, &identity, None, w);
        assert_ne!(b1, b2);
        assert!(
            mux.dispatch(br#"{"jsonrpc":"2.0","id":2,"result":{"n":2}}"#)
                .is_none()
        );
        assert!(
            mux.dispatch(br#"{"jsonrpc":"2.0","id":1,"result":{"n":1}}"#)
                .is_none()
        );
        let r1 = c1.wait(Duration::from_secs(1)).await.unwrap();
        let r2 = c2.wait(Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            Message::from(r1).to_vec(),
            br#"{"jsonrpc":"2.0","id":"same","result":{"n":1}}"#
        );
        assert_eq!(
            Message::from(r2).to_vec(),
            br#"{"jsonrpc":"2.0","id":"same","result":{"n":2}}"#
        );
        assert_eq!(mux.in_flight(), 0);
    }

    #[tokio::test]
    async fn timeout_cancels_upstream() {
        let (mux, identity, w, mut wrx) = setup();
        let (_, call) = mux.begin(req("x"), Era::Legacy, &identity, None, w);
        let e = call.wait(Duration::from_millis(10)).await.unwrap_err();
        assert!(e.is_timeout());
        assert_eq!(mux.in_flight(), 0);
        let cancel = String::from_utf8(wrx.recv().await.unwrap()).unwrap();
        assert!(
            cancel.contains("notifications/cancelled") && cancel.contains(r#""requestId":1"#),
            "{cancel}"
        );
    }

    #[tokio::test]
    async fn answers_ping_and_refuses_unhandled_requests() {
        let (mux, ..) = setup();
        let pong = mux
            .dispatch(br#"{"jsonrpc":"2.0","id":"s1","method":"ping"}"#)
            .unwrap();
        assert_eq!(pong, br#"{"jsonrpc":"2.0","id":"s1","result":{}}"#);
        let refused = String::from_utf8(
            mux.dispatch(br#"{"jsonrpc":"2.0","id":5,"method":"roots/list"}"#)
                .unwrap(),
        )
        .unwrap();
        assert!(refused.contains("-32601"), "{refused}");
    }

    #[tokio::test]
    async fn fail_all_wakes_callers() {
        let (mux, identity, w, _wrx) = setup();
        let (_, call) = mux.begin(req("x"), Era::Legacy, &identity, None, w);
        mux.fail_all(&LinkClosed::Test("process exited"));
        let e = call.wait(Duration::from_secs(1)).await.unwrap_err();
        assert!(
            !e.is_unsent() && e.to_string().contains("process exited"),
            "{e}"
        );
    }
}
