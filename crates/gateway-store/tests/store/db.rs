//! Per-test databases: [`TestDb::sqlite`], [`TestDb::postgres`], [`TestDb::mysql`].

use std::{
    hash::BuildHasher,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use gateway_store::Store;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// Tried in order unless `MCP_GATEWAY_TEST_POSTGRES_URL` is set (trust auth).
const POSTGRES_URLS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
];
/// Used unless `MCP_GATEWAY_TEST_MYSQL_URL` is set.
const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A database owned by one test.
pub(crate) struct TestDb {
    /// What `Store::connect` takes.
    pub(crate) url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin: DatabaseConnection,
        schema: String,
    },
    MySql {
        admin: DatabaseConnection,
        database: String,
    },
}

impl TestDb {
    /// A new SQLite file in a temp directory (the file itself does not exist yet).
    pub(crate) fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("gateway.db").display()
        );
        TestDb {
            url,
            kind: Kind::Sqlite(dir),
        }
    }

    /// A fresh schema in the local PostgreSQL, or `None` (skipped) if none is reachable.
    pub(crate) async fn postgres() -> Option<TestDb> {
        let candidates = match std::env::var("MCP_GATEWAY_TEST_POSTGRES_URL") {
            Ok(url) => vec![url],
            Err(_) => POSTGRES_URLS.iter().map(|s| s.to_string()).collect(),
        };
        let mut failures = Vec::new();
        for base in &candidates {
            match admin(base).await {
                Ok(admin) => {
                    let schema = unique_name();
                    admin
                        .execute_unprepared(&format!("CREATE SCHEMA \"{schema}\""))
                        .await
                        .unwrap();
                    let sep = if base.contains('?') { '&' } else { '?' };
                    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                    return Some(TestDb {
                        url,
                        kind: Kind::Postgres { admin, schema },
                    });
                }
                Err(err) => failures.push(format!("{base} ({err})")),
            }
        }
        skip(&format!(
            "PostgreSQL not reachable at {}",
            failures.join(", ")
        ));
        None
    }

    /// A fresh database in the local MariaDB/MySQL, or `None` (skipped) if unreachable.
    pub(crate) async fn mysql() -> Option<TestDb> {
        let base = std::env::var("MCP_GATEWAY_TEST_MYSQL_URL").unwrap_or(MYSQL_URL.to_owned());
        let admin = match admin(&base).await {
            Ok(admin) => admin,
            Err(err) => {
                skip(&format!("MariaDB/MySQL not reachable at {base} ({err})"));
                return None;
            }
        };
        let database = unique_name();
        admin
            .execute_unprepared(&format!("CREATE DATABASE `{database}`"))
            .await
            .unwrap();
        let (server, _) = base.rsplit_once('/').unwrap();
        Some(TestDb {
            url: format!("{server}/{database}"),
            kind: Kind::MySql { admin, database },
        })
    }

    /// Which backend this is, for messages.
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite(_) => "sqlite",
            Kind::Postgres { .. } => "postgres",
            Kind::MySql { .. } => "mysql",
        }
    }

    /// A store on this database with the schema migrated.
    pub(crate) async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.unwrap();
        assert_eq!(store.backend(), self.name());
        store.migrate().await.unwrap();
        store
    }

    /// A plain sea-orm connection (for the migrator itself).
    pub(crate) async fn connection(&self) -> DatabaseConnection {
        Database::connect(&self.url).await.unwrap()
    }

    /// Drops the schema or database (the SQLite temp dir goes with `self`).
    pub(crate) async fn cleanup(self) {
        match self.kind {
            Kind::Sqlite(_) => {}
            Kind::Postgres { admin, schema } => {
                admin
                    .execute_unprepared(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
            }
            Kind::MySql { admin, database } => {
                admin
                    .execute_unprepared(&format!("DROP DATABASE `{database}`"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
            }
        }
    }
}

async fn admin(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    db.ping().await?;
    Ok(db)
}

/// Skips loudly, or fails under `MCP_GATEWAY_REQUIRE_DEPS=1` (CI).
fn skip(msg: &str) {
    if std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() == Ok("1") {
        panic!("{msg} (MCP_GATEWAY_REQUIRE_DEPS=1 turns this skip into a failure)");
    }
    eprintln!("\n!!! SKIPPED: {msg}\n");
}

/// `gw_test_<16 hex digits>`, unique across concurrent test processes.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = (
        std::process::id(),
        std::time::SystemTime::now(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
    );
    let hash = std::hash::RandomState::new().hash_one(seed);
    format!("gw_test_{hash:016x}")
}
