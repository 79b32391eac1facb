//! [`Registry`]: registered templates and instances. Writes go to the store first, then
//! a new routing snapshot is swapped in; readers never block.

mod monitor;
mod table;

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use arc_swap::ArcSwap;
use gateway_balancer::InFlightCounter;
use gateway_core::{
    HealthStatus, Instance, InstanceId, LoadBalancerSettings, TemplateName,
    api::{LoadBalancerUpdate, ValidRegistration},
};
use gateway_health::{CheckConfig, HealthBoard, HealthPolicy};
use gateway_store::Store;
use gateway_transport::Connector;
pub(crate) use table::{InstanceHandle, InstanceStats, RoutingTable, TemplateRoute};

use self::monitor::Monitor;
use crate::{config::SeedTemplate, error::ApiError};

pub(crate) struct Registry {
    store: Store,
    connector: Connector,
    defaults: LoadBalancerSettings,
    board: Arc<HealthBoard>,
    /// One health monitor (active checker, link follower) per instance; dropping one
    /// stops it.
    monitors: parking_lot::Mutex<HashMap<InstanceId, Monitor>>,
    table: ArcSwap<RoutingTable>,
    /// Serialises writers; readers use `table`.
    writer: tokio::sync::Mutex<()>,
}

impl Registry {
    /// Loads every stored template and instance and starts their upstream connections.
    pub(crate) async fn load(
        store: Store,
        connector: Connector,
        defaults: LoadBalancerSettings,
        health: HealthPolicy,
    ) -> Result<Self, ApiError> {
        let registry = Self {
            store,
            connector,
            defaults,
            board: Arc::new(HealthBoard::new(health)),
            monitors: parking_lot::Mutex::new(HashMap::new()),
            table: ArcSwap::from_pointee(RoutingTable::default()),
            writer: tokio::sync::Mutex::new(()),
        };
        let templates = registry.store.list_templates().await?;
        let instances = registry.store.list_instances().await?;
        let mut table = RoutingTable::default();
        for (name, settings) in templates {
            let handles = instances
                .iter()
                .filter(|i| i.template == name)
                .filter_map(|i| match registry.start(i.clone(), &settings) {
                    Ok(handle) => Some(handle),
                    Err(e) => {
                        tracing::error!(instance = %i.id, error = %e, "stored instance cannot be started; skipped");
                        None
                    }
                })
                .collect();
            table.templates.insert(
                name.clone(),
                Arc::new(TemplateRoute::new(name, settings, handles)),
            );
        }
        registry.table.store(Arc::new(table));
        Ok(registry)
    }

    /// Applies the configuration file's templates: settings, then instances not yet
    /// registered (ids default to `{template}-{n}`, so restarts do not duplicate them).
    pub(crate) async fn seed(&self, seed: Vec<SeedTemplate>) -> Result<(), ApiError> {
        for template in seed {
            if let Some(update) = &template.load_balancer {
                let current = self.template_or_default(&template.name).await?;
                let settings = update
                    .apply(current)
                    .map_err(|e| ApiError::invalid("load_balancer", e.to_string()))?;
                self.update_settings(&template.name, settings).await?;
            }
            for (i, registration) in template.instances.into_iter().enumerate() {
                let id = match &registration.id {
                    Some(id) => id.clone(),
                    None => InstanceId::parse(&format!("{}-{}", template.name, i + 1))
                        .map_err(|e| ApiError::invalid("instance_id", e.to_string()))?,
                };
                if self.store.get_instance(&id).await?.is_some() {
                    continue;
                }
                self.register(ValidRegistration {
                    id: Some(id),
                    ..registration
                })
                .await?;
            }
        }
        Ok(())
    }

    pub(crate) fn snapshot(&self) -> Arc<RoutingTable> {
        self.table.load_full()
    }

