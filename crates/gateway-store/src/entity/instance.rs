//! `gateway_instances`: one registered upstream instance.

use sea_orm::entity::prelude::*;

/// One row of `gateway_instances` (schema: migration `m20261124_000002_create_instances`).
///
/// `args` (array), `env`, `headers` and `metadata` (objects) are JSON text. `env` and
/// `headers` values are secrets: this type's `Debug` is never logged.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_instances")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) id: String,
    pub(crate) template_name: String,
    pub(crate) transport: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub(crate) endpoint: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub(crate) command: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub(crate) args: String,
    #[sea_orm(column_type = "Text")]
    pub(crate) env: String,
    #[sea_orm(column_type = "Text")]
    pub(crate) headers: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub(crate) working_dir: Option<String>,
    pub(crate) weight: i32,
    #[sea_orm(column_type = "Text")]
    pub(crate) metadata: String,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(
        belongs_to = "super::template::Entity",
        from = "Column::TemplateName",
        to = "super::template::Column::Name",
        on_delete = "Cascade"
    )]
    Template,
}

impl Related<super::template::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Template.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
