//! The MCP gateway's command line as a library: `mcpp gateway start|register|deregister|
//! status|create-user|create-api-key|login|logout|list-users|list-api-keys|revoke-api-key`
//! ([`main`]) and the standalone `gateway-server` binary ([`serve_main`]), so the
//! binaries stay one-liners and the CLI is testable in-process.
//!
//! ```no_run
//! // bins/mcpp/src/main.rs, minus the crypto provider installation:
//! fn main() -> std::process::ExitCode {
//!     gateway_cli::main()
//! }
//! ```
//!
//! `start` calls `gateway_server` directly (one place validates configuration); every other
//! verb goes through `gateway_client`, so it needs a running gateway (`--gateway-url`, env
//! `MCP_GATEWAY_URL`, default `http://127.0.0.1:8080`). Exit codes: 0 on success, 1 when
//! the command fails (the message says what to do), 2 for usage errors.
//!
//! The process must have a rustls crypto provider installed before calling in (the
//! binaries install ring).

mod args;
mod commands;
mod failure;
mod log_format;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// Runs `mcpp` with the process arguments; returns the process exit code.
pub fn main() -> ExitCode {
    match args::Cli::try_parse() {
        Ok(cli) => finish(commands::run(cli.command)),
        Err(usage) => usage_error(&usage),
    }
}

/// Runs `gateway-server` (the flags of `mcpp gateway start`, at top level) with the process
/// arguments; returns the process exit code.
pub fn serve_main() -> ExitCode {
    match args::ServeCli::try_parse() {
        Ok(cli) => finish(commands::start::run(cli.start)),
        Err(usage) => usage_error(&usage),
    }
}

/// Prints clap's message (help and version go to stdout with code 0) and returns its code.
fn usage_error(usage: &clap::Error) -> ExitCode {
    let _ = usage.print();
    ExitCode::from(u8::try_from(usage.exit_code()).unwrap_or(2))
}

fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
