//! Frame writing for the encode paths: headers in one piece, small masked
//! frames masked on their way into the output.

use bytes::BytesMut;

use super::super::FrameHeader;
use super::super::mask::{MaskKeySource, apply_mask};
use super::Role;

/// Appends a frame with first byte `b0`, masked with a fresh key in the
/// client role.
#[inline]
pub(super) fn put_frame<K: MaskKeySource + ?Sized>(
    out: &mut BytesMut,
    role: Role,
    keys: &mut K,
    b0: u8,
    payload: &[u8],
) {
    match role {
        Role::Client if payload.len() <= MASK_WHILE_COPYING => {
            put_small_masked_frame(out, b0, payload, keys.next_key());
        }
        Role::Client => {
            let key = keys.next_key();
            out.reserve(FrameHeader::MAX_LEN + payload.len());
            put_header(out, b0, payload.len(), Some(key));
            put_masked(out, payload, key);
        }
        Role::Server => {
            out.reserve(FrameHeader::MAX_LEN + payload.len());
            put_header(out, b0, payload.len(), None);
            out.extend_from_slice(payload);
        }
    }
}

/// The stack block [`put_masked`] masks a payload through: small enough
/// to stay in the first-level cache, large enough that appending it is one
/// plain vector copy. A multiple of 8, so every block starts at the key's
/// first byte.
const MASK_BLOCK: usize = 512;

/// Appends `payload` masked with `key` (from its first byte on), one
/// [`MASK_BLOCK`] at a time: each block is masked on its way from the
/// payload to the stack and then appended. The payload is read once and
/// the output written once, where copying it into the output and masking
/// it there went over the output twice, the second time out of cache for
/// a large payload. (The frame micro-benchmark's 1 MiB client encode, and
/// the instruction counts of workload c of benches/compare: the commit
/// that made it has the figures.)
fn put_masked(out: &mut BytesMut, payload: &[u8], key: [u8; 4]) {
    // The key twice over: the same on either byte order.
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let mut block = [0u8; MASK_BLOCK];
    let mut blocks = payload.chunks_exact(MASK_BLOCK);
    for chunk in &mut blocks {
        for (slot, bytes) in block.chunks_exact_mut(8).zip(chunk.chunks_exact(8)) {
            if let (Ok(slot), Ok(bytes)) =
                (<&mut [u8; 8]>::try_from(slot), <[u8; 8]>::try_from(bytes))
            {
                *slot = (u64::from_ne_bytes(bytes) ^ word).to_ne_bytes();
            }
        }
        out.extend_from_slice(&block);
    }
    let rest = blocks.remainder();
    let tail = &mut block[..rest.len()];
    tail.copy_from_slice(rest);
    apply_mask(tail, key);
    out.extend_from_slice(tail);
}

/// Payloads up to this size are masked word by word into a copy of the
/// whole frame on the stack ([`put_small_masked_frame`]); longer ones are
/// copied in one piece and masked in the output.
pub(super) const MASK_WHILE_COPYING: usize = 64;

/// The room a small masked frame is written in: the 6-byte header, up to
/// [`MASK_WHILE_COPYING`] bytes of payload, rounded up to whole words.
const SMALL_FRAME: usize = 72;

/// Appends a masked frame with a payload of at most [`MASK_WHILE_COPYING`]
/// bytes (the same bytes as [`put_header`] then the payload masked with
/// `key`): the output grows by a fixed [`SMALL_FRAME`] bytes at once (one
/// capacity check, a fill that compiles to a few wide stores), the header
/// and the masked payload are written into it in place, word by word, and
/// the output is cut back to the frame's length. (Writing in place beat
/// building the frame on the stack and copying it in the frame
/// micro-benchmark; the commit that made it has the figures.)
#[inline]
pub(super) fn put_small_masked_frame(out: &mut BytesMut, b0: u8, payload: &[u8], key: [u8; 4]) {
    debug_assert!(payload.len() <= MASK_WHILE_COPYING);
    let start = out.len();
    out.extend_from_slice(&[0; SMALL_FRAME]);
    let Some(frame) = out[start..].first_chunk_mut::<SMALL_FRAME>() else {
        unreachable!("the output was just grown by SMALL_FRAME bytes");
    };
    let [k0, k1, k2, k3] = key;
    frame[..6].copy_from_slice(&[b0, 0x80 | payload.len() as u8, k0, k1, k2, k3]);
    let (_, body) = frame.split_at_mut(6);
    // The key twice over: the same on either byte order.
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let mut chunks = payload.chunks_exact(8);
    let mut slots = body.chunks_exact_mut(8);
    for (chunk, slot) in (&mut chunks).zip(&mut slots) {
        if let (Ok(chunk), Ok(slot)) = (<[u8; 8]>::try_from(chunk), <&mut [u8; 8]>::try_from(slot))
        {
            *slot = (u64::from_ne_bytes(chunk) ^ word).to_ne_bytes();
        }
    }
    // Whole words were 8 bytes, so the tail starts at key[0] again.
    let tail = chunks.remainder();
    let at = payload.len() - tail.len();
    for ((i, &byte), slot) in tail.iter().enumerate().zip(&mut body[at..]) {
        *slot = byte ^ key[i & 3];
    }
    out.truncate(start + 6 + payload.len());
}

/// Appends a frame header (the same bytes as [`FrameHeader::encode`]),
/// each form written as one fixed-size piece.
#[inline]
pub(super) fn put_header(out: &mut BytesMut, b0: u8, len: usize, key: Option<[u8; 4]>) {
    match (len, key) {
        (0..=125, None) => out.extend_from_slice(&[b0, len as u8]),
        (0..=125, Some([k0, k1, k2, k3])) => {
            out.extend_from_slice(&[b0, 0x80 | len as u8, k0, k1, k2, k3]);
        }
        (126..=0xFFFF, None) => {
            let [l0, l1] = (len as u16).to_be_bytes();
            out.extend_from_slice(&[b0, 126, l0, l1]);
        }
        (126..=0xFFFF, Some([k0, k1, k2, k3])) => {
            let [l0, l1] = (len as u16).to_be_bytes();
            out.extend_from_slice(&[b0, 0x80 | 126, l0, l1, k0, k1, k2, k3]);
        }
        (_, None) => {
            let [l0, l1, l2, l3, l4, l5, l6, l7] = (len as u64).to_be_bytes();
            out.extend_from_slice(&[b0, 127, l0, l1, l2, l3, l4, l5, l6, l7]);
        }
        (_, Some([k0, k1, k2, k3])) => {
            let [l0, l1, l2, l3, l4, l5, l6, l7] = (len as u64).to_be_bytes();
            out.extend_from_slice(&[
                b0,
                0x80 | 127,
                l0,
                l1,
                l2,
                l3,
                l4,
                l5,
                l6,
                l7,
                k0,
                k1,
                k2,
                k3,
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_payloads_of_every_length_around_the_block_size() {
        let key = [0x9a, 0x01, 0x5c, 0xe3];
        let payload: Vec<u8> = (0..3 * MASK_BLOCK + 9)
            .map(|i| (i * 31 + 7) as u8)
            .collect();
        for len in (0..=3 * MASK_BLOCK + 9).filter(|l| l % MASK_BLOCK < 10 || l % 97 == 0) {
            let mut out = BytesMut::from(&b"head"[..]);
            put_masked(&mut out, &payload[..len], key);
            let want: Vec<u8> = (payload[..len].iter().enumerate())
                .map(|(i, b)| b ^ key[i % 4])
                .collect();
            assert_eq!(&out[..4], b"head");
            assert_eq!(&out[4..], &want[..], "length {len}");
        }
    }
}
