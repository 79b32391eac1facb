//! A nullable text column on `gateway_templates` (a JSON document whose `NULL` means the
//! default), added and dropped: the shape of several template-setting migrations.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum GatewayTemplates {
    Table,
}

/// `ALTER TABLE gateway_templates ADD COLUMN {column} TEXT NULL`.
pub(crate) async fn add_nullable_text(
    manager: &SchemaManager<'_>,
    column: impl IntoIden,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(GatewayTemplates::Table)
                .add_column(ColumnDef::new(column).text().null())
                .to_owned(),
        )
        .await
}

/// `ALTER TABLE gateway_templates DROP COLUMN {column}`.
pub(crate) async fn drop(manager: &SchemaManager<'_>, column: impl IntoIden) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(GatewayTemplates::Table)
                .drop_column(column)
                .to_owned(),
        )
        .await
}
