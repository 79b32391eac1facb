//! API keys (`gateway_api_keys`).

use gateway_core::{Scopes, Username};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr, TransactionTrait,
    sea_query::Expr,
};
use tracing::instrument;

use super::users::{templates_column, templates_from_column};
use crate::{
    Store,
    entity::api_key::{self, Column},
    error::{Error, Result},
    records::ApiKeyRecord,
    repo::changes::ChangeKind,
};

const KEYS: &str = "gateway_api_keys";

impl Store {
    /// Stores a new key. Fails with [`Error::Conflict`] if the id is taken and with
    /// [`Error::NotFound`] if the owner does not exist.
    #[instrument(level = "debug", skip_all, fields(key = %record.id, owner = %record.owner))]
    pub async fn insert_api_key(&self, record: &ApiKeyRecord) -> Result<()> {
        let rate_limit = record
            .rate_limit
            .map(i32::try_from)
            .transpose()
            .map_err(|_| Error::Invalid {
                what: "rate limit",
                reason: "is too large",
            })?;
        let row = api_key::ActiveModel {
            id: Set(record.id.clone()),
            name: Set(record.name.clone()),
            owner: Set(record.owner.as_str().to_owned()),
            secret_hash: Set(record.secret_hash.clone()),
            scopes: Set(serde_json::Value::from(record.scopes.names()).to_string()),
            templates: Set(templates_column(&record.templates)),
            rate_limit: Set(rate_limit),
            created_at_ms: Set(record.created_at_ms),
            expires_at_ms: Set(record.expires_at_ms),
            revoked_at_ms: Set(record.revoked_at_ms),
            last_used_at_ms: Set(record.last_used_at_ms),
        };
        let txn = self.begin_change().await?;
        match api_key::Entity::insert(row)
            .exec_without_returning(txn.conn())
            .await
        {
            Ok(_) => {
                self.commit_change(txn, ChangeKind::ApiKey, None, &record.id)
                    .await
            }
            Err(err) => match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(Error::Conflict {
                    what: "api key",
                    key: record.id.clone(),
                }),
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => Err(Error::NotFound {
                    what: "user",
                    key: record.owner.to_string(),
                }),
                _ => Err(Error::Backend(err)),
            },
        }
    }

    /// The key `id`, if it exists (revoked and expired keys included).
    #[instrument(level = "debug", skip_all, fields(key = %id))]
    pub async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        api_key::Entity::find_by_id(id)
            .one(self.db())
            .await?
            .map(key_from_row)
            .transpose()
    }

    /// The keys of `owner`, or every key; oldest first.
    #[instrument(level = "debug", skip_all)]
    pub async fn list_api_keys(&self, owner: Option<&Username>) -> Result<Vec<ApiKeyRecord>> {
        let mut query = api_key::Entity::find();
        if let Some(owner) = owner {
            query = query.filter(Column::Owner.eq(owner.as_str()));
        }
        let rows = query.all(self.db()).await?;
        let mut keys = rows
            .into_iter()
            .map(key_from_row)
            .collect::<Result<Vec<_>>>()?;
        keys.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(keys)
    }

    /// Marks key `id` revoked at `at_ms` (keeping an earlier revocation time). Returns
    /// the key, or `None` if there is none.
    #[instrument(level = "debug", skip_all, fields(key = %id))]
    pub async fn revoke_api_key(&self, id: &str, at_ms: i64) -> Result<Option<ApiKeyRecord>> {
        let txn = self.begin_change().await?;
        let revoked = api_key::Entity::update_many()
            .col_expr(Column::RevokedAtMs, Expr::value(at_ms))
            .filter(Column::Id.eq(id))
            .filter(Column::RevokedAtMs.is_null())
            .exec(txn.conn())
            .await?;
        if revoked.rows_affected == 0 {
            txn.rollback().await?;
        } else {
            self.commit_change(txn, ChangeKind::ApiKey, None, id)
                .await?;
        }
        self.get_api_key(id).await
    }

    /// Records when keys were last used, in one transaction (the server batches these,
    /// so the request path never writes).
    #[instrument(level = "debug", skip_all, fields(keys = uses.len()))]
    pub async fn record_api_key_use(&self, uses: &[(String, i64)]) -> Result<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let txn = self.db().begin().await?;
        for (id, at_ms) in uses {
            api_key::Entity::update_many()
                .col_expr(Column::LastUsedAtMs, Expr::value(*at_ms))
                .filter(Column::Id.eq(id.as_str()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}

fn key_from_row(row: api_key::Model) -> Result<ApiKeyRecord> {
    let key = row.id.as_str();
    let owner = Username::parse(&row.owner).map_err(|e| Error::corrupt(KEYS, key, "owner", e))?;
    let names: Vec<String> =
        serde_json::from_str(&row.scopes).map_err(|e| Error::corrupt(KEYS, key, "scopes", e))?;
    let scopes = Scopes::parse_list(names).map_err(|e| Error::corrupt(KEYS, key, "scopes", e))?;
    let templates = templates_from_column(KEYS, key, row.templates.as_deref())?;
    let rate_limit = row
        .rate_limit
        .map(u32::try_from)
        .transpose()
        .map_err(|_| Error::corrupt(KEYS, key, "rate_limit", "is negative"))?;
    Ok(ApiKeyRecord {
        id: row.id,
        name: row.name,
        owner,
        secret_hash: row.secret_hash,
        scopes,
        templates,
        rate_limit,
        created_at_ms: row.created_at_ms,
        expires_at_ms: row.expires_at_ms,
        revoked_at_ms: row.revoked_at_ms,
        last_used_at_ms: row.last_used_at_ms,
    })
}
