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
    // Purge freed pages in the background (after their 10 s decay), so a gateway that
    // goes idle after a burst gives the memory back instead of waiting for its next
    // allocation. Best effort: without it memory is still purged, only later.
    #[cfg(not(target_env = "msvc"))]
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
    gateway_cli::main()
}
