//! `gateway_audit_events`: the security audit log.

use sea_orm::entity::prelude::*;

/// One row of `gateway_audit_events` (schema: migration
/// `m20261124_000005_create_audit_events`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_audit_events")]
pub(crate) struct Model {
    #[sea_orm(primary_key)]
    pub(crate) id: i64,
    pub(crate) at_ms: i64,
    pub(crate) actor: Option<String>,
    pub(crate) action: String,
    pub(crate) target: Option<String>,
    pub(crate) outcome: String,
    pub(crate) client_addr: Option<String>,
    pub(crate) request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
