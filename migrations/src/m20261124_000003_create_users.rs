//! Creates `gateway_users`: one row per user who can log in.
//!
//! `password_hash` is a bcrypt hash (never returned by the API). `templates` is a JSON
//! array of template names, or NULL for every template. `token_version` is bumped when
//! the password, role, active flag or templates change, which invalidates the user's
//! outstanding tokens.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Columns of `gateway_users` as this migration creates them.
#[derive(DeriveIden)]
enum GatewayUsers {
    Table,
    Username,
    PasswordHash,
    Role,
    Active,
    Templates,
    TokenVersion,
    CreatedAtMs,
    UpdatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewayUsers::Table)
            .col(
                ColumnDef::new(GatewayUsers::Username)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayUsers::PasswordHash)
                    .string_len(128)
                    .not_null(),
            )
            .col(ColumnDef::new(GatewayUsers::Role).string_len(16).not_null())
            .col(ColumnDef::new(GatewayUsers::Active).boolean().not_null())
            .col(ColumnDef::new(GatewayUsers::Templates).text().null())
            .col(
                ColumnDef::new(GatewayUsers::TokenVersion)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayUsers::CreatedAtMs)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayUsers::UpdatedAtMs)
                    .big_integer()
                    .not_null(),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewayUsers::Table).to_owned())
            .await
    }
}
