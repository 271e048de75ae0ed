//! UTF-8 validation throughput on 64 KiB payloads (issue 8's target:
//! 8 GB/s or more on one core): `cargo bench --bench utf8`.

#[path = "support/timing.rs"]
mod timing;

use std::hint::black_box;

use wsock::proto::utf8::Utf8Validator;

const SIZE: usize = 64 * 1024;

/// `SIZE` bytes of `text` repeated, cut back to a character boundary.
fn repeat(text: &str) -> Vec<u8> {
    let mut s = String::with_capacity(SIZE + 8);
    while s.len() < SIZE {
        s.push_str(text);
    }
    let mut end = SIZE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.into_bytes()
}

fn main() {
    let inputs = [
        (
            "ascii",
            repeat("The quick brown fox jumps over the lazy dog. {\"id\":42} "),
        ),
        (
            "latin",
            repeat("Größenmaßstäbe für Überfälle: naïve façade, déjà vu. "),
        ),
        ("cjk", repeat("速い茶色の狐がのろまな犬を飛び越える。")),
        ("emoji", repeat("🦀🚀✨ ok 👍🏽 ")),
    ];
    for (name, data) in &inputs {
        let n = data.len();
        timing::bench(&format!("utf8/whole/{name}/64KiB"), Some(n), || {
            let mut v = Utf8Validator::new();
            v.feed(black_box(data)).unwrap();
            v.finish().unwrap();
        });
        // The same bytes in 1,000-byte pieces, split inside characters.
        timing::bench(&format!("utf8/pieces/{name}/64KiB"), Some(n), || {
            let mut v = Utf8Validator::new();
            for piece in black_box(data).chunks(1000) {
                v.feed(piece).unwrap();
            }
            v.finish().unwrap();
        });
    }
}
