//! Opening a client connection: URL, transport, upgrade, then a
//! [`Session`]. Both socket types open through here; the layout in DESIGN.md
//! has no home for this glue between `connect/` and `handshake/`, and it
//! belongs to neither.

use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connect::{self, Target, Transport};
use crate::control::ClientOptions;
use crate::error::{Error, Result, TimeoutKind};
use crate::handshake::client::{Request, parse_response, write_request};
use crate::handshake::{HandshakeError, Limits, generate_key};
use crate::information::{ConnectionFacts, Stats};
use crate::proto::deflate::{DeflateConfig, DeflateOptions};
use crate::proto::{Config, Connection, Role};
use crate::session::{Session, with_timeout};

/// Connects to `url` and runs the upgrade, all within the connect timeout.
pub(crate) async fn open(
    url: &str,
    opts: &ClientOptions,
    max_message_size: usize,
) -> Result<(Session, ConnectionFacts)> {
    opts.check()?;
    let target = Target::parse(url)?;
    with_timeout(opts.connect_timeout, TimeoutKind::Connect, async {
        let mut io = connect::open(&target, &opts.connect).await?;
        let (protocol, deflate, leftover) = upgrade(&mut io, &target, opts).await?;
        let facts = ConnectionFacts {
            local_address: io.local_addr(),
            remote_address: io.peer_addr(),
            protocol,
            server_certificates: io.peer_certificates().unwrap_or_default(),
            deflate,
        };
        let mut config = Config::new(Role::Client);
        config.max_frame_size = opts.max_frame_size.min(max_message_size);
        config.max_message_size = max_message_size;
        config.deflate = deflate;
        let session = Session::new(
            io,
            Connection::new(config),
            leftover,
            opts.session.clone(),
            Arc::new(Stats::default()),
        );
        Ok((session, facts))
    })
    .await
}

/// Sends the upgrade request and reads the answer. Returns the chosen
/// subprotocol, the agreed permessage-deflate parameters and the bytes that
/// followed the answer's head.
async fn upgrade(
    io: &mut Transport,
    target: &Target,
    opts: &ClientOptions,
) -> Result<(Option<String>, Option<DeflateConfig>, BytesMut)> {
    let key = generate_key();
    let offer = opts.deflate.as_ref().map(DeflateOptions::offer);
    let req = Request {
        host: &target.host_header,
        resource: &target.resource,
        key: &key,
        protocols: &opts.protocols,
        extensions: offer.as_deref(),
        headers: &opts.headers,
    };
    let mut out = Vec::with_capacity(256);
    write_request(&req, &mut out);
    io.write_all(&out).await?;
    io.flush().await?;

    let limits = Limits::default();
    let mut rd = BytesMut::with_capacity(1024);
    loop {
        match parse_response(&rd, &req, &limits) {
            Ok(Some((accepted, head_len))) => {
                rd.advance(head_len);
                let deflate = match (&opts.deflate, accepted.extensions) {
                    (Some(options), Some(answer)) => match options.accept_answer(&answer) {
                        Ok(agreed) => Some(agreed),
                        Err(reason) => {
                            return Err(HandshakeError::BadExtension { answer, reason }.into());
                        }
                    },
                    // parse_response refuses extensions that were not offered.
                    _ => None,
                };
                return Ok((accepted.protocol, deflate, rd));
            }
            Ok(None) => {}
            Err(HandshakeError::Status(resp)) => {
                // Keep reading the body (bounded) while the server sends it.
                let want = resp
                    .header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0)
                    .min(limits.max_body_size);
                if resp.body.len() >= want || read_more(io, &mut rd).await? == 0 {
                    return Err(HandshakeError::Status(resp).into());
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if read_more(io, &mut rd).await? == 0 {
            return Err(HandshakeError::Truncated.into());
        }
    }
}

async fn read_more(io: &mut Transport, rd: &mut BytesMut) -> Result<usize> {
    rd.reserve(1024);
    io.read_buf(rd).await.map_err(Error::from)
}
