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
    UpstreamTls,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::add_nullable_text(manager, GatewayTemplates::UpstreamTls).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::template_column::drop(manager, GatewayTemplates::UpstreamTls).await
    }
}
