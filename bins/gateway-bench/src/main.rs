//! `gateway-bench`: a loopback-only load generator for the MCP gateway and its upstreams.
//!
//! `gateway-bench load` sends a fixed number of requests with bounded concurrency over
//! pooled keep-alive HTTP/1.1 connections, records every latency in an HDR histogram and
//! prints one JSON object: req/s, p50/p90/p99/max, errors and, for each `--pid NAME=PID`,
//! the CPU microseconds per request and the resident memory read from `/proc`. It refuses
//! any target that is not a loopback address, and it always stops: after `--requests`, or at
//! `--max-seconds`.
//!
//! ```text
//! gateway-bench load --mode rest-call --url http://127.0.0.1:8080/mcp/echo/tools/call \
//!     --requests 20000 --concurrency 64 --warmup 2000 --pid gateway=$(pidof gateway-server)
//! gateway-bench load --mode mcp-modern --url http://127.0.0.1:7071/mcp --requests 20000
//! ```
//!
//! `gateway-bench serial-stdio` is a benchmark fixture: an MCP server on stdin/stdout that
//! answers one request at a time (like most single-threaded stdio servers), so a pool of
//! processes has something to parallelise. `gateway-bench passthrough --upstream URL` is
//! the baseline: a bare hyper proxy that forwards request bytes and streams the answer
//! back, doing no JSON work. `scripts/bench` runs every scenario.

mod args;
mod check;
mod load;
mod passthrough;
mod plan;
mod procstat;
mod report;
mod serial_stdio;
mod target;

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    match run(args::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Load(load_args) => {
            let report = load::main(*load_args)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        args::Command::SerialStdio => serial_stdio::run(),
        args::Command::Passthrough(passthrough_args) => passthrough::main(passthrough_args),
    }
}
