//! Nanoseconds to authenticate a request's API key the way the server does it, through
//! [`Authenticator::authenticate`] on a warm cache: parse `mcpgw_<id>_<secret>`, look
//! the key id up in the state cache, HMAC-SHA-256 the secret, compare in constant time,
//! check revocation and expiry, note the use. Also: the shape check alone
//! ([`looks_like_key`]), a wrong secret for a known id, a malformed key, and a JWT for
//! comparison.
//!
//! `cargo bench -p gateway-auth --bench api_key -- --warm-up-time 0.5 --measurement-time 1`
//!
//! The cache TTL is set to an hour so every iteration is a cache hit (the server's
//! steady state; a miss reads the database once per key per `cache_ttl`). A hit never
//! waits, so each call is polled once with a no-op waker: no runtime overhead is
//! measured.

use std::{
    hint::black_box,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Waker},
    time::Duration,
};

use criterion::{Criterion, criterion_group, criterion_main};
use gateway_auth::{AuthConfig, Authenticator, Credential, api_key::looks_like_key};
use gateway_core::api::CreateApiKey;

/// An authenticator over in-memory SQLite, an admin's API key and an admin JWT.
struct Setup {
    auth: Arc<Authenticator>,
    key: String,
    jwt: String,
}

/// Builds the accounts; a failure here makes the benchmark meaningless, so it stops.
#[allow(clippy::expect_used)]
fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    rt.block_on(async {
        let store = gateway_store::Store::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        store.migrate().await.expect("migrations");
        // The default bcrypt cost (release builds refuse lower ones): only the setup's
        // login pays it.
        let config = AuthConfig {
            cache_ttl: Duration::from_secs(3600),
            ..AuthConfig::default()
        };
        let auth = Authenticator::open(store, config)
            .await
            .expect("authenticator");
        let admin = auth
            .bootstrap_admin()
            .await
            .expect("bootstrap")
            .expect("empty database");
        let password = admin.generated_password.expect("generated password");
        let jwt = auth
            .login("admin", password.expose(), None)
            .await
            .expect("login")
            .token
            .expose()
            .to_owned();
        let me = auth
            .authenticate(Credential::Bearer(&jwt), None)
            .await
            .expect("admin JWT");
        let request = CreateApiKey {
            name: "bench".into(),
            ..CreateApiKey::default()
        };
        let (key, _row) = auth.create_api_key(&me, &request).await.expect("API key");
        let key = key.expose().to_owned();
        // Warm the key's cache entry (the JWT's user entry is warm from the call above).
        auth.authenticate(Credential::ApiKey(&key), None)
            .await
            .expect("the new key authenticates");
        Setup {
            auth: Arc::new(auth),
            key,
            jwt,
        }
    })
}

/// Polls `future` once: the cache-hit path completes without waiting.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked path waited (cache miss?)"),
    }
}

fn api_key(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("tokio runtime: {e}"),
    };
    let Setup { auth, key, jwt } = setup(&rt);
    // Same id, other secret of the right shape: a cache hit whose HMAC does not match.
    let wrong = format!(
        "{}{}",
        &key[..key.len() - 1],
        if key.ends_with('A') { 'B' } else { 'A' }
    );
    let malformed = format!("{key}!");
    assert!(ready(auth.authenticate(Credential::ApiKey(&key), None)).is_ok());
    assert!(ready(auth.authenticate(Credential::Bearer(&key), None)).is_ok());
    assert!(ready(auth.authenticate(Credential::ApiKey(&wrong), None)).is_err());
    assert!(ready(auth.authenticate(Credential::Bearer(&jwt), None)).is_ok());

    let mut group = c.benchmark_group("api_key");
    group.bench_function("looks_like_key", |b| {
        b.iter(|| looks_like_key(black_box(&key)))
    });
    group.bench_function("authenticate_x_api_key", |b| {
        b.iter(|| ready(auth.authenticate(Credential::ApiKey(black_box(&key)), None)))
    });
    group.bench_function("authenticate_bearer_key", |b| {
        b.iter(|| ready(auth.authenticate(Credential::Bearer(black_box(&key)), None)))
    });
    group.bench_function("authenticate_wrong_secret", |b| {
        b.iter(|| ready(auth.authenticate(Credential::ApiKey(black_box(&wrong)), None)))
    });
    group.bench_function("authenticate_malformed", |b| {
        b.iter(|| ready(auth.authenticate(Credential::ApiKey(black_box(&malformed)), None)))
    });
    group.bench_function("authenticate_bearer_jwt", |b| {
        b.iter(|| ready(auth.authenticate(Credential::Bearer(black_box(&jwt)), None)))
    });
    group.finish();
}

criterion_group!(benches, api_key);
criterion_main!(benches);
