//! Connection options per backend, and the default database location.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    str::FromStr,
    sync::Arc,
    time::Duration,
};

use sea_orm::{
    DatabaseConnection, DbErr, RuntimeErr, SqlxMySqlConnector, SqlxPostgresConnector,
    SqlxSqliteConnector,
    sqlx::{
        self, ConnectOptions as _,
        mysql::MySqlConnectOptions,
        pool::PoolOptions,
        postgres::PgConnectOptions,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    },
};

use crate::error::{Error, Result};

/// How long a statement waits for another connection's SQLite write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite file connections: one writer at a time, but readers run beside it in WAL mode.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// PostgreSQL / MySQL connections per store.
const SERVER_MAX_CONNECTIONS: u32 = 10;
/// How long `connect` or a query waits for a connection, so `ping` fails in bounded time.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool for a `sqlite:`, `postgres:`/`postgresql:` or `mysql:` URL.
///
/// The pools are built here with sqlx rather than by `sea_orm::Database::connect`,
/// whose errors quote the URL (and with it any password).
pub(crate) async fn open(url: &str) -> Result<DatabaseConnection> {
    let invalid = |reason| Error::Invalid {
        what: "database URL",
        reason,
    };
    if url.starts_with("sqlite:") {
        return open_sqlite(url).await;
    }
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| invalid("is not a valid PostgreSQL URL"))?
            // Statements carry no values (they are bound), but sqlx would log each one
            // at INFO; sea-orm's spans already record them at TRACE.
            .disable_statement_logging();
        let pool = server_pool()
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        return Ok(SqlxPostgresConnector::from_sqlx_postgres_pool(pool));
    }
    if url.starts_with("mysql:") {
        let options = MySqlConnectOptions::from_str(url)
            .map_err(|_| invalid("is not a valid MySQL URL"))?
            .disable_statement_logging();
        let pool = server_pool()
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        return Ok(SqlxMySqlConnector::from_sqlx_mysql_pool(pool));
    }
    // The URL itself is not echoed: it may carry a password.
    Err(invalid(
        "expected a sqlite:, postgres:, postgresql: or mysql: URL",
    ))
}

fn server_pool<DB: sqlx::Database>() -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(SERVER_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

fn connect_error(err: sqlx::Error) -> Error {
    Error::Backend(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err))))
}

async fn open_sqlite(url: &str) -> Result<DatabaseConnection> {
    let invalid = || Error::Invalid {
        what: "database URL",
        reason: "is not a valid SQLite URL",
    };
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(invalid)?;
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mode = query.split('&').find_map(|pair| pair.strip_prefix("mode="));
    let in_memory = database == ":memory:" || mode == Some("memory");
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|_| invalid())?
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .synchronous(SqliteSynchronous::Full)
        .disable_statement_logging();

    let (options, pool) = if in_memory {
        // An in-memory database lives only while a connection to it is open. One
        // connection that never expires keeps it for the store's lifetime (and avoids
        // shared-cache table locks, which ignore the busy timeout).
        let pool = PoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        (options, pool)
    } else {
        // No `mode` means "create if missing"; an explicit `ro`/`rw` is respected.
        let create = matches!(mode, None | Some("rwc"));
        if create
            && let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
        {
            // Blocking, but once per process start and only a `mkdir -p`.
            if !parent.exists() {
                private_dir(parent).map_err(|_| Error::Invalid {
                    what: "database path",
                    reason: "its parent directory cannot be created",
                })?;
            }
        }
        if create {
            private_file(options.get_filename())?;
        }
        warn_if_shared(options.get_filename());
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = PoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .min_connections(1);
        (options, pool)
    };
    let pool = pool
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(connect_error)?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// The default database: a SQLite file in the user's data directory,
/// `$XDG_DATA_HOME/mcp-gateway/gateway.db`, else `$HOME/.local/share/mcp-gateway/gateway.db`,
/// else `./mcp-gateway.db`, as a `sqlite://…?mode=rwc` URL.
pub fn default_database_url() -> String {
    database_url_for(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
}

/// [`default_database_url`] with the environment passed in (testable without `set_var`).
pub(crate) fn database_url_for(xdg_data_home: Option<OsString>, home: Option<OsString>) -> String {
    // The XDG base directory spec says to ignore relative values.
    let usable = |v: Option<OsString>| {
        v.map(PathBuf::from)
            .filter(|p| p.is_absolute() && p.to_str().is_some())
    };
    let path = usable(xdg_data_home)
        .map(|d| d.join("mcp-gateway").join("gateway.db"))
        .or_else(|| usable(home).map(|h| h.join(".local/share/mcp-gateway/gateway.db")))
        .unwrap_or_else(|| PathBuf::from("./mcp-gateway.db"));
    sqlite_url(&path)
}

/// `path` as a `sqlite://` URL that creates the file. sqlx percent-decodes the path, so
/// `%`, `?` and `#` are encoded.
pub(crate) fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// Creates the database file readable by its owner only (0600) if it does not exist yet:
/// it holds the JWT key, the API-key HMAC key and the session-sealing key. SQLite gives
/// its `-wal` and `-shm` files the database file's mode.
fn private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(_) => Err(Error::Invalid {
            what: "database path",
            reason: "the database file cannot be created",
        }),
    }
}

