//! Table options that only MySQL/MariaDB understand.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// On MySQL/MariaDB, makes `table` InnoDB (foreign keys need it) with a binary collation.
///
/// The server default (`utf8mb4_general_ci` and friends) compares case-insensitively, so
/// `Foo` and `foo` would collide as keys there while SQLite and PostgreSQL keep them apart.
/// `utf8mb4_bin` gives the same byte-wise equality on every backend. The other backends
/// would print these options verbatim (and fail), hence the check.
///
/// Shipped migrations call this, so what it emits must never change: a different table
/// setup needs a new helper and a new migration.
pub(crate) fn portable_table_options(
    manager: &SchemaManager<'_>,
    table: &mut TableCreateStatement,
) {
    if manager.get_database_backend() == DbBackend::MySql {
        table
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
}
