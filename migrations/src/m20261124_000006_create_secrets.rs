//! Creates `gateway_secrets`: server secrets generated once and shared by every replica
//! on the database (the JWT signing key unless configured, the API-key hashing key).
//! Values are base64 text; the API never reads this table.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Columns of `gateway_secrets` as this migration creates them.
#[derive(DeriveIden)]
enum GatewaySecrets {
    Table,
    Name,
    Value,
    CreatedAtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewaySecrets::Table)
            .col(
                ColumnDef::new(GatewaySecrets::Name)
                    .string_len(64)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(GatewaySecrets::Value).text().not_null())
            .col(
                ColumnDef::new(GatewaySecrets::CreatedAtMs)
                    .big_integer()
                    .not_null(),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewaySecrets::Table).to_owned())
            .await
    }
}
