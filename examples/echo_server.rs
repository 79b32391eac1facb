//! `echo_server`: the echo MCP server fixture (see `gateway_examples::echo`) as a binary.
//!
//! Run it over stdio (JSON-RPC lines on stdin/stdout; EOF on stdin exits with code 0):
//!     cargo run --release --example echo_server -- --stdio
//! or over Streamable HTTP (endpoint `/mcp`; with port 0 the bound address is printed to
//! stdout as `listening on http://127.0.0.1:<port>/mcp`):
//!     cargo run --release --example echo_server -- --http 127.0.0.1:PORT [--instance-id ID]
//! `--instance-id` (reported by the `whoami` tool) defaults to `echo-<pid>`. Bad arguments
//! exit with code 2; the `crash` tool exits with code 3.

fn main() -> std::process::ExitCode {
    gateway_examples::echo::main_with_args(std::env::args().skip(1))
}
