//! Payload masking (RFC 6455 section 5.3) and the source of masking keys
//! (section 10.3).
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

use std::fmt;

/// XORs `buf` with `key` repeated, starting at the key's first byte.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_offset(buf, key, 0);
}

/// XORs `buf` with `key` repeated, as if `buf` started `offset` bytes into
/// the payload: its first byte is XORed with `key[offset % 4]`.
pub fn apply_mask_offset(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = key_at(key, offset);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
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
    let s = offset & 3;
    [key[s], key[(s + 1) & 3], key[(s + 2) & 3], key[(s + 3) & 3]]
}

const POOL: usize = 256;

/// Masking keys from the operating system's cryptographically secure
/// generator (RFC 6455 section 10.3 forbids predictable keys), drawn 256
/// bytes at a time so that a frame costs four bytes of a buffer, not a
/// system call.
///
/// The keys come from [`getrandom::fill`]. If the operating system's
/// generator fails (on the platforms tokio supports it practically never
/// does), the batch is instead derived from the previous batch, the time
/// and a counter through std's SipHash: keys that are still hard to guess
/// but not cryptographically strong. The failure is local, so no peer can
/// provoke it, and it does not panic.
pub struct MaskKeys {
    pool: [u8; POOL],
    /// Next unused byte of `pool`; `POOL` when it must be refilled.
    pos: usize,
    /// Counts refills, for the fallback.
    refills: u64,
}

impl MaskKeys {
    /// An empty source: the first key fills the pool.
    pub const fn new() -> Self {
        MaskKeys {
            pool: [0; POOL],
            pos: POOL,
            refills: 0,
        }
    }

    /// The next 4-byte key.
    #[inline]
    pub fn next_key(&mut self) -> [u8; 4] {
        if self.pos + 4 > POOL {
            self.refill();
        }
        let mut key = [0u8; 4];
        key.copy_from_slice(&self.pool[self.pos..self.pos + 4]);
        self.pos += 4;
        key
    }

    #[cold]
    fn refill(&mut self) {
        self.refills = self.refills.wrapping_add(1);
        if getrandom::fill(&mut self.pool).is_err() {
            self.fallback_fill();
        }
        self.pos = 0;
    }

    /// Derives a new pool from the old one, the clock, a counter and an
    /// address (ASLR) when the OS generator failed.
    fn fallback_fill(&mut self) {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let addr = std::ptr::from_ref(self) as usize;
        let old = self.pool;
        for (i, chunk) in self.pool.chunks_mut(8).enumerate() {
            let mut h = DefaultHasher::new();
            (now, addr, self.refills, i, &old[..]).hash(&mut h);
            let v = h.finish().to_ne_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

impl Default for MaskKeys {
    fn default() -> Self {
        MaskKeys::new()
    }
}

impl fmt::Debug for MaskKeys {
    /// Shows no key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskKeys")
            .field("remaining", &((POOL - self.pos) / 4))
            .finish()
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

    #[test]
    fn keys_vary_and_refill() {
        let mut keys = MaskKeys::new();
        let all: Vec<[u8; 4]> = (0..3 * POOL / 4 + 1).map(|_| keys.next_key()).collect();
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        // 193 random 32-bit keys: even one collision is unlikely (4e-6).
        assert!(distinct.len() >= all.len() - 1);
    }

    #[test]
    fn fallback_changes_pool() {
        let mut keys = MaskKeys::new();
        keys.fallback_fill();
        let a = keys.pool;
        keys.fallback_fill();
        assert_ne!(a, keys.pool);
        assert_eq!(format!("{keys:?}"), "MaskKeys { remaining: 0 }");
    }
}
