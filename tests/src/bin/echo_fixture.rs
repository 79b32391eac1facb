//! The echo fixture MCP server as a binary the tests can spawn (same code as
//! `cargo run --example echo_server`).

fn main() -> std::process::ExitCode {
    gateway_examples::echo::main_with_args(std::env::args().skip(1))
}
