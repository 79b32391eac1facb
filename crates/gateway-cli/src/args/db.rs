//! `mcpp gateway db ...`: the database's schema.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `mcpp gateway db migrate|status`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub(crate) enum DbCommand {
    /// Apply pending migrations (gateways also do this at start-up, one at a time when
    /// several start together).
    Migrate(DbArgs),
    /// Show which migrations the database has, and the change feed's version.
    Status(DbArgs),
}

/// Which database, as `mcpp gateway start` finds it.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct DbArgs {
    /// Database URL (else MCP_GATEWAY_DATABASE_URL, the config file, or the default
    /// SQLite file).
    #[arg(long, visible_alias = "database-url", value_name = "URL")]
    pub(crate) database: Option<String>,
    /// The gateway's JSON configuration file (else MCP_GATEWAY_REGISTRY_FILE).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}
