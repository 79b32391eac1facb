//! [`HopSigner`]: the proof that a request was forwarded by another replica of the same
//! fleet. A replica that receives a request for a session another replica owns forwards
//! it there with an `X-Gateway-Forwarded` header: an HMAC-SHA256, under a key the fleet
//! shares, over the method, the path, the session id, a timestamp and the sender's
//! replica id. The owner accepts it only within ±30 s of its own clock, so a captured
//! header is useless for long and for any other request.
//!
//! Header value: `v1 {unix seconds} {replica id} {mac}` (the MAC in URL-safe base64
//! without padding), over `v1\n{METHOD}\n{path}\n{session id}\n{seconds}\n{replica id}`.
//!
//! ```
//! use gateway_auth::{HopSigner, SessionKey};
//! let fleet = HopSigner::derived(&SessionKey::generate().unwrap());
//! let header = fleet.sign("POST", "/mcp/a", "sid", "replica-b", 1_000);
//! assert_eq!(fleet.verify(&header, "POST", "/mcp/a", "sid", 1_010).unwrap(), "replica-b");
//! assert!(fleet.verify(&header, "POST", "/mcp/b", "sid", 1_010).is_err());
//! assert!(fleet.verify(&header, "POST", "/mcp/a", "sid", 1_031).is_err());
//! ```

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{hkdf, hmac};

use crate::SessionKey;

/// How far a forwarded request's timestamp may be from the receiver's clock, seconds.
pub const HOP_WINDOW_SECS: u64 = 30;
/// The shortest accepted shared secret, bytes.
pub const MIN_HOP_SECRET_LEN: usize = 32;
/// Header format version.
const VERSION: &str = "v1";
/// Longest accepted header value (a replica id is at most 64 characters).
const MAX_HEADER_LEN: usize = 256;

/// Why a forwarded request's header is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HopError {
    /// Not `v1 {seconds} {replica} {mac}`.
    #[error("malformed forwarding header")]
    Malformed,
    /// The timestamp is more than 30 s away from this replica's clock.
    #[error("forwarding header outside its 30 s window")]
    Expired,
    /// The MAC does not match this request (another request's, or forged).
    #[error("forwarding header does not authenticate this request")]
    Forged,
}

/// Signs and verifies forwarding headers. `Debug` never shows the key.
pub struct HopSigner {
    key: hmac::Key,
}

impl fmt::Debug for HopSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HopSigner(<redacted>)")
    }
}

/// HKDF output length marker for a 32-byte key.
struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl HopSigner {
    /// From the fleet's shared secret (`MCP_GATEWAY_FLEET_SECRET`, at least 32 bytes:
    /// checked by the configuration).
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// Derived from the session-sealing key with HKDF-SHA256 (replicas that share the
    /// session key, as they must, then share this one without another setting); the
    /// derived key reveals nothing of the session key.
    pub fn derived(session_key: &SessionKey) -> Self {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"mcp-gateway");
        let prk = salt.extract(session_key.bytes());
        let mut out = [0u8; 32];
        // Expanding 32 bytes with SHA-256 is within HKDF's limit (255 blocks), so
        // neither step can fail.
        let filled = prk
            .expand(&[b"fleet forwarding v1"], Len32)
            .and_then(|okm| okm.fill(&mut out));
        debug_assert!(filled.is_ok());
        Self::from_secret(&out)
    }

    /// The header value for a request forwarded at `now` (Unix seconds) by `replica`.
    pub fn sign(&self, method: &str, path: &str, session: &str, replica: &str, now: u64) -> String {
        let tag = hmac::sign(&self.key, &message(method, path, session, now, replica));
        format!(
            "{VERSION} {now} {replica} {}",
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// Checks `header` against this request at `now`; returns the sender's replica id.
    /// The MAC comparison is constant-time (ring's `hmac::verify`).
    pub fn verify<'h>(
        &self,
        header: &'h str,
        method: &str,
        path: &str,
        session: &str,
        now: u64,
    ) -> Result<&'h str, HopError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(HopError::Malformed);
        }
        let mut parts = header.split(' ');
        let (Some(VERSION), Some(at), Some(replica), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(HopError::Malformed);
        };
        let at: u64 = at.parse().map_err(|_| HopError::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| HopError::Malformed)?;
        hmac::verify(
            &self.key,
            &message(method, path, session, at, replica),
            &mac,
        )
        .map_err(|_| HopError::Forged)?;
        if at.abs_diff(now) > HOP_WINDOW_SECS {
            return Err(HopError::Expired);
        }
        Ok(replica)
    }
}

