//! Payload masking (RFC 6455 section 5.3) and the source of masking keys
//! the core is given (section 10.3).
//!
//! Masking XORs the payload with the 4-byte key repeated, so the same call
//! masks and unmasks. [`apply_mask`] works on 8-byte words with safe
//! `u64` loads and stores, which the compiler turns into wide vector
//! operations; [`apply_mask_offset`] continues a frame whose first bytes
//! were already unmasked, so a payload can be unmasked as it arrives.
//!
//! ```
//! use wsock::proto::mask::{apply_mask, apply_mask_offset};
//!
//! let key = [0x37, 0xfa, 0x21, 0x3d];
//! let mut data = *b"Hello";
//! apply_mask(&mut data, key);
//! assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! // Unmask in two steps: the second continues at offset 2.
//! let (a, b) = data.split_at_mut(2);
//! apply_mask_offset(a, key, 0);
//! apply_mask_offset(b, key, 2);
//! assert_eq!(&data, b"Hello");
//! ```

/// XORs `buf` with `key` repeated, starting at the key's first byte.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_offset(buf, key, 0);
}

/// XORs `buf` with `key` repeated, as if `buf` started `offset` bytes into
/// the payload: its first byte is XORed with `key[offset % 4]`.
pub fn apply_mask_offset(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = key_at(key, offset);
    // The key twice over: the same on either byte order.
    let word = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        if let Ok(chunk) = <&mut [u8; 8]>::try_from(chunk) {
            *chunk = (u64::from_ne_bytes(*chunk) ^ word).to_ne_bytes();
        }
    }
    // Whole words were 8 bytes, so the tail starts at key[0] again.
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= key[i & 3];
    }
}

/// The key rotated so that its first byte is the one for `offset`.
#[inline]
fn key_at(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Read little-endian, byte `s` is at bits 8s: rotating right by 8s
    // brings it to the front.
    let s = (offset & 3) as u32;
    u32::from_le_bytes(key).rotate_right(8 * s).to_le_bytes()
}

/// Where a client connection's masking keys come from (RFC 6455 section
/// 10.3: keys no one can predict). The core has no random source of its
/// own: [`Connection::new`](super::Connection::new) takes
/// [`CsprngMaskKeys`](crate::random::CsprngMaskKeys), the operating
/// system's generator behind a per-thread ChaCha12 keystream, and
/// [`Connection::set_mask_keys`](super::Connection::set_mask_keys) takes
/// any other, such as a fixed sequence for a deterministic test. Any
/// `FnMut() -> [u8; 4]` is one.
///
/// ```
/// use wsock::proto::{Config, Connection, DataKind, Role};
///
/// let mut conn = Connection::new(Config::new(Role::Client));
/// conn.set_mask_keys(Box::new(|| [1, 2, 3, 4]));
/// conn.encode_data(DataKind::Binary, b"hi", true, true).unwrap();
/// assert_eq!(conn.output()[..], [0x82, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
/// ```
pub trait MaskKeySource: Send {
    /// The next 4-byte key.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskKeySource for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(i + offset) % 4];
        }
    }

    #[test]
    fn matches_naive_every_offset_and_length() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..80u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for start in 0..8 {
            for len in 0..=70 {
                for offset in 0..9 {
                    let mut a = data[start..start + len].to_vec();
                    let mut b = a.clone();
                    apply_mask_offset(&mut a, key, offset);
                    naive(&mut b, key, offset);
                    assert_eq!(a, b, "start {start} len {len} offset {offset}");
                }
            }
        }
    }
}
