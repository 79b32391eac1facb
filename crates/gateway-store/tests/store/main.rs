//! Black-box tests of `gateway-store` against real databases: SQLite always, and
//! PostgreSQL and MariaDB/MySQL when reachable (a loud `!!! SKIPPED` line otherwise, or a
//! failure with `MCP_GATEWAY_REQUIRE_DEPS=1`).
//!
//! Every test gets its own database: a temp SQLite file, a fresh PostgreSQL schema or a
//! fresh MariaDB database, dropped at the end, so tests run in parallel.

// Helpers outside `#[test]` functions (setup, scenarios) fail the test by panicking; clippy's
// allow-unwrap-in-tests only covers the test functions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth_scenarios;
mod changes;
mod db;
mod migrations;
mod mysql;
mod postgres;
mod scenarios;
mod sqlite;

/// One test per scenario on the backend that `$db` (an `Option<TestDb>`) provides;
/// `None` means the backend was skipped.
#[macro_export]
macro_rules! backend_tests {
    ($db:expr) => {
        async fn run_scenario<F, Fut>(scenario: F)
        where
            F: FnOnce(gateway_store::Store) -> Fut,
            Fut: std::future::Future<Output = gateway_store::Store>,
        {
            let Some(db) = $db else { return };
            let store = db.store().await;
            store.migrate().await.unwrap(); // twice: idempotent
            let store = scenario(store).await;
            store.close().await.unwrap();
            db.cleanup().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn round_trip() {
            run_scenario(|s| async move {
                $crate::scenarios::round_trip(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn conflicts() {
            run_scenario(|s| async move {
                $crate::scenarios::conflicts(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn cascade() {
            run_scenario(|s| async move {
                $crate::scenarios::cascade(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn settings() {
            run_scenario(|s| async move {
                $crate::scenarios::settings(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn users_keys_audit_and_secrets() {
            run_scenario(|s| async move {
                $crate::auth_scenarios::users_keys_audit_and_secrets(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn changes_are_recorded_in_order() {
            run_scenario(|s| async move {
                $crate::changes::every_write_is_recorded_in_order(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_writers_get_distinct_versions() {
            run_scenario(|s| async move {
                $crate::changes::concurrent_writers_get_distinct_versions(&s).await;
                s
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn migrations_up_down_up() {
            let Some(db) = $db else { return };
            $crate::migrations::up_down_up(&db).await;
            db.cleanup().await;
        }
    };
}
