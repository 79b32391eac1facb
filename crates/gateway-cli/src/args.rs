//! Command-line definitions (clap). Parsing only: the commands live in `commands/`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

/// The default gateway address of the client verbs.
pub(crate) const DEFAULT_GATEWAY_URL: &str = "http://127.0.0.1:8080";

/// `mcpp`: the MCP platform command line.
#[derive(Debug, Parser)]
#[command(
    name = "mcpp",
    version,
    about = "MCP platform command line",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `gateway-server`: the gateway server alone, with the flags of `mcpp gateway start`.
#[derive(Debug, Parser)]
#[command(name = "gateway-server", version, about = "The MCP gateway server")]
pub(crate) struct ServeCli {
    #[command(flatten)]
    pub(crate) start: StartArgs,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run and manage the MCP gateway.
    #[command(subcommand)]
    Gateway(GatewayCommand),
}

/// `mcpp gateway ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum GatewayCommand {
    /// Start the gateway server (in the foreground unless --background).
    Start(StartArgs),
    /// Register an MCP server instance with a running gateway.
    Register(RegisterArgs),
    /// Remove an instance from a running gateway.
    Deregister(DeregisterArgs),
    /// Show a running gateway's health and registered instances.
    Status(StatusArgs),
}

/// Flags of `mcpp gateway start` and `gateway-server`.
///
/// Each flag overrides the matching `MCP_GATEWAY_*` environment variable, which overrides
/// the configuration file; the server resolves that precedence, so no flag reads the
/// environment here.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub(crate) struct StartArgs {
    /// Address to listen on (else MCP_GATEWAY_HOST, the config file, or 127.0.0.1).
    #[arg(long, value_name = "HOST")]
    pub(crate) host: Option<String>,
    /// Port to listen on; 0 picks a free port (else MCP_GATEWAY_PORT, the config file, or 8080).
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// JSON configuration file: gateway settings and templates to register at start-up
    /// (else MCP_GATEWAY_REGISTRY_FILE).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Database URL, e.g. sqlite://gateway.db, sqlite::memory:, postgres://user@host/db
    /// (else MCP_GATEWAY_DATABASE_URL, the config file, or the default SQLite file).
    #[arg(long, visible_alias = "database-url", value_name = "URL")]
    pub(crate) database: Option<String>,
    /// Log filter, e.g. info or debug (else MCP_GATEWAY_LOG_LEVEL, the config file, or
    /// info). RUST_LOG, if set, wins over all of them.
    #[arg(long, value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
    /// Discover existing deployments at start-up. Accepted for compatibility: this build
    /// has no deployment backend, so it logs a warning and serves the persisted registry
    /// and the configuration file's templates.
    #[arg(long)]
    pub(crate) sync: bool,
    /// Run detached: start the gateway as a background process logging to
    /// $XDG_STATE_HOME/mcp-gateway/gateway.log (or ~/.local/state/...), print its pid, exit.
    #[arg(long)]
    pub(crate) background: bool,
}

/// Where the gateway is, and how to print its answer (every client verb).
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct ClientArgs {
    /// Base URL of the gateway.
    #[arg(long, env = "MCP_GATEWAY_URL", default_value = DEFAULT_GATEWAY_URL, value_name = "URL")]
    pub(crate) gateway_url: String,
    /// Print the gateway's JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `mcpp gateway register`.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["endpoint", "command"])))]
pub(crate) struct RegisterArgs {
    /// Template to add the instance to (created on first use).
    pub(crate) template: String,
    /// URL of an HTTP (Streamable HTTP) or SSE MCP server.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<String>,
    /// Command line of a stdio MCP server, e.g. "python server.py" (split like a shell,
    /// without expansion).
    #[arg(long, value_name = "COMMAND")]
    pub(crate) command: Option<String>,
    /// Working directory of the stdio server; a relative path is taken from the current
    /// directory.
    #[arg(long, value_name = "DIR", conflicts_with = "endpoint")]
    pub(crate) working_dir: Option<PathBuf>,
    /// Transport; inferred when omitted (stdio for --command, sse for an endpoint ending
    /// in /sse, else http).
    #[arg(long, value_enum)]
    pub(crate) transport: Option<Transport>,
    /// Instance id (default: generated as TEMPLATE-N).
    #[arg(long, visible_alias = "instance-id", value_name = "ID")]
    pub(crate) id: Option<String>,
    /// Weight for the weighted strategy (1-10000, default 1).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) weight: Option<i64>,
    /// Environment variable of the stdio server (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env, conflicts_with = "endpoint")]
    pub(crate) env: Vec<(String, String)>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway deregister`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct DeregisterArgs {
    /// Template of the instance.
    pub(crate) template: String,
    /// Id of the instance to remove.
    pub(crate) instance_id: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway status`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// How the gateway talks to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Transport {
    /// Streamable HTTP.
    Http,
    /// Legacy HTTP+SSE (2024-11-05).
    Sse,
    /// A child process speaking over stdin/stdout.
    Stdio,
}

impl Transport {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Transport::Http => "http",
            Transport::Sse => "sse",
            Transport::Stdio => "stdio",
        }
    }
}

/// Parses `KEY=VALUE` (the value may be empty or contain `=`).
fn parse_env(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {raw:?}")),
    }
}

#[cfg(test)]
mod tests;
