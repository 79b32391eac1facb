//! The gateway's domain vocabulary: templates, instances, weights, health, strategies.

mod health;
mod instance;
mod name;
mod strategy;
mod weight;

pub use health::{HealthScore, HealthStatus};
pub use instance::{EndpointUrl, Headers, InstanceSpec, StdioCommand};
pub use name::{InstanceId, TemplateName};
pub use strategy::Strategy;
pub use weight::Weight;
