//! Masking throughput (RFC 6455 section 5.3): `cargo bench --bench mask`.

#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;

use wsock::proto::mask::{MaskKeySource, apply_mask, apply_mask_offset};
use wsock::random::CsprngMaskKeys;

fn main() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    for size in [16usize, 125, 1024, 64 * 1024, 1 << 20] {
        let mut buf = vec![0x5au8; size];
        timing::bench(&format!("mask/apply_mask/{size}"), Some(size), || {
            apply_mask(black_box(&mut buf), black_box(key));
        });
    }
    let mut buf = vec![0x5au8; 64 * 1024 + 3];
    timing::bench(
        "mask/apply_mask_offset/64KiB+3 at 3",
        Some(64 * 1024),
        || {
            apply_mask_offset(black_box(&mut buf[3..]), black_box(key), 3);
        },
    );
    // An unaligned start: the payload after a 6- or 14-byte header.
    let mut buf = vec![0x5au8; 64 * 1024 + 6];
    timing::bench("mask/apply_mask/64KiB unaligned", Some(64 * 1024), || {
        apply_mask(black_box(&mut buf[6..]), black_box(key));
    });
    let mut keys = CsprngMaskKeys::new();
    timing::bench("mask/next_key", None, || keys.next_key());
}
