//! Administration without a running gateway: the CLI's `create-user --database URL`
//! writes straight to the database (whoever can write it is trusted), with the same
//! validation and hashing as `POST /auth/users`.

use gateway_core::api::{CreateUser, UserInfo};
use gateway_store::Store;

use crate::config::Settings;

/// Why an offline operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[source] gateway_store::Error),
    /// The request was refused (invalid name, weak password, name taken).
    #[error("{0}")]
    Refused(#[source] gateway_auth::Error),
}

/// Creates a user in the database of `settings` (migrating it first).
pub async fn create_user(
    settings: &Settings,
    request: &CreateUser,
) -> Result<UserInfo, OfflineError> {
    let store = Store::connect(&settings.database_url)
        .await
        .map_err(OfflineError::Database)?;
    store.migrate().await.map_err(OfflineError::Database)?;
    let result =
        gateway_auth::create_user_offline(&store, request, settings.auth.config.bcrypt_cost).await;
    let _ = store.close().await;
    let record = result.map_err(OfflineError::Refused)?;
    Ok(gateway_auth::user_info(&record))
}
