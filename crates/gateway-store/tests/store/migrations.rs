//! Up, down (all) and up again, with data in the tables.

use gateway_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::SchemaManager;

use crate::{db::TestDb, scenarios};

const TABLES: [&str; 6] = [
    "gateway_templates",
    "gateway_instances",
    "gateway_users",
    "gateway_api_keys",
    "gateway_audit_events",
    "gateway_secrets",
];

async fn tables_present(db: &sea_orm::DatabaseConnection) -> [bool; 6] {
    let manager = SchemaManager::new(db);
    let mut present = [false; 6];
    for (slot, table) in present.iter_mut().zip(TABLES) {
        *slot = manager.has_table(table).await.unwrap();
    }
    present
}

pub(crate) async fn up_down_up(db: &TestDb) {
    let conn = db.connection().await;
    assert_eq!(tables_present(&conn).await, [false; 6], "{}", db.name());

    Migrator::up(&conn, None).await.unwrap();
    Migrator::up(&conn, None).await.unwrap(); // nothing pending: a no-op
    assert_eq!(tables_present(&conn).await, [true; 6]);
    assert_eq!(
        Migrator::get_pending_migrations(&conn).await.unwrap().len(),
        0
    );
    assert_eq!(
        Migrator::get_applied_migrations(&conn).await.unwrap().len(),
        Migrator::migrations().len()
    );

    // Down must work with rows in every table.
    let store = db.store().await;
    store
        .insert_instance(&scenarios::stdio("t", "i-1", 1))
        .await
        .unwrap();
    crate::auth_scenarios::fill(&store).await;

    Migrator::down(&conn, None).await.unwrap();
    assert_eq!(tables_present(&conn).await, [false; 6]);
    assert_eq!(
        Migrator::get_applied_migrations(&conn).await.unwrap().len(),
        0
    );

    Migrator::up(&conn, None).await.unwrap();
    assert_eq!(tables_present(&conn).await, [true; 6]);
    assert_eq!(store.list_instances().await.unwrap(), []);
    store
        .insert_instance(&scenarios::stdio("t", "i-1", 1))
        .await
        .unwrap();
    assert_eq!(
        store.count_instances(&scenarios::name("t")).await.unwrap(),
        1
    );

    store.close().await.unwrap();
    conn.close().await.unwrap();
}
