//! [`Store`]: the connection pool, migrations and health.

use std::fmt;

use gateway_migrations::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbBackend};

use crate::{connect, error::Result};

/// A handle on the gateway database. Cheap to clone: clones share one connection pool.
///
/// Templates and instances are read and written with core types only; see the methods in
/// the `repo` modules ([`Store::upsert_template`], [`Store::insert_instance`], ...).
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
}

impl Store {
    /// Connects to a `sqlite:`, `postgres:` (or `postgresql:`) or `mysql:` URL.
    ///
    /// SQLite files (and their parent directories) are created when missing unless the
    /// URL asks for another `mode`; connections use WAL, `synchronous=FULL` (an
    /// acknowledged write survives a crash), foreign keys and a 5 s busy timeout.
    /// `sqlite::memory:` is a private database that lives as long as the `Store`.
    pub async fn connect(url: &str) -> Result<Store> {
        let store = Store {
            db: connect::open(url).await?,
        };
        tracing::debug!(backend = store.backend(), "connected to the database");
        Ok(store)
    }

    /// Applies pending migrations. Idempotent: with nothing pending it only checks.
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Checks that the database answers (for the health endpoint).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await?;
        Ok(())
    }

    /// `"sqlite"`, `"postgres"` or `"mysql"` (MariaDB included).
    pub fn backend(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => "sqlite",
            DbBackend::Postgres => "postgres",
            DbBackend::MySql => "mysql",
            // `DbBackend` is non-exhaustive; `connect` only accepts the three above.
            _ => "unknown",
        }
    }

    /// Closes every pooled connection. Later calls on any clone fail.
    pub async fn close(&self) -> Result<()> {
        self.db.close_by_ref().await?;
        Ok(())
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }
}

impl fmt::Debug for Store {
    /// Shows the backend only: the connection's URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Now, as Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
