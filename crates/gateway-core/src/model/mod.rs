//! The gateway's domain vocabulary: templates, instances, weights, health, strategies.

mod access;
mod health;
mod instance;
mod instance_record;
mod name;
mod probe;
mod session_mode;
mod settings;
mod strategy;
mod upstream_auth;
mod upstream_limits;
mod upstream_tls;
mod weight;

pub use access::{Role, Scope, Scopes, TemplateAccess, Username};
pub use health::{HealthScore, HealthStatus};
pub use instance::{EndpointUrl, Headers, InstanceSpec, StdioCommand, Transport};
pub use instance_record::Instance;
pub use name::{InstanceId, TemplateName};
pub use probe::HealthProbe;
pub use session_mode::SessionMode;
pub use settings::LoadBalancerSettings;
pub use strategy::Strategy;
pub use upstream_auth::{UpstreamAuth, UpstreamAuthMode};
pub use upstream_limits::UpstreamLimits;
pub use upstream_tls::{ClientIdentity, UpstreamTls};
pub use weight::Weight;
