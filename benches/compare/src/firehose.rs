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

/// Checks that `text` is message `seq`, field by field in one pass (as a
/// feed handler parsing its fixed schema would): the sequence number in
/// order, the symbol, the side, a price and a quantity in range, the
/// timestamp, the braces. Panics otherwise (a benchmark that got the wrong
/// data must not print a figure). Every library pays the same for it.
pub fn check(seq: usize, text: &[u8]) {
    let bad = |what: &str| -> ! { panic!("firehose message {seq}: {what}") };
    let rest = text
        .strip_prefix(b"{\"seq\":")
        .unwrap_or_else(|| bad("seq"));
    let (n, rest) = number(rest);
    if n != seq {
        bad("out of order");
    }
    let rest = rest
        .strip_prefix(b",\"sym\":\"BTC-USD\",\"side\":\"")
        .unwrap_or_else(|| bad("sym"));
    let rest = rest
        .strip_prefix(b"buy\"")
        .or_else(|| rest.strip_prefix(b"sell\""))
        .unwrap_or_else(|| bad("side"));
    let rest = rest.strip_prefix(b",\"px\":").unwrap_or_else(|| bad("px"));
    let (_, rest) = number(rest);
    let rest = rest.strip_prefix(b".").unwrap_or_else(|| bad("px"));
    let (_, rest) = number(rest);
    let rest = rest
        .strip_prefix(b",\"qty\":")
        .unwrap_or_else(|| bad("qty"));
    let (qty, rest) = number(rest);
    if !(1..=50).contains(&qty) {
        bad("qty");
    }
    let rest = rest.strip_prefix(b",\"ts\":").unwrap_or_else(|| bad("ts"));
    let (_, rest) = number(rest);
    if rest != b"}" {
        bad("end");
    }
}

/// The decimal number at the start of `digits`, and what follows it.
fn number(digits: &[u8]) -> (usize, &[u8]) {
    let end = digits
        .iter()
        .position(|d| !d.is_ascii_digit())
        .unwrap_or(digits.len());
    assert!(end > 0, "a number");
    let n = digits[..end]
        .iter()
        .fold(0, |n, &d| n * 10 + (d - b'0') as usize);
    (n, &digits[end..])
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
    // And it refuses what it must: out of order, or a field changed.
    message(7, &mut s);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let wrong = [
        (8, s.clone()),
        (7, s.replace("BTC", "ETH")),
        (7, s.replace("\"qty\":8", "\"qty\":80")),
        (7, s.replace('}', "")),
    ];
    for (seq, text) in wrong {
        assert!(
            std::panic::catch_unwind(|| check(seq, text.as_bytes())).is_err(),
            "the firehose check took {text}"
        );
    }
    std::panic::set_hook(hook);
}
