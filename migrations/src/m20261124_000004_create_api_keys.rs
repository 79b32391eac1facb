//! Creates `gateway_api_keys`: API keys, stored only as a keyed hash of their secret.
//!
//! A key reads `mcpgw_<id>_<secret>`; `id` is the primary key (looked up on every
//! request through a cache), `secret_hash` is the hex HMAC-SHA-256 of the secret under
//! the server's key-hashing secret. `scopes` is a JSON array, `templates` a JSON array or
//! NULL (the owner's templates). Deleting the owner deletes its keys.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// The owner table, as migration 000003 created it.
#[derive(DeriveIden)]
enum GatewayUsers {
    Table,
    Username,
}

/// Columns of `gateway_api_keys` as this migration creates them.
#[derive(DeriveIden)]
enum GatewayApiKeys {
    Table,
    Id,
    Name,
    Owner,
    SecretHash,
    Scopes,
    Templates,
    RateLimit,
    CreatedAtMs,
    ExpiresAtMs,
    RevokedAtMs,
    LastUsedAtMs,
}

const OWNER_INDEX: &str = "idx_gateway_api_keys_owner";
const OWNER_FK: &str = "fk_gateway_api_keys_owner";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewayApiKeys::Table)
            .col(
                ColumnDef::new(GatewayApiKeys::Id)
                    .string_len(32)
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::Name)
                    .string_len(128)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::Owner)
                    .string_len(64)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::SecretHash)
                    .string_len(64)
                    .not_null(),
            )
            .col(ColumnDef::new(GatewayApiKeys::Scopes).text().not_null())
            .col(ColumnDef::new(GatewayApiKeys::Templates).text().null())
            .col(ColumnDef::new(GatewayApiKeys::RateLimit).integer().null())
            .col(
                ColumnDef::new(GatewayApiKeys::CreatedAtMs)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::ExpiresAtMs)
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::RevokedAtMs)
                    .big_integer()
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayApiKeys::LastUsedAtMs)
                    .big_integer()
                    .null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name(OWNER_FK)
                    .from(GatewayApiKeys::Table, GatewayApiKeys::Owner)
                    .to(GatewayUsers::Table, GatewayUsers::Username)
                    .on_delete(ForeignKeyAction::Cascade),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name(OWNER_INDEX)
                    .table(GatewayApiKeys::Table)
                    .col(GatewayApiKeys::Owner)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewayApiKeys::Table).to_owned())
            .await
    }
}
