#![doc = "wsock: WebSocket for Tokio. (crate docs to come from README.md)"]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod error;
pub mod handshake;
pub mod proto;

pub use error::{Error, Result, TimeoutKind, WebErrorStatus, get_status};
