//! [`Instance`]: a registered instance of a template, as stored and routed.

use serde_json::{Map, Value};

use crate::{InstanceId, InstanceSpec, TemplateName, Weight};

/// A registered upstream instance. Timestamps are Unix milliseconds (UTC).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Unique id.
    pub id: InstanceId,
    /// The template it serves.
    pub template: TemplateName,
    /// How to reach it.
    pub spec: InstanceSpec,
    /// Weight for the weighted strategy.
    pub weight: Weight,
    /// Free-form metadata given at registration.
    pub metadata: Map<String, Value>,
    /// When it was registered.
    pub created_at_ms: i64,
    /// When it was last changed.
    pub updated_at_ms: i64,
}
