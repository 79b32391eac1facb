//! `gateway-server`: the MCP gateway server (`gateway-server --help`; same flags as
//! `mcpp gateway start`). The logic lives in `gateway_cli::serve_main`.

fn main() -> std::process::ExitCode {
    // rustls needs a process-wide crypto provider; an error only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    gateway_cli::serve_main()
}
