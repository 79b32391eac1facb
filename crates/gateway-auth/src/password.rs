//! Passwords: the policy, and bcrypt hashing off the async threads.
//!
//! bcrypt is for low-entropy secrets typed by people and runs only at login and when a
//! password is set, never on the request path (API keys use HMAC, see `api_key`).
//! Hashes use cost [`DEFAULT_COST`] (12) outside tests; a lower cost is refused in
//! release builds.

use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 12;
/// Longest accepted password, in bytes (bcrypt ignores everything after 72 bytes).
pub const MAX_BYTES: usize = 72;
/// bcrypt cost used unless configured otherwise.
pub const DEFAULT_COST: u32 = 12;
/// The lowest cost a release build accepts.
pub const MIN_RELEASE_COST: u32 = 12;

/// A few passwords that meet the length rule but are guessed first.
const COMMON: [&str; 8] = [
    "password1234",
    "123456789012",
    "qwertyuiop12",
    "passwordpassword",
    "administrator",
    "letmeinletmein",
    "changemechangeme",
    "iloveyou1234",
];

/// Checks `password` for `username`; the error names the rule, never the password.
///
/// ```
/// use gateway_auth::password::check_policy;
/// assert!(check_policy("alice", "correct horse battery").is_ok());
/// assert!(check_policy("alice", "short").is_err());
/// assert!(check_policy("alice.smith1", "ALICE.SMITH1").is_err());
/// ```
pub fn check_policy(username: &str, password: &str) -> Result<()> {
    if password.chars().count() < MIN_LEN {
        return Err(Error::invalid(
            "password",
            format!("must be at least {MIN_LEN} characters long"),
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(Error::invalid(
            "password",
            format!("must be at most {MAX_BYTES} bytes long"),
        ));
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(Error::invalid("password", "must not be the user name"));
    }
    if password.chars().all(|c| password.starts_with(c)) {
        return Err(Error::invalid(
            "password",
            "must not repeat a single character",
        ));
    }
    let lower = password.to_ascii_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(Error::invalid("password", "is too common"));
    }
    Ok(())
}

/// Checks a configured bcrypt cost: 4..=31, and at least [`MIN_RELEASE_COST`] in
/// release builds (only debug builds, used by tests, may go lower).
pub fn check_cost(cost: u32) -> Result<u32> {
    let min = if cfg!(debug_assertions) {
        4
    } else {
        MIN_RELEASE_COST
    };
    if !(min..=31).contains(&cost) {
        return Err(Error::Config {
            key: "bcrypt_cost",
            message: format!("must be between {min} and 31"),
        });
    }
    Ok(cost)
}

/// Hashes `password` on the blocking pool, outside the [`crate::hashing`] gate (the
/// offline CLI; the server goes through the gate).
pub(crate) async fn hash(password: String, cost: u32) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password, cost))
        .await
        .map_err(|_| Error::Hashing)?
}

/// Hashes `password` on this thread (call from a blocking context).
pub(crate) fn hash_now(password: &str, cost: u32) -> Result<String> {
    bcrypt::hash(password.as_bytes(), cost).map_err(|_| Error::Hashing)
}

/// Whether `password` matches `hash`, on this thread (call from a blocking context). A
/// malformed hash never matches.
pub(crate) fn verify_now(password: &str, hash: &str) -> bool {
    bcrypt::verify(password.as_bytes(), hash).unwrap_or(false)
}

/// A hash of a random password at `cost`, verified against when the user does not
/// exist, so that a login for an unknown name costs as much as one for a known name.
pub(crate) fn dummy_hash(cost: u32) -> String {
    static DUMMY: OnceLock<(u32, String)> = OnceLock::new();
    let (stored_cost, hash) = DUMMY.get_or_init(|| {
        let random = crate::secret::random_token::<16>().unwrap_or_default();
        (
            cost,
            bcrypt::hash(random.as_bytes(), cost).unwrap_or_default(),
        )
    });
    if *stored_cost == cost {
        hash.clone()
    } else {
        bcrypt::hash(b"x", cost).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_the_rule() {
        let msg = |u: &str, p: &str| check_policy(u, p).unwrap_err().to_string();
        assert!(msg("a", "short").contains("at least 12"));
        assert!(msg("a", &"x".repeat(73)).contains("at most 72"));
        assert!(msg("administrator", "Administrator").contains("user name"));
        assert!(msg("a", "aaaaaaaaaaaaaaa").contains("repeat"));
        assert!(msg("a", "Password1234").contains("common"));
        assert!(!msg("a", "Password1234").contains("Password1234"));
        check_policy("alice", "ünïcödé-pässwörd").unwrap();
    }

    #[test]
    fn cost_bounds() {
        assert!(check_cost(12).is_ok());
        assert!(check_cost(32).is_err());
        assert_eq!(check_cost(4).is_ok(), cfg!(debug_assertions));
    }

    #[tokio::test]
    async fn hashes_verify() {
        let h = hash("correct horse battery".into(), 4).await.unwrap();
        assert!(h.starts_with("$2"));
        assert!(verify_now("correct horse battery", &h));
        assert!(!verify_now("wrong horse battery", &h));
        assert!(!verify_now("x", "not a hash"));
        assert!(!verify_now("x", &dummy_hash(4)));
    }
}
