//! Runnable examples and test fixtures for the MCP gateway.
//!
//! The main inhabitant is [`echo`], a small and fast MCP server that speaks both protocol eras
//! (legacy session-based `2024-11-05`..`2025-11-25` and modern stateless `2026-07-28`) over
//! stdio and Streamable HTTP. Integration tests use it as an upstream fixture (in-process or
//! as the `echo_server` example binary), and benchmarks use it as a fast upstream.

pub mod echo;
