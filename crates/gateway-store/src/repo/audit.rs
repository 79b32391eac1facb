//! The audit log (`gateway_audit_events`) and server secrets (`gateway_secrets`).

use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tracing::instrument;

use crate::{
    Store,
    entity::{
        audit_event::{self, Column},
        secret,
    },
    error::{Error, Result},
    records::{AuditFilter, AuditRecord},
    store::now_ms,
};

/// The most entries one [`Store::list_audit_events`] call returns.
pub const MAX_AUDIT_PAGE: u64 = 1000;

impl Store {
    /// Appends entries to the audit log (their `id`s are ignored). Text longer than a
    /// column is cut at a character boundary.
    #[instrument(level = "debug", skip_all, fields(events = events.len()))]
    pub async fn insert_audit_events(&self, events: &[AuditRecord]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events.iter().map(|e| audit_event::ActiveModel {
            id: NotSet,
            at_ms: Set(e.at_ms),
            actor: Set(e.actor.as_deref().map(|s| cut(s, 200))),
            action: Set(cut(&e.action, 64)),
            target: Set(e.target.as_deref().map(|s| cut(s, 300))),
            outcome: Set(cut(&e.outcome, 16)),
            client_addr: Set(e.client_addr.as_deref().map(|s| cut(s, 64))),
            request_id: Set(e.request_id.as_deref().map(|s| cut(s, 128))),
        });
        audit_event::Entity::insert_many(rows)
            .exec_without_returning(self.db())
            .await?;
        Ok(())
    }

    /// Entries matching `filter`, newest first (at most [`MAX_AUDIT_PAGE`]).
    #[instrument(level = "debug", skip_all)]
    pub async fn list_audit_events(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut query = audit_event::Entity::find();
        if let Some(actor) = &filter.actor {
            query = query.filter(Column::Actor.eq(actor.as_str()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(Column::Action.eq(action.as_str()));
        }
        if let Some(outcome) = &filter.outcome {
            query = query.filter(Column::Outcome.eq(outcome.as_str()));
        }
        if let Some(target) = &filter.target {
            query = query.filter(Column::Target.eq(target.as_str()));
        }
        if let Some(since) = filter.since_ms {
            query = query.filter(Column::AtMs.gte(since));
        }
        if let Some(until) = filter.until_ms {
            query = query.filter(Column::AtMs.lt(until));
        }
        let rows = query
            .order_by_desc(Column::Id)
            .limit(filter.limit.clamp(1, MAX_AUDIT_PAGE))
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                at_ms: r.at_ms,
                actor: r.actor,
                action: r.action,
                target: r.target,
                outcome: r.outcome,
                client_addr: r.client_addr,
                request_id: r.request_id,
            })
            .collect())
    }

    /// The server secret `name`: the stored value, or `candidate` after storing it if
    /// there was none. Replicas racing on first start all end up with the winner's value.
    #[instrument(level = "debug", skip_all, fields(secret = %name))]
    pub async fn secret_or_insert(&self, name: &str, candidate: &str) -> Result<String> {
        let row = secret::ActiveModel {
            name: Set(name.to_owned()),
            value: Set(candidate.to_owned()),
            created_at_ms: Set(now_ms()),
        };
        secret::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(self.db())
            .await?;
        secret::Entity::find_by_id(name)
            .one(self.db())
            .await?
            .map(|r| r.value)
            .ok_or_else(|| Error::NotFound {
                what: "secret",
                key: name.to_owned(),
            })
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