fn message(method: &str, path: &str, session: &str, at: u64, replica: &str) -> Vec<u8> {
    format!("{VERSION}\n{method}\n{path}\n{session}\n{at}\n{replica}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> HopSigner {
        HopSigner::from_secret(&[7u8; 32])
    }

    #[test]
    fn accepts_its_own_request_within_the_window() {
        let s = signer();
        let h = s.sign("GET", "/mcp/t", "abc", "r-1", 100);
        for now in [70, 100, 130] {
            assert_eq!(s.verify(&h, "GET", "/mcp/t", "abc", now), Ok("r-1"));
        }
        assert_eq!(
            s.verify(&h, "GET", "/mcp/t", "abc", 131),
            Err(HopError::Expired)
        );
        assert_eq!(
            s.verify(&h, "GET", "/mcp/t", "abc", 69),
            Err(HopError::Expired)
        );
    }

    #[test]
    fn any_other_request_or_key_is_forged() {
        let s = signer();
        let h = s.sign("POST", "/mcp/t", "abc", "r-1", 100);
        assert_eq!(
            s.verify(&h, "DELETE", "/mcp/t", "abc", 100),
            Err(HopError::Forged)
        );
        assert_eq!(
            s.verify(&h, "POST", "/mcp/u", "abc", 100),
            Err(HopError::Forged)
        );
        assert_eq!(
            s.verify(&h, "POST", "/mcp/t", "abd", 100),
            Err(HopError::Forged)
        );
        let other = HopSigner::from_secret(&[8u8; 32]);
        assert_eq!(
            other.verify(&h, "POST", "/mcp/t", "abc", 100),
            Err(HopError::Forged)
        );
        // Moving the timestamp or renaming the sender breaks the MAC.
        let moved = h.replacen(" 100 ", " 101 ", 1);
        assert_eq!(
            s.verify(&moved, "POST", "/mcp/t", "abc", 100),
            Err(HopError::Forged)
        );
        let renamed = h.replacen(" r-1 ", " r-2 ", 1);
        assert_eq!(
            s.verify(&renamed, "POST", "/mcp/t", "abc", 100),
            Err(HopError::Forged)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let s = signer();
        for bad in [
            "",
            "v1",
            "v1 100 r-1",
            "v2 100 r-1 AAAA",
            "v1 x r-1 AAAA",
            "v1 100 r-1 !!!",
            "v1 100 r-1 AAAA extra",
            &"v".repeat(300),
        ] {
            assert_eq!(
                s.verify(bad, "GET", "/", "", 100),
                Err(HopError::Malformed),
                "{bad:.20}"
            );
        }
    }

    #[test]
    fn derived_keys_follow_the_session_key() {
        let k = SessionKey::generate().unwrap();
        let h = HopSigner::derived(&k).sign("GET", "/mcp", "s", "r", 5);
        assert!(
            HopSigner::derived(&k)
                .verify(&h, "GET", "/mcp", "s", 5)
                .is_ok()
        );
        let other = HopSigner::derived(&SessionKey::generate().unwrap());
        assert_eq!(
            other.verify(&h, "GET", "/mcp", "s", 5),
            Err(HopError::Forged)
        );
        assert!(!format!("{:?}", HopSigner::derived(&k)).contains("Key"));
    }
}
