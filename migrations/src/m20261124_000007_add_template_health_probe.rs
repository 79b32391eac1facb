//! Adds `gateway_templates.health_probe`: what a template's active health checks send
//! (`ping`, `tools_list`, or an HTTP path). Existing templates keep probing with `ping`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    HealthProbe,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .add_column(
                        ColumnDef::new(GatewayTemplates::HealthProbe)
                            .string_len(256)
                            .not_null()
                            .default("ping"),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .drop_column(GatewayTemplates::HealthProbe)
                    .to_owned(),
            )
            .await
    }
}
