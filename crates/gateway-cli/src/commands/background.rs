//! `--background`: start this same executable again, without `--background`, detached
//! from the terminal and logging to the user's state directory; report its pid once it
//! listens (or its failure), then return.

use std::{
    ffi::{OsStr, OsString},
    fs::{self, OpenOptions},
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail};

use super::start::LISTENING;

/// How long to wait for the child to report its address before returning anyway.
const STARTUP_WAIT: Duration = Duration::from_secs(15);

/// Spawns the detached gateway and waits until it listens or exits.
pub(crate) fn spawn() -> anyhow::Result<()> {
    let log_path = log_path(|key| std::env::var_os(key))?;
    if let Some(dir) = log_path.parent() {
        fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| anyhow!("cannot open the log {}: {e}", log_path.display()))?;
    let start_of_run = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().map_err(|e| anyhow!("cannot find this executable: {e}"))?;
    let err_log = log
        .try_clone()
        .map_err(|e| anyhow!("cannot open the log {}: {e}", log_path.display()))?;

    let mut command = Command::new(&exe);
    command
        .args(child_args(std::env::args_os().skip(1)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log);
    #[cfg(unix)]
    {
        // Its own process group: Ctrl-C in this terminal does not reach the gateway.
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command
        .spawn()
        .map_err(|e| anyhow!("cannot start {}: {e}", exe.display()))?;
    let pid = child.id();

    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        if let Some(url) = listening_url(&log_path, start_of_run) {
            println!("mcp-gateway started in the background (pid {pid})");
            println!("listening on {url}");
            println!("log: {}", log_path.display());
            return Ok(());
        }
        if let Some(status) = child
            .try_wait()
            .map_err(|e| anyhow!("cannot watch the gateway process: {e}"))?
        {
            let reason = logged_error(&log_path, start_of_run)
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            bail!(
                "the gateway exited during start-up ({status}){reason}\nlog: {}",
                log_path.display()
            );
        }
        if Instant::now() >= deadline {
            println!("mcp-gateway is starting in the background (pid {pid})");
            println!("log: {}", log_path.display());
            return Ok(());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// `$XDG_STATE_HOME/mcp-gateway/gateway.log`, else `$HOME/.local/state/mcp-gateway/gateway.log`.
/// A relative `XDG_STATE_HOME` is ignored, as the XDG spec requires.
fn log_path(env: impl Fn(&str) -> Option<OsString>) -> anyhow::Result<PathBuf> {
    let state = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".local").join("state"))
        })
        .ok_or_else(|| anyhow!("cannot place the log file: set XDG_STATE_HOME or HOME"))?;
    Ok(state.join("mcp-gateway").join("gateway.log"))
}

/// The arguments for the child: the same, minus `--background`.
fn child_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    args.into_iter()
        .filter(|a| a.as_os_str() != OsStr::new("--background"))
        .collect()
}

/// The URL in the child's "listening" line, if it was written after `offset`.
fn listening_url(log: &Path, offset: u64) -> Option<String> {
    find_line(log, offset, LISTENING)
}

/// The child's `error: ...` message (see `crate::finish`), if it wrote one after `offset`.
fn logged_error(log: &Path, offset: u64) -> Option<String> {
    find_line(log, offset, "error: ")
}

/// The rest of the first line after `offset` that starts with `prefix`.
fn find_line(log: &Path, offset: u64, prefix: &str) -> Option<String> {
    let mut file = fs::File::open(log).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(|rest| rest.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |key| vars.get(key).cloned()
    }

    #[test]
    fn log_goes_to_the_state_dir() {
        let xdg = env(&[("XDG_STATE_HOME", "/xdg/state"), ("HOME", "/home/u")]);
        assert_eq!(
            log_path(xdg).unwrap(),
            Path::new("/xdg/state/mcp-gateway/gateway.log")
        );
        let home = env(&[("HOME", "/home/u")]);
        assert_eq!(
            log_path(home).unwrap(),
            Path::new("/home/u/.local/state/mcp-gateway/gateway.log")
        );
        let relative = env(&[("XDG_STATE_HOME", "state"), ("HOME", "/home/u")]);
        assert_eq!(
            log_path(relative).unwrap(),
            Path::new("/home/u/.local/state/mcp-gateway/gateway.log")
        );
        assert!(log_path(env(&[])).is_err());
    }

    #[test]
    fn the_child_gets_the_same_arguments_minus_background() {
        let args = [
            "gateway",
            "start",
            "--background",
            "--port",
            "0",
            "--host",
            "--background-x",
        ];
        let child = child_args(args.iter().map(OsString::from));
        assert_eq!(
            child,
            [
                "gateway",
                "start",
                "--port",
                "0",
                "--host",
                "--background-x"
            ]
        );
    }

    #[test]
    fn finds_the_listening_line_written_after_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("gateway.log");
        let old = format!("{LISTENING}http://127.0.0.1:1111\n");
        fs::write(&log, &old).unwrap();
        assert_eq!(listening_url(&log, old.len() as u64), None);
        fs::write(
            &log,
            format!("{old}INFO starting\n{LISTENING}https://127.0.0.1:2222\n"),
        )
        .unwrap();
        assert_eq!(
            listening_url(&log, old.len() as u64).as_deref(),
            Some("https://127.0.0.1:2222")
        );
        assert_eq!(logged_error(&log, 0), None);
        fs::write(&log, format!("{old}error: cannot listen on x: in use\n")).unwrap();
        assert_eq!(
            logged_error(&log, old.len() as u64).as_deref(),
            Some("cannot listen on x: in use")
        );
    }
}
