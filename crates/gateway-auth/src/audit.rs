//! [`Auditor`]: the audit log, written in the background so the request path never waits
//! for the database.
//!
//! Events go through a bounded queue to one writer task, which inserts them in batches.
//! If the queue is full (the database is down or far behind) events are dropped with a
//! warning rather than slowing requests. Each event is also logged at `info` under the
//! `audit` target. Events hold names, ids, addresses and outcomes, never secrets.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use gateway_store::{AuditRecord, Store};
use tokio::{sync::mpsc, sync::oneshot, task::JoinHandle};

/// Queue capacity.
const QUEUE: usize = 4096;
/// Most events per insert.
const BATCH: usize = 256;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It failed (bad credentials, invalid input, not found).
    Failure,
    /// It was refused for lack of permission.
    Denied,
}

impl Outcome {
    /// `success`, `failure` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One thing to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// `user:NAME`, `key:ID`, or `None` when nobody was authenticated.
    pub actor: Option<String>,
    /// What (`login`, `user.create`, `api_key.revoke`, `instance.register`, `authz.deny` …).
    pub action: &'static str,
    /// On what.
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The client's address.
    pub client_addr: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
}

enum Message {
    Event(AuditRecord),
    Flush(oneshot::Sender<()>),
}

/// A handle on the audit writer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Auditor {
    queue: mpsc::Sender<Message>,
    /// Events dropped because the queue was full.
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl Auditor {
    /// Starts the writer task (it ends when every handle is dropped).
    pub fn spawn(store: Store) -> (Auditor, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_loop(store, rx));
        (
            Auditor {
                queue: tx,
                dropped: Arc::default(),
            },
            task,
        )
    }

    /// Queues `event` (never waits).
    pub fn record(&self, event: AuditEvent) {
        tracing::info!(
            target: "audit",
            action = event.action,
            actor = event.actor.as_deref().unwrap_or("-"),
            target = event.target.as_deref().unwrap_or("-"),
            outcome = event.outcome.as_str(),
            client = event.client_addr.as_deref().unwrap_or("-"),
            request_id = event.request_id.as_deref().unwrap_or("-"),
            "audit"
        );
        let record = AuditRecord {
            id: 0,
            at_ms: now_ms(),
            actor: event.actor,
            action: event.action.to_owned(),
            target: event.target,
            outcome: event.outcome.as_str().to_owned(),
            client_addr: event.client_addr,
            request_id: event.request_id,
        };
        if self.queue.try_send(Message::Event(record)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(action = event.action, "audit queue full: event dropped");
        }
    }

    /// Events dropped so far because the queue was full (monotonic).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until everything queued before this call is written (or dropped).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Message::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<Message>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiting = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Event(record) => batch.push(record),
                Message::Flush(done) => waiting.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.insert_audit_events(&batch).await {
                tracing::warn!(error = %e, events = batch.len(), "cannot write audit events");
            }
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use gateway_store::AuditFilter;

    use super::*;

    #[tokio::test]
    async fn events_reach_the_store() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let (auditor, task) = Auditor::spawn(store.clone());
        for i in 0..600 {
            auditor.record(AuditEvent {
                actor: Some(format!("user:u{i}")),
                action: "login",
                target: None,
                outcome: Outcome::Failure,
                client_addr: Some("127.0.0.1".into()),
                request_id: None,
            });
        }
        auditor.flush().await;
        let filter = AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        };
        let events = store.list_audit_events(&filter).await.unwrap();
        assert_eq!(events.len(), 600);
        assert_eq!(events[0].actor.as_deref(), Some("user:u599"));
        assert_eq!(events[0].outcome, "failure");
        drop(auditor);
        task.await.unwrap();
    }
}
