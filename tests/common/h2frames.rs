//! WebSocket frames read by hand from the DATA of one HTTP/2 stream, for
//! the hand-made peers on either side (tests/common/h2peer.rs, a server;
//! tests/common/h2ws.rs, a client), so that no frame they read goes
//! through wsock's core.

use bytes::{Buf, BytesMut};
use h2::RecvStream;

/// A stream's DATA, gathered and taken apart into WebSocket frames.
pub(crate) struct FrameReader {
    recv: RecvStream,
    buf: BytesMut,
}

impl FrameReader {
    pub(crate) fn new(recv: RecvStream) -> FrameReader {
        FrameReader {
            recv,
            buf: BytesMut::new(),
        }
    }

    /// Until the buffer holds `n` bytes, giving the peer its window back
    /// as DATA comes; false at the end of the stream.
    async fn fill(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            match self.recv.data().await {
                Some(Ok(data)) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.buf.extend_from_slice(&data);
                }
                _ => return false,
            }
        }
        true
    }

    /// Reads on until the end of the stream, dropping what comes.
    pub(crate) async fn until_end(&mut self) {
        while let Some(Ok(data)) = self.recv.data().await {
            let _ = self.recv.flow_control().release_capacity(data.len());
        }
    }

    /// The next frame, unmasked: its first byte and payload; `None` at the
    /// end of the stream. `masked`: the frames come from a client, which
    /// must mask them, else from a server, which must not.
    pub(crate) async fn read_frame(&mut self, masked: bool) -> Option<(u8, Vec<u8>)> {
        if !self.fill(2).await {
            return None;
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        if masked {
            assert!(b1 & 0x80 != 0, "client frames are masked");
        } else {
            assert_eq!(b1 & 0x80, 0, "server frames are not masked");
        }
        let (mut at, len) = match b1 & 0x7F {
            126 => {
                self.fill(4).await.then_some(())?;
                (4, u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize)
            }
            127 => {
                self.fill(10).await.then_some(())?;
                let mut n = [0u8; 8];
                n.copy_from_slice(&self.buf[2..10]);
                (10, u64::from_be_bytes(n) as usize)
            }
            n => (2, n as usize),
        };
        let key_len = if masked { 4 } else { 0 };
        self.fill(at + key_len + len).await.then_some(())?;
        let mut key = [0u8; 4];
        if masked {
            key.copy_from_slice(&self.buf[at..at + 4]);
            at += 4;
        }
        self.buf.advance(at);
        let mut payload = self.buf.split_to(len).to_vec();
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        Some((b0, payload))
    }
}
