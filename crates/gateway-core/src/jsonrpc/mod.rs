//! A thin JSON-RPC 2.0 layer: parse the envelope, keep the payload raw.
//!
//! The gateway routes on `id` and `method` and forwards everything else byte for byte,
//! so fields it does not model (new spec fields, vendor extensions) are never lost.

pub mod code;
mod error_object;
mod id;
mod message;

pub use error_object::ErrorObject;
pub use id::RequestId;
pub use message::{
    Message, Notification, Outcome, ParseError, Request, Response, encode_request, to_raw,
};
