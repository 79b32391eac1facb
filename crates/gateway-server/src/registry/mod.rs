//! [`Registry`]: registered templates and instances. Writes go to the store first, then
//! a new routing snapshot is swapped in; readers never block.

mod connectors;
mod error;
mod monitor;
mod reconcile;
mod table;

use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

pub(crate) use error::RegistryError;
use gateway_balancer::InFlightCounter;
use gateway_core::{
    HealthStatus, Instance, InstanceId, LoadBalancerSettings, TemplateName, Transport,
    api::{LoadBalancerUpdate, ValidRegistration},
};
use gateway_health::{AdmissionGate, CheckConfig, HealthBoard, HealthPolicy};
use gateway_store::Store;
use gateway_transport::Connector;
pub(crate) use table::{
    InstanceHandle, InstanceStats, InstanceStatus, Routing, RoutingTable, TemplateRoute,
};

use self::monitor::Monitor;
use crate::{config::SeedTemplate, metrics::ClientOps};

pub(crate) struct Registry {
    store: Store,
    /// The gateway-wide connector; each template's comes from it (`connectors`).
    connector: Connector,
    defaults: LoadBalancerSettings,
    board: Arc<HealthBoard>,
    /// One health monitor (active checker, link follower) per instance; dropping one
    /// stops it.
    monitors: parking_lot::Mutex<HashMap<InstanceId, Monitor>>,
    table: Routing,
    /// Serialises writers; readers use `table`.
    writer: tokio::sync::Mutex<()>,
    /// Issuers (short names) with a token-exchange client: what `upstream_auth`
    /// `token_exchange` may name.
    exchange_issuers: Vec<String>,
    /// Whether instances time their attempts (`MCP_GATEWAY_METRICS`).
    metrics: bool,
}

impl Registry {
    /// Loads every stored template and instance and starts their upstream connections.
    pub(crate) async fn load(
        store: Store,
        connector: Connector,
        defaults: LoadBalancerSettings,
        health: HealthPolicy,
        metrics: bool,
    ) -> Result<Self, RegistryError> {
        let registry = Self {
            store,
            connector,
            defaults,
            board: Arc::new(HealthBoard::new(health)),
            monitors: parking_lot::Mutex::new(HashMap::new()),
            table: Routing::default(),
            writer: tokio::sync::Mutex::new(()),
            exchange_issuers: Vec::new(),
            metrics,
        };
        let templates = registry.store.list_templates().await?;
        let instances = registry.store.list_instances().await?;
        let mut table = RoutingTable::default();
        for (name, settings) in templates {
            let connector = connectors::build_or_refuse(&registry.connector, &name, &settings);
            let handles = instances
                .iter()
                .filter(|i| i.template == name)
                .filter_map(|i| match registry.start(i.clone(), &settings, &connector) {
                    Ok(handle) => Some(handle),
                    Err(e) => {
                        tracing::error!(instance = %i.id, error = %e, "stored instance cannot be started; skipped");
                        None
                    }
                })
                .collect();
            table.templates.insert(
                name.clone(),
                Arc::new(TemplateRoute::new(name, settings, connector, handles)),
            );
        }
        registry.table.store(Arc::new(table));
        Ok(registry)
    }

