//! Creates `gateway_audit_events`: the security audit log (logins, user and key changes,
//! registrations, settings changes, authorization denials). Rows never hold secrets.

use sea_orm_migration::prelude::*;

use crate::mysql::portable_table_options;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Columns of `gateway_audit_events` as this migration creates them.
#[derive(DeriveIden)]
enum GatewayAuditEvents {
    Table,
    Id,
    AtMs,
    Actor,
    Action,
    Target,
    Outcome,
    ClientAddr,
    RequestId,
}

const TIME_INDEX: &str = "idx_gateway_audit_events_at_ms";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(GatewayAuditEvents::Table)
            .col(
                ColumnDef::new(GatewayAuditEvents::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::AtMs)
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::Actor)
                    .string_len(200)
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::Action)
                    .string_len(64)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::Target)
                    .string_len(300)
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::Outcome)
                    .string_len(16)
                    .not_null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::ClientAddr)
                    .string_len(64)
                    .null(),
            )
            .col(
                ColumnDef::new(GatewayAuditEvents::RequestId)
                    .string_len(128)
                    .null(),
            );
        portable_table_options(manager, &mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name(TIME_INDEX)
                    .table(GatewayAuditEvents::Table)
                    .col(GatewayAuditEvents::AtMs)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GatewayAuditEvents::Table).to_owned())
            .await
    }
}