/// `mkdir -p` whose new directories are private (0700).
fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Warns when an existing database file (or its WAL/SHM files) can be read by other
/// users of the host: they could read the server secrets in it.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
        for file in files {
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    file = %file.display(),
                    mode = format_args!("{mode:o}"),
                    "the database file is readable by other users of this host, and it \
                     holds the gateway's signing and sealing keys: run chmod 600 on it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_url_prefers_xdg_then_home() {
        assert_eq!(
            database_url_for(Some("/x/data".into()), Some("/home/u".into())),
            "sqlite:///x/data/mcp-gateway/gateway.db?mode=rwc"
        );
        assert_eq!(
            database_url_for(Some("relative".into()), Some("/home/u".into())),
            "sqlite:///home/u/.local/share/mcp-gateway/gateway.db?mode=rwc"
        );
        assert_eq!(
            database_url_for(Some("".into()), Some("/home/u".into())),
            "sqlite:///home/u/.local/share/mcp-gateway/gateway.db?mode=rwc"
        );
        assert_eq!(
            database_url_for(None, None),
            "sqlite://./mcp-gateway.db?mode=rwc"
        );
    }

    #[test]
    fn default_url_has_the_right_shape() {
        let url = default_database_url();
        assert!(url.starts_with("sqlite://"), "{url}");
        assert!(url.ends_with("gateway.db?mode=rwc"), "{url}");
        assert!(url.contains("mcp-gateway"), "{url}");
        // sqlx reads it back as the same file.
        let parsed = SqliteConnectOptions::from_str(&url).unwrap();
        assert!(parsed.get_filename().ends_with("gateway.db"));
    }

    #[test]
    fn url_escapes_reserved_characters() {
        let url = sqlite_url(Path::new("/tmp/a?b#c%d/gateway.db"));
        assert_eq!(url, "sqlite:///tmp/a%3Fb%23c%25d/gateway.db?mode=rwc");
        let parsed = SqliteConnectOptions::from_str(&url).unwrap();
        assert_eq!(parsed.get_filename(), Path::new("/tmp/a?b#c%d/gateway.db"));
    }

    #[tokio::test]
    async fn rejects_bad_urls_without_echoing_them() {
        for url in [
            "redis://user:hunter2@host/0",
            "no-scheme-hunter2",
            "postgres://user:hunter2@host:notaport/db",
            "mysql://user:hunter2@[::1/db",
        ] {
            let err = open(url).await.unwrap_err();
            assert!(matches!(err, Error::Invalid { .. }), "{url}: {err:?}");
            assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
        }
    }

    #[tokio::test]
    async fn odd_sqlite_paths_do_not_panic() {
        // Not valid URLs (a space in the "host"), but valid SQLite paths.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/my file.db", dir.path().display());
        open(&url).await.unwrap();
        assert!(dir.path().join("my file.db").is_file());
    }
}
