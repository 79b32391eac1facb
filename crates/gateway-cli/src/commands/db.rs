//! `mcpp gateway db migrate|status [--database URL] [--config FILE] [--json]`: straight
//! to the database (no running gateway needed), resolved like `mcpp gateway start`.

use anyhow::anyhow;
use gateway_server::{DatabaseStatus, Overrides, Settings};

use crate::{
    args::db::{DbArgs, DbCommand},
    output,
};

/// Runs a `db` verb and prints the database's status.
pub(crate) async fn run(command: DbCommand) -> anyhow::Result<()> {
    let (args, migrate) = match command {
        DbCommand::Migrate(args) => (args, true),
        DbCommand::Status(args) => (args, false),
    };
    let settings = settings(&args)?;
    let status = if migrate {
        gateway_server::migrate_database(&settings).await
    } else {
        gateway_server::database_status(&settings).await
    }
    .map_err(|e| anyhow!("{e}"))?;
    if args.json {
        output::print_json(&status)
    } else {
        print!("{}", text(&status));
        Ok(())
    }
}

fn settings(args: &DbArgs) -> anyhow::Result<Settings> {
    Settings::load(Overrides {
        database_url: args.database.clone(),
        config_file: args.config.clone(),
        ..Overrides::default()
    })
    .map_err(|e| anyhow!("{e}"))
}

fn text(status: &DatabaseStatus) -> String {
    let mut out = format!(
        "database: {}\nmigrations: {} applied, {} pending\n",
        status.backend,
        status.migrations.len() - status.pending(),
        status.pending()
    );
    for m in &status.migrations {
        let state = if m.applied { "applied" } else { "pending" };
        out.push_str(&format!("  {state:<8} {}\n", m.name));
    }
    match status.change_version {
        Some(v) => out.push_str(&format!("change version: {v}\n")),
        None => out.push_str("change version: - (not migrated)\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use gateway_server::MigrationStatusRow;

    use super::*;

    #[test]
    fn text_lists_every_migration() {
        let status = DatabaseStatus {
            backend: "postgres",
            migrations: vec![
                MigrationStatusRow {
                    name: "m1_create_a".into(),
                    applied: true,
                },
                MigrationStatusRow {
                    name: "m2_create_b".into(),
                    applied: false,
                },
            ],
            change_version: None,
        };
        assert_eq!(
            text(&status),
            "database: postgres\nmigrations: 1 applied, 1 pending\n  applied  m1_create_a\n  \
             pending  m2_create_b\nchange version: - (not migrated)\n"
        );
    }
}
