//! Running short-lived commands (the CLI, `sh -c` transcripts, Python drivers) with a
//! time limit, finding a process's children, and reading its memory.

use std::{ffi::OsStr, process::Stdio, time::Duration};

use tokio::process::Command;

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Asserts exit code 0 and returns stdout.
    #[track_caller]
    pub fn expect_success(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "command failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }
}

/// Runs `program args` with extra `envs`, stdin closed; kills it after `within`.
pub async fn run<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    envs: &[(&str, &str)],
    within: Duration,
) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = program.as_ref().to_owned();
    let mut cmd = Command::new(&program);
    cmd.args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("MCP_GATEWAY_") && key != "MCP_GATEWAY_REQUIRE_DEPS" {
            cmd.env_remove(key);
        }
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {program:?}: {e}"));
    let out = tokio::time::timeout(within, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program:?} did not finish within {within:?}"))
        .unwrap();
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Live (non-zombie) processes whose parent is `parent`.
pub fn child_pids(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == parent && state != "Z" {
            children.push(pid);
        }
    }
    children
}

/// A process's resident memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kb: u64,
    /// Peak resident set size so far (`VmHWM`), KiB.
    pub peak_kb: u64,
}

/// Reads `pid`'s resident memory now and at its peak.
pub fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
    };
    Memory {
        rss_kb: kb("VmRSS"),
        peak_kb: kb("VmHWM"),
    }
}
