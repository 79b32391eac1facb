//! sea-orm entities, one file per table. They stay inside the crate: callers only ever
//! see `gateway-core` types (see `convert`).

pub(crate) mod instance;
pub(crate) mod template;
