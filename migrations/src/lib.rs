//! Schema migrations of the MCP gateway's database, one append-only file per change.
//!
//! The same code runs on SQLite, PostgreSQL and MySQL/MariaDB: every migration uses the
//! sea-query schema builder, never raw SQL. `gateway-store` runs them through
//! [`Migrator`]; applied migrations are recorded in the `gateway_migrations` table.
//!
//! ```no_run
//! use gateway_migrations::{Migrator, MigratorTrait};
//! # async fn run(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Result<(), sea_orm_migration::DbErr> {
//! Migrator::up(db, None).await?; // apply what is pending
//! # Ok(())
//! # }
//! ```
//!
//! Naming: `mYYYYMMDD_HHMMSS_<verb>_<table>.rs`. A shipped migration is never edited; a
//! change to the schema is a new file appended to [`Migrator::migrations`].

mod m20261124_000001_create_templates;
mod m20261124_000002_create_instances;
mod m20261124_000003_create_users;
mod m20261124_000004_create_api_keys;
mod m20261124_000005_create_audit_events;
mod m20261124_000006_create_secrets;
mod m20261124_000007_add_template_health_probe;
mod m20261124_000008_add_template_session_mode;
mod m20261202_000001_add_template_upstream_tls;
mod m20261210_000001_create_changes;
mod m20261211_000001_add_template_upstream_auth;
mod m20261212_000001_add_template_upstream_limits;
mod mysql;
mod template_column;

use sea_orm_migration::prelude::*;
pub use sea_orm_migration::{MigrationStatus, MigratorTrait};

/// Every migration of the gateway schema, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_templates::Migration),
            Box::new(m20261124_000002_create_instances::Migration),
            Box::new(m20261124_000003_create_users::Migration),
            Box::new(m20261124_000004_create_api_keys::Migration),
            Box::new(m20261124_000005_create_audit_events::Migration),
            Box::new(m20261124_000006_create_secrets::Migration),
            Box::new(m20261124_000007_add_template_health_probe::Migration),
            Box::new(m20261124_000008_add_template_session_mode::Migration),
            Box::new(m20261202_000001_add_template_upstream_tls::Migration),
            Box::new(m20261210_000001_create_changes::Migration),
            Box::new(m20261211_000001_add_template_upstream_auth::Migration),
            Box::new(m20261212_000001_add_template_upstream_limits::Migration),
        ]
    }

    /// `gateway_migrations`, so the gateway can share a database (or a PostgreSQL schema)
    /// with another sea-orm application without mixing up their migration records.
    fn migration_table_name() -> DynIden {
        Alias::new("gateway_migrations").into_iden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_named_and_ordered() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "m20261124_000001_create_templates",
                "m20261124_000002_create_instances",
                "m20261124_000003_create_users",
                "m20261124_000004_create_api_keys",
                "m20261124_000005_create_audit_events",
                "m20261124_000006_create_secrets",
                "m20261124_000007_add_template_health_probe",
                "m20261124_000008_add_template_session_mode",
                "m20261202_000001_add_template_upstream_tls",
                "m20261210_000001_create_changes",
                "m20261211_000001_add_template_upstream_auth",
                "m20261212_000001_add_template_upstream_limits",
            ]
        );
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "migrations must be appended in time order");
    }
}
