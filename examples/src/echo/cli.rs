//! Command-line handling for the `echo_server` example binary.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use super::{EchoConfig, serve_http, serve_stdio};

const USAGE: &str =
    "usage: echo_server (--stdio | --http ADDR:PORT) [--instance-id ID] [--record-requests]";

/// Which transport to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Stdio,
    Http(SocketAddr),
}

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Args {
    mode: Mode,
    config: EchoConfig,
}

/// Parses the arguments (without the program name). `Ok(None)` means `--help`.
fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Args>, String> {
    let mut mode = None;
    let mut instance_id = None;
    let mut record_requests = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} requires a value"))
        };
        let new_mode = match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--stdio" if inline.is_none() => Mode::Stdio,
            "--http" => {
                let raw = value("--http")?;
                let addr = raw.parse().map_err(|e| {
                    format!("--http: invalid address {raw:?} ({e}); expected e.g. 127.0.0.1:0")
                })?;
                Mode::Http(addr)
            }
            "--record-requests" if inline.is_none() => {
                record_requests = true;
                continue;
            }
            "--instance-id" => {
                let id = value("--instance-id")?;
                if id.is_empty() {
                    return Err("--instance-id must not be empty".to_owned());
                }
                instance_id = Some(id);
                continue;
            }
            other => return Err(format!("unknown argument {other:?}")),
        };
        if mode.replace(new_mode).is_some() {
            return Err(
                "--stdio and --http are mutually exclusive and may be given once".to_owned(),
            );
        }
    }
    let mode = mode.ok_or_else(|| "one of --stdio or --http is required".to_owned())?;
    let mut config = instance_id.map(EchoConfig::new).unwrap_or_default();
    config.record_requests = record_requests;
    Ok(Some(Args { mode, config }))
}

/// Entry point of the `echo_server` example: parses `args` (without the program name), builds
/// a Tokio runtime and serves until stdin closes (`--stdio`, exit code 0) or forever
/// (`--http`). With `--http`, once bound it prints `listening on http://<addr>/mcp` (the
/// actual port, even for port 0) as the only line on stdout.
///
/// Exit codes: 0 on a clean stdio shutdown, 1 on an I/O error, 2 on bad arguments.
pub fn main_with_args<I: IntoIterator<Item = String>>(args: I) -> ExitCode {
    let args = match parse_args(args) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("echo_server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("echo_server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.mode {
            Mode::Stdio => serve_stdio(args.config).await,
            Mode::Http(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                let local = listener.local_addr()?;
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "listening on http://{local}/mcp")?;
                stdout.flush()?;
                drop(stdout);
                serve_http(listener, args.config).await
            }
        }
    });
    // Don't wait for tasks still sleeping after the stdio drain deadline.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_modes_and_instance_id() {
        let args = parse(&["--stdio"]).unwrap().unwrap();
        assert_eq!(args.mode, Mode::Stdio);
        assert_eq!(
            args.config.instance_id,
            format!("echo-{}", std::process::id())
        );

        let args = parse(&["--http", "127.0.0.1:0", "--instance-id", "a"])
            .unwrap()
            .unwrap();
        assert_eq!(args.mode, Mode::Http("127.0.0.1:0".parse().unwrap()));
        assert_eq!(args.config.instance_id, "a");

        let args = parse(&["--instance-id=b", "--http=127.0.0.1:9"])
            .unwrap()
            .unwrap();
        assert_eq!(args.config.instance_id, "b");
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn bad_args_name_the_flag() {
        assert!(parse(&[]).unwrap_err().contains("--stdio"));
        assert!(parse(&["--http"]).unwrap_err().contains("--http"));
        assert!(parse(&["--http", "nope"]).unwrap_err().contains("--http"));
        assert!(
            parse(&["--stdio", "--instance-id"])
                .unwrap_err()
                .contains("--instance-id")
        );
        assert!(
            parse(&["--stdio", "--bogus"])
                .unwrap_err()
                .contains("--bogus")
        );
        assert!(parse(&["--stdio", "--http", "127.0.0.1:0"]).is_err());
    }
}
