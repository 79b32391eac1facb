//! API keys: `mcpgw_<id>_<secret>`, with a 16-hex-digit id (64 bits, the lookup key)
//! and a 256-bit secret (43 characters of URL-safe base64).
//!
//! The database keeps only `HMAC-SHA-256(server key, secret)`: a leaked table does not
//! reveal usable keys, and a lookup is one HMAC plus a constant-time comparison (about a
//! microsecond), never bcrypt.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::{
    error::Result,
    secret::{hex, random_bytes, random_token},
};

/// Every key starts with this.
pub const PREFIX: &str = "mcpgw_";
/// Hex digits in a key id.
const ID_LEN: usize = 16;
/// Characters in a key secret.
const SECRET_LEN: usize = 43;

/// A key split into its parts (borrowed from the presented string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyParts<'a> {
    pub(crate) id: &'a str,
    pub(crate) secret: &'a str,
}

/// Splits a presented key; `None` if it does not have the key shape.
pub(crate) fn parse(key: &str) -> Option<KeyParts<'_>> {
    let rest = key.strip_prefix(PREFIX)?;
    let (id, secret) = (rest.get(..ID_LEN)?, rest.get(ID_LEN..)?);
    let secret = secret.strip_prefix('_')?;
    let id_ok = id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let secret_ok = secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (id_ok && secret_ok).then_some(KeyParts { id, secret })
}

/// Whether `text` has the shape of a gateway API key (for telling keys from JWTs in
/// `Authorization: Bearer`).
///
/// ```
/// use gateway_auth::api_key::looks_like_key;
/// assert!(looks_like_key("mcpgw_0123456789abcdef_0123456789012345678901234567890123456789abc"));
/// assert!(!looks_like_key("eyJhbGciOi..."));
/// ```
pub fn looks_like_key(text: &str) -> bool {
    parse(text).is_some()
}

/// A freshly generated key: the full text (shown once) and its parts.
pub(crate) struct NewKey {
    pub(crate) full: String,
    pub(crate) id: String,
    pub(crate) secret: String,
}

pub(crate) fn generate() -> Result<NewKey> {
    let id = hex(&random_bytes::<8>()?);
    let secret = random_token::<32>()?;
    Ok(NewKey {
        full: format!("{PREFIX}{id}_{secret}"),
        id,
        secret,
    })
}

/// Keyed hashing of key secrets.
pub(crate) struct KeyHasher {
    mac: Hmac<Sha256>,
}

impl KeyHasher {
    pub(crate) fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length.
        #[allow(clippy::expect_used)]
        let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        Self { mac }
    }

    /// `HMAC-SHA-256(key, secret)`.
    pub(crate) fn digest(&self, secret: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `secret` hashes to `stored`, compared in constant time.
    pub(crate) fn matches(&self, secret: &str, stored: &[u8; 32]) -> bool {
        self.digest(secret).ct_eq(stored).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back() {
        let key = generate().unwrap();
        assert!(key.full.starts_with(PREFIX));
        let parts = parse(&key.full).unwrap();
        assert_eq!(parts.id, key.id);
        assert_eq!(parts.secret, key.secret);
        assert_ne!(generate().unwrap().full, key.full);
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let good = generate().unwrap().full;
        let mut cases = vec![
            String::new(),
            PREFIX.to_owned(),
            good.replacen(PREFIX, "mcpgx_", 1),
            format!("{good}x"),
            good[..good.len() - 1].to_owned(),
            good.to_uppercase(),
            format!("{PREFIX}0123456789abcdeZ_{}", "a".repeat(43)),
            format!("{PREFIX}0123456789abcdef-{}", "a".repeat(43)),
            format!("{PREFIX}0123456789abcdef_{}", "a/".repeat(21) + "a"),
        ];
        cases.push("mcpgw_é".to_owned());
        for case in cases {
            assert!(parse(&case).is_none(), "{case:?} parsed");
        }
    }

    #[test]
    fn hashes_are_keyed_and_compared() {
        let a = KeyHasher::new(b"server key a");
        let b = KeyHasher::new(b"server key b");
        let digest = a.digest("secret");
        assert!(a.matches("secret", &digest));
        assert!(!a.matches("secreT", &digest));
        assert!(!b.matches("secret", &digest));
        assert_eq!(hex(&digest).len(), 64);
    }
}
