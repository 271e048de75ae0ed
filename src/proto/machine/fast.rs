//! The fast paths of receiving: a whole single-frame message at the front
//! of the input, checked as the general path would check it and taken
//! off in one step (and, for the read-ahead, several of them with one
//! split of the buffer).

use bytes::{Buf, Bytes, BytesMut};

use super::super::mask::apply_mask;
use super::{Connection, DataKind, Event, Role, State, split_front};

impl Connection {
    /// The fast path of [`decode`](Self::decode): the message at the front
    /// of `input` when it is whole there in one frame and nothing is under
    /// way (no frame, no fragmented message), the connection is not closed
    /// and the frame passes every check the general path makes: FIN, no RSV
    /// bit, text or binary, masked as the role requires, the length in its
    /// shortest form and within both limits, and (text) valid UTF-8.
    ///
    /// Such a message yields the same event as the general path, and
    /// decoding it cannot fail or queue anything for the peer. Otherwise
    /// `None`, with `input` (unmasking undone) and the state untouched.
    pub(crate) fn decode_message(&mut self, input: &mut BytesMut) -> Option<Event> {
        let (kind, head, len) = self.take_message(input)?;
        let mut payload = split_front(input, head + len);
        payload.advance(head);
        Some(Event::Data {
            kind,
            payload,
            first: true,
            fin: true,
            rsv: 0,
        })
    }

    /// [`decode_message`](Self::decode_message) over and over, at most
    /// `max` times (and at most 64), handing each message's kind and
    /// payload to `f`: the messages are cut off `input` together, with one
    /// split of the buffer rather than one each. Returns how many there
    /// were.
    pub(crate) fn decode_messages(
        &mut self,
        input: &mut BytesMut,
        max: usize,
        mut f: impl FnMut(DataKind, Bytes),
    ) -> usize {
        const BATCH: usize = 64;
        // Nothing there (the usual case after a round trip's message): out
        // before setting up the batch.
        if input.len() < 2 || !self.between_messages() {
            return 0;
        }
        // Kind, header length and payload length of each message taken.
        let mut found = [(DataKind::Binary, 0u8, 0usize); BATCH];
        let mut count = 0;
        let mut end = 0;
        for slot in found.iter_mut().take(max) {
            let Some((kind, head, len)) = self.unmask_message(&mut input[end..]) else {
                break;
            };
            *slot = (kind, head as u8, len);
            end += head + len;
            count += 1;
        }
        if count == 0 {
            return 0;
        }
        let taken = split_front(input, end);
        let mut at = 0;
        for &(kind, head, len) in &found[..count] {
            let start = at + usize::from(head);
            f(kind, taken.slice(start..start + len));
            at = start + len;
        }
        count
    }

    /// True when nothing is under way: no frame, no fragmented message,
    /// and the connection is not closed.
    #[inline]
    fn between_messages(&self) -> bool {
        self.frame.is_none() && self.message.is_none() && self.state != State::Closed
    }

    /// The checks of [`decode_message`](Self::decode_message) on the front
    /// of `buf`: on success the payload is unmasked in place and the kind,
    /// header length and payload length are returned; otherwise `buf` is
    /// left as it was.
    #[inline]
    fn take_message(&self, buf: &mut [u8]) -> Option<(DataKind, usize, usize)> {
        if !self.between_messages() {
            return None;
        }
        self.unmask_message(buf)
    }

    /// [`take_message`](Self::take_message) less the check that nothing is
    /// under way.
    ///
    /// An unmasked binary message (what a client receives most) needs
    /// nothing more than the header checks, which are inlined into the
    /// caller's loop; unmasking and the UTF-8 check are out of line.
    #[inline(always)]
    fn unmask_message(&self, buf: &mut [u8]) -> Option<(DataKind, usize, usize)> {
        let (kind, head, len, key) = self.message_at(buf)?;
        if key.is_none() && kind == DataKind::Binary {
            return Some((kind, head, len));
        }
        Self::unmask_and_check(buf, kind, head, len, key)
    }

    /// The rest of [`unmask_message`](Self::unmask_message) for a masked
    /// or text message.
    #[inline(never)]
    fn unmask_and_check(
        buf: &mut [u8],
        kind: DataKind,
        head: usize,
        len: usize,
        key: Option<[u8; 4]>,
    ) -> Option<(DataKind, usize, usize)> {
        let payload = &mut buf[head..head + len];
        if let Some(key) = key {
            apply_mask(payload, key);
        }
        if kind == DataKind::Text && !super::super::utf8::is_valid(payload) {
            // Leave it to the general path, which fails the connection.
            if let Some(key) = key {
                apply_mask(payload, key);
            }
            return None;
        }
        Some((kind, head, len))
    }

    /// The header checks of [`decode_message`](Self::decode_message):
    /// kind, header length, payload length and mask key of the message at
    /// the front of `buf`, if its header passes and it is whole there.
    #[inline(always)]
    fn message_at(&self, buf: &[u8]) -> Option<(DataKind, usize, usize, Option<[u8; 4]>)> {
        let (&[b0, b1], rest) = buf.split_first_chunk::<2>()?;
        let kind = match b0 {
            0x82 => DataKind::Binary,
            0x81 => DataKind::Text,
            _ => return None,
        };
        let masked = b1 & 0x80 != 0;
        if masked != (self.config.role == Role::Server) {
            return None;
        }
        let (len, ext) = match b1 & 0x7F {
            126 => {
                let n = u16::from_be_bytes(*rest.first_chunk::<2>()?);
                if n < 126 {
                    return None;
                }
                (usize::from(n), 2)
            }
            127 => {
                let n = u64::from_be_bytes(*rest.first_chunk::<8>()?);
                if n >> 63 != 0 || n <= 0xFFFF {
                    return None;
                }
                (usize::try_from(n).ok()?, 8)
            }
            n => (usize::from(n), 0),
        };
        if len > self.config.max_frame_size || len > self.config.max_message_size {
            return None;
        }
        let (head, key) = if masked {
            (2 + ext + 4, Some(*rest.get(ext..)?.first_chunk::<4>()?))
        } else {
            (2 + ext, None)
        };
        if buf.len() < head || buf.len() - head < len {
            return None;
        }
        Some((kind, head, len, key))
    }
}
