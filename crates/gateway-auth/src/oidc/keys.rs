//! [`KeySet`]: an issuer's signature keys from its JWKS document.
//!
//! Only public signature keys are kept: `use` absent or `sig`, `key_ops` absent or with
//! `verify`, and a key type the algorithms need (RSA of at least 2048 bits, EC P-256 or
//! P-384, OKP Ed25519). Symmetric (`oct`) keys are ignored: a shared secret published in
//! a JWKS would let anyone sign. A key with an `alg` is used for that algorithm only.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use super::settings::TokenAlgorithm;

/// Most keys kept from one document.
const MAX_KEYS: usize = 64;
/// Smallest accepted RSA modulus, bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// The kind of a key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    fn verifies(self, alg: TokenAlgorithm) -> bool {
        use TokenAlgorithm as A;
        match self {
            KeyKind::Rsa => matches!(
                alg,
                A::Rs256 | A::Rs384 | A::Rs512 | A::Ps256 | A::Ps384 | A::Ps512
            ),
            KeyKind::P256 => alg == A::Es256,
            KeyKind::P384 => alg == A::Es384,
            KeyKind::Ed25519 => alg == A::EdDsa,
        }
    }
}

struct Key {
    kid: Option<String>,
    alg: Option<TokenAlgorithm>,
    kind: KeyKind,
    decoding: DecodingKey,
    /// The public material, to tell whether a new document changed anything.
    identity: String,
}

/// The usable keys of one JWKS document.
pub(crate) struct KeySet {
    keys: Vec<Key>,
    /// Bumped each time the issuer's keys change (cached verifications of an older
    /// generation are checked again).
    pub(crate) generation: u64,
}

/// Why a document gave no key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySetError {
    /// Not a JSON object with a `keys` array.
    Malformed,
    /// No usable signature key in it.
    NoUsableKey,
}

impl KeySetError {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeySetError::Malformed => "the JWKS document is not a JSON object with `keys`",
            KeySetError::NoUsableKey => "the JWKS document has no usable signature key",
        }
    }
}

impl KeySet {
    /// The usable keys of `document` (unusable ones are skipped).
    pub(crate) fn parse(document: &[u8]) -> Result<KeySet, KeySetError> {
        let value: Value = serde_json::from_slice(document).map_err(|_| KeySetError::Malformed)?;
        let entries = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(KeySetError::Malformed)?;
        let keys: Vec<Key> = entries.iter().filter_map(key).take(MAX_KEYS).collect();
        if keys.is_empty() {
            return Err(KeySetError::NoUsableKey);
        }
        Ok(KeySet {
            keys,
            generation: 0,
        })
    }

    /// The key for a token signed with `alg` under `kid`: the key with that `kid`, or,
    /// for a token without `kid`, the only key that can verify `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: TokenAlgorithm) -> Option<&DecodingKey> {
        let fits = |k: &&Key| k.kind.verifies(alg) && k.alg.is_none_or(|a| a == alg);
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(fits)
                .find(|k| k.kid.as_deref() == Some(kid)),
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
        .map(|k| &k.decoding)
    }

    /// Whether both sets hold the same keys.
    pub(crate) fn same_keys(&self, other: &KeySet) -> bool {
        fn ids(set: &KeySet) -> Vec<&str> {
            let mut ids: Vec<&str> = set.keys.iter().map(|k| k.identity.as_str()).collect();
            ids.sort_unstable();
            ids
        }
        ids(self) == ids(other)
    }

    /// How many keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// One usable key of a JWKS, if it is one.
fn key(jwk: &Value) -> Option<Key> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verify {
            return None;
        }
    }
    let alg = match jwk.get("alg") {
        None => None,
        // An `alg` this resource server does not verify (an encryption key, HS256, ...)
        // binds the key to something else: skip it.
        Some(alg) => Some(alg.as_str()?.parse::<TokenAlgorithm>().ok()?),
    };
    let decoded_len = |name: &str| text(name).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
    let (kind, decoding, material) = match (text("kty")?, text("crv")) {
        ("RSA", _) => {
            let (n, e) = (text("n")?, text("e")?);
            let modulus = decoded_len("n")?;
            let significant = modulus.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_BYTES {
                return None;
            }
            (
                KeyKind::Rsa,
                DecodingKey::from_rsa_components(n, e).ok()?,
                format!("RSA:{n}:{e}"),
            )
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (kind, len) = if crv == "P-256" {
                (KeyKind::P256, 32)
            } else {
                (KeyKind::P384, 48)
            };
            let (x, y) = (text("x")?, text("y")?);
            if decoded_len("x")?.len() != len || decoded_len("y")?.len() != len {
                return None;
            }
            (
                kind,
                DecodingKey::from_ec_components(x, y).ok()?,
                format!("EC:{crv}:{x}:{y}"),
            )
        }
        ("OKP", Some("Ed25519")) => {
            let x = text("x")?;
            if decoded_len("x")?.len() != 32 {
                return None;
            }
            (
                KeyKind::Ed25519,
                DecodingKey::from_ed_components(x).ok()?,
                format!("OKP:{x}"),
            )
        }
        _ => return None,
    };
    if alg.is_some_and(|a| !kind.verifies(a)) {
        return None;
    }
    let kid = text("kid").map(str::to_owned);
    let identity = format!(
        "{}|{}|{material}",
        kid.as_deref().unwrap_or(""),
        alg.map_or("", TokenAlgorithm::as_str)
    );
    Some(Key {
        kid,
        alg,
        kind,
        decoding,
        identity,
    })
}
