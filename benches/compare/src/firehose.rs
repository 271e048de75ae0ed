//! The firehose workload's messages: a market-data feed of JSON-like text
//! of about 100 bytes, pushed by the server as fast as it can, which the
//! client checks one by one (text, in order, the fields it expects).

use std::fmt::Write as _;

/// The path that asks a server for `count` firehose messages.
pub fn path(count: usize) -> String {
    format!("/firehose/{count}")
}

/// The message count a request path asks for, if it is a firehose.
pub fn parse_path(path: &str) -> Option<usize> {
    path.strip_prefix("/firehose/")?.parse().ok()
}

/// Message `seq` of the feed, written into `out` (cleared first).
pub fn message(seq: usize, out: &mut String) {
    out.clear();
    let px = 43_000 + seq % 997;
    let _ = write!(
        out,
        "{{\"seq\":{seq},\"sym\":\"BTC-USD\",\"side\":\"{}\",\"px\":{px}.{:02},\"qty\":{},\"ts\":{}}}",
        if seq.is_multiple_of(2) { "buy" } else { "sell" },
        seq % 100,
        1 + seq % 50,
        1_764_633_600_000_000u64 + seq as u64
    );
}

/// Checks that `text` is message `seq`: the braces, its sequence number,
/// and a quantity field in range. Panics otherwise (a benchmark that got
/// the wrong data must not print a figure).
pub fn check(seq: usize, text: &[u8]) {
    let rest = text
        .strip_prefix(b"{\"seq\":")
        .unwrap_or_else(|| panic!("firehose message {seq}: no seq"));
    assert_eq!(text.last(), Some(&b'}'), "firehose message {seq}: no close");
    let end = rest.iter().position(|&b| b == b',').expect("seq end");
    assert_eq!(number(&rest[..end]), seq, "firehose out of order");
    let at = find(rest, b"\"qty\":").expect("qty");
    let tail = &rest[at + 6..];
    let end = tail.iter().position(|&b| b == b',').expect("qty end");
    let qty = number(&tail[..end]);
    assert!((1..=50).contains(&qty), "qty {qty}");
}

fn number(digits: &[u8]) -> usize {
    assert!(!digits.is_empty());
    digits.iter().fold(0, |n, &d| {
        assert!(d.is_ascii_digit(), "digit");
        n * 10 + (d - b'0') as usize
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Checked at the start of every run (the bench has no test harness):
/// the messages are about 100 bytes and pass their own check.
pub fn self_check() {
    let mut s = String::new();
    for seq in [0, 1, 999_999] {
        message(seq, &mut s);
        assert!((80..=110).contains(&s.len()), "{s}");
        check(seq, s.as_bytes());
    }
}
