//! sea-orm entities, one file per table. They stay inside the crate: callers only ever
//! see `gateway-core` types (see `convert`) and the records of `repo`.

pub(crate) mod api_key;
pub(crate) mod audit_event;
pub(crate) mod change;
pub(crate) mod instance;
pub(crate) mod secret;
pub(crate) mod template;
pub(crate) mod user;
