//! Adds `gateway_templates.upstream_auth`: which credentials a template's upstreams get,
//! as a JSON document (`{"mode": "token_exchange", "issuer": "corp", "audience": "…"}`);
//! never a secret. `NULL`, the value of existing templates, means `static` (each
//! instance's stored headers, as before).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    UpstreamAuth,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::add_nullable_text(manager, GatewayTemplates::UpstreamAuth).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::drop(manager, GatewayTemplates::UpstreamAuth).await
    }
}
