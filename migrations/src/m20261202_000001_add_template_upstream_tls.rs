//! Adds `gateway_templates.upstream_tls`: a template's upstream TLS settings (CA bundle,
//! whether the system's roots are trusted too, client certificate and key), as a JSON
//! document of PEM file paths (`{"ca_bundle": "/…", "system_roots": false, "client_cert":
//! "/…", "client_key": "/…"}`); never the files' content. `NULL`, the value of existing
//! templates, means the system's roots and no client certificate.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
    UpstreamTls,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .add_column(ColumnDef::new(GatewayTemplates::UpstreamTls).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(GatewayTemplates::Table)
                    .drop_column(GatewayTemplates::UpstreamTls)
                    .to_owned(),
            )
            .await
    }
}
