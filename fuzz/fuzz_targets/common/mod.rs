//! What the decoder-comparing targets share: the setup bytes that pick a
//! connection, the pieces the input is fed in, and the output with the
//! client's random masks taken off.

use bytes::BytesMut;
use wsock::proto::deflate::DeflateConfig;
use wsock::proto::mask::apply_mask;
use wsock::proto::{Config, Connection, FrameHeader, Role};

/// Zero bytes appended as one last piece when [`Setup::pad`] is set: room
/// for a whole frame with a 64-bit length (more than 65535 bytes), which
/// the fast path takes only when it is all in the buffer.
const PAD: usize = 0x1_0000 + 0x100;

/// The connection a setup byte picks: the role (bit 0), small limits so
/// that the limit checks are reached (bit 1), the RSV bits an extension
/// would allow (bits 2-4) and permessage-deflate (bit 5; bit 6 without
/// context takeover, bit 7 with 9-bit windows). The frame_decoder target
/// reads its first byte the same way.
pub fn config_from(setup: u8) -> Config {
    let role = if setup & 1 == 0 {
        Role::Client
    } else {
        Role::Server
    };
    let mut config = Config::new(role);
    if setup & 2 != 0 {
        config.max_frame_size = 256;
        config.max_message_size = 1024;
    }
    config.allowed_rsv = (setup >> 2) & 0x7;
    if setup & 0x20 != 0 {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = setup & 0x40 != 0;
        deflate.client_no_context_takeover = setup & 0x40 != 0;
        if setup & 0x80 != 0 {
            deflate.server_max_window_bits = 9;
            deflate.client_max_window_bits = 9;
        }
        config.deflate = Some(deflate);
    }
    config
}

/// What the first three bytes of an input choose.
pub struct Setup {
    config: Config,
    /// Send this side's close first (state CloseSent: pings are no longer
    /// answered, data still comes in).
    close_first: bool,
    /// Size of the pieces the rest is fed in; 0: all at once.
    pub chunk: usize,
    /// Append [`PAD`] zero bytes as a last piece.
    pub pad: bool,
    /// The target's own bits of the mode byte (its top 6 bits; read_ahead
    /// reads them, decode_differential has none).
    #[allow(dead_code)]
    pub bits: u8,
}

impl Setup {
    /// `setup` as in the frame_decoder target (role, small limits, RSV
    /// bits an extension allows, permessage-deflate); `mode`: bit 0 close
    /// first, bit 1 pad, the rest for the target; `chunk`: piece size, 0
    /// for the whole input at once.
    pub fn new(setup: u8, mode: u8, chunk: u8) -> Self {
        let config = config_from(setup);
        Setup {
            config,
            close_first: mode & 1 != 0,
            chunk: usize::from(chunk),
            pad: mode & 2 != 0,
            bits: mode >> 2,
        }
    }

    /// A fresh connection as chosen.
    pub fn connection(&self) -> Connection {
        let mut conn = Connection::new(self.config.clone());
        if self.close_first {
            conn.encode_close(None).expect("a close with no payload");
        }
        conn
    }

    /// The pieces `rest` is fed in, the padding last.
    pub fn pieces<'a>(&self, rest: &'a [u8]) -> Vec<&'a [u8]> {
        static ZEROS: [u8; PAD] = [0; PAD];
        let mut pieces: Vec<&[u8]> = if self.chunk == 0 {
            vec![rest]
        } else {
            rest.chunks(self.chunk).collect()
        };
        if self.pad {
            pieces.push(&ZEROS);
        }
        pieces
    }
}

/// The frames of a connection's output with their masks taken off (a
/// client masks with random keys, so two clients' outputs differ).
pub fn plain_output(conn: &mut Connection) -> Vec<u8> {
    let out = conn.output().split();
    let mut rest = &out[..];
    let mut plain = BytesMut::new();
    while !rest.is_empty() {
        let (mut header, len) = FrameHeader::parse(rest)
            .expect("this side's own frames parse")
            .expect("this side's own frames are whole");
        let end = len + usize::try_from(header.payload_len).expect("a small frame");
        let mut payload = rest[len..end].to_vec();
        if let Some(key) = header.mask.take() {
            apply_mask(&mut payload, key);
        }
        header.encode(&mut plain);
        plain.extend_from_slice(&payload);
        rest = &rest[end..];
    }
    plain.to_vec()
}
