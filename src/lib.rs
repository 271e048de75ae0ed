#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs builds with every feature and marks what each item needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod certificates;
mod client;
pub mod close_status;
mod connect;
pub mod control;
mod credential;
mod error;
mod events;
pub mod handshake;
#[cfg(feature = "http2")]
mod http2;
mod http_version;
pub mod information;
mod message;
pub mod proto;
pub mod random;
pub mod reconnect;
mod reunite;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
mod session;
mod stream;

pub use certificates::{
    ChainValidationResult, ClientCertificate, ServerCustomValidation,
    ServerCustomValidationRequest, SocketSslErrorSeverity,
};
pub use connect::ProxyConfig;
pub use connect::Resolve;
pub use connect::SocksError;
pub use control::{
    MessageType, MessageWebSocketControl, MessageWebSocketReceiveMode, StreamWebSocketControl,
};
pub use credential::Credential;
pub use error::{Error, Http2Error, Result, TimeoutKind, WebErrorStatus, get_status};
pub use events::{ClosedEventArgs, MessageReceivedEventArgs, MessageWebSocketEvents};
pub use http_version::{HttpVersion, HttpVersionPolicy};
pub use information::{
    BandwidthStatistics, MessageWebSocketInformation, RoundTripTimeStatistics,
    StreamWebSocketInformation, UpgradeResponse,
};
pub use message::{
    Message, MessageReceiver, MessageSender, MessageWebSocket, MessageWriter, Received,
};
pub use proto::deflate::{DeflateConfig, DeflateOptions};
pub use reconnect::{ReconnectPolicy, ReconnectingMessageSender, ReconnectingMessageWebSocket};
pub use reunite::ReuniteError;
#[allow(deprecated)]
pub use stream::{StreamReadHalf, StreamWriteHalf};
pub use stream::{StreamReceiver, StreamSender, StreamWebSocket};
