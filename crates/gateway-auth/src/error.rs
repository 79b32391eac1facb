//! [`Error`]: everything authentication and account management can fail with.
//!
//! Messages never say which part of a credential was wrong (unknown user, bad password,
//! bad signature, revoked key all read "invalid credentials") and never quote a secret.

use std::time::Duration;

use gateway_core::Scope;

/// An authentication, authorization or account-management failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The credential is unknown, malformed, expired, revoked, or belongs to a disabled
    /// user. Deliberately vague.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed attempts from this user name or address: try again later.
    #[error("too many failed attempts; retry in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// Too many password checks are running or queued: try again shortly.
    #[error("too many logins in progress; retry in {} s", retry_after.as_secs().max(1))]
    Busy {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The caller lacks a scope.
    #[error("missing scope `{0}`")]
    MissingScope(Scope),
    /// The caller may not act on this object or grant this permission.
    #[error("{0}")]
    Forbidden(&'static str),
    /// An input field is invalid (including the password policy).
    #[error("{field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong, without the value when it is a secret.
        message: String,
    },
    /// The user or key does not exist (or is not the caller's to see).
    #[error("{what} {key:?} not found")]
    NotFound {
        /// `user` or `api key`.
        what: &'static str,
        /// Its name or id.
        key: String,
    },
    /// The name is taken.
    #[error("{what} {key:?} already exists")]
    Conflict {
        /// `user`.
        what: &'static str,
        /// The name.
        key: String,
    },
    /// The change would leave the gateway without an active admin.
    #[error("this would leave no active admin")]
    LastAdmin,
    /// Invalid settings (for example a JWT secret shorter than 32 bytes).
    #[error("{key}: {message}")]
    Config {
        /// The setting.
        key: &'static str,
        /// Why.
        message: String,
    },
    /// The database failed.
    #[error("database error")]
    Store(#[source] gateway_store::Error),
    /// bcrypt failed (or its worker thread died).
    #[error("password hashing failed")]
    Hashing,
    /// Signing a token failed.
    #[error("token signing failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
    /// The operating system's random number generator failed.
    #[error("no randomness available")]
    Random,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Whether the caller must authenticate (again): a 401.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(self, Error::InvalidCredentials)
    }

    /// Whether the caller is authenticated but not allowed: a 403.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Error::MissingScope(_) | Error::Forbidden(_))
    }

    /// Whether the failure is the server's (database, hashing, randomness), not the
    /// caller's.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Error::Store(_)
                | Error::Hashing
                | Error::Signing(_)
                | Error::Random
                | Error::Config { .. }
        )
    }
}

impl From<gateway_store::Error> for Error {
    fn from(e: gateway_store::Error) -> Self {
        Error::Store(e)
    }
}
