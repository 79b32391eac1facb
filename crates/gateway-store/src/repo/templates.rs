//! Templates and their load-balancer settings (`gateway_templates`).

use gateway_core::{LoadBalancerSettings, TemplateName};
use sea_orm::{EntityTrait, sea_query::OnConflict};
use tracing::instrument;

use crate::{
    Store, convert,
    entity::template::{self, Column},
    error::{Error, Result},
    repo::changes::ChangeKind,
    store::now_ms,
};

impl Store {
    /// Stores `settings` for `name`: inserts the template, or updates its settings and
    /// `updated_at` (keeping `created_at`) when it exists.
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn upsert_template(
        &self,
        name: &TemplateName,
        settings: &LoadBalancerSettings,
    ) -> Result<()> {
        self.upsert_template_as(name, settings, ChangeKind::Template)
            .await
    }

    /// [`Store::upsert_template`] for an update whose upstream TLS files were re-read:
    /// other replicas re-read them too, even if the paths are unchanged (rotated files).
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn upsert_template_reloading_tls(
        &self,
        name: &TemplateName,
        settings: &LoadBalancerSettings,
    ) -> Result<()> {
        self.upsert_template_as(name, settings, ChangeKind::TemplateTls)
            .await
    }

    async fn upsert_template_as(
        &self,
        name: &TemplateName,
        settings: &LoadBalancerSettings,
        kind: ChangeKind,
    ) -> Result<()> {
        let row = convert::template_row(name, settings, now_ms())?;
        let update = OnConflict::column(Column::Name)
            .update_columns([
                Column::Strategy,
                Column::HealthCheckIntervalS,
                Column::HealthCheckTimeoutS,
                Column::MaxRetries,
                Column::TimeoutS,
                Column::PoolSize,
                Column::HealthProbe,
                Column::SessionMode,
                Column::MaxSessions,
                Column::UpstreamTls,
                Column::UpstreamAuth,
                Column::UpstreamLimits,
                Column::UpdatedAtMs,
            ])
            .to_owned();
        let txn = self.begin_change().await?;
        template::Entity::insert(row)
            .on_conflict(update)
            .exec_without_returning(txn.conn())
            .await?;
        self.commit_change(txn, kind, Some(name.as_str()), name.as_str())
            .await
    }

    /// The settings of `name`, creating the template with default settings first if it
    /// does not exist.
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn ensure_template(&self, name: &TemplateName) -> Result<LoadBalancerSettings> {
        let row = convert::template_row(name, &LoadBalancerSettings::default(), now_ms())?;
        // Insert-or-nothing, then read: correct when another writer races us.
        let txn = self.begin_change().await?;
        // Recorded whether or not the row was new (sea-orm cannot always tell): applying
        // a template change that changed nothing is a no-op for other replicas.
        template::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(txn.conn())
            .await?;
        self.commit_change(
            txn,
            ChangeKind::Template,
            Some(name.as_str()),
            name.as_str(),
        )
        .await?;
        self.template_settings(name)
            .await?
            // Deleted between the two statements.
            .ok_or_else(|| Error::NotFound {
                what: "template",
                key: name.to_string(),
            })
    }

    /// The settings of `name`, if the template exists.
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn template_settings(
        &self,
        name: &TemplateName,
    ) -> Result<Option<LoadBalancerSettings>> {
        let Some(row) = template::Entity::find_by_id(name.as_str())
            .one(self.db())
            .await?
        else {
            return Ok(None);
        };
        let (_, settings) = convert::template_from_row(&row)?;
        Ok(Some(settings))
    }

    /// Every template with its settings, sorted by name (byte order on every backend).
    #[instrument(level = "debug", skip_all)]
    pub async fn list_templates(&self) -> Result<Vec<(TemplateName, LoadBalancerSettings)>> {
        let rows = template::Entity::find().all(self.db()).await?;
        let mut templates = rows
            .iter()
            .map(convert::template_from_row)
            .collect::<Result<Vec<_>>>()?;
        // Sorted here rather than by ORDER BY: collations differ between backends.
        templates.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(templates)
    }

    /// Deletes the template `name` and, through the foreign key, all its instances.
    /// Returns whether it existed.
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn delete_template(&self, name: &TemplateName) -> Result<bool> {
        let txn = self.begin_change().await?;
        let result = template::Entity::delete_by_id(name.as_str())
            .exec(txn.conn())
            .await?;
        if result.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        self.commit_change(
            txn,
            ChangeKind::Template,
            Some(name.as_str()),
            name.as_str(),
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
