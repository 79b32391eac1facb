//! [`SessionSealer`]: opaque tokens that carry their own state, encrypted and
//! authenticated with AES-256-GCM (ring), so any process holding the key can read them
//! back and nobody else can read or forge them. The gateway seals MCP session ids this
//! way, so replicas share sessions without a shared store.
//!
//! Token layout, URL-safe base64 without padding (visible ASCII, a valid header value):
//! `version (1) | key id (4) | nonce (12) | ciphertext | tag (16)`. The key id (the first
//! bytes of the key's SHA-256) picks the key directly: rotation needs no trial decryption.
//!
//! ```
//! use gateway_auth::{SessionKey, SessionSealer};
//! let old = SessionKey::generate().unwrap();
//! let token = SessionSealer::new(old.clone(), vec![]).seal(b"state");
//! // After rotation the old key still opens what it sealed.
//! let rotated = SessionSealer::new(SessionKey::generate().unwrap(), vec![old]);
//! assert_eq!(rotated.open(&token).unwrap(), b"state");
//! ```

use std::fmt;

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use sha2::{Digest, Sha256};

/// Token format version.
const VERSION: u8 = 1;
/// Bytes of key id in a token.
const KEY_ID_LEN: usize = 4;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Tokens longer than this are refused before decoding (so [`SessionSealer::seal`]
/// is for short values, at most about 3 KB: ids, not documents).
pub const MAX_TOKEN_LEN: usize = 4096;
/// Binds tokens to this use: data sealed for another purpose does not open here.
const AAD: &[u8] = b"mcp-gateway session v1";

/// Why a key or a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key text is not base64 of exactly 32 bytes.
    #[error("session key must be base64 of exactly 32 bytes")]
    BadKey,
    /// The operating system's random generator failed.
    #[error("no randomness available")]
    Random,
    /// Not base64, too short or too long.
    #[error("malformed token")]
    Malformed,
    /// A token format this version does not know.
    #[error("unknown token version")]
    UnknownVersion,
    /// Sealed with a key that is not configured (rotated out, or another gateway's).
    #[error("token sealed with an unknown key")]
    UnknownKey,
    /// Altered, truncated or forged.
    #[error("token failed authentication")]
    Forged,
}

/// A 256-bit sealing key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    /// A new random key.
    pub fn generate() -> Result<Self, SealError> {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| SealError::Random)?;
        Ok(Self(key))
    }

    /// Reads standard or URL-safe base64 (padded or not) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = [&STANDARD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(text).ok())
            .or_else(|| {
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .ok()
            })
            .ok_or(SealError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self(key))
    }

    /// The key as standard base64 (to store it).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The raw key, for deriving other keys from it (never to show).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn id(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::digest(self.0);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

struct Keyed {
    id: [u8; KEY_ID_LEN],
    key: LessSafeKey,
}

impl Keyed {
    fn new(key: &SessionKey) -> Self {
        Self {
            id: key.id(),
            // AES-256 takes exactly 32 bytes, which a SessionKey always is.
            key: LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &key.0).unwrap_or_else(|_| unreachable!()),
            ),
        }
    }
}

/// Seals with the current key; opens with the current or any previous key.
pub struct SessionSealer {
    current: Keyed,
    previous: Vec<Keyed>,
    random: SystemRandom,
}

impl fmt::Debug for SessionSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSealer")
            .field("previous_keys", &self.previous.len())
            .finish_non_exhaustive()
    }
}

impl SessionSealer {
    /// A sealer; keys are prepared once here, never per token.
    pub fn new(current: SessionKey, previous: Vec<SessionKey>) -> Self {
        Self {
            current: Keyed::new(&current),
            previous: previous.iter().map(Keyed::new).collect(),
            random: SystemRandom::new(),
        }
    }

    /// Encrypts and authenticates `plaintext` into a token (a fresh random nonce each
    /// time, so equal inputs give different tokens).
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        if self.random.fill(&mut nonce).is_err() {
            // Without randomness a nonce could repeat; a token nobody can open is the
            // safe failure (the session is refused and the client starts again).
            return String::new();
        }
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        let sealed = self.current.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(AAD),
            &mut body,
        );
        if sealed.is_err() {
            return String::new();
        }
        out.extend_from_slice(&body);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Checks and decrypts a token.
    pub fn open(&self, token: &str) -> Result<Vec<u8>, SealError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(SealError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < 1 + KEY_ID_LEN + NONCE_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        if bytes[0] != VERSION {
            return Err(SealError::UnknownVersion);
        }
        let id = &bytes[1..=KEY_ID_LEN];
        let keyed = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or(SealError::UnknownKey)?;
        let nonce_start = 1 + KEY_ID_LEN;
        let nonce = Nonce::try_assume_unique_for_key(&bytes[nonce_start..nonce_start + NONCE_LEN])
            .map_err(|_| SealError::Malformed)?;
        let mut body = bytes[nonce_start + NONCE_LEN..].to_vec();
        let plain = keyed
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut body)
            .map_err(|_| SealError::Forged)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> (SessionKey, SessionSealer) {
        let key = SessionKey::generate().unwrap();
        (key.clone(), SessionSealer::new(key, vec![]))
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let (_, s) = sealer();
        let a = s.seal(b"hello");
        let b = s.seal(b"hello");
        assert_ne!(a, b);
        assert_eq!(s.open(&a).unwrap(), b"hello");
        assert!(a.bytes().all(|c| (0x21..=0x7e).contains(&c)));
        assert_eq!(s.open(&s.seal(b"")).unwrap(), b"");
    }

    #[test]
    fn rotation_and_unknown_keys() {
        let (old, s_old) = sealer();
        let token = s_old.seal(b"x");
        let rotated = SessionSealer::new(SessionKey::generate().unwrap(), vec![old]);
        assert_eq!(rotated.open(&token).unwrap(), b"x");
        let stranger = SessionSealer::new(SessionKey::generate().unwrap(), vec![]);
        assert_eq!(stranger.open(&token), Err(SealError::UnknownKey));
    }

    #[test]
    fn tampering_truncation_and_garbage_are_refused() {
        let (_, s) = sealer();
        let token = s.seal(b"some session state");
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            assert!(s.open(&URL_SAFE_NO_PAD.encode(&bad)).is_err(), "byte {i}");
        }
        for cut in [0, 1, 5, 17, raw.len() - 1] {
            assert!(s.open(&URL_SAFE_NO_PAD.encode(&raw[..cut])).is_err());
        }
        for garbage in ["", "!!!", "a b", &"A".repeat(5000), "AAAA"] {
            assert!(s.open(garbage).is_err(), "{garbage:.10}");
        }
    }

    #[test]
    fn keys_parse_and_redact() {
        let key = SessionKey::generate().unwrap();
        let text = key.to_base64();
        assert_eq!(SessionKey::from_base64(&text).unwrap(), key);
        assert_eq!(
            SessionKey::from_base64(&URL_SAFE_NO_PAD.encode(key.0)).unwrap(),
            key
        );
        assert_eq!(SessionKey::from_base64("c2hvcnQ="), Err(SealError::BadKey));
        assert_eq!(SessionKey::from_base64("%%%"), Err(SealError::BadKey));
        assert!(!format!("{key:?}").contains(&text[..8]));
    }
}
