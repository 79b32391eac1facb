//! The MCP vocabulary the gateway routes on: methods, protocol versions and eras, wire
//! constants, and borrowed views of routed params fields.

mod method;
mod object;
mod version;
mod view;
pub mod wire;

pub use method::Method;
pub use object::RawObject;
pub use version::{Era, ProtocolVersion};
pub use view::{MetaView, ParamsView};