    /// Applies the configuration file's templates: settings, then instances not yet
    /// registered (ids default to `{template}-{n}`, so restarts do not duplicate them).
    pub(crate) async fn seed(&self, seed: Vec<SeedTemplate>) -> Result<(), RegistryError> {
        for template in seed {
            if let Some(update) = &template.load_balancer {
                let current = self.template_or_default(&template.name).await?;
                let _w = self.writer.lock().await;
                self.apply_update_locked(&template.name, current, update)
                    .await?;
            }
            for (i, registration) in template.instances.into_iter().enumerate() {
                let id = match &registration.id {
                    Some(id) => id.clone(),
                    None => InstanceId::parse(&format!("{}-{}", template.name, i + 1))
                        .map_err(RegistryError::InstanceId)?,
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

    /// The issuers `upstream_auth` `token_exchange` may name (those configured with an
    /// exchange client).
    pub(crate) fn with_exchange_issuers(mut self, names: Vec<String>) -> Self {
        self.exchange_issuers = names;
        self
    }

    pub(crate) fn snapshot(&self) -> Arc<RoutingTable> {
        self.table.load_full()
    }

    /// The published routing table, for the relay (it follows every change).
    pub(crate) fn routing(&self) -> Routing {
        self.table.clone()
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Registers an instance: persisted, connected (stdio children spawn now), routable.
    pub(crate) async fn register(
        &self,
        registration: ValidRegistration,
    ) -> Result<Arc<InstanceHandle>, RegistryError> {
        let _w = self.writer.lock().await;
        let id = match &registration.id {
            Some(id) => id.clone(),
            None => self.generate_id(&registration.template).await?,
        };
        let instance = registration.into_instance(id, now_ms());
        let settings = self.template_or_default(&instance.template).await?;
        settings
            .upstream_auth()
            .check_instance(&instance.spec)
            .map_err(|(field, reason)| RegistryError::UpstreamAuth {
                field,
                message: format!(
                    "{reason} (template {} has upstream_auth {})",
                    instance.template,
                    settings.upstream_auth().mode().as_str()
                ),
            })?;
        let connector = match self.snapshot().templates.get(&instance.template) {
            Some(route) => route.connector.clone(),
            None => connectors::build_or_refuse(&self.connector, &instance.template, &settings),
        };
        self.store.insert_instance(&instance).await?;
        let handle = match self.start(instance.clone(), &settings, &connector) {
            Ok(h) => h,
            Err(e) => {
                let _ = self
                    .store
                    .delete_instance(&instance.template, &instance.id)
                    .await;
                return Err(e);
            }
        };
        self.rebuild(&instance.template, settings, connector, |list| {
            list.push(handle.clone())
        });
        tracing::info!(template = %instance.template, instance = %instance.id, transport = %instance.spec.transport(), "instance registered");
        Ok(handle)
    }

    /// Removes an instance; its connection is closed (stdio children stopped).
    pub(crate) async fn deregister(
        &self,
        template: &TemplateName,
        id: &InstanceId,
    ) -> Result<bool, RegistryError> {
        let _w = self.writer.lock().await;
        if !self.store.delete_instance(template, id).await? {
            return Ok(false);
        }
        let (settings, connector) = match self.snapshot().templates.get(template) {
            Some(t) => (t.settings.clone(), t.connector.clone()),
            None => (
                self.defaults.clone(),
                connectors::with_settings(&self.connector, &self.defaults),
            ),
        };
        let mut removed = None;
        self.rebuild(template, settings, connector, |list| {
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
    ) -> Result<LoadBalancerSettings, RegistryError> {
        let _w = self.writer.lock().await;
        let current = self
            .store
            .template_settings(template)
            .await?
            .ok_or_else(|| RegistryError::TemplateNotFound(template.clone()))?;
        self.apply_update_locked(template, current, update).await
    }

    /// Validates `update` over `current` and applies it. An update that names
    /// `upstream_tls` (a new value, or the same paths after the files were rotated)
    /// re-reads the files first, so an unusable file is refused before anything is
    /// stored; the template's HTTP and SSE instances then reconnect with it.
    async fn apply_update_locked(
        &self,
        template: &TemplateName,
        current: LoadBalancerSettings,
        update: &LoadBalancerUpdate,
    ) -> Result<LoadBalancerSettings, RegistryError> {
        let had_tls = current.upstream_tls().is_some();
        let settings = update.apply(current).map_err(RegistryError::Settings)?;
        if update.upstream_auth.is_some() {
            self.check_upstream_auth(template, &settings)?;
        }
        let reconnect = match &update.upstream_tls {
            Some(_) if had_tls || settings.upstream_tls().is_some() => {
                Some(connectors::build_checked(&self.connector, &settings)?)
            }
            _ => None,
        };
        self.update_settings_locked(template, settings.clone(), reconnect)
            .await?;
        Ok(settings)
    }

    /// The one check of a template's `upstream_auth` against this gateway: the issuer of
    /// `token_exchange` must have an exchange client, and every registered instance must
    /// fit the mode (see [`gateway_core::UpstreamAuth::check_instance`]).
    fn check_upstream_auth(
        &self,
        template: &TemplateName,
        settings: &LoadBalancerSettings,
    ) -> Result<(), RegistryError> {
        let auth = settings.upstream_auth();
        if let Some(issuer) = auth.issuer()
            && !self.exchange_issuers.iter().any(|n| n == issuer)
        {
            let known = if self.exchange_issuers.is_empty() {
                "none is: give an issuer of MCP_GATEWAY_OAUTH_ISSUERS a token_exchange client"
                    .to_owned()
            } else {
                format!("these are: {}", self.exchange_issuers.join(", "))
            };
            return Err(RegistryError::UpstreamAuth {
                field: gateway_core::UpstreamAuth::FIELD_ISSUER,
                message: format!(
                    "issuer {issuer:?} is not configured for token exchange ({known})"
                ),
            });
        }
        if let Some(route) = self.snapshot().templates.get(template) {
            for handle in &route.instances {
                if let Err((_, reason)) = auth.check_instance(&handle.instance.spec) {
                    return Err(RegistryError::UpstreamAuth {
                        field: gateway_core::UpstreamAuth::FIELD_MODE,
                        message: format!(
                            "{} cannot be used: instance {} does not fit: {reason}",
                            auth.mode().as_str(),
                            handle.instance.id
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Stores and publishes `settings`. Upstreams are restarted when their connection
    /// changes: every instance for a new stdio pool size or new `upstream_limits`, HTTP
    /// and SSE instances for a new TLS connector (`reconnect`; their health starts
    /// afresh, as failures under the old TLS settings say nothing about the new ones). Calls in flight on a
    /// replaced upstream finish on it.
    async fn update_settings_locked(
        &self,
        template: &TemplateName,
        settings: LoadBalancerSettings,
        reconnect: Option<Connector>,
    ) -> Result<(), RegistryError> {
        match reconnect {
            // Other replicas re-read the TLS files too (they may have been rotated).
            Some(_) => {
                self.store
                    .upsert_template_reloading_tls(template, &settings)
                    .await?
            }
            None => self.store.upsert_template(template, &settings).await?,
        }
        let snapshot = self.snapshot();
        let route = snapshot.templates.get(template);
        let pool_changed =
            route.is_some_and(|t| connectors::connection_changed(&t.settings, &settings));
        let tls_changed = reconnect.is_some();
        let connector = match (reconnect, route) {
            (Some(connector), _) => connector,
            (None, Some(t)) => connectors::with_settings(&t.connector, &settings),
            (None, None) => connectors::build_or_refuse(&self.connector, template, &settings),
        };
        let mut replaced = Vec::new();
        self.rebuild(template, settings.clone(), connector.clone(), |list| {
            for slot in list.iter_mut() {
                let http = slot.instance.spec.transport() != Transport::Stdio;
                if !(pool_changed || (tls_changed && http)) {
                    continue;
                }
                if tls_changed && http {
                    self.board.remove(&slot.instance.id);
                }
                match self.start(slot.instance.clone(), &settings, &connector) {
                    Ok(fresh) => replaced.push(std::mem::replace(slot, fresh)),
                    Err(e) => {
                        tracing::error!(%template, instance = %slot.instance.id, error = %e, "instance cannot be restarted; it keeps its old connection");
                    }
                }
            }
        });
        for handle in replaced {
            tokio::spawn(async move { handle.upstream.close().await });
        }
        if let Some(route) = self.snapshot().templates.get(template) {
            let monitors = self.monitors.lock();
            for h in &route.instances {
                if let Some(monitor) = monitors.get(&h.instance.id) {
                    monitor.update(self.check_config(&settings));
                }
            }
        }
        tracing::info!(%template, strategy = %settings.strategy(), upstream_tls = settings.upstream_tls().is_some(), upstream_auth = settings.upstream_auth().mode().as_str(), "template settings changed");
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

    /// Connects `instance` with its template's `connector` and starts its monitor.
    fn start(
        &self,
        instance: Instance,
        settings: &LoadBalancerSettings,
        connector: &Connector,
    ) -> Result<Arc<InstanceHandle>, RegistryError> {
        let upstream = connector
            .connect(instance.id.clone(), &instance.spec)
            .map_err(RegistryError::Endpoint)?;
        let initial = if instance.spec.transport() == Transport::Stdio {
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
            gate: admission_gate(settings),
            stats: InstanceStats::default(),
            ops: ClientOps::new(self.metrics),
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
                            t.connector.clone(),
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
        connector: Connector,
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
            Arc::new(TemplateRoute::new(
                template.clone(),
                settings,
                connector,
                list,
            )),
        );
        self.table.store(Arc::new(RoutingTable { templates }));
    }

    /// A template's settings, creating it with the configured defaults if new.
    async fn template_or_default(
        &self,
        template: &TemplateName,
    ) -> Result<LoadBalancerSettings, RegistryError> {
        if let Some(settings) = self.store.template_settings(template).await? {
            return Ok(settings);
        }
        self.store.upsert_template(template, &self.defaults).await?;
        Ok(self.defaults.clone())
    }

    async fn generate_id(&self, template: &TemplateName) -> Result<InstanceId, RegistryError> {
        next_instance_id(&self.store, template).await
    }
}

/// The first free `{template}-{n}` id, counting from the template's instance count.
pub(crate) async fn next_instance_id(
    store: &Store,
    template: &TemplateName,
) -> Result<InstanceId, RegistryError> {
    let mut n = store.count_instances(template).await? + 1;
    loop {
        let id =
            InstanceId::parse(&format!("{template}-{n}")).map_err(RegistryError::InstanceId)?;
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

/// An instance's admission gate, from its template's `upstream_limits`.
pub(crate) fn admission_gate(settings: &LoadBalancerSettings) -> AdmissionGate {
    let limits = settings.upstream_limits();
    let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
    AdmissionGate::new(size(limits.max_in_flight()), size(limits.max_pending()))
}
