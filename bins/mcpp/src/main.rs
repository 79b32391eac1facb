//! `mcpp`: the MCP platform command line (`mcpp gateway start|register|deregister|status`).
//! The logic lives in `gateway_cli::main`.

// jemalloc: fewer instructions per proxied call than glibc malloc, and less
// fragmentation under many concurrent sessions (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    // rustls needs a process-wide crypto provider; an error only means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    gateway_cli::main()
}
