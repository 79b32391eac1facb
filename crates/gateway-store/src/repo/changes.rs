//! The change feed (`gateway_changes`, `gateway_change_counter`): every write that other
//! replicas must apply (templates, instances, users, API keys) records a [`Change`] in
//! the same transaction.
//!
//! Each such transaction first bumps the counter row, which stays locked until commit, so
//! versions commit in order and have no gaps: a replica that has applied version N has
//! seen every change up to N. Readers poll [`Store::change_version`] and read
//! [`Store::changes_after`]; on PostgreSQL the transaction also sends a `NOTIFY` (see
//! [`ChangeListener`]), delivered at commit, so replicas need not wait for their next poll.

mod listen;

use std::sync::Arc;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use tracing::instrument;

pub use listen::{ChangeListener, Wake};

use crate::{
    Store,
    entity::change::{self, counter},
    error::{Error, Result},
    store::now_ms,
};

/// The counter's only row.
const COUNTER_ID: i32 = 1;
/// Longest kind name the column holds.
const TABLE: &str = "gateway_changes";

/// What a [`Change`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A template's settings (or the template itself) changed; `template` names it.
    Template,
    /// A template's settings changed and its upstream TLS files were re-read (replicas
    /// reload them even when the paths are the same).
    TemplateTls,
    /// An instance was registered or deregistered; `template` names its template and
    /// `subject` its id.
    Instance,
    /// A user was created, changed (password, role, templates, active flag) or deleted;
    /// `subject` is the user name.
    User,
    /// An API key was created or revoked; `subject` is its id.
    ApiKey,
    /// A kind this version does not know (written by a newer one): reload everything.
    Other,
}

impl ChangeKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Template => "template",
            ChangeKind::TemplateTls => "template_tls",
            ChangeKind::Instance => "instance",
            ChangeKind::User => "user",
            ChangeKind::ApiKey => "api_key",
            ChangeKind::Other => "other",
        }
    }

    fn parse(s: &str) -> ChangeKind {
        match s {
            "template" => ChangeKind::Template,
            "template_tls" => ChangeKind::TemplateTls,
            "instance" => ChangeKind::Instance,
            "user" => ChangeKind::User,
            "api_key" => ChangeKind::ApiKey,
            _ => ChangeKind::Other,
        }
    }
}

/// One committed change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its position in the feed (1, 2, 3 … without gaps).
    pub version: i64,
    /// What changed.
    pub kind: ChangeKind,
    /// The template involved (templates and instances).
    pub template: Option<String>,
    /// The instance id, user name or key id (the template name for templates).
    pub subject: String,
    /// When it was committed (Unix ms, the writer's clock).
    pub at_ms: i64,
}

/// Called after each change this process commits, with its version.
pub(crate) type CommitHook = Box<dyn Fn(i64) + Send + Sync>;

/// A transaction that will record one change; the counter is already bumped (and locked).
pub(crate) struct ChangeTxn {
    txn: DatabaseTransaction,
    version: i64,
}

impl ChangeTxn {
    /// The transaction, for the change's own statements.
    pub(crate) fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Abandons the change (and everything written in the transaction).
    pub(crate) async fn rollback(self) -> Result<()> {
        self.txn.rollback().await?;
        Ok(())
    }
}

impl Store {
    /// Starts a transaction that records a change: bumps the counter first, so that on
    /// SQLite the write lock is taken at once and elsewhere change transactions queue
    /// behind each other (commit order = version order).
    pub(crate) async fn begin_change(&self) -> Result<ChangeTxn> {
        let txn = self.db().begin().await?;
        counter::Entity::update_many()
            .col_expr(
                counter::Column::Version,
                Expr::col(counter::Column::Version).add(1),
            )
            .filter(counter::Column::Id.eq(COUNTER_ID))
            .exec(&txn)
            .await?;
        let version = counter::Entity::find_by_id(COUNTER_ID)
            .one(&txn)
            .await?
            .ok_or_else(|| {
                Error::corrupt(TABLE, "counter", "version", "the counter row is missing")
            })?
            .version;
        Ok(ChangeTxn { txn, version })
    }

