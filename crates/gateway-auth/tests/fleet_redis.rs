//! Limits and throttles shared through a real Redis (127.0.0.1:6379, or
//! `MCP_GATEWAY_TEST_REDIS_URL`): two "replicas" (two links, limiters, authenticators on
//! one database) share one budget; an unreachable Redis falls back to memory. Each test
//! uses its own key prefix. Skipped loudly without Redis (a failure with
//! `MCP_GATEWAY_REQUIRE_DEPS=1`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{net::IpAddr, num::NonZeroU32, sync::Arc};

use gateway_auth::{
    AuthConfig, Authenticator, Error, FleetRateLimiter, Quota, RateLimiter, RedisLink,
    ThrottlePolicy,
};
use gateway_core::api::CreateUser;

fn redis_url() -> String {
    std::env::var("MCP_GATEWAY_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn prefix(test: &str) -> String {
    format!(
        "gw-test:{test}:{}:{}:",
        std::process::id(),
        fastrand_suffix()
    )
}

fn fastrand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A link to the test Redis, or `None` (skipped) when it does not answer.
async fn link(prefix: &str) -> Option<Arc<RedisLink>> {
    let link = RedisLink::open(&redis_url(), prefix).await.unwrap();
    if link.is_up() {
        return Some(link);
    }
    let msg = format!("Redis not reachable at {}", redis_url());
    assert!(
        std::env::var("MCP_GATEWAY_REQUIRE_DEPS").as_deref() != Ok("1"),
        "{msg} (MCP_GATEWAY_REQUIRE_DEPS=1 turns this skip into a failure)"
    );
    eprintln!("\n!!! SKIPPED: {msg}\n");
    None
}

/// Deletes the test's keys (they would expire anyway).
async fn cleanup(link: &RedisLink) {
    let mut conn = link.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(link.key("*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

fn quota(n: u32) -> Quota {
    Quota {
        per_minute: NonZeroU32::new(n).unwrap(),
    }
}

#[tokio::test]
async fn one_bucket_for_the_whole_fleet() {
    let prefix = prefix("bucket");
    let Some(link_a) = link(&prefix).await else {
        return;
    };
    let b = link(&prefix).await.unwrap();
    let (a, b) = (
        FleetRateLimiter::new(link_a.clone()),
        FleetRateLimiter::new(b),
    );
    let mut allowed = 0;
    for i in 0..10 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        let d = limiter.check("key-1", quota(5)).await;
        assert_eq!(d.limit, 5);
        if d.allowed {
            allowed += 1;
        } else {
            assert!(d.retry_after.is_some());
            assert_eq!(d.remaining, 0);
        }
    }
    assert_eq!(allowed, 5, "5 per minute across both replicas");
    assert!(
        a.check("key-2", quota(5)).await.allowed,
        "keys are separate"
    );
    cleanup(&link_a).await;
}

#[tokio::test]
async fn an_unreachable_redis_falls_back_to_this_replica() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let link = RedisLink::open(&format!("redis://127.0.0.1:{port}"), "gw-test:down:")
        .await
        .unwrap();
    assert!(!link.is_up());
    let limiter = FleetRateLimiter::new(link);
    let allowed = futures_count(&limiter, 8, quota(3)).await;
    assert_eq!(allowed, 3, "the local bucket still limits");
}

async fn futures_count(limiter: &FleetRateLimiter, n: usize, q: Quota) -> usize {
    let mut allowed = 0;
    for _ in 0..n {
        if limiter.check("k", q).await.allowed {
            allowed += 1;
        }
    }
    allowed
}

#[tokio::test]
async fn bad_urls_are_refused_without_echoing_them() {
    let err = RedisLink::open("http://user:hunter2@host", "p:")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                key: "MCP_GATEWAY_REDIS_URL",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

#[tokio::test]
async fn login_lockouts_hold_on_every_replica() {
    let prefix = prefix("logins");
    let Some(link_a) = link(&prefix).await else {
        return;
    };
    let link_b = link(&prefix).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("gw.db").display());
    let store = gateway_store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let config = AuthConfig {
        bcrypt_cost: 4,
        ..AuthConfig::default()
    };
    let a = Authenticator::open_shared(store.clone(), config.clone(), Some(link_a.clone()))
        .await
        .unwrap();
    let b = Authenticator::open_shared(store, config, Some(link_b))
        .await
        .unwrap();
    let admin = a.bootstrap_admin().await.unwrap().unwrap();
    let token = a
        .login("admin", admin.generated_password.unwrap().expose(), None)
        .await
        .unwrap();
    let me = a
        .authenticate(gateway_auth::Credential::Bearer(token.token.expose()), None)
        .await
        .unwrap();
    let password = "a long passphrase";
    a.create_user(
        &me,
        &CreateUser {
            username: "gina".into(),
            password: password.into(),
            ..CreateUser::default()
        },
    )
    .await
    .unwrap();

    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    // The free failures, spread over both replicas.
    for i in 0..=ThrottlePolicy::PER_USER_AND_ADDRESS.free {
        let replica = if i % 2 == 0 { &a } else { &b };
        let err = replica
            .login("gina", "wrong password!", Some(ip))
            .await
            .unwrap_err();
        assert!(err.is_unauthenticated(), "attempt {i}: {err:?}");
    }
    // Locked on both replicas, even with the right password…
    for replica in [&a, &b] {
        let err = replica.login("gina", password, Some(ip)).await.unwrap_err();
        assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    }
    // …but not from another address.
    b.login("gina", password, Some("198.51.100.1".parse().unwrap()))
        .await
        .unwrap();
    cleanup(&link_a).await;
}
