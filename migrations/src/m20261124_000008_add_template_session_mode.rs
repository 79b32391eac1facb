//! Adds `gateway_templates.session_mode` and `gateway_templates.max_sessions`: whether a
//! template's client MCP sessions share its pooled upstream sessions (`shared`) or each
//! get their own (`dedicated`, at most `max_sessions`). Existing templates stay `shared`
//! with a cap of 100.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    SessionMode,
    MaxSessions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE takes a single change.
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .add_column(
                        ColumnDef::new(GatewayTemplates::SessionMode)
                            .string_len(16)
                            .not_null()
                            .default("shared"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .add_column(
                        ColumnDef::new(GatewayTemplates::MaxSessions)
                            .integer()
                            .not_null()
                            .default(100),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [GatewayTemplates::MaxSessions, GatewayTemplates::SessionMode] {
            manager
                .alter_table(
                    Table::alter()
                        .table(GatewayTemplates::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
