//! `gateway_users`: one user who can log in.

use sea_orm::entity::prelude::*;

/// One row of `gateway_users` (schema: migration `m20261124_000003_create_users`).
///
/// `password_hash` is a bcrypt hash; this type's `Debug` is never logged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_users")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) username: String,
    pub(crate) password_hash: String,
    pub(crate) role: String,
    pub(crate) active: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub(crate) templates: Option<String>,
    pub(crate) token_version: i64,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(has_many = "super::api_key::Entity")]
    ApiKeys,
}

impl Related<super::api_key::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiKeys.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
