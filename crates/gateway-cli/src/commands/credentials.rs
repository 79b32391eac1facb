//! The stored login token (`$XDG_CONFIG_HOME/mcp-gateway/token`, else
//! `~/.config/mcp-gateway/token`; the file is mode 0600 in a 0700 directory) and reading
//! passwords without echoing them.

use std::{
    ffi::OsString,
    fs,
    io::{BufRead, IsTerminal, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, anyhow, bail};

/// Where the token lives.
pub(crate) fn token_path() -> anyhow::Result<PathBuf> {
    token_path_in(|key| std::env::var_os(key))
}

fn token_path_in(env: impl Fn(&str) -> Option<OsString>) -> anyhow::Result<PathBuf> {
    let config = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        })
        .ok_or_else(|| anyhow!("cannot place the token file: set XDG_CONFIG_HOME or HOME"))?;
    Ok(config.join("mcp-gateway").join("token"))
}

/// The stored token, if there is one.
pub(crate) fn stored_token() -> anyhow::Result<Option<String>> {
    let Ok(path) = token_path() else {
        return Ok(None);
    };
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Stores `token`, readable by the current user only; returns the path.
pub(crate) fn store_token(token: &str) -> anyhow::Result<PathBuf> {
    let path = token_path()?;
    write_private(&path, token)?;
    Ok(path)
}

/// What `login --oidc` keeps to refresh its token (next to the token, same protection).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct OidcSession {
    pub(crate) issuer: String,
    pub(crate) token_endpoint: String,
    pub(crate) client_id: String,
    /// The gateway's resource identifier (RFC 8707), sent again with each refresh.
    pub(crate) resource: String,
    pub(crate) refresh_token: Option<String>,
    /// Unix seconds when the access token expires, if the issuer said.
    pub(crate) expires_at: Option<u64>,
}

fn session_path() -> anyhow::Result<PathBuf> {
    Ok(token_path()?.with_file_name("oidc-session.json"))
}

/// Stores the session of an identity-provider login.
pub(crate) fn store_session(session: &OidcSession) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(session)?;
    write_private(&session_path()?, &text)
}

/// The stored identity-provider session, if the stored token came from one.
pub(crate) fn stored_session() -> anyhow::Result<Option<OidcSession>> {
    let path = session_path()?;
    match fs::read_to_string(&path) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Forgets the identity-provider session (a password login or a logout).
pub(crate) fn remove_session() -> anyhow::Result<()> {
    let path = session_path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!("cannot remove {}: {e}", path.display())),
    }
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // Written next to the target and renamed over it: never a partly written token, and
    // the file is private from its first byte.
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.tmp"));
    let _ = fs::remove_file(&temp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temp)
        .with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(content.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temp.display()))?;
    fs::rename(&temp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Removes the stored token; returns its path if there was one.
pub(crate) fn remove_token() -> anyhow::Result<Option<PathBuf>> {
    let path = token_path()?;
    match fs::remove_file(&path) {
        Ok(()) => Ok(Some(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot remove {}: {e}", path.display())),
    }
}

/// A password: `given`, else typed at the terminal without echo (twice when `confirm`),
/// else the first line of stdin.
pub(crate) fn password(
    given: Option<String>,
    prompt: &str,
    confirm: bool,
) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password given: pass --password or type it on stdin");
        }
        return Ok(password);
    }
    let first = read_hidden(prompt)?;
    if confirm && read_hidden("Repeat the password: ")? != first {
        bail!("the passwords differ");
    }
    Ok(first)
}

/// Reads a line from the terminal with echo off.
fn read_hidden(prompt: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let saved = tcgetattr(&stdin).context("cannot read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn off echo")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
    eprintln!();
    read.context("cannot read the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn token_goes_to_the_config_dir() {
        let env = |vars: &[(&str, &str)]| {
            let map: HashMap<String, OsString> = vars
                .iter()
                .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
                .collect();
            move |k: &str| map.get(k).cloned()
        };
        assert_eq!(
            token_path_in(env(&[("XDG_CONFIG_HOME", "/x/cfg"), ("HOME", "/home/u")])).unwrap(),
            Path::new("/x/cfg/mcp-gateway/token")
        );
        assert_eq!(
            token_path_in(env(&[("XDG_CONFIG_HOME", "rel"), ("HOME", "/home/u")])).unwrap(),
            Path::new("/home/u/.config/mcp-gateway/token")
        );
        assert!(token_path_in(env(&[])).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/mcp-gateway/token");
        write_private(&path, "t1").unwrap();
        write_private(&path, "t2").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "t2");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }
}