    /// Records the change, wakes listening replicas (PostgreSQL `NOTIFY`, delivered at
    /// commit), commits, then tells this process's hook.
    pub(crate) async fn commit_change(
        &self,
        txn: ChangeTxn,
        kind: ChangeKind,
        template: Option<&str>,
        subject: &str,
    ) -> Result<()> {
        let ChangeTxn { txn, version } = txn;
        change::Entity::insert(change::ActiveModel {
            version: Set(version),
            kind: Set(kind.as_str().to_owned()),
            template: Set(template.map(str::to_owned)),
            subject: Set(subject.to_owned()),
            at_ms: Set(now_ms()),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some(channel) = &self.shared.notify_channel {
            // The one PostgreSQL-only statement here: NOTIFY has no portable form.
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [channel.as_str().into(), version.to_string().into()],
            ))
            .await?;
        }
        txn.commit().await?;
        if let Some(hook) = self.shared.hook.get() {
            hook(version);
        }
        Ok(())
    }

    /// The latest committed change version (0 before the first change).
    #[instrument(level = "trace", skip_all)]
    pub async fn change_version(&self) -> Result<i64> {
        Ok(counter::Entity::find_by_id(COUNTER_ID)
            .one(self.db())
            .await?
            .map_or(0, |row| row.version))
    }

    /// Up to `limit` changes after version `after`, oldest first. A first change whose
    /// version is not `after + 1` means the ones between were pruned.
    #[instrument(level = "debug", skip_all, fields(after))]
    pub async fn changes_after(&self, after: i64, limit: u64) -> Result<Vec<Change>> {
        let rows = change::Entity::find()
            .filter(change::Column::Version.gt(after))
            .order_by_asc(change::Column::Version)
            .limit(limit)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Change {
                version: row.version,
                kind: ChangeKind::parse(&row.kind),
                template: row.template,
                subject: row.subject,
                at_ms: row.at_ms,
            })
            .collect())
    }

    /// Deletes changes committed before `before_ms` (Unix ms); returns how many.
    #[instrument(level = "debug", skip_all)]
    pub async fn prune_changes(&self, before_ms: i64) -> Result<u64> {
        let result = change::Entity::delete_many()
            .filter(change::Column::AtMs.lt(before_ms))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }

    /// Calls `hook` with the version of every change this process commits from now on
    /// (to publish it to other replicas). Only the first hook set is kept.
    pub fn on_change(&self, hook: impl Fn(i64) + Send + Sync + 'static) {
        let _ = self.shared.hook.set(Box::new(hook));
    }

    /// Whether this database can wake replicas itself (PostgreSQL `LISTEN/NOTIFY`).
    pub fn notifies_changes(&self) -> bool {
        self.shared.notify_channel.is_some()
    }

    /// On PostgreSQL, a listener woken by every committed change (see
    /// [`ChangeListener`]); `None` on other databases, which are polled.
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>> {
        let Some(channel) = &self.shared.notify_channel else {
            return Ok(None);
        };
        ChangeListener::connect(self.db().get_postgres_connection_pool(), channel)
            .await
            .map(Some)
    }
}

/// The `NOTIFY` channel of the database and schema `url` points at: channels are global
/// to a PostgreSQL database, so gateways in different schemas (tests, or two fleets on one
/// server) must not share one. A stable hash keeps the name within PostgreSQL's 63 bytes.
pub(crate) async fn notify_channel(db: &sea_orm::DatabaseConnection) -> Result<String> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database() || '.' || coalesce(current_schema(), '') AS scope",
        ))
        .await?
        .ok_or_else(|| Error::corrupt(TABLE, "scope", "current_schema", "no answer"))?;
    let scope: String = row.try_get("", "scope")?;
    Ok(format!(
        "mcp_gateway_changes_{:016x}",
        fnv1a(scope.as_bytes())
    ))
}

/// FNV-1a, 64 bits: stable across processes and versions (unlike `DefaultHasher`).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Shared by every clone of a [`Store`].
#[derive(Default)]
pub(crate) struct ChangeShared {
    /// PostgreSQL only.
    pub(crate) notify_channel: Option<String>,
    pub(crate) hook: std::sync::OnceLock<CommitHook>,
}

/// `Arc` so that clones share the hook.
pub(crate) type SharedState = Arc<ChangeShared>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_mean_reload() {
        for kind in [
            ChangeKind::Template,
            ChangeKind::TemplateTls,
            ChangeKind::Instance,
            ChangeKind::User,
            ChangeKind::ApiKey,
        ] {
            assert_eq!(ChangeKind::parse(kind.as_str()), kind);
            assert!(kind.as_str().len() <= 16, "fits the column");
        }
        assert_eq!(ChangeKind::parse("role"), ChangeKind::Other);
    }

    #[test]
    fn channel_hash_is_stable() {
        // Known FNV-1a 64 values: the channel name must not change between versions.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
