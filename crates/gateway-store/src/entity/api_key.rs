//! `gateway_api_keys`: API keys, stored as a keyed hash of their secret.

use sea_orm::entity::prelude::*;

/// One row of `gateway_api_keys` (schema: migration `m20261124_000004_create_api_keys`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_api_keys")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) owner: String,
    pub(crate) secret_hash: String,
    #[sea_orm(column_type = "Text")]
    pub(crate) scopes: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub(crate) templates: Option<String>,
    pub(crate) rate_limit: Option<i32>,
    pub(crate) created_at_ms: i64,
    pub(crate) expires_at_ms: Option<i64>,
    pub(crate) revoked_at_ms: Option<i64>,
    pub(crate) last_used_at_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::Owner",
        to = "super::user::Column::Username",
        on_delete = "Cascade"
    )]
    Owner,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
