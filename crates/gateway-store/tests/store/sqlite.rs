//! The scenarios on SQLite files and in memory, plus what only SQLite has: file creation,
//! durability across reopening, and the in-memory URL.

use gateway_store::{Store, default_database_url};

use crate::{db::TestDb, scenarios};

crate::backend_tests!(Some(TestDb::sqlite()));

async fn memory_store() -> Store {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_runs_every_scenario() {
    scenarios::round_trip(&memory_store().await).await;
    scenarios::conflicts(&memory_store().await).await;
    scenarios::cascade(&memory_store().await).await;
    scenarios::settings(&memory_store().await).await;
}

#[tokio::test]
async fn in_memory_stores_are_private() {
    let a = Store::connect("sqlite::memory:").await.unwrap();
    let b = Store::connect("sqlite::memory:").await.unwrap();
    a.migrate().await.unwrap();
    b.migrate().await.unwrap();
    a.insert_instance(&scenarios::sse("t", "only-in-a", 1))
        .await
        .unwrap();
    assert_eq!(b.list_instances().await.unwrap(), []);
    assert_eq!(a.list_instances().await.unwrap().len(), 1);
}

#[tokio::test]
async fn file_and_parent_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b c/gateway.db");
    // No `mode` in the URL: created as well.
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert!(path.is_file());
    store.close().await.unwrap();
    assert!(store.ping().await.is_err(), "closed stores fail");
}

#[tokio::test]
async fn read_only_mode_does_not_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing/gateway.db");
    let result = Store::connect(&format!("sqlite://{}?mode=ro", path.display())).await;
    assert!(result.is_err());
    assert!(!path.exists() && !path.parent().unwrap().exists());
}

#[tokio::test]
async fn data_survives_closing_and_reopening() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let instances = [
        scenarios::stdio("t", "s-1", 1),
        scenarios::http("t", "h-1", 2),
        scenarios::sse("u", "e-1", 3),
    ];
    for instance in &instances {
        store.insert_instance(instance).await.unwrap();
    }
    let settings =
        gateway_core::LoadBalancerSettings::new(gateway_core::Strategy::Weighted, 5, 2, 1, 9, 3)
            .unwrap();
    store
        .upsert_template(&scenarios::name("u"), &settings)
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);

    let reopened = Store::connect(&db.url).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(reopened.list_instances().await.unwrap(), instances);
    assert_eq!(
        reopened
            .template_settings(&scenarios::name("u"))
            .await
            .unwrap(),
        Some(settings)
    );
    reopened.close().await.unwrap();
}

#[test]
fn default_database_url_shape() {
    let url = default_database_url();
    assert!(url.starts_with("sqlite://"), "{url}");
    assert!(url.ends_with("?mode=rwc"), "{url}");
    assert!(
        url.ends_with("/mcp-gateway/gateway.db?mode=rwc")
            || url == "sqlite://./mcp-gateway.db?mode=rwc",
        "{url}"
    );
}
