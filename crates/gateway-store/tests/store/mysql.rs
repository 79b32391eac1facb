//! The scenarios on MariaDB/MySQL, each test in its own database.

crate::backend_tests!(crate::db::TestDb::mysql().await);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_at_once_do_not_collide() {
    let Some(db) = crate::db::TestDb::mysql().await else {
        return;
    };
    crate::changes::concurrent_migrations(&db.url).await;
    db.cleanup().await;
}
