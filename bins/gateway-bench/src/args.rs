//! Command line (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Loopback load generator for the MCP gateway.
#[derive(Debug, Parser)]
#[command(name = "gateway-bench", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Send a fixed number of requests to a loopback URL and print one JSON report.
    Load(Box<LoadArgs>),
    /// Serve MCP on stdin/stdout, one request at a time (benchmark fixture: tools
    /// `sleep_ms {ms}` that blocks, and `echo {message}`).
    SerialStdio,
    /// Serve a bare HTTP pass-through proxy in front of `--upstream` (the baseline the
    /// gateway is measured against: request bytes forwarded, answer streamed back, no JSON
    /// work). Prints `listening on http://ADDR`.
    Passthrough(PassthroughArgs),
}

/// `gateway-bench passthrough` options.
#[derive(Debug, Clone, Args)]
pub(crate) struct PassthroughArgs {
    /// Where every request goes (http, loopback host only), e.g. the echo upstream's
    /// `http://127.0.0.1:7071/mcp`; its path replaces the request's.
    #[arg(long)]
    pub(crate) upstream: String,
    /// Address to listen on (loopback; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) listen: String,
}

/// What each request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// `POST {url}` with `{"name": TOOL, "arguments": ARGS}` (REST facade `tools/call`).
    RestCall,
    /// `GET {url}` (REST facade `tools/list`).
    RestList,
    /// MCP Streamable HTTP, session era: each worker sends `initialize` and
    /// `notifications/initialized` once, then `--mcp-method` with its `Mcp-Session-Id`.
    McpLegacy,
    /// MCP Streamable HTTP, 2026-07-28: stateless POSTs with `MCP-Protocol-Version`,
    /// `Mcp-Method`, `Mcp-Name` headers and the protocol version in `_meta`.
    McpModern,
    /// Every request is a legacy `initialize` that opens a new session and leaves it idle
    /// (memory per session = RSS growth / requests).
    McpInitialize,
    /// Every request is a legacy `initialize` followed by a `DELETE` of the session it
    /// opened (memory kept per closed session = RSS growth / requests).
    McpSessionChurn,
    /// `POST {url}` (`/gateway/register`): request `i` registers instance `i % per` of
    /// template `i / per` (`--instances-per-template`), pointing at `--endpoint`.
    Register,
}

impl Mode {
    /// The name used on the command line and in reports.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::RestCall => "rest-call",
            Mode::RestList => "rest-list",
            Mode::McpLegacy => "mcp-legacy",
            Mode::McpModern => "mcp-modern",
            Mode::McpInitialize => "mcp-initialize",
            Mode::McpSessionChurn => "mcp-session-churn",
            Mode::Register => "register",
        }
    }
}

/// `gateway-bench load` options.
#[derive(Debug, Clone, Args)]
pub(crate) struct LoadArgs {
    /// Target URL (http, loopback host only): the exact endpoint, e.g.
    /// `http://127.0.0.1:8080/mcp/echo/tools/call` or `http://127.0.0.1:7071/mcp`.
    #[arg(long)]
    pub(crate) url: String,
    /// Request kind.
    #[arg(long, value_enum)]
    pub(crate) mode: Mode,
    /// Measured requests (fixed count).
    #[arg(long, default_value_t = 1000)]
    pub(crate) requests: u64,
    /// Requests in flight at once (one worker task each).
    #[arg(long, default_value_t = 1)]
    pub(crate) concurrency: usize,
    /// Unmeasured requests sent first (connections, sessions and caches warm up).
    #[arg(long, default_value_t = 0)]
    pub(crate) warmup: u64,
    /// Tool name for `tools/call`.
    #[arg(long, default_value = "echo")]
    pub(crate) tool: String,
    /// Tool arguments (a JSON object).
    #[arg(long, default_value = r#"{"message":"hello"}"#)]
    pub(crate) arguments: String,
    /// JSON-RPC method for the MCP modes: `tools/call` or `tools/list`.
    #[arg(long, default_value = "tools/call")]
    pub(crate) mcp_method: String,
    /// A process to measure, as `NAME=PID` (repeatable): CPU per request and RSS from /proc.
    #[arg(long = "pid", value_name = "NAME=PID")]
    pub(crate) pids: Vec<String>,
    /// An extra request header, as `Name: value` (repeatable; e.g. an API key).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// Runtime threads of the load generator (1 = a current-thread runtime, which leaves
    /// the most CPU to the processes under test).
    #[arg(long, default_value_t = 1)]
    pub(crate) threads: usize,
    /// Per-request deadline in seconds (a request past it counts as a `timeout` error).
    #[arg(long, default_value_t = 30.0)]
    pub(crate) timeout_s: f64,
    /// Hard stop for the whole run in seconds; requests not started by then are reported
    /// as `not_run`.
    #[arg(long, default_value_t = 600)]
    pub(crate) max_seconds: u64,
    /// A label copied into the report.
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// `register` mode: instances per template.
    #[arg(long, default_value_t = 3)]
    pub(crate) instances_per_template: u64,
    /// `register` mode: upstream URL of every registered instance (loopback only).
    #[arg(long)]
    pub(crate) endpoint: Option<String>,
    /// `register` mode: template names are `{prefix}-{n}`.
    #[arg(long, default_value = "scale")]
    pub(crate) template_prefix: String,
}
