//! Starting a child with a clean environment, and stopping it without leaving anything
//! behind: close stdin, wait, SIGTERM the process group, wait, SIGKILL.

use std::{process::Stdio, time::Duration};

use gateway_core::StdioCommand;
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tokio::process::{Child, Command};

/// Spawns `spec` with piped stdio, only `allowlist` inherited from the gateway's
/// environment plus the instance's own variables, in a new process group.
pub(crate) fn spawn(spec: &StdioCommand, allowlist: &[String]) -> std::io::Result<Child> {
    let mut cmd = Command::new(spec.command());
    cmd.args(spec.args())
        .env_clear()
        .envs(
            allowlist
                .iter()
                .filter_map(|k| std::env::var_os(k).map(|v| (k, v))),
        )
        .envs(spec.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Own group, so signals reach helpers the command starts (npx -> node).
        .process_group(0);
    if let Some(dir) = spec.working_dir() {
        cmd.current_dir(dir);
    }
    cmd.spawn()
}

/// Signals the child's whole process group (ignores "no such process").
pub(crate) fn signal_group(pid: Option<u32>, signal: Signal) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = killpg(Pid::from_raw(pid), signal);
    }
}

/// The shutdown ladder; stdin must already be closed. Always reaps the child.
pub(crate) async fn stop(child: &mut Child, grace: Duration) {
    let pid = child.id();
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        signal_group(pid, Signal::SIGKILL);
        return;
    }
    signal_group(pid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_ok() {
        signal_group(pid, Signal::SIGKILL);
        return;
    }
    signal_group(pid, Signal::SIGKILL);
    let _ = child.kill().await;
}
