//! Command-line definitions (clap). Parsing only: the commands live in `commands/`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

pub(crate) mod db;

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
    /// Create a user: directly in the database with --database (or
    /// MCP_GATEWAY_DATABASE_URL), else through a running gateway (as an admin).
    CreateUser(CreateUserArgs),
    /// Create an API key (printed once: store it).
    CreateApiKey(CreateApiKeyArgs),
    /// Log in (with a password, or through an identity provider with --oidc) and store
    /// the token for the other commands ($XDG_CONFIG_HOME/mcp-gateway/token, readable
    /// only by you).
    Login(LoginArgs),
    /// Forget the stored token.
    Logout(LogoutArgs),
    /// List users (admins).
    ListUsers(ListUsersArgs),
    /// List API keys: yours, or (admins) everybody's.
    ListApiKeys(ListApiKeysArgs),
    /// Revoke an API key.
    RevokeApiKey(RevokeApiKeyArgs),
    /// The database's schema: apply migrations, or show their status.
    #[command(subcommand)]
    Db(db::DbCommand),
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
    /// Log line format: json (one object per line) or text (else MCP_GATEWAY_LOG_FORMAT,
    /// the config file's `log_format`, or json when stderr is not a terminal).
    #[arg(long, value_name = "FORMAT", value_parser = ["json", "text"])]
    pub(crate) log_format: Option<String>,
    /// Also serve GET /metrics on this address, without authentication (else
    /// MCP_GATEWAY_METRICS_ADDR, the config file's `metrics_addr`); keep it private.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) metrics_addr: Option<String>,
    /// Discover existing deployments at start-up. Accepted for compatibility: this build
    /// has no deployment backend, so it logs a warning and serves the persisted registry
    /// and the configuration file's templates.
    #[arg(long)]
    pub(crate) sync: bool,
    /// Run detached: start the gateway as a background process logging to
    /// $XDG_STATE_HOME/mcp-gateway/gateway.log (or ~/.local/state/...), print its pid, exit.
    #[arg(long)]
    pub(crate) background: bool,
    /// Require authentication (JWT or API key) on every endpoint but health, docs and
    /// login (else MCP_GATEWAY_AUTH, the config file's `auth`, or off). The first start
    /// creates the user `admin` (password from MCP_GATEWAY_ADMIN_PASSWORD, or printed once).
    #[arg(long)]
    pub(crate) auth: bool,
    /// Allow listening on a non-loopback address without authentication.
    #[arg(long)]
    pub(crate) insecure_no_auth: bool,
    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish before they are
    /// cut off (else MCP_GATEWAY_SHUTDOWN_GRACE, the config file, or 30).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) shutdown_grace: Option<u64>,
    /// Serve HTTPS with this PEM certificate chain (leaf first), re-read when the file
    /// changes; needs --tls-key (else MCP_GATEWAY_TLS_CERT, the config file's `tls_cert`).
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key (else MCP_GATEWAY_TLS_KEY, the config file's
    /// `tls_key`).
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Require client certificates signed by a CA in this PEM bundle (mTLS) (else
    /// MCP_GATEWAY_TLS_CLIENT_CA, the config file's `tls_client_ca`).
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_client_ca: Option<PathBuf>,
    /// A reverse proxy terminates TLS in front of the gateway: do not warn about plain
    /// HTTP on a non-loopback address (else MCP_GATEWAY_BEHIND_TLS_PROXY).
    #[arg(long)]
    pub(crate) behind_tls_proxy: bool,
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
    /// JWT to send as `Authorization: Bearer` (default: the token stored by `login`).
    #[arg(
        long,
        env = "MCP_GATEWAY_TOKEN",
        hide_env_values = true,
        value_name = "JWT"
    )]
    pub(crate) token: Option<String>,
    /// API key to send as `X-API-Key` (wins over --token).
    #[arg(
        long,
        env = "MCP_GATEWAY_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub(crate) api_key: Option<String>,
    /// PEM file of CA certificates to trust besides the system's, for a gateway serving
    /// HTTPS with a certificate from a private CA.
    #[arg(long, env = "MCP_GATEWAY_CA_BUNDLE", value_name = "FILE")]
    pub(crate) ca_bundle: Option<PathBuf>,
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
    /// Write straight into the gateway's database (the default one, or --database)
    /// instead of calling a running gateway: how stdio commands are registered when the
    /// gateway refuses them over the API. Running gateways pick it up within a second.
    #[arg(long)]
    pub(crate) offline: bool,
    /// The database to write with --offline (implies it); default: the gateway's.
    #[arg(long, visible_alias = "database-url", value_name = "URL")]
    pub(crate) database: Option<String>,
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

