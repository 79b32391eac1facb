//! [`ChangeListener`]: PostgreSQL `LISTEN` on the gateway's change channel.

use sea_orm::{
    DbErr, RuntimeErr,
    sqlx::{self, PgPool, postgres::PgListener},
};

use crate::error::{Error, Result};

/// What woke a [`ChangeListener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A change was committed (its version, when the payload says).
    Changed(Option<i64>),
    /// The connection was lost and is back (listening again): notifications sent
    /// meanwhile are lost, so the caller should resynchronise.
    Reconnected,
}

/// A dedicated connection listening for committed changes. It reconnects by itself
/// (see [`ChangeListener::next`]).
pub struct ChangeListener {
    pool: PgPool,
    channel: String,
    /// `None` after a failure: the next call connects afresh.
    inner: Option<PgListener>,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener")
            .field("channel", &self.channel)
            .field("connected", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl ChangeListener {
    pub(crate) async fn connect(pool: &PgPool, channel: &str) -> Result<ChangeListener> {
        let inner = Self::open(pool, channel).await?;
        Ok(ChangeListener {
            pool: pool.clone(),
            channel: channel.to_owned(),
            inner: Some(inner),
        })
    }

    async fn open(pool: &PgPool, channel: &str) -> Result<PgListener> {
        let mut inner = PgListener::connect_with(pool).await.map_err(backend)?;
        inner.listen(channel).await.map_err(backend)?;
        Ok(inner)
    }

    /// Waits for the next notification. A lost connection is re-established before
    /// this returns [`Wake::Reconnected`]; when that fails it returns the error, and the
    /// next call tries again with a new connection (callers wait a moment in between).
    pub async fn next(&mut self) -> Result<Wake> {
        let Some(inner) = self.inner.as_mut() else {
            self.inner = Some(Self::open(&self.pool, &self.channel).await?);
            return Ok(Wake::Reconnected);
        };
        match inner.try_recv().await {
            Ok(Some(n)) => Ok(Wake::Changed(n.payload().parse().ok())),
            Ok(None) => Ok(Wake::Reconnected),
            Err(e) => {
                // sqlx keeps the connection after some failures (a reset, say): start
                // over with a fresh listener rather than retry on a dead socket.
                self.inner = None;
                Err(backend(e))
            }
        }
    }
}
fn backend(e: sqlx::Error) -> Error {
    Error::Backend(DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(e))))
}
