use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::*;

async fn pragma<T: sea_orm::TryGetable>(store: &Store, name: &str) -> T {
    let row = store
        .db()
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index(0).unwrap()
}

#[tokio::test]
async fn sqlite_files_are_durable_and_enforce_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::connect::sqlite_url(&dir.path().join("gateway.db"));
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(pragma::<String>(&store, "journal_mode").await, "wal");
    assert_eq!(pragma::<i32>(&store, "synchronous").await, 2, "FULL");
    assert_eq!(pragma::<i32>(&store, "foreign_keys").await, 1);
    assert_eq!(pragma::<i32>(&store, "busy_timeout").await, 5000);
    assert_eq!(format!("{store:?}"), r#"Store { backend: "sqlite", .. }"#);
}

#[tokio::test]
async fn sqlite_memory_enforces_foreign_keys() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(pragma::<i32>(&store, "foreign_keys").await, 1);
    assert_eq!(pragma::<i32>(&store, "synchronous").await, 2);
}

#[test]
fn now_is_after_2025() {
    assert!(now_ms() > 1_735_689_600_000);
}
