use std::time::Duration;

use gateway_core::{
    Role, Scope,
    api::{CreateApiKey, CreateUser, UpdateUser},
};

use super::*;
use crate::ThrottlePolicy;

const PASSWORD: &str = "correct horse battery";

async fn setup(cache_ttl: Duration) -> (Authenticator, Arc<Principal>) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let config = AuthConfig {
        bcrypt_cost: 4,
        cache_ttl,
        admin_password: Some(crate::Secret::new("admin password 1")),
        ..AuthConfig::default()
    };
    let auth = Authenticator::open(store, config).await.unwrap();
    let boot = auth.bootstrap_admin().await.unwrap().unwrap();
    assert!(boot.generated_password.is_none());
    assert!(auth.bootstrap_admin().await.unwrap().is_none(), "only once");
    let login = auth.login("admin", "admin password 1", None).await.unwrap();
    let admin = auth
        .authenticate(Credential::Bearer(login.token.expose()), None)
        .await
        .unwrap();
    (auth, admin)
}

fn new_user(name: &str, role: &str) -> CreateUser {
    CreateUser {
        username: name.into(),
        password: PASSWORD.into(),
        role: Some(role.into()),
        ..CreateUser::default()
    }
}

async fn token_of(auth: &Authenticator, name: &str) -> String {
    auth.login(name, PASSWORD, None)
        .await
        .unwrap()
        .token
        .expose()
        .to_owned()
}

async fn check(auth: &Authenticator, credential: Credential<'_>) -> Result<Arc<Principal>> {
    auth.authenticate(credential, None).await
}

