//! `mcpp`: the MCP platform command line (`mcpp gateway start|register|deregister|status`).
//! The logic lives in `gateway_cli::main`.

fn main() -> std::process::ExitCode {
    // rustls needs a process-wide crypto provider; an error only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    gateway_cli::main()
}
