//! `gateway_templates`: a template and its load-balancer settings.

use sea_orm::entity::prelude::*;

/// One row of `gateway_templates` (schema: migrations `m20261124_000001_create_templates`,
/// `m20261124_000007_add_template_health_probe`,
/// `m20261124_000008_add_template_session_mode`,
/// `m20261202_000001_add_template_upstream_tls`,
/// `m20261211_000001_add_template_upstream_auth` and
/// `m20261212_000001_add_template_upstream_limits`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "gateway_templates")]
pub(crate) struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub(crate) name: String,
    pub(crate) strategy: String,
    pub(crate) health_check_interval_s: i64,
    pub(crate) health_check_timeout_s: i64,
    pub(crate) max_retries: i32,
    pub(crate) timeout_s: i64,
    pub(crate) pool_size: i32,
    pub(crate) health_probe: String,
    pub(crate) session_mode: String,
    pub(crate) max_sessions: i32,
    /// JSON of `gateway_core::api::UpstreamTlsConfig` (file paths only), or `NULL`.
    pub(crate) upstream_tls: Option<String>,
    /// JSON of `gateway_core::api::UpstreamAuthConfig` (no secrets), or `NULL` for
    /// `static`.
    pub(crate) upstream_auth: Option<String>,
    /// JSON of `gateway_core::api::UpstreamLimitsConfig`, or `NULL` for the defaults.
    pub(crate) upstream_limits: Option<String>,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub(crate) enum Relation {
    #[sea_orm(has_many = "super::instance::Entity")]
    Instances,
}

impl Related<super::instance::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Instances.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
