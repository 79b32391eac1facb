//! [`Store`](crate::Store) methods that take and return core types (and the auth
//! records), one file per table.

mod api_keys;
mod audit;
pub(crate) mod changes;
mod instances;
mod templates;
mod users;

pub use audit::MAX_AUDIT_PAGE;
pub use changes::{Change, ChangeKind, ChangeListener, Wake};
