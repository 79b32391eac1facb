//! Sealed session ids (`gateway_auth::seal`, compiled here from its own source so the
//! fuzz build does not pull in the auth crate's database and network stack): arbitrary
//! text never opens (and never panics), and whatever is sealed opens to itself, also
//! after a key rotation, and not with another key (or, past `MAX_TOKEN_LEN`, is
//! refused unread).
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/gateway-auth/src/seal.rs"]
mod seal;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use seal::{SessionKey, SessionSealer};

fuzz_target!(|data: &[u8]| {
    let key = |b: u8| {
        SessionKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([b; 32]))
            .expect("32 bytes are a key")
    };
    let sealer = SessionSealer::new(key(1), vec![]);
    let text = String::from_utf8_lossy(data);
    // Random tokens are forgeries: the tag cannot match.
    assert!(sealer.open(&text).is_err(), "arbitrary text opened");
    let token = sealer.seal(data);
    if token.len() > seal::MAX_TOKEN_LEN {
        // Only short values can be sealed (ids); a longer token is refused unread.
        assert_eq!(sealer.open(&token), Err(seal::SealError::Malformed));
        return;
    }
    assert_eq!(sealer.open(&token).expect("own token opens"), data);
    let rotated = SessionSealer::new(key(2), vec![key(1)]);
    assert_eq!(rotated.open(&token).expect("old key still opens"), data);
    let stranger = SessionSealer::new(key(3), vec![]);
    assert!(stranger.open(&token).is_err(), "another key opened it");
});