/// `mcpp gateway create-user`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct CreateUserArgs {
    /// User name.
    pub(crate) username: String,
    /// Password (prompted for when omitted; read from stdin when it is not a terminal).
    #[arg(long)]
    pub(crate) password: Option<String>,
    /// Role: admin (every permission) or user (list and call MCP, read the registry).
    #[arg(long, value_enum, default_value_t = RoleArg::User)]
    pub(crate) role: RoleArg,
    /// Templates the user may use, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_name = "T1,T2")]
    pub(crate) templates: Vec<String>,
    /// Write straight to this database instead of calling a gateway.
    #[arg(
        long,
        visible_alias = "database-url",
        env = "MCP_GATEWAY_DATABASE_URL",
        value_name = "URL"
    )]
    pub(crate) database: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway create-api-key`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct CreateApiKeyArgs {
    /// A label for the key, e.g. the application using it.
    pub(crate) name: String,
    /// Scope preset: user (mcp:read, mcp:call, gateway:read) or admin (all). Without
    /// --role and --scopes a key gets the user preset (admin only when asked for).
    #[arg(long, value_enum)]
    pub(crate) role: Option<RoleArg>,
    /// Scopes, comma-separated (mcp:read, mcp:call, gateway:read, gateway:write, admin);
    /// with --role they narrow its preset.
    #[arg(long, value_delimiter = ',', value_name = "S1,S2")]
    pub(crate) scopes: Vec<String>,
    /// Templates the key may use, comma-separated (default: the owner's).
    #[arg(long, value_delimiter = ',', value_name = "T1,T2")]
    pub(crate) templates: Vec<String>,
    /// Lifetime: seconds, or a number with s, m, h or d (e.g. 90d). Default: no expiry.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) expires: Option<u64>,
    /// Owner of the key (admins; default: you).
    #[arg(long, value_name = "USER")]
    pub(crate) owner: Option<String>,
    /// Requests per minute for this key (default: the owner role's limit).
    #[arg(long, value_name = "N")]
    pub(crate) rate_limit: Option<u32>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway login`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct LoginArgs {
    /// User name (a gateway account; not with --oidc).
    #[arg(required_unless_present = "oidc", conflicts_with = "oidc")]
    pub(crate) username: Option<String>,
    /// Password (prompted for when omitted; read from stdin when it is not a terminal).
    #[arg(long, conflicts_with = "oidc")]
    pub(crate) password: Option<String>,
    /// Log in through this identity provider (an OAuth 2.1 / OpenID Connect issuer the
    /// gateway trusts) instead: authorization code with PKCE and a loopback redirect, or
    /// with --device the device authorization grant.
    #[arg(long, value_name = "ISSUER")]
    pub(crate) oidc: Option<String>,
    /// The OAuth client registered at the issuer for mcpp: a public client allowed the
    /// redirect http://127.0.0.1/callback (any port) or the device grant.
    #[arg(
        long = "client-id",
        value_name = "ID",
        default_value = "mcpp",
        env = "MCP_GATEWAY_OIDC_CLIENT_ID"
    )]
    pub(crate) oidc_client_id: String,
    /// With --oidc: show a URL and a code to enter on any device (RFC 8628) instead of
    /// receiving the browser's redirect here.
    #[arg(long, requires = "oidc")]
    pub(crate) device: bool,
    /// With --oidc: only print the login URL, do not try to open a browser.
    #[arg(long, requires = "oidc")]
    pub(crate) no_browser: bool,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway logout`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct LogoutArgs {}

/// `mcpp gateway list-users`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct ListUsersArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway list-api-keys`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct ListApiKeysArgs {
    /// Only this user's keys (admins).
    #[arg(long, value_name = "USER")]
    pub(crate) owner: Option<String>,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// `mcpp gateway revoke-api-key`.
#[derive(Debug, Clone, PartialEq, Args)]
pub(crate) struct RevokeApiKeyArgs {
    /// The key id (the part after `mcpgw_`, also shown by list-api-keys).
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) client: ClientArgs,
}

/// A role preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// Every permission.
    Admin,
    /// List and call MCP, read the registry.
    User,
}

impl RoleArg {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RoleArg::Admin => "admin",
            RoleArg::User => "user",
        }
    }
}

/// Parses `3600`, `90s`, `15m`, `12h` or `30d` into seconds.
fn parse_duration(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&raw[..at], c),
        _ => (raw, 's'),
    };
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("unknown unit in {raw:?}: use s, m, h or d")),
    };
    number
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("expected a positive duration like 3600, 12h or 30d, got {raw:?}"))
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