    /// The connector every instance's upstream comes from (dedicated MCP sessions open
    /// their own upstreams with it).
    pub(crate) fn connector(&self) -> &Connector {
        &self.connector
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Registers an instance: persisted, connected (stdio children spawn now), routable.
    pub(crate) async fn register(
        &self,
        registration: ValidRegistration,
    ) -> Result<Arc<InstanceHandle>, ApiError> {
        let _w = self.writer.lock().await;
        let id = match &registration.id {
            Some(id) => id.clone(),
            None => self.generate_id(&registration.template).await?,
        };
        let instance = registration.into_instance(id, now_ms());
        let settings = self.template_or_default(&instance.template).await?;
        self.store.insert_instance(&instance).await?;
        let handle = match self.start(instance.clone(), &settings) {
            Ok(h) => h,
            Err(e) => {
                let _ = self
                    .store
                    .delete_instance(&instance.template, &instance.id)
                    .await;
                return Err(e);
            }
        };
        self.rebuild(&instance.template, settings, |list| {
            list.push(handle.clone())
        });
        tracing::info!(template = %instance.template, instance = %instance.id, transport = instance.spec.transport(), "instance registered");
        Ok(handle)
    }

    /// Removes an instance; its connection is closed (stdio children stopped).
    pub(crate) async fn deregister(
        &self,
        template: &TemplateName,
        id: &InstanceId,
    ) -> Result<bool, ApiError> {
        let _w = self.writer.lock().await;
        if !self.store.delete_instance(template, id).await? {
            return Ok(false);
        }
        let settings = self
            .snapshot()
            .templates
            .get(template)
            .map_or_else(|| self.defaults.clone(), |t| t.settings.clone());
        let mut removed = None;
        self.rebuild(template, settings, |list| {
            if let Some(at) = list.iter().position(|h| &h.instance.id == id) {
                removed = Some(list.remove(at));
            }
        });
        self.monitors.lock().remove(id);
        self.board.remove(id);
        if let Some(handle) = removed {
            // Close in the background: in-flight calls on it finish or fail on their own.
            tokio::spawn(async move { handle.upstream.close().await });
        }
        tracing::info!(%template, instance = %id, "instance deregistered");
        Ok(true)
    }

    /// Changes a template's load-balancer settings (the template must exist).
    pub(crate) async fn set_settings(
        &self,
        template: &TemplateName,
        update: &LoadBalancerUpdate,
    ) -> Result<LoadBalancerSettings, ApiError> {
        let _w = self.writer.lock().await;
        let current = self
            .store
            .template_settings(template)
            .await?
            .ok_or_else(|| ApiError::TemplateNotFound(template.to_string()))?;
        let settings = update.apply(current).map_err(|e| match e {
            gateway_core::ValidationError::OutOfRange { field, .. } => {
                ApiError::invalid(field, e.to_string())
            }
            other => ApiError::invalid("load_balancer", other.to_string()),
        })?;
        self.update_settings_locked(template, settings.clone())
            .await?;
        Ok(settings)
    }

    async fn update_settings(
        &self,
        template: &TemplateName,
        settings: LoadBalancerSettings,
    ) -> Result<(), ApiError> {
        let _w = self.writer.lock().await;
        self.update_settings_locked(template, settings).await
    }

    async fn update_settings_locked(
        &self,
        template: &TemplateName,
        settings: LoadBalancerSettings,
    ) -> Result<(), ApiError> {
        self.store.upsert_template(template, &settings).await?;
        let old_pool = self
            .snapshot()
            .templates
            .get(template)
            .map(|t| t.settings.pool_size());
        if old_pool.is_some_and(|p| p != settings.pool_size()) {
            // A new pool size needs new connections: restart this template's upstreams.
            let instances: Vec<Instance> = self
                .snapshot()
                .templates
                .get(template)
                .map(|t| t.instances.iter().map(|h| h.instance.clone()).collect())
                .unwrap_or_default();
            let fresh: Vec<_> = instances
                .into_iter()
                .filter_map(|i| self.start(i, &settings).ok())
                .collect();
            let mut old = Vec::new();
            self.rebuild(template, settings.clone(), |list| {
                old = std::mem::replace(list, fresh)
            });
            for handle in old {
                tokio::spawn(async move { handle.upstream.close().await });
            }
        } else {
            self.rebuild(template, settings.clone(), |_| {});
        }
        if let Some(route) = self.snapshot().templates.get(template) {
            let monitors = self.monitors.lock();
            for h in &route.instances {
                if let Some(monitor) = monitors.get(&h.instance.id) {
                    monitor.update(self.check_config(&settings));
                }
            }
        }
        tracing::info!(%template, strategy = %settings.strategy(), "template settings changed");
        Ok(())
    }

    /// Closes every upstream (shutdown).
    pub(crate) async fn close_all(&self) {
        let table = self.snapshot();
        let closing = table
            .instances()
            .map(|h| h.upstream.clone())
            .collect::<Vec<_>>();
        futures_util::future::join_all(closing.iter().map(|u| u.close())).await;
    }

    fn start(
        &self,
        instance: Instance,
        settings: &LoadBalancerSettings,
    ) -> Result<Arc<InstanceHandle>, ApiError> {
        let pool = usize::try_from(settings.pool_size()).unwrap_or(1).max(1);
        let connector = if pool == self.connector.options().stdio_processes.get() {
            self.connector.clone()
        } else {
            self.connector.with_options(|o| {
                o.stdio_processes =
                    std::num::NonZeroUsize::new(pool).unwrap_or(std::num::NonZeroUsize::MIN);
            })
        };
        let upstream = connector
            .connect(instance.id.clone(), &instance.spec)
            .map_err(|e| ApiError::invalid("endpoint", e.to_string()))?;
        let initial = if instance.spec.transport() == "stdio" {
            HealthStatus::Starting
        } else {
            HealthStatus::Unknown
        };
        let health = self.board.cell(&instance.id, initial);
        let monitor = Monitor::start(&upstream, health.clone(), self.check_config(settings));
        // Replacing an instance's monitor (new pool size) stops the old one before the
        // old upstream is closed.
        self.monitors.lock().insert(instance.id.clone(), monitor);
        Ok(Arc::new(InstanceHandle {
            instance,
            upstream,
            counter: InFlightCounter::new(),
            stats: InstanceStats::default(),
            health,
        }))
    }

    fn check_config(&self, settings: &LoadBalancerSettings) -> CheckConfig {
        CheckConfig {
            interval: settings.health_check_interval(),
            timeout: settings.health_check_timeout(),
            kind: settings.health_probe().clone(),
        }
    }

    /// The published health of every instance.
    pub(crate) fn board(&self) -> &HealthBoard {
        &self.board
    }

    /// Rebuilds every template's balancer whenever an instance's routability or score
    /// bucket changes, so traffic follows health within milliseconds.
    pub(crate) fn spawn_health_sync(self: &Arc<Self>) {
        let mut changes = self.board.changes();
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(registry) = registry.upgrade() else {
                    break;
                };
                let _w = registry.writer.lock().await;
                let current = registry.snapshot();
                let templates = current
                    .templates
                    .iter()
                    .map(|(name, t)| {
                        // Rebuilding resets the strategy's position (round robin would
                        // restart at the first instance), so keep the route unless the
                        // offered set changed, or scores matter to its strategy.
                        let routable: Vec<_> = table::offered(&t.instances)
                            .into_iter()
                            .map(|h| &h.instance.id)
                            .collect();
                        let offered: Vec<_> =
                            t.balancer.endpoints().iter().map(|e| e.id()).collect();
                        let mut offered_sorted = offered.clone();
                        let mut routable_sorted = routable.clone();
                        offered_sorted.sort();
                        routable_sorted.sort();
                        let scores_matter =
                            t.settings.strategy() == gateway_core::Strategy::HealthBased;
                        if offered_sorted == routable_sorted && !scores_matter {
                            return (name.clone(), t.clone());
                        }
                        let route = TemplateRoute::new(
                            name.clone(),
                            t.settings.clone(),
                            t.instances.clone(),
                        );
                        (name.clone(), Arc::new(route))
                    })
                    .collect();
                registry.table.store(Arc::new(RoutingTable { templates }));
            }
        });
    }

    fn rebuild(
        &self,
        template: &TemplateName,
        settings: LoadBalancerSettings,
        edit: impl FnOnce(&mut Vec<Arc<InstanceHandle>>),
    ) {
        let current = self.snapshot();
        let mut templates = current.templates.clone();
        let mut list = templates
            .get(template)
            .map(|t| t.instances.clone())
            .unwrap_or_default();
        edit(&mut list);
        templates.insert(
            template.clone(),
            Arc::new(TemplateRoute::new(template.clone(), settings, list)),
        );
        self.table.store(Arc::new(RoutingTable { templates }));
    }

    /// A template's settings, creating it with the configured defaults if new.
    async fn template_or_default(
        &self,
        template: &TemplateName,
    ) -> Result<LoadBalancerSettings, ApiError> {
        if let Some(settings) = self.store.template_settings(template).await? {
            return Ok(settings);
        }
        self.store.upsert_template(template, &self.defaults).await?;
        Ok(self.defaults.clone())
    }

    async fn generate_id(&self, template: &TemplateName) -> Result<InstanceId, ApiError> {
        next_instance_id(&self.store, template).await
    }
}

/// The first free `{template}-{n}` id, counting from the template's instance count.
pub(crate) async fn next_instance_id(
    store: &Store,
    template: &TemplateName,
) -> Result<InstanceId, ApiError> {
    let mut n = store.count_instances(template).await? + 1;
    loop {
        let id = InstanceId::parse(&format!("{template}-{n}"))
            .map_err(|e| ApiError::invalid("instance_id", e.to_string()))?;
        if store.get_instance(&id).await?.is_none() {
            return Ok(id);
        }
        n += 1;
    }
}

/// Unix milliseconds now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Loads a counter.
pub(crate) fn load(counter: &std::sync::atomic::AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
