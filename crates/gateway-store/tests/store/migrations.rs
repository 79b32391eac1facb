//! Up, down (all) and up again, with data in the tables.

use gateway_core::{LoadBalancerSettings, SessionMode};
use gateway_migrations::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;
use sea_orm_migration::{SchemaManager, prelude::Query};

use crate::{db::TestDb, scenarios};

const TABLES: [&str; 8] = [
    "gateway_templates",
    "gateway_instances",
    "gateway_users",
    "gateway_api_keys",
    "gateway_audit_events",
    "gateway_secrets",
    "gateway_change_counter",
    "gateway_changes",
];

async fn tables_present(db: &sea_orm::DatabaseConnection) -> [bool; 8] {
    let manager = SchemaManager::new(db);
    let mut present = [false; 8];
    for (slot, table) in present.iter_mut().zip(TABLES) {
        *slot = manager.has_table(table).await.unwrap();
    }
    present
}

pub(crate) async fn up_down_up(db: &TestDb) {
    let conn = db.connection().await;
    assert_eq!(tables_present(&conn).await, [false; 8], "{}", db.name());

    Migrator::up(&conn, None).await.unwrap();
    Migrator::up(&conn, None).await.unwrap(); // nothing pending: a no-op
    assert_eq!(tables_present(&conn).await, [true; 8]);
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
    assert_eq!(tables_present(&conn).await, [false; 8]);
    assert_eq!(
        Migrator::get_applied_migrations(&conn).await.unwrap().len(),
        0
    );

    // A template stored before `m20261124_000008_add_template_session_mode` comes out
    // shared, with a cap of 100 (and, after `m20261202_000001_add_template_upstream_tls`,
    // without upstream TLS settings).
    let before_session_mode = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261124_000008_add_template_session_mode")
        .map(|at| u32::try_from(at).unwrap())
        .unwrap();
    Migrator::up(&conn, Some(before_session_mode))
        .await
        .unwrap();
    let insert = Query::insert()
        .into_table("gateway_templates")
        .columns([
            "name",
            "strategy",
            "health_check_interval_s",
            "health_check_timeout_s",
            "max_retries",
            "timeout_s",
            "pool_size",
            "health_probe",
            "created_at_ms",
            "updated_at_ms",
        ])
        .values_panic([
            "old".into(),
            "random".into(),
            30i64.into(),
            10i64.into(),
            3i32.into(),
            60i64.into(),
            2i32.into(),
            "tools_list".into(),
            1i64.into(),
            1i64.into(),
        ])
        .to_owned();
    conn.execute(&insert).await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    let old = store
        .template_settings(&scenarios::name("old"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.session_mode(), old.max_sessions()),
        (SessionMode::Shared, 100)
    );
    assert_eq!(old.pool_size(), 2);
    assert_eq!(old.upstream_tls(), None);
    assert_eq!(
        old,
        LoadBalancerSettings::new(gateway_core::Strategy::Random, 30, 10, 3, 60, 2)
            .unwrap()
            .with_health_probe(gateway_core::HealthProbe::ToolsList)
    );
    assert!(
        store
            .delete_template(&scenarios::name("old"))
            .await
            .unwrap()
    );

    assert_eq!(tables_present(&conn).await, [true; 8]);
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
