//! Persistence for the MCP gateway: templates and instances (and the users, API keys,
//! audit log and server secrets of `gateway-auth`) in SQLite, PostgreSQL or
//! MySQL/MariaDB, read and written as `gateway-core` types.
//!
//! [`Store::connect`] opens a pool, [`Store::migrate`] brings the schema up to date (the
//! migrations live in the `gateway-migrations` crate), and the remaining methods store
//! and load [`Instance`](gateway_core::Instance)s and
//! [`LoadBalancerSettings`](gateway_core::LoadBalancerSettings). sea-orm models never
//! leave this crate.
//!
//! ```
//! use gateway_core::{EndpointUrl, Headers, Instance, InstanceId, InstanceSpec, TemplateName, Weight};
//! use gateway_store::Store;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect("sqlite::memory:").await?;
//! store.migrate().await?;
//!
//! let instance = Instance {
//!     id: InstanceId::parse("time-1")?,
//!     template: TemplateName::parse("time")?,
//!     spec: InstanceSpec::Http {
//!         url: EndpointUrl::parse("http://127.0.0.1:7071/mcp")?,
//!         headers: Headers::new([("Authorization".to_owned(), "Bearer t0ken".to_owned())])?,
//!     },
//!     weight: Weight::ONE,
//!     metadata: Default::default(),
//!     created_at_ms: 1_700_000_000_000,
//!     updated_at_ms: 1_700_000_000_000,
//! };
//! store.insert_instance(&instance).await?; // also creates template "time" with defaults
//!
//! assert_eq!(store.list_instances().await?, [instance.clone()]);
//! assert!(store.insert_instance(&instance).await.unwrap_err().is_conflict());
//! assert_eq!(store.count_instances(&instance.template).await?, 1);
//! # Ok(())
//! # }
//! ```
//!
//! Every query goes through the sea-orm query builder, so the same code runs on all three
//! backends. [`Error`] never carries instance env or header values.

mod connect;
mod convert;
mod entity;
mod error;
mod records;
mod repo;
mod store;

pub use connect::default_database_url;
pub use error::{Error, Result};
pub use records::{ApiKeyRecord, AuditFilter, AuditRecord, UserChanges, UserRecord};
pub use repo::{Change, ChangeKind, ChangeListener, MAX_AUDIT_PAGE, Wake};
pub use store::{MigrationState, Store};
