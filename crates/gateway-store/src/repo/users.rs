//! Users (`gateway_users`).

use gateway_core::{Role, TemplateAccess, Username};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, SqlErr,
    sea_query::{Expr, ExprTrait},
};
use tracing::instrument;

use crate::{
    Store,
    entity::user::{self, Column},
    error::{Error, Result},
    records::{UserChanges, UserRecord},
    repo::changes::ChangeKind,
    store::now_ms,
};

const USERS: &str = "gateway_users";

impl Store {
    /// Stores a new user. Fails with [`Error::Conflict`] if the name is taken.
    #[instrument(level = "debug", skip_all, fields(user = %record.username))]
    pub async fn insert_user(&self, record: &UserRecord) -> Result<()> {
        let row = user::ActiveModel {
            username: Set(record.username.as_str().to_owned()),
            password_hash: Set(record.password_hash.clone()),
            role: Set(record.role.as_str().to_owned()),
            active: Set(record.active),
            templates: Set(templates_column(&record.templates)),
            token_version: Set(record.token_version),
            created_at_ms: Set(record.created_at_ms),
            updated_at_ms: Set(record.updated_at_ms),
        };
        let txn = self.begin_change().await?;
        match user::Entity::insert(row)
            .exec_without_returning(txn.conn())
            .await
        {
            Ok(_) => {
                self.commit_change(txn, ChangeKind::User, None, record.username.as_str())
                    .await
            }
            Err(err) => match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(Error::Conflict {
                    what: "user",
                    key: record.username.to_string(),
                }),
                _ => Err(Error::Backend(err)),
            },
        }
    }

    /// The user `name`, if it exists.
    #[instrument(level = "debug", skip_all, fields(user = %name))]
    pub async fn get_user(&self, name: &str) -> Result<Option<UserRecord>> {
        user::Entity::find_by_id(name)
            .one(self.db())
            .await?
            .map(user_from_row)
            .transpose()
    }

    /// Every user, sorted by name (byte order).
    #[instrument(level = "debug", skip_all)]
    pub async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let rows = user::Entity::find().all(self.db()).await?;
        let mut users = rows
            .into_iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>>>()?;
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// How many users exist.
    #[instrument(level = "debug", skip_all)]
    pub async fn count_users(&self) -> Result<u64> {
        Ok(user::Entity::find().count(self.db()).await?)
    }

    /// How many active admins exist.
    #[instrument(level = "debug", skip_all)]
    pub async fn count_active_admins(&self) -> Result<u64> {
        Ok(user::Entity::find()
            .filter(Column::Role.eq(Role::Admin.as_str()))
            .filter(Column::Active.eq(true))
            .count(self.db())
            .await?)
    }

    /// Applies `changes` to user `name` in one transaction and bumps its token version
    /// (when anything changes). Returns the updated user, or `None` if there is none.
    #[instrument(level = "debug", skip_all, fields(user = %name))]
    pub async fn update_user(
        &self,
        name: &str,
        changes: &UserChanges,
    ) -> Result<Option<UserRecord>> {
        if *changes == UserChanges::default() {
            let row = user::Entity::find_by_id(name).one(self.db()).await?;
            return row.map(user_from_row).transpose();
        }
        // A write first (the change counter): on SQLite this takes the write lock at once
        // (waiting with the busy timeout). Reading first and writing later would upgrade a
        // read lock, which fails immediately in WAL mode when another writer (the audit
        // log) committed meanwhile.
        let change = self.begin_change().await?;
        let txn = change.conn();
        let bumped = user::Entity::update_many()
            .col_expr(Column::TokenVersion, Expr::col(Column::TokenVersion).add(1))
            .col_expr(Column::UpdatedAtMs, Expr::value(now_ms()))
            .filter(Column::Username.eq(name))
            .exec(txn)
            .await?;
        if bumped.rows_affected == 0 {
            change.rollback().await?;
            return Ok(None);
        }
        let Some(row) = user::Entity::find_by_id(name).one(txn).await? else {
            change.rollback().await?;
            return Ok(None);
        };
        let mut active = row.into_active_model();
        if let Some(hash) = &changes.password_hash {
            active.password_hash = Set(hash.clone());
        }
        if let Some(role) = changes.role {
            active.role = Set(role.as_str().to_owned());
        }
        if let Some(flag) = changes.active {
            active.active = Set(flag);
        }
        if let Some(templates) = &changes.templates {
            active.templates = Set(templates_column(templates));
        }
        let updated = active.update(txn).await?;
        self.commit_change(change, ChangeKind::User, None, name)
            .await?;
        user_from_row(updated).map(Some)
    }

    /// Deletes user `name` and, through the foreign key, its API keys. Returns whether
    /// it existed.
    #[instrument(level = "debug", skip_all, fields(user = %name))]
    pub async fn delete_user(&self, name: &str) -> Result<bool> {
        let txn = self.begin_change().await?;
        let result = user::Entity::delete_by_id(name).exec(txn.conn()).await?;
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        self.commit_change(txn, ChangeKind::User, None, name)
            .await?;
        Ok(true)
    }
}

/// `None` (every template) or a JSON array of names.
pub(crate) fn templates_column(templates: &TemplateAccess) -> Option<String> {
    templates
        .names()
        .map(|names| serde_json::Value::from(names).to_string())
}

/// Reads a templates column back.
pub(crate) fn templates_from_column(
    table: &'static str,
    key: &str,
    column: Option<&str>,
) -> Result<TemplateAccess> {
    let names = column
        .map(serde_json::from_str::<Vec<String>>)
        .transpose()
        .map_err(|e| Error::corrupt(table, key, "templates", e))?;
    TemplateAccess::parse_list(names).map_err(|e| Error::corrupt(table, key, "templates", e))
}

fn user_from_row(row: user::Model) -> Result<UserRecord> {
    let key = row.username.as_str();
    let username = Username::parse(key).map_err(|e| Error::corrupt(USERS, key, "username", e))?;
    let role: Role = row
        .role
        .parse()
        .map_err(|e| Error::corrupt(USERS, key, "role", e))?;
    let templates = templates_from_column(USERS, key, row.templates.as_deref())?;
    Ok(UserRecord {
        username,
        password_hash: row.password_hash,
        role,
        active: row.active,
        templates,
        token_version: row.token_version,
        created_at_ms: row.created_at_ms,
        updated_at_ms: row.updated_at_ms,
    })
}