#[tokio::test]
async fn tokens_follow_the_user_row() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("bob", "user"))
        .await
        .unwrap();
    let token = token_of(&auth, "bob").await;
    let bob = check(&auth, Credential::Bearer(&token)).await.unwrap();
    assert_eq!(bob.role(), Role::User);
    assert!(!bob.has(Scope::GatewayWrite));

    // A password change invalidates the token at once (even with a long cache TTL).
    let update = UpdateUser {
        password: Some("another long password".into()),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, "bob", &update).await.unwrap();
    assert!(check(&auth, Credential::Bearer(&token)).await.is_err());
    assert!(auth.login("bob", PASSWORD, None).await.is_err());
    let token = auth
        .login("bob", "another long password", None)
        .await
        .unwrap()
        .token;
    check(&auth, Credential::Bearer(token.expose()))
        .await
        .unwrap();

    // So does disabling.
    let disable = UpdateUser {
        active: Some(false),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, "bob", &disable).await.unwrap();
    assert!(
        check(&auth, Credential::Bearer(token.expose()))
            .await
            .is_err()
    );
    assert!(
        auth.login("bob", "another long password", None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn other_replicas_see_changes_within_the_cache_ttl() {
    let (auth, admin) = setup(Duration::from_millis(200)).await;
    auth.create_user(&admin, &new_user("carol", "user"))
        .await
        .unwrap();
    let token = token_of(&auth, "carol").await;
    check(&auth, Credential::Bearer(&token)).await.unwrap();
    // Another replica disables carol: a direct database write.
    let changes = gateway_store::UserChanges {
        active: Some(false),
        ..Default::default()
    };
    auth.store.update_user("carol", &changes).await.unwrap();
    check(&auth, Credential::Bearer(&token))
        .await
        .expect("still cached");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(check(&auth, Credential::Bearer(&token)).await.is_err());
}

#[tokio::test]
async fn api_keys_are_scoped_revocable_and_expire() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("dave", "user"))
        .await
        .unwrap();
    let dave = check(&auth, Credential::Bearer(&token_of(&auth, "dave").await))
        .await
        .unwrap();

    // Scopes within the owner's: a user cannot mint gateway:write or admin keys.
    let escalate = CreateApiKey {
        name: "x".into(),
        role: Some("admin".into()),
        ..CreateApiKey::default()
    };
    let err = auth.create_api_key(&dave, &escalate).await.unwrap_err();
    assert!(
        matches!(err, Error::MissingScope(Scope::GatewayWrite)),
        "{err:?}"
    );
    let for_admin = CreateApiKey {
        name: "x".into(),
        owner: Some("admin".into()),
        ..CreateApiKey::default()
    };
    assert!(
        auth.create_api_key(&dave, &for_admin)
            .await
            .unwrap_err()
            .is_forbidden()
    );

    let request = CreateApiKey {
        name: "reader".into(),
        scopes: Some(vec!["mcp:read".into()]),
        templates: Some(vec!["fs".into()]),
        ..CreateApiKey::default()
    };
    let (key, record) = auth.create_api_key(&dave, &request).await.unwrap();
    assert!(key.expose().starts_with("mcpgw_"));
    assert!(!record.secret_hash.contains(key.expose()));
    let p = check(&auth, Credential::ApiKey(key.expose()))
        .await
        .unwrap();
    assert_eq!(p.actor(), format!("key:{}", record.id));
    assert!(p.has(Scope::McpRead) && !p.has(Scope::McpCall));
    assert!(p.allows_template("fs") && !p.allows_template("time"));
    // As a bearer token too.
    check(&auth, Credential::Bearer(key.expose()))
        .await
        .unwrap();
    // A wrong secret with the right id fails.
    let mut forged = key.expose().to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(check(&auth, Credential::ApiKey(&forged)).await.is_err());

    // Usage is batched, then written.
    assert!(
        auth.store
            .get_api_key(&record.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at_ms
            .is_none()
    );
    auth.flush_usage().await.unwrap();
    assert!(
        auth.store
            .get_api_key(&record.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at_ms
            .is_some()
    );

    // Only the owner (or an admin) sees and revokes it.
    assert_eq!(auth.list_api_keys(&dave, None).await.unwrap().len(), 1);
    assert!(auth.list_api_keys(&dave, Some("admin")).await.is_err());
    auth.revoke_api_key(&admin, &record.id).await.unwrap();
    assert!(
        check(&auth, Credential::ApiKey(key.expose()))
            .await
            .is_err()
    );

    // Expiry.
    let short = CreateApiKey {
        name: "short".into(),
        expires_in: Some(1),
        ..CreateApiKey::default()
    };
    let (key, _) = auth.create_api_key(&dave, &short).await.unwrap();
    check(&auth, Credential::ApiKey(key.expose()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        check(&auth, Credential::ApiKey(key.expose()))
            .await
            .is_err()
    );

    // Disabling the owner disables its keys at once.
    let (key, _) = auth
        .create_api_key(
            &dave,
            &CreateApiKey {
                name: "k".into(),
                ..CreateApiKey::default()
            },
        )
        .await
        .unwrap();
    check(&auth, Credential::ApiKey(key.expose()))
        .await
        .unwrap();
    let disable = UpdateUser {
        active: Some(false),
        ..UpdateUser::default()
    };
    auth.update_user(&admin, "dave", &disable).await.unwrap();
    assert!(
        check(&auth, Credential::ApiKey(key.expose()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn users_need_admin_and_the_last_admin_stays() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("erin", "user"))
        .await
        .unwrap();
    let erin = check(&auth, Credential::Bearer(&token_of(&auth, "erin").await))
        .await
        .unwrap();
    let err = auth
        .create_user(&erin, &new_user("mallory", "admin"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingScope(Scope::Admin)));
    assert!(auth.list_users(&erin).await.is_err());
    assert_eq!(
        auth.get_user(&erin, "erin")
            .await
            .unwrap()
            .username
            .as_str(),
        "erin"
    );
    assert!(auth.get_user(&erin, "admin").await.is_err());

    let err = auth
        .create_user(&admin, &new_user("erin", "user"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }));
    let weak = CreateUser {
        username: "frank".into(),
        password: "frank".into(),
        ..CreateUser::default()
    };
    assert!(matches!(
        auth.create_user(&admin, &weak).await.unwrap_err(),
        Error::Invalid {
            field: "password",
            ..
        }
    ));

    assert!(matches!(
        auth.delete_user(&admin, "admin").await,
        Err(Error::LastAdmin)
    ));
    let demote = UpdateUser {
        role: Some("user".into()),
        ..UpdateUser::default()
    };
    assert!(matches!(
        auth.update_user(&admin, "admin", &demote).await,
        Err(Error::LastAdmin)
    ));
    auth.delete_user(&admin, "erin").await.unwrap();
    assert!(auth.delete_user(&admin, "erin").await.is_err());
}

#[tokio::test]
async fn failed_logins_are_throttled() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("gina", "user"))
        .await
        .unwrap();
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..=ThrottlePolicy::PER_USER_AND_ADDRESS.free {
        let err = auth
            .login("gina", "wrong password!", Some(ip))
            .await
            .unwrap_err();
        assert!(err.is_unauthenticated(), "{err:?}");
    }
    // The name is locked for that address; even the right password waits there…
    let err = auth.login("GINA", PASSWORD, Some(ip)).await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    // …but not from an address that has not failed.
    let clean: IpAddr = "198.51.100.1".parse().unwrap();
    auth.login("gina", PASSWORD, Some(clean)).await.unwrap();
    // Unknown users fail the same way.
    assert!(
        auth.login("nobody", PASSWORD, None)
            .await
            .unwrap_err()
            .is_unauthenticated()
    );
}

#[tokio::test]
async fn parallel_guesses_are_refused_before_bcrypt() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("hal", "user"))
        .await
        .unwrap();
    let auth = Arc::new(auth);
    let ip: IpAddr = "192.0.2.8".parse().unwrap();
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let auth = auth.clone();
            tokio::spawn(async move {
                auth.login("hal", &format!("guess {i:02} x"), Some(ip))
                    .await
            })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.unwrap() {
            Err(Error::InvalidCredentials) => checked += 1,
            Err(Error::Throttled { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    let free = ThrottlePolicy::PER_USER_AND_ADDRESS.free;
    assert!(
        (1..=free + 2).contains(&checked),
        "{checked} passwords checked"
    );
}

#[tokio::test]
async fn keys_cannot_create_keys_and_stay_within_their_creator() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    let limited = CreateUser {
        templates: Some(vec!["echo".into(), "fs".into()]),
        ..new_user("ken", "user")
    };
    auth.create_user(&admin, &limited).await.unwrap();
    let ken = check(&auth, Credential::Bearer(&token_of(&auth, "ken").await))
        .await
        .unwrap();
    // No list from a limited creator: its own list, stored.
    let (key, record) = auth
        .create_api_key(
            &ken,
            &CreateApiKey {
                name: "k".into(),
                ..CreateApiKey::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        record.templates.names(),
        Some(vec!["echo".to_owned(), "fs".to_owned()])
    );
    // An admin's key for ken with no list follows ken's templates.
    let (_, for_ken) = auth
        .create_api_key(
            &admin,
            &CreateApiKey {
                name: "k2".into(),
                owner: Some("ken".into()),
                ..CreateApiKey::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(for_ken.templates.names(), None);
    // The key cannot create another key, whatever it asks for.
    let as_key = check(&auth, Credential::ApiKey(key.expose()))
        .await
        .unwrap();
    let err = auth
        .create_api_key(
            &as_key,
            &CreateApiKey {
                name: "child".into(),
                templates: Some(vec!["echo".into()]),
                ..CreateApiKey::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Forbidden(m) if m.contains("API keys cannot create API keys")),
        "{err:?}"
    );
    // Nor revoke its sibling; it may revoke itself.
    let (_, sibling) = auth
        .create_api_key(
            &ken,
            &CreateApiKey {
                name: "sibling".into(),
                ..CreateApiKey::default()
            },
        )
        .await
        .unwrap();
    assert!(
        auth.revoke_api_key(&as_key, &sibling.id)
            .await
            .unwrap_err()
            .is_forbidden()
    );
    assert_eq!(auth.list_api_keys(&as_key, None).await.unwrap().len(), 3);
    auth.revoke_api_key(&as_key, &record.id).await.unwrap();
    assert!(
        check(&auth, Credential::ApiKey(key.expose()))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_recreated_user_does_not_inherit_old_tokens() {
    let (auth, admin) = setup(Duration::from_secs(60)).await;
    auth.create_user(&admin, &new_user("liz", "user"))
        .await
        .unwrap();
    let old = token_of(&auth, "liz").await;
    check(&auth, Credential::Bearer(&old)).await.unwrap();
    auth.delete_user(&admin, "liz").await.unwrap();
    auth.create_user(&admin, &new_user("liz", "user"))
        .await
        .unwrap();
    assert!(check(&auth, Credential::Bearer(&old)).await.is_err());
    let new = token_of(&auth, "liz").await;
    check(&auth, Credential::Bearer(&new)).await.unwrap();
}

#[tokio::test]
async fn garbage_credentials_fail_quietly() {
    let (auth, _) = setup(Duration::from_secs(60)).await;
    for garbage in [
        "",
        "x",
        "mcpgw_",
        "mcpgw_0123456789abcdef_",
        "a.b.c",
        "Bearer x",
    ] {
        let err = check(&auth, Credential::Bearer(garbage)).await.unwrap_err();
        assert!(err.is_unauthenticated(), "{garbage:?}: {err:?}");
        assert_eq!(err.to_string(), "invalid credentials");
        let err = check(&auth, Credential::ApiKey(garbage)).await.unwrap_err();
        assert!(err.is_unauthenticated());
    }
    let unknown = format!("mcpgw_0123456789abcdef_{}", "A".repeat(43));
    assert!(check(&auth, Credential::ApiKey(&unknown)).await.is_err());
}

#[tokio::test]
async fn the_request_path_future_stays_small() {
    let (auth, _) = setup(Duration::from_secs(60)).await;
    let future = auth.authenticate(Credential::ApiKey("x"), None);
    let size = std::mem::size_of_val(&future);
    drop(future);
    eprintln!("authenticate future: {size} bytes");
    // Cache misses (database reads) are boxed, so the common path does not carry their
    // state: the future a request holds stays small.
    assert!(size <= 512, "authenticate() future is {size} bytes");
}
