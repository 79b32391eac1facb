//! `mcpp gateway db migrate|status`: the schema of the gateway's database, without a
//! running gateway. `migrate` is what every gateway also does at start-up (under a lock,
//! so replicas starting together do not collide); running it first, as a job, lets a
//! rolling upgrade start new replicas on an already-migrated database.

use gateway_store::{MigrationState, Store};

use crate::{config::Settings, offline::OfflineError};

/// What `db status` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatabaseStatus {
    /// `sqlite`, `postgres` or `mysql`.
    pub backend: &'static str,
    /// Every migration this version knows, in order.
    pub migrations: Vec<MigrationStatusRow>,
    /// The change feed's latest version (`None` before its migration is applied).
    pub change_version: Option<i64>,
}

/// One migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatusRow {
    /// `mYYYYMMDD_HHMMSS_<verb>_<table>`.
    pub name: String,
    /// Whether the database has it.
    pub applied: bool,
}

impl DatabaseStatus {
    /// Migrations not applied yet.
    pub fn pending(&self) -> usize {
        self.migrations.iter().filter(|m| !m.applied).count()
    }
}

/// Applies pending migrations to the database of `settings`; returns the status after.
pub async fn migrate_database(settings: &Settings) -> Result<DatabaseStatus, OfflineError> {
    let store = open(settings).await?;
    let result = async {
        store.migrate().await?;
        status_of(&store).await
    }
    .await;
    let _ = store.close().await;
    result.map_err(OfflineError::Database)
}

/// The migrations applied to the database of `settings` (creates nothing).
pub async fn database_status(settings: &Settings) -> Result<DatabaseStatus, OfflineError> {
    let store = open(settings).await?;
    let result = status_of(&store).await;
    let _ = store.close().await;
    result.map_err(OfflineError::Database)
}

async fn open(settings: &Settings) -> Result<Store, OfflineError> {
    Store::connect(&settings.database_url)
        .await
        .map_err(OfflineError::Database)
}

async fn status_of(store: &Store) -> gateway_store::Result<DatabaseStatus> {
    let migrations: Vec<MigrationState> = store.migration_status().await?;
    let feed_ready = migrations
        .iter()
        .any(|m| m.name == "m20261210_000001_create_changes" && m.applied);
    let change_version = match feed_ready {
        true => Some(store.change_version().await?),
        false => None,
    };
    Ok(DatabaseStatus {
        backend: store.backend(),
        migrations: migrations
            .into_iter()
            .map(|m| MigrationStatusRow {
                name: m.name,
                applied: m.applied,
            })
            .collect(),
        change_version,
    })
}
