#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod connect;
pub mod control;
mod error;
pub mod handshake;
pub mod information;
mod message;
pub mod proto;
pub mod server;
mod session;
mod stream;

pub use control::{
    MessageType, MessageWebSocketControl, MessageWebSocketReceiveMode, StreamWebSocketControl,
};
pub use error::{Error, Result, TimeoutKind, WebErrorStatus, get_status};
pub use information::{
    BandwidthStatistics, MessageWebSocketInformation, RoundTripTimeStatistics,
    StreamWebSocketInformation,
};
pub use message::{
    Message, MessageReceiver, MessageSender, MessageWebSocket, MessageWriter, Received,
};
pub use proto::deflate::{DeflateConfig, DeflateOptions};
pub use stream::{StreamReadHalf, StreamWebSocket, StreamWriteHalf};
