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

/// Bytes produced per refill: four ChaCha blocks, 64 keys.
const POOL: usize = 256;

/// Output after which the generator takes a fresh seed from the OS.
const RESEED_AFTER: u64 = 1 << 20;

/// ChaCha rounds: 12, as `rand`'s `StdRng` uses; the best attacks reach 7.
const ROUNDS: usize = 12;

/// Masking keys that no one can predict (RFC 6455 section 10.3).
///
/// Keys come from a ChaCha12 keystream (RFC 8439's block function with 12
/// rounds), keyed from the operating system's generator
/// ([`getrandom::fill`]) and rekeyed from it after every MiB of output. The
/// generator is per thread and shared by every connection on it, so a
/// frame costs four bytes of a buffer (a refill, four ChaCha blocks, every
/// 64 keys) and a connection holds no key material and makes no system call
/// of its own. `MaskKeys` itself is an empty handle.
///
/// If the operating system's generator fails (on the platforms tokio
/// supports it practically never does), the seed is instead derived from
/// the previous one, the time, a counter and an address through std's
/// SipHash: keys that are still hard to guess but not cryptographically
/// strong. The failure is local, so no peer can provoke it, and it does
/// not panic. A process that forks carries the thread's keystream into the
/// child until the next rekeying.
#[derive(Clone, Copy, Default)]
pub struct MaskKeys {
    _private: (),
}

impl MaskKeys {
    /// A handle on this thread's generator.
    pub const fn new() -> Self {
        MaskKeys { _private: () }
    }

    /// The next 4-byte key.
    #[inline]
    pub fn next_key(&mut self) -> [u8; 4] {
        KEYSTREAM.with(|ks| {
            let ks = &mut *ks.borrow_mut();
            if ks.pos + 4 > POOL {
                ks.refill();
            }
            let at = ks.pos;
            let mut key = [0u8; 4];
            key.copy_from_slice(&ks.pool[at..at + 4]);
            ks.pool[at..at + 4].fill(0);
            ks.pos = at + 4;
            key
        })
    }
}

impl fmt::Debug for MaskKeys {
    /// Shows no key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskKeys").finish_non_exhaustive()
    }
}

/// Fills `buf` from this thread's keystream (also used for the handshake's
/// Sec-WebSocket-Key, which must be a random nonce).
pub(crate) fn fill_random(buf: &mut [u8]) {
    KEYSTREAM.with(|ks| {
        let ks = &mut *ks.borrow_mut();
        let mut buf = buf;
        while !buf.is_empty() {
            if ks.pos == POOL {
                ks.refill();
            }
            let (pos, n) = (ks.pos, buf.len().min(POOL - ks.pos));
            let fresh = &mut ks.pool[pos..pos + n];
            buf[..n].copy_from_slice(fresh);
            // Used bytes are wiped, so the state never holds past output.
            fresh.fill(0);
            ks.pos += n;
            buf = &mut buf[n..];
        }
    });
}

thread_local! {
    static KEYSTREAM: std::cell::RefCell<Keystream> =
        const { std::cell::RefCell::new(Keystream::new()) };
}

/// One thread's generator: a ChaCha key and block counter, and the unused
/// part of the last refill.
struct Keystream {
    /// Key words; all zero until the first refill seeds them.
    key: [u32; 8],
    /// Block counter (64 bits, as in the original ChaCha).
    counter: u64,
    /// Bytes produced since the last seeding; `u64::MAX` until seeded.
    produced: u64,
    /// Seedings so far (for the fallback).
    seedings: u64,
    pool: [u8; POOL],
    /// Next unused byte of `pool`; `POOL` when empty.
    pos: usize,
}

impl Keystream {
    const fn new() -> Self {
        Keystream {
            key: [0; 8],
            counter: 0,
            produced: u64::MAX,
            seedings: 0,
            pool: [0; POOL],
            pos: POOL,
        }
    }

    #[cold]
    fn refill(&mut self) {
        if self.produced >= RESEED_AFTER {
            self.seed();
        }
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        state[4..12].copy_from_slice(&self.key);
        state[12] = self.counter as u32;
        state[13] = (self.counter >> 32) as u32;
        chacha_blocks(&state, ROUNDS, &mut self.pool);
        self.counter = self.counter.wrapping_add(4);
        self.produced += POOL as u64;
        self.pos = 0;
    }

