//! The change feed's loop: wait (poll interval, or a wake-up), read what changed since
//! the last applied version, apply it.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Weak, atomic::Ordering},
    time::{Duration, Instant},
};

use gateway_auth::Authenticator;
use gateway_core::TemplateName;
use gateway_store::{Change, ChangeKind, Store};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::FeedStatus;
use crate::registry::Registry;

/// With a wake source connected, the poll is only a safety net.
const SAFETY_NET: Duration = Duration::from_secs(5);
/// Changes read per query.
const BATCH: u64 = 500;
/// How long applied changes are kept in the database (a replica that is behind by more
/// reloads everything).
const RETENTION: Duration = Duration::from_secs(3600);
/// How often this replica prunes old changes.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub(super) struct ChangeFeed {
    pub(super) store: Store,
    pub(super) registry: Weak<Registry>,
    pub(super) authenticator: Option<Weak<Authenticator>>,
    pub(super) status: Arc<FeedStatus>,
    pub(super) poll: Duration,
}

/// Why a catch-up stopped.
enum Stop {
    /// The database failed; try again at the next tick.
    Failed(String),
    /// The registry is gone (the server was dropped).
    Gone,
}

impl ChangeFeed {
    pub(super) fn spawn(self, mut wake: mpsc::Receiver<()>, _keep: mpsc::Sender<()>) {
        let run = async move {
            // `_keep` holds the channel open when no wake source is running.
            let _keep = _keep;
            let mut last_prune = Instant::now();
            let mut failing = false;
            let mut first = true;
            loop {
                // The first catch-up runs at once: readiness waits for it.
                if !std::mem::take(&mut first) {
                    let wait = if self.status.wake_source() == "poll" {
                        self.poll
                    } else {
                        SAFETY_NET
                    };
                    tokio::select! {
                        _ = wake.recv() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                match self.catch_up().await {
                    Ok(()) => {
                        if failing {
                            tracing::info!("change feed: database reachable again");
                            failing = false;
                        }
                    }
                    Err(Stop::Gone) => break,
                    Err(Stop::Failed(error)) => {
                        if !failing {
                            tracing::warn!(%error, "change feed: cannot read the database's changes; retrying");
                            failing = true;
                        }
                    }
                }
                if last_prune.elapsed() >= PRUNE_EVERY {
                    last_prune = Instant::now();
                    self.prune().await;
                }
            }
        };
        tokio::spawn(run.instrument(tracing::info_span!("change_feed")));
    }

    async fn prune(&self) {
        let horizon =
            crate::registry::now_ms() - i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        match self.store.prune_changes(horizon).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "change feed: old changes pruned"),
            Err(e) => tracing::debug!(error = %e, "change feed: cannot prune"),
        }
    }

    /// Reads and applies everything after the last applied version.
    async fn catch_up(&self) -> Result<(), Stop> {
        let failed = |e: gateway_store::Error| Stop::Failed(e.to_string());
        loop {
            let seen = self.status.version.load(Ordering::Relaxed);
            let latest = self.store.change_version().await.map_err(failed)?;
            *self.status.last_sync.lock() = Some(Instant::now());
            if self.status.resync.swap(false, Ordering::Relaxed) || latest < seen {
                // A wake source reconnected (notifications may be lost), or the
                // database went back in time (restored from a backup).
                return self.resync(latest, "reconnected or restored").await;
            }
            if latest == seen {
                self.status.synced_once.store(true, Ordering::Relaxed);
                return Ok(());
            }
            let batch = self
                .store
                .changes_after(seen, BATCH)
                .await
                .map_err(failed)?;
            match batch.first() {
                Some(first) if first.version == seen + 1 => {}
                _ => {
                    return self
                        .resync(latest, "changes pruned before they were read")
                        .await;
                }
            }
            self.apply(&batch).await?;
            if let Some(last) = batch.last() {
                self.status.version.store(last.version, Ordering::Relaxed);
            }
        }
    }

    /// Applies a batch: each template reconciled once, each user or key forgotten once.
    async fn apply(&self, batch: &[Change]) -> Result<(), Stop> {
        let registry = self.registry.upgrade().ok_or(Stop::Gone)?;
        let mut templates: BTreeMap<TemplateName, bool> = BTreeMap::new();
        let mut users = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for change in batch {
            match change.kind {
                ChangeKind::Template | ChangeKind::TemplateTls | ChangeKind::Instance => {
                    let Some(name) = change
                        .template
                        .as_deref()
                        .and_then(|t| TemplateName::parse(t).ok())
                    else {
                        continue;
                    };
                    let reload = change.kind == ChangeKind::TemplateTls;
                    *templates.entry(name).or_default() |= reload;
                }
                ChangeKind::User => {
                    users.insert(change.subject.as_str());
                }
                ChangeKind::ApiKey => {
                    keys.insert(change.subject.as_str());
                }
                _ => {
                    let latest = batch.last().map_or(0, |c| c.version);
                    return self
                        .resync(latest, "a change of a kind this version does not know")
                        .await;
                }
            }
        }
        if let Some(auth) = self.authenticator.as_ref().and_then(Weak::upgrade) {
            for user in &users {
                auth.forget_user(user);
            }
            for key in &keys {
                auth.forget_key(key);
            }
        }
        for (template, reload_tls) in &templates {
            registry
                .reconcile(template, *reload_tls)
                .await
                .map_err(|e| Stop::Failed(e.to_string()))?;
        }
        if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
            tracing::debug!(
                from = first.version,
                to = last.version,
                templates = templates.len(),
                users = users.len(),
                keys = keys.len(),
                "change feed: applied"
            );
        }
        Ok(())
    }

    /// Reloads everything and continues from `latest`.
    async fn resync(&self, latest: i64, why: &'static str) -> Result<(), Stop> {
        let registry = self.registry.upgrade().ok_or(Stop::Gone)?;
        tracing::info!(
            why,
            version = latest,
            "change feed: reloading every template, user and key"
        );
        if let Some(auth) = self.authenticator.as_ref().and_then(Weak::upgrade) {
            auth.forget_all();
        }
        registry
            .reconcile_all()
            .await
            .map_err(|e| Stop::Failed(e.to_string()))?;
        self.status.version.store(latest, Ordering::Relaxed);
        self.status.synced_once.store(true, Ordering::Relaxed);
        Ok(())
    }
}
