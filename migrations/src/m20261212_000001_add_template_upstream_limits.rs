//! Adds `gateway_templates.upstream_limits`: how much of each instance the gateway may
//! use at once, as a JSON document (`{"max_in_flight": 64, "max_pending": 256,
//! "max_connections": 64, "idle_connections": 8}`). `NULL`, the value of existing
//! templates, means the defaults.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    UpstreamLimits,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::add_nullable_text(manager, GatewayTemplates::UpstreamLimits).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::drop(manager, GatewayTemplates::UpstreamLimits).await
    }
}
