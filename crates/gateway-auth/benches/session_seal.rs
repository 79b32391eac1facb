//! Nanoseconds to seal and to open a sealed MCP session id ([`SessionSealer`]) carrying
//! a realistic ~300-byte claims document, plus the cost of refusing a forged id and an id
//! from an unknown key (what garbage `Mcp-Session-Id` headers cost the gateway).
//!
//! `cargo bench -p gateway-auth --bench session_seal -- --warm-up-time 0.5 --measurement-time 1`
//!
//! Sealing includes drawing a fresh 96-bit nonce from the operating system.

use std::hint::black_box;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use criterion::{Criterion, criterion_group, criterion_main};
use gateway_auth::{SealError, SessionKey, SessionSealer};

/// Session claims as the server seals them (compact JSON: endpoint, protocol revision,
/// principal, client capabilities, issue time, pinned instance): 300 bytes.
const CLAIMS: &[u8] = br#"{"f":1,"t":"github-enterprise","v":"2025-06-18","a":"key:3f9c2a7d1e5b4c80","c":{"roots":{"listChanged":true},"sampling":{},"elicitation":{},"experimental":{"io.example/tracing":{"level":"info"}}},"i":1764000000,"p":"github-enterprise-7c1d","x":"padding-to-a-realistic-size-0123456789abcdef0123456789"}"#;

/// A fresh key; the OS generator failing makes the benchmark meaningless, so it stops.
#[allow(clippy::expect_used)]
fn key() -> SessionKey {
    SessionKey::generate().expect("OS randomness for the benchmark keys")
}

fn seal_open(c: &mut Criterion) {
    let (old, older) = (key(), key());
    let sealer = SessionSealer::new(key(), vec![]);
    let token = sealer.seal(CLAIMS);
    assert_eq!(sealer.open(&token).as_deref(), Ok(CLAIMS));

    let mut group = c.benchmark_group("session_seal");
    group.bench_function("seal_300B", |b| b.iter(|| sealer.seal(black_box(CLAIMS))));
    group.bench_function("open_300B", |b| b.iter(|| sealer.open(black_box(&token))));

    // After two rotations: a token sealed with the oldest previous key.
    let old_token = SessionSealer::new(older.clone(), vec![]).seal(CLAIMS);
    let rotated = SessionSealer::new(key(), vec![old, older]);
    assert_eq!(rotated.open(&old_token).as_deref(), Ok(CLAIMS));
    group.bench_function("open_300B_previous_key", |b| {
        b.iter(|| rotated.open(black_box(&old_token)))
    });

    // Refusals: a flipped ciphertext byte (full decryption, then the tag fails) and a
    // token of another key (refused at the key id, no decryption).
    let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap_or_default();
    if let Some(byte) = raw.get_mut(40) {
        *byte ^= 1;
    }
    let forged = URL_SAFE_NO_PAD.encode(&raw);
    assert_eq!(sealer.open(&forged), Err(SealError::Forged));
    group.bench_function("open_forged", |b| {
        b.iter(|| sealer.open(black_box(&forged)))
    });
    let stranger = SessionSealer::new(key(), vec![]).seal(CLAIMS);
    assert_eq!(sealer.open(&stranger), Err(SealError::UnknownKey));
    group.bench_function("open_unknown_key", |b| {
        b.iter(|| sealer.open(black_box(&stranger)))
    });
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
