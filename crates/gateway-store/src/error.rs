//! [`Error`]: what can go wrong in the store, without secrets in any message.

use std::fmt;

/// A store failure.
///
/// `Display` names the table, key and field involved but never a stored value: instance
/// environment variables and headers hold credentials, so neither they nor anything
/// derived from them appear in a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The row that the operation needs does not exist.
    #[error("{what} {key:?} not found")]
    NotFound {
        /// What kind of row (`"template"`, `"instance"`).
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A row with the same key already exists.
    #[error("{what} {key:?} already exists")]
    Conflict {
        /// What kind of row (`"instance"`).
        what: &'static str,
        /// The key that is taken.
        key: String,
    },
    /// A stored row no longer validates into a core type (edited by hand, or written by a
    /// newer version with other rules).
    #[error("corrupt row in {table} (key {key:?}): {field} {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's primary key.
        key: String,
        /// The column that failed.
        field: &'static str,
        /// Why, without the stored value.
        reason: String,
    },
    /// A value or argument the store cannot represent, such as an unsupported database
    /// URL scheme or a non-UTF-8 working directory.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was rejected.
        what: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The database failed: unreachable, timed out, or rejected a statement.
    #[error("database error")]
    Backend(#[source] sea_orm::DbErr),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the operation failed because the key is already taken.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// Whether the operation failed because a row is missing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether the database itself failed (as opposed to the data or the request).
    pub fn is_backend(&self) -> bool {
        matches!(self, Error::Backend(_))
    }

    pub(crate) fn corrupt(
        table: &'static str,
        key: &str,
        field: &'static str,
        reason: impl fmt::Display,
    ) -> Self {
        Error::Corrupt {
            table,
            key: key.to_owned(),
            field,
            reason: reason.to_string(),
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        Error::Backend(err)
    }
}
