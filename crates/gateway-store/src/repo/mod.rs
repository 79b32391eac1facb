//! [`Store`](crate::Store) methods that take and return core types, one file per table.

mod instances;
mod templates;
