//! `gateway_changes` and `gateway_change_counter`: the change feed of a fleet.

use sea_orm::entity::prelude::*;

/// One row of `gateway_changes` (schema: migration `m20261210_000001_create_changes`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_changes")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) version: i64,
    pub(crate) kind: String,
    pub(crate) template: Option<String>,
    pub(crate) subject: String,
    pub(crate) at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// `gateway_change_counter`: its single row (id 1) holds the latest version.
pub(crate) mod counter {
    use sea_orm::entity::prelude::*;

    /// The counter row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "gateway_change_counter")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: i32,
        pub(crate) version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
