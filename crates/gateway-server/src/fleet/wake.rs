//! What wakes the change feed before its next poll.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use futures_util::StreamExt;
use gateway_auth::RedisLink;
use gateway_store::{Store, Wake};
use tokio::sync::mpsc;

use super::FeedStatus;

/// The wait before reconnecting a lost wake source.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// PostgreSQL: `LISTEN` on the store's channel; every notification wakes the feed. A
/// lost connection is re-established, and the feed then reloads everything (whatever
/// was notified meanwhile is lost).
pub(super) fn spawn_listener(store: Store, status: Arc<FeedStatus>, wake: mpsc::Sender<()>) {
    tokio::spawn(async move {
        let mut listener = None;
        loop {
            if wake.is_closed() {
                break;
            }
            let Some(l) = listener.as_mut() else {
                match store.listen_changes().await {
                    Ok(Some(l)) => {
                        listener = Some(l);
                        status.listening.store(true, Ordering::Relaxed);
                        tracing::debug!("change feed: listening for PostgreSQL notifications");
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "change feed: cannot LISTEN; polling meanwhile");
                        tokio::time::sleep(RECONNECT_AFTER).await;
                    }
                }
                continue;
            };
            match l.next().await {
                Ok(Wake::Changed(_)) => {
                    let _ = wake.try_send(());
                }
                Ok(Wake::Reconnected) => {
                    tracing::info!(
                        "change feed: LISTEN connection re-established; resynchronising"
                    );
                    status.listening.store(true, Ordering::Relaxed);
                    status.resync.store(true, Ordering::Relaxed);
                    let _ = wake.try_send(());
                }
                Err(e) => {
                    if status.listening.swap(false, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "change feed: LISTEN connection lost; polling until it is back");
                    }
                    tokio::time::sleep(RECONNECT_AFTER).await;
                }
            }
        }
    });
}

/// MySQL/SQLite with Redis: this replica publishes the version of each change it
/// commits on `{prefix}changes`, and every replica's subscription wakes its feed.
pub(super) fn spawn_redis(
    store: &Store,
    link: Arc<RedisLink>,
    status: Arc<FeedStatus>,
    wake: mpsc::Sender<()>,
) {
    let channel = link.key("changes");
    // Publishing: the commit hook must not block, so versions go through a queue.
    let (publish_tx, mut publish_rx) = mpsc::channel::<i64>(64);
    store.on_change(move |version| {
        let _ = publish_tx.try_send(version);
    });
    {
        let link = link.clone();
        let channel = channel.clone();
        tokio::spawn(async move {
            while let Some(version) = publish_rx.recv().await {
                let mut conn = link.connection();
                let sent = tokio::time::timeout(
                    Duration::from_millis(500),
                    redis::cmd("PUBLISH")
                        .arg(&channel)
                        .arg(version)
                        .query_async::<i64>(&mut conn),
                )
                .await;
                if !matches!(sent, Ok(Ok(_))) {
                    // Other replicas find the change at their next poll.
                    link.mark_down("publish failed");
                }
            }
        });
    }
    tokio::spawn(async move {
        loop {
            if wake.is_closed() {
                break;
            }
            let pubsub = match link.client().get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => Some(pubsub),
                    Err(_) => None,
                },
                Err(_) => None,
            };
            let Some(pubsub) = pubsub else {
                status.subscribed.store(false, Ordering::Relaxed);
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            };
            status.subscribed.store(true, Ordering::Relaxed);
            // Wake-ups may have been missed while unsubscribed: look now.
            let _ = wake.try_send(());
            let mut messages = pubsub.into_on_message();
            while messages.next().await.is_some() {
                let _ = wake.try_send(());
            }
            status.subscribed.store(false, Ordering::Relaxed);
            tracing::warn!("change feed: Redis subscription lost; polling until it is back");
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
}
