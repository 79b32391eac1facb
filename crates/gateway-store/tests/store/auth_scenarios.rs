//! Users, API keys, the audit log and server secrets on every backend.

use gateway_core::{Role, Scope, Scopes, TemplateAccess, Username};
use gateway_store::{ApiKeyRecord, AuditFilter, AuditRecord, Store, UserChanges, UserRecord};

fn user(name: &str, role: Role) -> UserRecord {
    UserRecord {
        username: Username::parse(name).unwrap(),
        password_hash: "$2b$04$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01".to_owned(),
        role,
        active: true,
        templates: TemplateAccess::All,
        token_version: 0,
        created_at_ms: 1_000,
        updated_at_ms: 1_000,
    }
}

fn key(id: &str, owner: &str, created_at_ms: i64) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        name: format!("app-{id}"),
        owner: Username::parse(owner).unwrap(),
        secret_hash: "ab".repeat(32),
        scopes: Scopes::of([Scope::McpRead, Scope::McpCall]),
        templates: TemplateAccess::parse_list(Some(["fs", "time"])).unwrap(),
        rate_limit: Some(60),
        created_at_ms,
        expires_at_ms: Some(9_000_000_000_000),
        revoked_at_ms: None,
        last_used_at_ms: None,
    }
}

/// A row in each auth table (for the migration down test).
pub(crate) async fn fill(store: &Store) {
    store
        .insert_user(&user("filler", Role::User))
        .await
        .unwrap();
    store.insert_api_key(&key("k0", "filler", 1)).await.unwrap();
    store
        .insert_audit_events(&[AuditRecord {
            action: "login".into(),
            outcome: "success".into(),
            ..AuditRecord::default()
        }])
        .await
        .unwrap();
    store.secret_or_insert("jwt", "v1").await.unwrap();
}

pub(crate) async fn users_keys_audit_and_secrets(store: &Store) {
    // Users: insert, conflict, read back, list sorted, count.
    let mut alice = user("alice", Role::User);
    alice.templates = TemplateAccess::parse_list(Some(["time", "fs"])).unwrap();
    store.insert_user(&alice).await.unwrap();
    store
        .insert_user(&user("Admin", Role::Admin))
        .await
        .unwrap();
    let err = store.insert_user(&alice).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(store.get_user("alice").await.unwrap().unwrap(), alice);
    assert!(
        store.get_user("ALICE").await.unwrap().is_none(),
        "names are case-sensitive"
    );
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .iter()
        .map(|u| u.username.to_string())
        .collect();
    assert_eq!(names, ["Admin", "alice"]);
    assert_eq!(store.count_users().await.unwrap(), 2);
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
    assert!(
        !format!("{alice:?}").contains("$2b$"),
        "Debug shows the hash"
    );

    // Updates bump the token version; no change keeps it.
    let same = store
        .update_user("alice", &UserChanges::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same.token_version, 0);
    let changed = store
        .update_user(
            "alice",
            &UserChanges {
                active: Some(false),
                templates: Some(TemplateAccess::All),
                ..UserChanges::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.token_version, 1);
    assert!(!changed.active);
    assert_eq!(changed.templates, TemplateAccess::All);
    assert!(
        store
            .update_user("nobody", &UserChanges::default())
            .await
            .unwrap()
            .is_none()
    );

    // Keys: insert, conflict, unknown owner, list per owner, revoke once, usage batch.
    store.insert_api_key(&key("k1", "alice", 10)).await.unwrap();
    store.insert_api_key(&key("k2", "Admin", 5)).await.unwrap();
    assert!(
        store
            .insert_api_key(&key("k1", "alice", 11))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let err = store
        .insert_api_key(&key("k3", "ghost", 1))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        store.get_api_key("k1").await.unwrap().unwrap(),
        key("k1", "alice", 10)
    );
    let alice_name = Username::parse("alice").unwrap();
    let mine = store.list_api_keys(Some(&alice_name)).await.unwrap();
    assert_eq!(mine.len(), 1);
    let all: Vec<String> = store
        .list_api_keys(None)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(all, ["k2", "k1"], "oldest first");
    let revoked = store.revoke_api_key("k1", 500).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at_ms, Some(500));
    let again = store.revoke_api_key("k1", 900).await.unwrap().unwrap();
    assert_eq!(
        again.revoked_at_ms,
        Some(500),
        "the first revocation time stays"
    );
    assert!(store.revoke_api_key("nope", 1).await.unwrap().is_none());
    store
        .record_api_key_use(&[("k1".into(), 700), ("k2".into(), 800), ("gone".into(), 1)])
        .await
        .unwrap();
    assert_eq!(
        store
            .get_api_key("k2")
            .await
            .unwrap()
            .unwrap()
            .last_used_at_ms,
        Some(800)
    );

    // Deleting a user deletes its keys.
    assert!(store.delete_user("alice").await.unwrap());
    assert!(!store.delete_user("alice").await.unwrap());
    assert!(store.get_api_key("k1").await.unwrap().is_none());

    // Audit: batch insert, filters, newest first, long values cut.
    let event = |action: &str, actor: &str, at_ms| AuditRecord {
        at_ms,
        actor: Some(actor.to_owned()),
        action: action.to_owned(),
        target: Some("x".repeat(1000)),
        outcome: "success".into(),
        client_addr: Some("127.0.0.1".into()),
        request_id: Some("r-1".into()),
        ..AuditRecord::default()
    };
    store
        .insert_audit_events(&[
            event("login", "user:a", 1),
            event("login", "user:b", 2),
            event("user.create", "user:a", 3),
        ])
        .await
        .unwrap();
    let all = store
        .list_audit_events(&AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all[0].id > all[1].id && all[1].id > all[2].id,
        "newest first"
    );
    assert_eq!(all[0].action, "user.create");
    assert_eq!(all[0].target.as_ref().unwrap().len(), 300);
    let logins_of_a = store
        .list_audit_events(&AuditFilter {
            actor: Some("user:a".into()),
            action: Some("login".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(logins_of_a.len(), 1);
    let since = store
        .list_audit_events(&AuditFilter {
            since_ms: Some(2),
            limit: 1,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].at_ms, 3);

    // Secrets: the first value wins.
    assert_eq!(
        store.secret_or_insert("jwt", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        store.secret_or_insert("jwt", "second").await.unwrap(),
        "first"
    );
}
