//! The GET stream of a shared-mode session: one task per upstream instance in scope
//! forwards `list_changed` (once per burst: every instance of a template announces the
//! same change) and resource updates (URIs prefixed on the aggregated `/mcp`).

use std::{collections::HashMap, sync::Arc, time::Instant};

use axum::body::Bytes;
use gateway_core::jsonrpc::{Message, Notification};
use tokio::sync::mpsc;

use super::{names::Namespace, scope::Scope};
use crate::registry::RoutingTable;

/// One task per upstream instance in scope, forwarding `list_changed` (once per burst:
/// every instance of a template announces the same change) and resource updates.
pub(super) fn notification_forwarders(
    table: &RoutingTable,
    scope: &Scope,
    tx: mpsc::Sender<Bytes>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let templates: Vec<Arc<str>> = match scope {
        Scope::Template(t) => vec![t.clone()],
        Scope::Aggregate(ns) => ns.templates.clone(),
    };
    let namespace = match scope {
        Scope::Aggregate(ns) => Some(ns.clone()),
        Scope::Template(_) => None,
    };
    let last_sent = Arc::new(parking_lot::Mutex::new(HashMap::<String, Instant>::new()));
    let mut tasks = Vec::new();
    for template in templates {
        let Some(route) = table.get(&template) else {
            continue;
        };
        for handle in &route.instances {
            let mut rx = handle.upstream.subscribe();
            let (tx, last_sent, namespace, template) = (
                tx.clone(),
                last_sent.clone(),
                namespace.clone(),
                template.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    let message = match rx.recv().await {
                        Ok(gateway_transport::ServerMessage::Notification(n)) => n,
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(_) => return,
                    };
                    let Some(bytes) =
                        downstream_notification(message, &template, namespace.as_ref(), &last_sent)
                    else {
                        continue;
                    };
                    if tx.send(bytes).await.is_err() {
                        return;
                    }
                }
            }));
        }
    }
    tasks
}

/// Window in which repeated `list_changed` notifications collapse into one.
const LIST_CHANGED_WINDOW: std::time::Duration = std::time::Duration::from_millis(250);

fn downstream_notification(
    n: Notification,
    template: &str,
    namespace: Option<&Namespace>,
    last_sent: &parking_lot::Mutex<HashMap<String, Instant>>,
) -> Option<Bytes> {
    if n.method.ends_with("/list_changed") {
        let now = Instant::now();
        let mut last = last_sent.lock();
        if last
            .get(&n.method)
            .is_some_and(|t| now.duration_since(*t) < LIST_CHANGED_WINDOW)
        {
            return None;
        }
        last.insert(n.method.clone(), now);
        return Some(Bytes::from(Message::from(n).to_vec()));
    }
    if n.method == "notifications/resources/updated" {
        let n = match namespace {
            Some(ns) => {
                let mut params = n
                    .params
                    .as_deref()
                    .and_then(|p| gateway_core::mcp::RawObject::parse(p).ok())?;
                let uri: String = serde_json::from_str(params.get("uri")?.get()).ok()?;
                params.insert_value("uri", &ns.outer_uri(template, &uri));
                Notification {
                    method: n.method,
                    params: Some(params.to_raw()),
                }
            }
            None => n,
        };
        return Some(Bytes::from(Message::from(n).to_vec()));
    }
    None
}
