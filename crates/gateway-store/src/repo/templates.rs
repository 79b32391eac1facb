//! Templates and their load-balancer settings (`gateway_templates`).

use gateway_core::{LoadBalancerSettings, TemplateName};
use sea_orm::{EntityTrait, sea_query::OnConflict};
use tracing::instrument;

use crate::{
    Store, convert,
    entity::template::{self, Column},
    error::{Error, Result},
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
                Column::UpdatedAtMs,
            ])
            .to_owned();
        template::Entity::insert(row)
            .on_conflict(update)
            .exec_without_returning(self.db())
            .await?;
        Ok(())
    }

    /// The settings of `name`, creating the template with default settings first if it
    /// does not exist.
    #[instrument(level = "debug", skip_all, fields(template = %name))]
    pub async fn ensure_template(&self, name: &TemplateName) -> Result<LoadBalancerSettings> {
        let row = convert::template_row(name, &LoadBalancerSettings::default(), now_ms())?;
        // Insert-or-nothing, then read: correct when another writer races us.
        template::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(self.db())
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
        let result = template::Entity::delete_by_id(name.as_str())
            .exec(self.db())
            .await?;
        Ok(result.rows_affected > 0)
    }
}

#[cfg(test)]
mod tests;
