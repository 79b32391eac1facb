//! Administration without a running gateway: the CLI's `create-user --database URL` and
//! `register --offline` write straight to the database (whoever can write it is trusted,
//! so stdio commands are allowed here), with the same validation as the API.

use gateway_core::api::{CreateUser, InstanceInfo, RegisterInstance, UserInfo};
use gateway_store::Store;

use crate::{config::Settings, error::ApiError, registry};

/// Why an offline operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[source] gateway_store::Error),
    /// The request was refused (invalid name, weak password, name taken).
    #[error("{0}")]
    Refused(#[source] gateway_auth::Error),
    /// The registration is invalid (the message names the field) or its id is taken.
    #[error("{0}")]
    Registration(String),
}

/// Registers an instance in the database of `settings` (migrating it first), as
/// `POST /gateway/register` would but without the API's stdio and endpoint policies. A
/// gateway already running on that database picks it up within a second (its change feed).
pub async fn register(
    settings: &Settings,
    request: RegisterInstance,
) -> Result<InstanceInfo, OfflineError> {
    let refused = |e: ApiError| OfflineError::Registration(e.to_string());
    let valid = request.validate(None).map_err(|e| refused(e.into()))?;
    let store = Store::connect(&settings.database_url)
        .await
        .map_err(OfflineError::Database)?;
    store.migrate().await.map_err(OfflineError::Database)?;
    let result = async {
        let id = match &valid.id {
            Some(id) => id.clone(),
            None => registry::next_instance_id(&store, &valid.template).await?,
        };
        if store.template_settings(&valid.template).await?.is_none() {
            store
                .upsert_template(&valid.template, &settings.template_defaults)
                .await?;
        }
        let instance = valid.into_instance(id, registry::now_ms());
        store.insert_instance(&instance).await?;
        Ok::<_, ApiError>(instance)
    }
    .await;
    let _ = store.close().await;
    let instance = result.map_err(refused)?;
    Ok(InstanceInfo::new(
        &instance,
        gateway_core::HealthStatus::Unknown.as_str(),
    ))
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
