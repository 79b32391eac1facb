//! Applying changes made elsewhere (another replica, or `mcpp gateway register
//! --offline`): the change feed (`crate::fleet`) names a template, and the registry
//! brings that template's routing in line with the database. Only what differs is
//! touched: new instances are started, removed ones stopped, changed ones restarted,
//! and the template's connector rebuilt when its stdio pool size or upstream TLS
//! settings changed (or its TLS files were re-read). A change this replica made itself
//! comes back through the feed too and is then a no-op.

use std::sync::Arc;

use gateway_core::TemplateName;

use super::RegistryError;
use super::{InstanceHandle, Registry, RoutingTable, TemplateRoute, connectors};

impl Registry {
    /// Brings `template` in line with the database. `reload_tls`: the change re-read
    /// the template's upstream TLS files, so they are re-read here too even if their
    /// paths did not change.
    pub(crate) async fn reconcile(
        &self,
        template: &TemplateName,
        reload_tls: bool,
    ) -> Result<(), RegistryError> {
        let _w = self.writer.lock().await;
        self.reconcile_locked(template, reload_tls).await
    }

    /// Brings every template in line with the database (after the feed lost track of
    /// changes: a reconnect, pruned changes, a restored database).
    pub(crate) async fn reconcile_all(&self) -> Result<(), RegistryError> {
        let _w = self.writer.lock().await;
        let mut names: Vec<TemplateName> = self
            .store
            .list_templates()
            .await?
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        for name in self.snapshot().templates.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        for name in names {
            self.reconcile_locked(&name, false).await?;
        }
        Ok(())
    }

    async fn reconcile_locked(
        &self,
        template: &TemplateName,
        reload_tls: bool,
    ) -> Result<(), RegistryError> {
        let snapshot = self.snapshot();
        let route = snapshot.templates.get(template).cloned();
        let Some(settings) = self.store.template_settings(template).await? else {
            if let Some(route) = route {
                self.drop_template(template, &route);
            }
            return Ok(());
        };
        let stored = self.store.list_template_instances(template).await?;

        let tls_changed = route
            .as_ref()
            .is_some_and(|r| reload_tls || r.settings.upstream_tls() != settings.upstream_tls());
        let pool_changed = route
            .as_ref()
            .is_some_and(|r| connectors::connection_changed(&r.settings, &settings));
        let connector = match &route {
            None => connectors::build_or_refuse(&self.connector, template, &settings),
            Some(_) if tls_changed => {
                connectors::build_or_refuse(&self.connector, template, &settings)
            }
            Some(r) if pool_changed => connectors::with_settings(&r.connector, &settings),
            Some(r) => r.connector.clone(),
        };

        let current: Vec<Arc<InstanceHandle>> = route
            .as_ref()
            .map(|r| r.instances.clone())
            .unwrap_or_default();
        let mut next = Vec::with_capacity(stored.len());
        let mut retired = Vec::new();
        let (mut started, mut restarted) = (0usize, 0usize);
        for instance in stored.iter().cloned() {
            let existing = current.iter().find(|h| h.instance.id == instance.id);
            let http = instance.spec.transport() != gateway_core::Transport::Stdio;
            let reconnect = pool_changed || (tls_changed && http);
            match existing {
                Some(h) if h.instance == instance && !reconnect => next.push(h.clone()),
                _ => {
                    if existing.is_some() && tls_changed && http {
                        // Failures under the old TLS settings say nothing about the new.
                        self.board.remove(&instance.id);
                    }
                    match self.start(instance.clone(), &settings, &connector) {
                        Ok(fresh) => {
                            match existing {
                                Some(old) => {
                                    restarted += 1;
                                    retired.push(old.clone());
                                }
                                None => started += 1,
                            }
                            next.push(fresh);
                        }
                        Err(e) => {
                            tracing::error!(%template, instance = %instance.id, error = %e, "instance changed elsewhere cannot be started here");
                            if let Some(old) = existing {
                                next.push(old.clone());
                            }
                        }
                    }
                }
            }
        }
        let mut stopped = 0usize;
        for h in &current {
            if !stored.iter().any(|i| i.id == h.instance.id) {
                self.monitors.lock().remove(&h.instance.id);
                self.board.remove(&h.instance.id);
                retired.push(h.clone());
                stopped += 1;
            }
        }

        let unchanged = route.as_ref().is_some_and(|r| {
            r.settings == settings
                && !tls_changed
                && r.instances.len() == next.len()
                && r.instances
                    .iter()
                    .zip(&next)
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        if unchanged {
            return Ok(());
        }
        let mut templates = self.snapshot().templates.clone();
        templates.insert(
            template.clone(),
            Arc::new(TemplateRoute::new(
                template.clone(),
                settings.clone(),
                connector,
                next.clone(),
            )),
        );
        self.table.store(Arc::new(RoutingTable { templates }));
        {
            let monitors = self.monitors.lock();
            for h in &next {
                if let Some(monitor) = monitors.get(&h.instance.id) {
                    monitor.update(self.check_config(&settings));
                }
            }
        }
        for handle in retired {
            tokio::spawn(async move { handle.upstream.close().await });
        }
        tracing::info!(
            %template,
            started,
            restarted,
            stopped,
            strategy = %settings.strategy(),
            "applied a change made elsewhere"
        );
        Ok(())
    }

    /// The template no longer exists: stop its instances and forget it.
    fn drop_template(&self, template: &TemplateName, route: &Arc<TemplateRoute>) {
        let mut templates = self.snapshot().templates.clone();
        templates.remove(template);
        self.table.store(Arc::new(RoutingTable { templates }));
        for h in &route.instances {
            self.monitors.lock().remove(&h.instance.id);
            self.board.remove(&h.instance.id);
            let handle = h.clone();
            tokio::spawn(async move { handle.upstream.close().await });
        }
        tracing::info!(%template, "template deleted elsewhere: its instances are stopped");
    }
}