    fn seed(&mut self) {
        self.seedings = self.seedings.wrapping_add(1);
        let mut seed = [0u8; 32];
        if getrandom::fill(&mut seed).is_err() {
            seed = self.fallback_seed();
        }
        for (k, c) in self.key.iter_mut().zip(seed.chunks_exact(4)) {
            *k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        self.counter = 0;
        self.produced = 0;
    }

    /// A seed from the old key, the clock, a counter and an address (ASLR),
    /// for when the OS generator failed.
    fn fallback_seed(&self) -> [u8; 32] {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let addr = std::ptr::from_ref(self) as usize;
        let mut seed = [0u8; 32];
        for (i, chunk) in seed.chunks_mut(8).enumerate() {
            let mut h = DefaultHasher::new();
            (now, addr, self.seedings, i, self.key, self.counter).hash(&mut h);
            chunk.copy_from_slice(&h.finish().to_ne_bytes());
        }
        seed
    }
}

/// Four consecutive ChaCha blocks from `input` (its 64-bit counter in words
/// 12 and 13 advancing by one per block), written to `out`. The four blocks
/// are computed side by side, one per lane of each `[u32; 4]`, which gives
/// the compiler four independent chains to schedule.
// Lanes index several arrays in step; a range reads best.
#[allow(clippy::needless_range_loop)]
fn chacha_blocks(input: &[u32; 16], rounds: usize, out: &mut [u8; 256]) {
    let mut init = [[0u32; 4]; 16];
    for (w, lanes) in init.iter_mut().enumerate() {
        *lanes = [input[w]; 4];
    }
    let counter = u64::from(input[12]) | (u64::from(input[13]) << 32);
    for lane in 0..4 {
        let c = counter.wrapping_add(lane as u64);
        init[12][lane] = c as u32;
        init[13][lane] = (c >> 32) as u32;
    }
    let mut x = init;
    for _ in 0..rounds / 2 {
        quarter(&mut x, 0, 4, 8, 12);
        quarter(&mut x, 1, 5, 9, 13);
        quarter(&mut x, 2, 6, 10, 14);
        quarter(&mut x, 3, 7, 11, 15);
        quarter(&mut x, 0, 5, 10, 15);
        quarter(&mut x, 1, 6, 11, 12);
        quarter(&mut x, 2, 7, 8, 13);
        quarter(&mut x, 3, 4, 9, 14);
    }
    for (lane, block) in out.chunks_exact_mut(64).enumerate() {
        for (w, bytes) in block.chunks_exact_mut(4).enumerate() {
            let v = x[w][lane].wrapping_add(init[w][lane]);
            bytes.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// The ChaCha quarter round on words a, b, c, d of all four lanes.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn quarter(x: &mut [[u32; 4]; 16], a: usize, b: usize, c: usize, d: usize) {
    fn step(x: &mut [[u32; 4]; 16], a: usize, b: usize, d: usize, r: u32) {
        for l in 0..4 {
            x[a][l] = x[a][l].wrapping_add(x[b][l]);
            x[d][l] = (x[d][l] ^ x[a][l]).rotate_left(r);
        }
    }
    step(x, a, b, d, 16);
    step(x, c, d, b, 12);
    step(x, a, b, d, 8);
    step(x, c, d, b, 7);
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
        assert_eq!(format!("{keys:?}"), "MaskKeys { .. }");
    }

    #[test]
    fn chacha20_matches_rfc8439() {
        // RFC 8439 section 2.3.2: key 00..1f, block counter 1, nonce
        // 00:00:00:09:00:00:00:4a:00:00:00:00 (words 13-15 here).
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            let b = 4 * i as u8;
            state[4 + i] = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        state[12] = 1;
        state[13] = 0x0900_0000;
        state[14] = 0x4a00_0000;
        let mut out = [0u8; 256];
        chacha_blocks(&state, 20, &mut out);
        let want = "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
                    d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e";
        let got: String = out[..64].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
        // The other lanes are the next blocks: lane 1 equals block 2 alone.
        state[12] = 2;
        let mut next = [0u8; 256];
        chacha_blocks(&state, 20, &mut next);
        assert_eq!(out[64..], next[..192]);
    }

    #[test]
    fn counter_carries_into_the_high_word() {
        let mut state = [0u32; 16];
        state[12] = u32::MAX;
        let mut out = [0u8; 256];
        chacha_blocks(&state, ROUNDS, &mut out);
        state[12] = 0;
        state[13] = 1;
        let mut next = [0u8; 256];
        chacha_blocks(&state, ROUNDS, &mut next);
        assert_eq!(out[64..128], next[..64]);
    }

    #[test]
    fn reseeds_and_falls_back() {
        let mut ks = Keystream::new();
        ks.refill();
        let key = ks.key;
        assert_eq!(ks.produced, POOL as u64);
        ks.produced = RESEED_AFTER;
        ks.refill();
        assert_ne!(ks.key, key);
        let a = ks.fallback_seed();
        ks.seedings += 1;
        assert_ne!(a, ks.fallback_seed());
    }

    #[test]
    fn fill_random_spans_refills() {
        let mut a = [0u8; 1000];
        let mut b = [0u8; 1000];
        fill_random(&mut a);
        fill_random(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().filter(|&&x| x == 0).count() < 30);
    }
}
