//! Sealed ids (session and connection ids): any payload opens to itself, with the
//! current key or after a rotation; any change to a token, and any token of another
//! key, is refused. Random payloads and edits, shrunk to the smallest failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_auth::{SessionKey, SessionSealer};
use proptest::prelude::*;

fn key() -> SessionKey {
    SessionKey::generate().unwrap()
}

proptest! {
    #[test]
    fn a_sealed_payload_opens_to_itself_also_after_a_rotation(
        payload in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (old, new) = (key(), key());
        let before = SessionSealer::new(old.clone(), Vec::new());
        let token = before.seal(&payload);
        prop_assert_eq!(before.open(&token).unwrap(), payload.clone());
        let rotated = SessionSealer::new(new, vec![old]);
        prop_assert_eq!(rotated.open(&token).unwrap(), payload);
    }

    #[test]
    fn an_edited_or_foreign_token_is_refused(
        payload in proptest::collection::vec(any::<u8>(), 0..256),
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let sealer = SessionSealer::new(key(), Vec::new());
        let token = sealer.seal(&payload);
        let mut chars: Vec<char> = token.chars().collect();
        let i = at.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let edited: String = chars.into_iter().collect();
        prop_assert!(sealer.open(&edited).is_err(), "an edited token opened");
        let stranger = SessionSealer::new(key(), Vec::new());
        prop_assert!(stranger.open(&token).is_err(), "another key's token opened");
    }

    #[test]
    fn arbitrary_text_never_opens(text in ".{0,300}") {
        let sealer = SessionSealer::new(key(), Vec::new());
        prop_assert!(sealer.open(&text).is_err());
    }
}
