use gateway_core::Strategy;

use super::*;

async fn timestamps(store: &Store, name: &TemplateName) -> (i64, i64) {
    let row = template::Entity::find_by_id(name.as_str())
        .one(store.db())
        .await
        .unwrap()
        .unwrap();
    (row.created_at_ms, row.updated_at_ms)
}

#[tokio::test]
async fn upsert_keeps_created_at_and_bumps_updated_at() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let name = TemplateName::parse("tools").unwrap();
    store.ensure_template(&name).await.unwrap();

    // Backdate the row so the update is visible even within one millisecond.
    let mut row: template::ActiveModel = template::Entity::find_by_id("tools")
        .one(store.db())
        .await
        .unwrap()
        .unwrap()
        .into();
    row.created_at_ms = sea_orm::Set(5);
    row.updated_at_ms = sea_orm::Set(6);
    sea_orm::ActiveModelTrait::update(row, store.db())
        .await
        .unwrap();

    store.ensure_template(&name).await.unwrap();
    assert_eq!(
        timestamps(&store, &name).await,
        (5, 6),
        "ensure changes nothing"
    );

    let settings = LoadBalancerSettings::default().with_strategy(Strategy::Random);
    store.upsert_template(&name, &settings).await.unwrap();
    let (created, updated) = timestamps(&store, &name).await;
    assert_eq!(created, 5);
    assert!(updated >= now_ms() - 60_000, "{updated}");
    assert_eq!(
        store.template_settings(&name).await.unwrap(),
        Some(settings)
    );
}
