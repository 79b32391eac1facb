//! Registered instances (`gateway_instances`).

use gateway_core::{Instance, InstanceId, LoadBalancerSettings, TemplateName};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, SqlErr};
use tracing::instrument;

use crate::{
    Store, convert,
    entity::{
        instance::{self, Column},
        template,
    },
    error::{Error, Result},
    repo::changes::ChangeKind,
};

/// How often `insert_instance` retries when its template is deleted concurrently.
const TEMPLATE_RACE_ATTEMPTS: usize = 3;

/// What one insert attempt found.
enum Attempt {
    Inserted,
    /// The template row vanished between our insert-or-nothing and the instance insert.
    TemplateRaced(DbErr),
}

impl Store {
    /// Stores a new instance, creating its template with default settings if missing,
    /// in one transaction.
    ///
    /// Fails with [`Error::Conflict`] when an instance with the same id exists, in any
    /// template (also when a concurrent insert of the same id wins the race).
    #[instrument(level = "debug", skip_all, fields(template = %instance.template, instance = %instance.id))]
    pub async fn insert_instance(&self, instance: &Instance) -> Result<()> {
        let row = convert::instance_row(instance)?;
        let template_row = convert::template_row(
            &instance.template,
            &LoadBalancerSettings::default(),
            instance.created_at_ms,
        )?;
        let mut last = None;
        for _ in 0..TEMPLATE_RACE_ATTEMPTS {
            match self.try_insert(&template_row, &row, instance).await? {
                Attempt::Inserted => return Ok(()),
                Attempt::TemplateRaced(err) => last = Some(err),
            }
        }
        Err(last.map_or_else(
            || Error::NotFound {
                what: "template",
                key: instance.template.to_string(),
            },
            Error::Backend,
        ))
    }

    async fn try_insert(
        &self,
        template_row: &template::ActiveModel,
        row: &instance::ActiveModel,
        instance: &Instance,
    ) -> Result<Attempt> {
        // The change counter is the first write: on SQLite this takes the write lock at
        // once (waiting with the busy timeout) instead of upgrading a read lock later,
        // which could fail immediately.
        let txn = self.begin_change().await?;
        template::Entity::insert(template_row.clone())
            .on_conflict_do_nothing()
            .exec_without_returning(txn.conn())
            .await?;
        let inserted = instance::Entity::insert(row.clone())
            .exec_without_returning(txn.conn())
            .await;
        match inserted {
            Ok(_) => {
                self.commit_change(
                    txn,
                    ChangeKind::Instance,
                    Some(instance.template.as_str()),
                    instance.id.as_str(),
                )
                .await?;
                Ok(Attempt::Inserted)
            }
            Err(err) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback after a failed insert failed");
                }
                match err.sql_err() {
                    Some(SqlErr::UniqueConstraintViolation(_)) => Err(Error::Conflict {
                        what: "instance",
                        key: instance.id.to_string(),
                    }),
                    Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                        Ok(Attempt::TemplateRaced(err))
                    }
                    _ => Err(Error::Backend(err)),
                }
            }
        }
    }

    /// Deletes instance `id` of `template`. Returns `false` when there is no such
    /// instance, or it belongs to another template (which is left alone).
    #[instrument(level = "debug", skip_all, fields(template = %template, instance = %id))]
    pub async fn delete_instance(&self, template: &TemplateName, id: &InstanceId) -> Result<bool> {
        let txn = self.begin_change().await?;
        let result = instance::Entity::delete_many()
            .filter(Column::Id.eq(id.as_str()))
            .filter(Column::TemplateName.eq(template.as_str()))
            .exec(txn.conn())
            .await?;
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        self.commit_change(
            txn,
            ChangeKind::Instance,
            Some(template.as_str()),
            id.as_str(),
        )
        .await?;
        Ok(true)
    }

    /// The instance `id`, whichever template it belongs to.
    #[instrument(level = "debug", skip_all, fields(instance = %id))]
    pub async fn get_instance(&self, id: &InstanceId) -> Result<Option<Instance>> {
        instance::Entity::find_by_id(id.as_str())
            .one(self.db())
            .await?
            .map(convert::instance_from_row)
            .transpose()
    }

    /// Every instance, ordered by template name, then registration time, then id (names
    /// compared byte-wise on every backend).
    ///
    /// One row that no longer validates fails the whole call with [`Error::Corrupt`]
    /// rather than silently dropping an instance.
    #[instrument(level = "debug", skip_all)]
    pub async fn list_instances(&self) -> Result<Vec<Instance>> {
        let rows = instance::Entity::find().all(self.db()).await?;
        let mut instances = rows
            .into_iter()
            .map(convert::instance_from_row)
            .collect::<Result<Vec<_>>>()?;
        // Sorted here rather than by ORDER BY: collations differ between backends.
        instances.sort_by(|a, b| {
            (&a.template, a.created_at_ms, &a.id).cmp(&(&b.template, b.created_at_ms, &b.id))
        });
        Ok(instances)
    }

    /// The instances of `template`, ordered as in [`Store::list_instances`].
    #[instrument(level = "debug", skip_all, fields(template = %template))]
    pub async fn list_template_instances(&self, template: &TemplateName) -> Result<Vec<Instance>> {
        let rows = instance::Entity::find()
            .filter(Column::TemplateName.eq(template.as_str()))
            .all(self.db())
            .await?;
        let mut instances = rows
            .into_iter()
            .map(convert::instance_from_row)
            .collect::<Result<Vec<_>>>()?;
        instances.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(instances)
    }

    /// How many instances `template` has.
    #[instrument(level = "debug", skip_all, fields(template = %template))]
    pub async fn count_instances(&self, template: &TemplateName) -> Result<u64> {
        let count = instance::Entity::find()
            .filter(Column::TemplateName.eq(template.as_str()))
            .count(self.db())
            .await?;
        Ok(count)
    }
}
