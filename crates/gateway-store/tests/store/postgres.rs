//! The scenarios on PostgreSQL, each test in its own schema.

crate::backend_tests!(crate::db::TestDb::postgres().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_wakes_at_commit() {
    let Some(db) = crate::db::TestDb::postgres().await else {
        return;
    };
    let store = db.store().await;
    crate::changes::listener_wakes_on_commit(&store).await;
    store.close().await.unwrap();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_do_not_collide() {
    let Some(db) = crate::db::TestDb::postgres().await else {
        return;
    };
    crate::changes::concurrent_migrations(&db.url).await;
    db.cleanup().await;
}
