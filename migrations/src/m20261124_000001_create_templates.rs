//! Creates `gateway_templates`: one row per template with its load-balancer settings.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Columns of `gateway_templates` as this migration creates them.
#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    Name,
    Strategy,
    HealthCheckIntervalS,
    HealthCheckTimeoutS,
    MaxRetries,
    TimeoutS,
    PoolSize,
    CreatedAtMs,
    UpdatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewayTemplates::Table)
            .col(
                ColumnDef::new(GatewayTemplates::Name)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::Strategy)
                    .string_len(32)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::HealthCheckIntervalS)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::HealthCheckTimeoutS)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::MaxRetries)
                    .integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::TimeoutS)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::PoolSize)
                    .integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::CreatedAtMs)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayTemplates::UpdatedAtMs)
                    .big_integer()
                    .not_null(),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewayTemplates::Table).to_owned())
            .await
    }
}
