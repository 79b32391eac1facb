//! The change feed on every backend: each replicated write records one change, in
//! version order without gaps; writes that change nothing record none; pruning; and, on
//! PostgreSQL, the `NOTIFY` a listener wakes on.

use std::time::Duration;

use gateway_core::{LoadBalancerSettings, Role, Scopes, TemplateAccess, Username};
use gateway_store::{ApiKeyRecord, ChangeKind, Store, UserChanges, UserRecord, Wake};

use crate::scenarios::{http, id, name};

fn user(name: &str) -> UserRecord {
    UserRecord {
        username: Username::parse(name).unwrap(),
        password_hash: "$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01".to_owned(),
        role: Role::User,
        active: true,
        templates: TemplateAccess::All,
        token_version: 0,
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
    }
}

fn key(id: &str, owner: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        name: "k".to_owned(),
        owner: Username::parse(owner).unwrap(),
        secret_hash: "ab".repeat(32),
        scopes: Scopes::of([]),
        templates: TemplateAccess::All,
        rate_limit: None,
        created_at_ms: 1,
        expires_at_ms: None,
        revoked_at_ms: None,
        last_used_at_ms: None,
    }
}

fn summary(changes: &[gateway_store::Change]) -> Vec<(i64, ChangeKind, Option<String>, String)> {
    changes
        .iter()
        .map(|c| (c.version, c.kind, c.template.clone(), c.subject.clone()))
        .collect()
}

pub(crate) async fn every_write_is_recorded_in_order(store: &Store) {
    let start = store.change_version().await.unwrap();
    assert_eq!(start, 0, "a fresh database has no changes");
    store.insert_instance(&http("t", "a", 1)).await.unwrap();
    // Refused writes record nothing.
    assert!(store.insert_instance(&http("t", "a", 1)).await.is_err());
    assert!(
        !store
            .delete_instance(&name("t"), &id("missing"))
            .await
            .unwrap()
    );
    store
        .upsert_template(&name("t"), &LoadBalancerSettings::default())
        .await
        .unwrap();
    store
        .upsert_template_reloading_tls(&name("t"), &LoadBalancerSettings::default())
        .await
        .unwrap();
    assert!(store.delete_instance(&name("t"), &id("a")).await.unwrap());
    store.insert_user(&user("bob")).await.unwrap();
    let disable = UserChanges {
        active: Some(false),
        ..UserChanges::default()
    };
    store.update_user("bob", &disable).await.unwrap().unwrap();
    assert!(
        store
            .update_user("nobody", &disable)
            .await
            .unwrap()
            .is_none()
    );
    store.insert_api_key(&key("k1", "bob")).await.unwrap();
    store.revoke_api_key("k1", 5).await.unwrap().unwrap();
    store.revoke_api_key("k1", 6).await.unwrap().unwrap(); // already revoked: no change
    store
        .record_api_key_use(&[("k1".to_owned(), 7)])
        .await
        .unwrap(); // usage is not replicated
    assert!(store.delete_user("bob").await.unwrap());
    assert!(store.delete_template(&name("t")).await.unwrap());

    let t = || Some("t".to_owned());
    let expected = vec![
        (1, ChangeKind::Instance, t(), "a".to_owned()),
        (2, ChangeKind::Template, t(), "t".to_owned()),
        (3, ChangeKind::TemplateTls, t(), "t".to_owned()),
        (4, ChangeKind::Instance, t(), "a".to_owned()),
        (5, ChangeKind::User, None, "bob".to_owned()),
        (6, ChangeKind::User, None, "bob".to_owned()),
        (7, ChangeKind::ApiKey, None, "k1".to_owned()),
        (8, ChangeKind::ApiKey, None, "k1".to_owned()),
        (9, ChangeKind::User, None, "bob".to_owned()),
        (10, ChangeKind::Template, t(), "t".to_owned()),
    ];
    assert_eq!(store.change_version().await.unwrap(), 10);
    assert_eq!(
        summary(&store.changes_after(0, 100).await.unwrap()),
        expected
    );
    assert_eq!(
        summary(&store.changes_after(8, 1).await.unwrap()),
        expected[8..9]
    );
    assert!(store.changes_after(10, 100).await.unwrap().is_empty());

    // Pruning keeps the counter; a reader behind the pruned rows sees a gap.
    let newest = store.changes_after(9, 1).await.unwrap()[0].at_ms;
    assert_eq!(store.prune_changes(newest + 1).await.unwrap(), 10);
    assert_eq!(store.change_version().await.unwrap(), 10);
    store.insert_instance(&http("u", "b", 1)).await.unwrap();
    let after = store.changes_after(3, 100).await.unwrap();
    assert_eq!(after[0].version, 11, "versions 4..=10 are gone: a gap");
}

/// Concurrent writers: versions are unique, gap-free, and every committed write has one.
pub(crate) async fn concurrent_writers_get_distinct_versions(store: &Store) {
    let writers = (0..8).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..5 {
                store
                    .insert_instance(&http(&format!("t{w}"), &format!("i-{w}-{i}"), 1))
                    .await
                    .unwrap();
            }
        })
    });
    for w in futures_join(writers).await {
        w.unwrap();
    }
    let changes = store.changes_after(0, 1000).await.unwrap();
    let versions: Vec<i64> = changes.iter().map(|c| c.version).collect();
    assert_eq!(versions, (1..=40).collect::<Vec<_>>());
    assert_eq!(store.change_version().await.unwrap(), 40);
}

async fn futures_join<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await);
    }
    out
}

/// PostgreSQL: a listener is woken at commit with the version, and a rolled-back write
/// wakes nobody.
pub(crate) async fn listener_wakes_on_commit(store: &Store) {
    assert!(store.notifies_changes());
    let mut listener = store.listen_changes().await.unwrap().unwrap();
    store.insert_instance(&http("t", "a", 1)).await.unwrap();
    let wake = tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .expect("no notification within 5 s")
        .unwrap();
    assert_eq!(wake, Wake::Changed(Some(1)));
    assert!(store.insert_instance(&http("t", "a", 1)).await.is_err());
    store.delete_instance(&name("t"), &id("a")).await.unwrap();
    let wake = tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        wake,
        Wake::Changed(Some(2)),
        "the refused insert sent nothing"
    );
}

/// Several stores migrating one empty database at once: all succeed (one migrates, the
/// others wait for its lock and find nothing pending).
pub(crate) async fn concurrent_migrations(url: &str) {
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let status = store.migration_status().await.unwrap();
            store.close().await.unwrap();
            status
        }));
    }
    for t in tasks {
        let status = t.await.unwrap();
        assert!(status.iter().all(|m| m.applied), "{status:?}");
        assert_eq!(
            status.len(),
            <gateway_migrations::Migrator as gateway_migrations::MigratorTrait>::migrations().len()
        );
    }
}
