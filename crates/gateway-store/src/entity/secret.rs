//! `gateway_secrets`: server secrets generated once and shared by every replica.

use sea_orm::entity::prelude::*;

/// One row of `gateway_secrets` (schema: migration `m20261124_000006_create_secrets`).
/// `value` is secret: this type's `Debug` is never logged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_secrets")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) name: String,
    #[sea_orm(column_type = "Text")]
    pub(crate) value: String,
    pub(crate) created_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
