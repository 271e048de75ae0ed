//! The crate's random source: masking keys (RFC 6455 section 10.3) and
//! the handshake's `Sec-WebSocket-Key` nonce. Kept out of the sans-IO core,
//! which is handed a [`crate::proto::mask::MaskKeySource`]
//! instead of reading a generator (or a clock) of its own.

use std::fmt;

use rand_chacha::ChaCha12Core;
use rand_core::SeedableRng;
use rand_core::block::Generator;

use crate::proto::mask::MaskKeySource;

/// Output after which the generator takes a fresh seed from the OS.
const RESEED_AFTER: u64 = 1 << 20;

/// Words in one block of keystream: what the generator computes at a time
/// (four ChaCha blocks, 256 bytes).
const BLOCK_WORDS: usize = 64;

/// Masking keys that no one can predict (RFC 6455 section 10.3).
///
/// Keys come from a ChaCha12 keystream (`rand_chacha`'s `ChaCha12Core`, the
/// generator behind `rand`'s `StdRng`), seeded from the operating system's
/// generator ([`getrandom::fill`]) and reseeded from it after every MiB of
/// output. The generator is per thread and shared by every connection on
/// it: it computes 256 bytes (four ChaCha blocks) at a time into a
/// per-thread buffer, and a frame takes the next four bytes of it, so a
/// connection holds no key material and makes no system call of its own.
/// `CsprngMaskKeys` itself is an empty handle. (A pool of `getrandom` bytes per
/// connection cost a system call every 64 frames: 9% of the time of a
/// stream of small messages.)
///
/// If the operating system's generator fails (on the platforms tokio
/// supports it practically never does), the seed is instead derived from
/// the time, a counter and an address through std's SipHash: keys that are
/// still hard to guess but not cryptographically strong. The failure is
/// local, so no peer can provoke it, and it does not panic. A process that
/// forks carries the thread's keystream into the child until the next
/// reseeding.
#[derive(Clone, Copy, Default)]
pub struct CsprngMaskKeys {
    _private: (),
}

impl CsprngMaskKeys {
    /// A handle on this thread's generator.
    pub const fn new() -> Self {
        CsprngMaskKeys { _private: () }
    }
}

impl MaskKeySource for CsprngMaskKeys {
    #[inline]
    fn next_key(&mut self) -> [u8; 4] {
        KEYSTREAM.with(|ks| ks.borrow_mut().next_word().to_ne_bytes())
    }
}

impl fmt::Debug for CsprngMaskKeys {
    /// Shows no key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsprngMaskKeys").finish_non_exhaustive()
    }
}

/// Fills `buf` from this thread's keystream (also used for the handshake's
/// Sec-WebSocket-Key, which must be a random nonce).
pub(crate) fn fill_random(buf: &mut [u8]) {
    KEYSTREAM.with(|ks| {
        let ks = &mut *ks.borrow_mut();
        for chunk in buf.chunks_mut(4) {
            let word = ks.next_word().to_ne_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    });
}

thread_local! {
    // No destructor (the core and buffer are plain data), so an access is
    // a plain thread-local address.
    static KEYSTREAM: std::cell::RefCell<Keystream> = const {
        std::cell::RefCell::new(Keystream {
            core: None,
            block: [0; BLOCK_WORDS],
            next: BLOCK_WORDS,
            produced: 0,
            seedings: 0,
        })
    };
}

/// One thread's generator, the block of output it computed last and how
/// much it produced since its seeding.
struct Keystream {
    /// None until the first use, and after `RESEED_AFTER` bytes.
    core: Option<ChaCha12Core>,
    block: [u32; BLOCK_WORDS],
    /// The first word of `block` not handed out yet.
    next: usize,
    produced: u64,
    /// Seedings so far (for the fallback).
    seedings: u64,
}

impl Keystream {
    /// The next word of keystream; each is handed out once.
    #[inline]
    fn next_word(&mut self) -> u32 {
        if let Some(&word) = self.block.get(self.next) {
            self.next += 1;
            return word;
        }
        self.refill();
        self.next = 1;
        self.block[0]
    }

    /// Computes the next block, seeding the generator first when it is new
    /// or has produced its share.
    #[cold]
    fn refill(&mut self) {
        if self.produced >= RESEED_AFTER {
            self.core = None;
        }
        let core = match &mut self.core {
            Some(core) => core,
            None => {
                self.produced = 0;
                self.seedings = self.seedings.wrapping_add(1);
                self.core.insert(new_generator(self.seedings))
            }
        };
        core.generate(&mut self.block);
        self.produced += (BLOCK_WORDS * 4) as u64;
        self.next = 0;
    }
}

/// A generator seeded from the OS (or, should it fail, the fallback).
#[cold]
fn new_generator(seedings: u64) -> ChaCha12Core {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        seed = fallback_seed(seedings);
    }
    ChaCha12Core::from_seed(seed)
}

/// A seed from the clock, a counter and an address (ASLR), for when the OS
/// generator failed.
fn fallback_seed(seedings: u64) -> [u8; 32] {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let addr = std::ptr::from_ref(&seedings) as usize;
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        let mut h = DefaultHasher::new();
        (now, addr, seedings, i).hash(&mut h);
        chunk.copy_from_slice(&h.finish().to_ne_bytes());
    }
    seed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mask::MaskKeySource;

    #[test]
    fn keys_vary() {
        let mut keys = CsprngMaskKeys::new();
        let all: Vec<[u8; 4]> = (0..193).map(|_| keys.next_key()).collect();
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        // 193 random 32-bit keys: even one collision is unlikely (4e-6).
        assert!(distinct.len() >= all.len() - 1);
        assert_eq!(format!("{keys:?}"), "CsprngMaskKeys { .. }");
    }

    #[test]
    fn reseeds_and_falls_back() {
        let block = |mut core: ChaCha12Core| {
            let mut out = [0u32; BLOCK_WORDS];
            core.generate(&mut out);
            out
        };
        assert_ne!(block(new_generator(1)), block(new_generator(1)));
        assert_ne!(fallback_seed(1), fallback_seed(2));
        // The thread's generator reseeds after its share.
        KEYSTREAM.with(|k| {
            let mut k = k.borrow_mut();
            k.produced = RESEED_AFTER;
            k.next = BLOCK_WORDS;
        });
        let before = KEYSTREAM.with(|k| k.borrow().seedings);
        let _ = CsprngMaskKeys::new().next_key();
        assert_eq!(KEYSTREAM.with(|k| k.borrow().seedings), before + 1);
        assert_eq!(KEYSTREAM.with(|k| k.borrow().produced), 256);
        // Within a block, no reseeding.
        let _ = CsprngMaskKeys::new().next_key();
        assert_eq!(KEYSTREAM.with(|k| k.borrow().seedings), before + 1);
    }

    #[test]
    fn fill_random_spans_blocks() {
        let mut a = [0u8; 1000];
        let mut b = [0u8; 1000];
        fill_random(&mut a);
        fill_random(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().filter(|&&x| x == 0).count() < 30);
    }
}
