//! `mcpp gateway start` / `gateway-server`: load settings (file < env < flags, resolved by
//! the server), then serve in the foreground until SIGINT/SIGTERM, or hand over to a
//! detached copy of this process (`--background`).

use std::io::{IsTerminal, Write};

use anyhow::anyhow;
use gateway_server::{LogFormat, Overrides, Server, Settings, shutdown_signal};
use tracing_subscriber::{
    EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use super::background;
use crate::args::StartArgs;

/// The first line the server prints on stdout once it accepts connections, followed by
/// its URL (`mcp-gateway listening on http://127.0.0.1:8080`, `https://` with TLS).
/// Scripts and `--background` wait for it.
pub(crate) const LISTENING: &str = "mcp-gateway listening on ";

/// Runs the gateway until a shutdown signal.
pub(crate) fn run(args: StartArgs) -> anyhow::Result<()> {
    // Validated before going to the background, so a bad setting fails here, visibly.
    let settings = Settings::load(overrides(&args)).map_err(|e| anyhow!("{e}"))?;
    if args.background {
        return background::spawn();
    }
    let json = match settings.log_format() {
        Some(format) => format == LogFormat::Json,
        None => !std::io::stderr().is_terminal(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the async runtime: {e}"))?;
    // Inside the runtime: trace export runs as one of its tasks.
    let exporter = {
        let _entered = runtime.enter();
        init_tracing(settings.log_level(), settings.fleet.replica_id(), json)?
    };
    if args.sync {
        tracing::warn!(
            "--sync: deployment discovery is not available in this build; \
             serving the persisted registry and the configuration file's templates"
        );
    }
    let served = runtime.block_on(serve(settings));
    // The last spans go out before the runtime stops.
    #[cfg(feature = "otel")]
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    #[cfg(not(feature = "otel"))]
    let _ = exporter;
    served
}

/// The flags as the server's overrides (highest precedence).
pub(crate) fn overrides(args: &StartArgs) -> Overrides {
    Overrides {
        config_file: args.config.clone(),
        host: args.host.clone(),
        port: args.port,
        database_url: args.database.clone(),
        log_level: args.log_level.clone(),
        log_format: args.log_format.clone(),
        metrics_addr: args.metrics_addr.clone(),
        auth: args.auth.then_some(true),
        insecure_no_auth: args.insecure_no_auth,
        shutdown_grace: args.shutdown_grace,
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        tls_client_ca: args.tls_client_ca.clone(),
        behind_tls_proxy: args.behind_tls_proxy,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    // The server's errors already include their cause in `Display`.
    let server = Server::bind(settings).await.map_err(|e| match &e {
        gateway_server::Error::Bind { source, .. } => anyhow!("{e} — {}", bind_hint(source)),
        _ => anyhow!("{e}"),
    })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "{LISTENING}{}://{}",
        server.scheme(),
        server.local_addr()
    )
    .and_then(|()| stdout.flush())
    .map_err(|e| anyhow!("cannot write to stdout: {e}"))?;
    drop(stdout);
    server
        .serve(shutdown_signal())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    tracing::info!("gateway stopped");
    Ok(())
}

/// Trace export, when the build has it and an OTLP endpoint is set.
#[cfg(feature = "otel")]
type Exporter = gateway_server::otel::Tracing;
/// This build exports no traces.
#[cfg(not(feature = "otel"))]
type Exporter = std::convert::Infallible;

/// Logs to stderr at the settings' level (`RUST_LOG`, when set, wins), as JSON objects
/// with a `replica` key, or as text lines starting with `replica=<id>`; with feature
/// `otel` and an OTLP endpoint set, also exports the gateway's spans (a filter of their
/// own: the log level stays as it is). Must run inside the tokio runtime.
fn init_tracing(level: &str, replica: &str, json: bool) -> anyhow::Result<Option<Exporter>> {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| match EnvFilter::try_new(&v) {
            Ok(filter) => Some(filter),
            Err(e) => {
                eprintln!("warning: ignoring RUST_LOG={v:?}: {e}");
                None
            }
        });
    let filter = from_env
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    #[cfg(feature = "otel")]
    let (export, exporter) =
        match gateway_server::otel::Tracing::install().map_err(|e| anyhow!("trace export: {e}"))? {
            Some((layer, exporter)) => (Some(layer), Some(exporter)),
            None => (None, None),
        };
    #[cfg(not(feature = "otel"))]
    let (export, exporter) = (None::<tracing_subscriber::layer::Identity>, None);
    let registry = tracing_subscriber::registry().with(export);
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = if json {
        let format = tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false);
        let fmt = fmt
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(crate::log_format::JsonWithReplica::new(replica, format));
        registry.with(fmt.with_filter(filter)).try_init()
    } else {
        let fmt = fmt.with_ansi(std::io::stderr().is_terminal()).event_format(
            crate::log_format::WithReplica {
                replica: replica.to_owned(),
                inner: tracing_subscriber::fmt::format(),
            },
        );
        registry.with(fmt.with_filter(filter)).try_init()
    };
    #[cfg(feature = "otel")]
    if let Some(exporter) = &exporter {
        tracing::info!(endpoint = exporter.endpoint(), "exporting traces over OTLP");
    }
    Ok(exporter)
}

/// What to do about an address that cannot be listened on: only a port in use is
/// solved by another port; an unknown or foreign host by another --host.
fn bind_hint(cause: &std::io::Error) -> &'static str {
    match cause.kind() {
        std::io::ErrorKind::AddrInUse => "is another gateway running? pick another --port",
        std::io::ErrorKind::PermissionDenied => {
            "ports below 1024 need privileges: pick a --port of 1024 or more"
        }
        _ => {
            "check --host: it must be an address of this machine (e.g. 127.0.0.1 or 0.0.0.0) or a name that resolves to one"
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn flags_become_overrides() {
        let args = StartArgs {
            host: Some("0.0.0.0".into()),
            port: Some(0),
            config: Some(PathBuf::from("gw.json")),
            database: Some("sqlite::memory:".into()),
            log_level: Some("debug".into()),
            log_format: Some("json".into()),
            metrics_addr: Some("127.0.0.1:9464".into()),
            sync: true,
            background: false,
            auth: true,
            insecure_no_auth: true,
            shutdown_grace: Some(5),
            tls_cert: Some(PathBuf::from("cert.pem")),
            tls_key: Some(PathBuf::from("key.pem")),
            tls_client_ca: Some(PathBuf::from("ca.pem")),
            behind_tls_proxy: true,
        };
        let o = overrides(&args);
        assert_eq!(o.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(o.port, Some(0));
        assert_eq!(o.config_file, Some(PathBuf::from("gw.json")));
        assert_eq!(o.database_url.as_deref(), Some("sqlite::memory:"));
        assert_eq!(o.log_level.as_deref(), Some("debug"));
        assert_eq!(o.log_format.as_deref(), Some("json"));
        assert_eq!(o.metrics_addr.as_deref(), Some("127.0.0.1:9464"));
        assert_eq!((o.auth, o.insecure_no_auth), (Some(true), true));
        assert_eq!(o.shutdown_grace, Some(5));
        assert_eq!(o.tls_cert, Some(PathBuf::from("cert.pem")));
        assert_eq!(o.tls_key, Some(PathBuf::from("key.pem")));
        assert_eq!(o.tls_client_ca, Some(PathBuf::from("ca.pem")));
        assert!(o.behind_tls_proxy);
        let none = overrides(&StartArgs::default());
        assert!(none.host.is_none() && none.port.is_none() && none.config_file.is_none());
        assert!(none.database_url.is_none() && none.log_level.is_none());
        assert!(none.shutdown_grace.is_none());
        assert!(none.tls_cert.is_none() && none.tls_key.is_none() && none.tls_client_ca.is_none());
        assert!(!none.behind_tls_proxy);
    }
}
