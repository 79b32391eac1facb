//! [`Store`](crate::Store) methods that take and return core types (and the auth
//! records), one file per table.

mod api_keys;
mod audit;
mod instances;
mod templates;
mod users;

pub use audit::MAX_AUDIT_PAGE;
