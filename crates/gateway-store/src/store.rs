//! [`Store`]: the connection pool, migrations and health.

use std::fmt;

use std::time::Duration;

use gateway_migrations::{Migrator, MigratorTrait};
use sea_orm::{
    DatabaseConnection, DbBackend, DbErr, RuntimeErr,
    sqlx::{self, Row as _},
};

use crate::{
    connect,
    error::{Error, Result},
    repo::changes::{ChangeShared, SharedState, notify_channel},
};

/// How long `migrate` waits for another replica's migration before giving up.
const MIGRATE_LOCK_WAIT: Duration = Duration::from_secs(600);
/// How often it asks for the PostgreSQL lock meanwhile.
const MIGRATE_LOCK_POLL: Duration = Duration::from_millis(200);
/// The first key of the PostgreSQL advisory lock around migrations (the second is the
/// schema's hash, so fleets in other schemas do not wait for each other).
const PG_MIGRATE_LOCK: i32 = 0x6d63_7067; // "mcpg"

/// One migration and whether it is applied ([`Store::migration_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// Its name, `mYYYYMMDD_HHMMSS_<verb>_<table>`.
    pub name: String,
    /// Whether the database has it.
    pub applied: bool,
}

/// A handle on the gateway database. Cheap to clone: clones share one connection pool.
///
/// Templates and instances are read and written with core types only; see the methods in
/// the `repo` modules ([`Store::upsert_template`], [`Store::insert_instance`], ...).
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    pub(crate) shared: SharedState,
}

impl Store {
    /// Connects to a `sqlite:`, `postgres:` (or `postgresql:`) or `mysql:` URL.
    ///
    /// SQLite files (and their parent directories) are created when missing unless the
    /// URL asks for another `mode`; connections use WAL, `synchronous=FULL` (an
    /// acknowledged write survives a crash), foreign keys and a 5 s busy timeout.
    /// `sqlite::memory:` is a private database that lives as long as the `Store`.
    pub async fn connect(url: &str) -> Result<Store> {
        let db = connect::open(url).await?;
        let notify_channel = match db.get_database_backend() {
            DbBackend::Postgres => Some(notify_channel(&db).await?),
            _ => None,
        };
        let store = Store {
            db,
            shared: std::sync::Arc::new(ChangeShared {
                notify_channel,
                ..ChangeShared::default()
            }),
        };
        tracing::debug!(backend = store.backend(), "connected to the database");
        Ok(store)
    }

    /// Applies pending migrations. Idempotent: with nothing pending it only checks.
    ///
    /// Safe when several replicas start at once: on PostgreSQL the migrations run under
    /// an advisory lock (per schema), on MySQL/MariaDB under `GET_LOCK` (per database),
    /// so one replica migrates while the others wait and then find nothing pending.
    /// SQLite serialises writers itself (one host).
    pub async fn migrate(&self) -> Result<()> {
        match self.db.get_database_backend() {
            DbBackend::Postgres => self.migrate_locked_pg().await,
            DbBackend::MySql => self.migrate_locked_mysql().await,
            _ => {
                Migrator::up(&self.db, None).await?;
                Ok(())
            }
        }
    }

    /// Every migration this version knows, in order, and whether it is applied. Fails
    /// when the database has migrations this version does not know (a newer version
    /// migrated it). Creates nothing.
    pub async fn migration_status(&self) -> Result<Vec<MigrationState>> {
        let migrations = Migrator::get_migration_with_status_read_only(&self.db).await?;
        Ok(migrations
            .iter()
            .map(|m| MigrationState {
                name: m.name().to_owned(),
                applied: m.status() == gateway_migrations::MigrationStatus::Applied,
            })
            .collect())
    }

    // Lock statements have no portable form: the two below are the only dialect SQL
    // besides the change feed's NOTIFY/LISTEN.
    async fn migrate_locked_pg(&self) -> Result<()> {
        let pool = self.db.get_postgres_connection_pool();
        let mut conn = pool.acquire().await.map_err(sqlx_error)?;
        let deadline = std::time::Instant::now() + MIGRATE_LOCK_WAIT;
        loop {
            let row = sqlx::query(
                "SELECT pg_try_advisory_lock($1, hashtext(coalesce(current_schema(), ''))) AS locked",
            )
            .bind(PG_MIGRATE_LOCK)
            .fetch_one(&mut *conn)
            .await
            .map_err(sqlx_error)?;
            if row.try_get::<bool, _>("locked").map_err(sqlx_error)? {
                break;
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::Invalid {
                    what: "migration lock",
                    reason: "another process held it for 10 minutes",
                });
            }
            tracing::info!("another replica is migrating the database; waiting");
            tokio::time::sleep(MIGRATE_LOCK_POLL).await;
        }
        let result = Migrator::up(&self.db, None).await;
        let unlock =
            sqlx::query("SELECT pg_advisory_unlock($1, hashtext(coalesce(current_schema(), '')))")
                .bind(PG_MIGRATE_LOCK)
                .execute(&mut *conn)
                .await;
        result?;
        if let Err(e) = unlock {
            // The lock goes with the connection: close it rather than pool it.
            tracing::warn!(error = %e, "cannot release the migration lock; dropping the connection");
            conn.close_on_drop();
        }
        Ok(())
    }

    async fn migrate_locked_mysql(&self) -> Result<()> {
        let pool = self.db.get_mysql_connection_pool();
        let mut conn = pool.acquire().await.map_err(sqlx_error)?;
        let lock_name = "CONCAT('mcp_gateway_migrate_', MD5(COALESCE(DATABASE(), '')))";
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT GET_LOCK({lock_name}, ?) AS locked"
        )))
        .bind(MIGRATE_LOCK_WAIT.as_secs())
        .fetch_one(&mut *conn)
        .await
        .map_err(sqlx_error)?;
        if row
            .try_get::<Option<i64>, _>("locked")
            .map_err(sqlx_error)?
            != Some(1)
        {
            return Err(Error::Invalid {
                what: "migration lock",
                reason: "another process held it for 10 minutes",
            });
        }
        let result = Migrator::up(&self.db, None).await;
        let unlock = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT RELEASE_LOCK({lock_name})"
        )))
        .execute(&mut *conn)
        .await;
        result?;
        if let Err(e) = unlock {
            tracing::warn!(error = %e, "cannot release the migration lock; dropping the connection");
            conn.close_on_drop();
        }
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

fn sqlx_error(e: sqlx::Error) -> Error {
    Error::Backend(DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(e))))
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
