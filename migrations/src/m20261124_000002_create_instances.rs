//! Creates `gateway_instances`: one row per registered upstream instance.
//!
//! Structured values (`args`, `env`, `headers`, `metadata`) are JSON documents stored as
//! text, which every backend handles the same way.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The parent table, as migration 000001 created it.
#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    Name,
}

/// Columns of `gateway_instances` as this migration creates them.
#[derive(DeriveIden)]
enum GatewayInstances {
    Table,
    Id,
    TemplateName,
    Transport,
    Endpoint,
    Command,
    Args,
    Env,
    Headers,
    WorkingDir,
    Weight,
    Metadata,
    CreatedAtMs,
    UpdatedAtMs,
}

const TEMPLATE_INDEX: &str = "idx_gateway_instances_template_name";
const TEMPLATE_FK: &str = "fk_gateway_instances_template_name";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewayInstances::Table)
            .col(
                ColumnDef::new(GatewayInstances::Id)
                    .string_len(128)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayInstances::TemplateName)
                    .string_len(64)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayInstances::Transport)
                    .string_len(16)
                    .not_null(),
            )
            .col(ColumnDef::new(GatewayInstances::Endpoint).text().null())
            .col(ColumnDef::new(GatewayInstances::Command).text().null())
            .col(ColumnDef::new(GatewayInstances::Args).text().not_null())
            .col(ColumnDef::new(GatewayInstances::Env).text().not_null())
            .col(ColumnDef::new(GatewayInstances::Headers).text().not_null())
            .col(ColumnDef::new(GatewayInstances::WorkingDir).text().null())
            .col(
                ColumnDef::new(GatewayInstances::Weight)
                    .integer()
                    .not_null(),
            )
            .col(ColumnDef::new(GatewayInstances::Metadata).text().not_null())
            .col(
                ColumnDef::new(GatewayInstances::CreatedAtMs)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayInstances::UpdatedAtMs)
                    .big_integer()
                    .not_null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name(TEMPLATE_FK)
                    .from(GatewayInstances::Table, GatewayInstances::TemplateName)
                    .to(GatewayTemplates::Table, GatewayTemplates::Name)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name(TEMPLATE_INDEX)
                    .table(GatewayInstances::Table)
                    .col(GatewayInstances::TemplateName)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its index and foreign key on every backend.
        manager
            .drop_table(Table::drop().table(GatewayInstances::Table).to_owned())
            .await
    }
}
