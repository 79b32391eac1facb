//! Adds `gateway_templates.upstream_auth`: which credentials a template's upstreams get,
//! as a JSON document (`{"mode": "token_exchange", "issuer": "corp", "audience": "…"}`);
//! never a secret. `NULL`, the value of existing templates, means `static` (each
//! instance's stored headers, as before).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    UpstreamAuth,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .add_column(ColumnDef::new(GatewayTemplates::UpstreamAuth).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .drop_column(GatewayTemplates::UpstreamAuth)
                    .to_owned(),
            )
            .await
    }
}
