//! Creates the change feed of a fleet: `gateway_change_counter`, one row holding the
//! latest change version, and `gateway_changes`, one row per change (registrations,
//! deregistrations, template settings, users, API keys), numbered by that counter.
//!
//! A writer bumps the counter first in its transaction, so change transactions commit in
//! version order (the counter row is locked until commit) and a replica that has seen
//! version N has seen every change up to N. Replicas poll the counter (and, on
//! PostgreSQL, are woken by `NOTIFY`), then read the changes after the last one they
//! applied. Old rows are pruned by the replicas; a replica that missed pruned rows
//! reloads everything.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayChangeCounter {
    Table,
    Id,
    Version,
}

#[derive(DeriveIden)]
enum GatewayChanges {
    Table,
    Version,
    Kind,
    Template,
    Subject,
    AtMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut counter = Table::create();
        counter
            .table(GatewayChangeCounter::Table)
            .col(
                ColumnDef::new(GatewayChangeCounter::Id)
                    .integer()
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayChangeCounter::Version)
                    .big_integer()
                    .not_null(),
            );
        portable_table_options(manager, &mut counter);
        manager.create_table(counter).await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(GatewayChangeCounter::Table)
                    .columns([GatewayChangeCounter::Id, GatewayChangeCounter::Version])
                    .values_panic([1.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;

        let mut changes = Table::create();
        changes
            .table(GatewayChanges::Table)
            .col(
                ColumnDef::new(GatewayChanges::Version)
                    .big_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayChanges::Kind)
                    .string_len(16)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayChanges::Template)
                    .string_len(255)
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayChanges::Subject)
                    .string_len(255)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayChanges::AtMs)
                    .big_integer()
                    .not_null(),
            );
        portable_table_options(manager, &mut changes);
        manager.create_table(changes).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_gateway_changes_at_ms")
                    .table(GatewayChanges::Table)
                    .col(GatewayChanges::AtMs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewayChanges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(GatewayChangeCounter::Table).to_owned())
            .await
    }
}
