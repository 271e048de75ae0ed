//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split into frames, and a frame into reads, at any
//! byte, even inside a character. [`Utf8Validator`] validates each piece
//! (with the SIMD validator of the simdutf8 crate from 64 bytes up, std's
//! below), keeps an incomplete character at the end of a piece (at most 3
//! bytes) for the next one, and fails as soon as the bytes seen so far can no longer be the
//! beginning of valid UTF-8, as RFC 6455 section 8.1 asks ("fail the
//! connection" on invalid data, without waiting for the end of the message).
//!
//! ```
//! use wsock::proto::utf8::Utf8Validator;
//!
//! let euro = "€".as_bytes(); // E2 82 AC
//! let mut v = Utf8Validator::new();
//! v.feed(b"1 ").unwrap();
//! v.feed(&euro[..1]).unwrap();
//! v.feed(&euro[1..]).unwrap();
//! v.finish().unwrap();
//!
//! // A surrogate (ED A0 80) fails on its second byte.
//! assert!(v.feed(&[0xED, 0xA0]).is_err());
//! ```

use super::ProtocolError;

/// Validates UTF-8 fed in pieces. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// The beginning of a character split across pieces.
    partial: [u8; 4],
    /// How many bytes of `partial` are used (0 to 3).
    partial_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Validates the next piece. `Ok` when everything so far is valid UTF-8
    /// or the valid beginning of it (an incomplete last character is kept
    /// for the next call); [`ProtocolError::InvalidUtf8`] as soon as it is
    /// not. After an error the validator's state is unspecified until
    /// [`reset`](Self::reset).
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ProtocolError> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = char_width(self.partial[0]).saturating_sub(have);
            let take = need.min(bytes.len());
            self.partial[have..have + take].copy_from_slice(&bytes[..take]);
            let now = have + take;
            match std::str::from_utf8(&self.partial[..now]) {
                Ok(_) => {
                    self.partial_len = 0;
                    bytes = &bytes[take..];
                }
                // Still a valid beginning: `bytes` was too short to finish it.
                Err(e) if e.error_len().is_none() => {
                    self.partial_len = now as u8;
                    return Ok(());
                }
                Err(_) => return Err(ProtocolError::InvalidUtf8),
            }
        }
        // Cut off a character that the piece ends inside of; everything
        // before the cut must be valid UTF-8 on its own.
        let cut = incomplete_tail(bytes);
        let (body, rest) = bytes.split_at(cut);
        if !is_valid(body) {
            return Err(ProtocolError::InvalidUtf8);
        }
        if rest.is_empty() {
            return Ok(());
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            // A valid beginning of a character: keep it for the next piece.
            Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => {
                self.partial[..rest.len()].copy_from_slice(rest);
                self.partial_len = rest.len() as u8;
                Ok(())
            }
            Err(_) => Err(ProtocolError::InvalidUtf8),
        }
    }

    /// Ends the message: [`ProtocolError::InvalidUtf8`] if it stopped inside
    /// a character. The validator is then ready for the next message.
    pub fn finish(&mut self) -> Result<(), ProtocolError> {
        let incomplete = self.partial_len != 0;
        self.partial_len = 0;
        if incomplete {
            Err(ProtocolError::InvalidUtf8)
        } else {
            Ok(())
        }
    }

    /// Forgets any incomplete character: back to the start of a message.
    pub fn reset(&mut self) {
        self.partial_len = 0;
    }

    /// True when the last piece ended inside a character.
    pub fn is_incomplete(&self) -> bool {
        self.partial_len != 0
    }
}

/// The length of the character a leading byte starts (1 for ASCII and
/// for bytes that cannot start one; those fail validation anyway).
fn char_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xFF => 4,
        _ => 1,
    }
}

/// Where a character that `bytes` ends inside of begins (`bytes.len()` if
/// the last character is whole, or the end is not a character at all).
/// Only the last three bytes can start such a character.
fn incomplete_tail(bytes: &[u8]) -> usize {
    let len = bytes.len();
    for back in 1..=len.min(3) {
        let b = bytes[len - back];
        if b & 0xC0 != 0x80 {
            // The last byte that is not a continuation byte.
            return if char_width(b) > back {
                len - back
            } else {
                len
            };
        }
    }
    len
}

/// Inputs shorter than this go to std's validator: simdutf8's set-up
/// does not pay for a few bytes.
const SIMD_MIN: usize = 64;

/// Whole-slice validation. Long inputs use simdutf8 (AVX2 or SSE4.2,
/// picked at run time, with a portable fallback), which keeps multi-byte
/// text above 8 GB/s where std's validator manages about 2 GB/s; this
/// crate stays free of `unsafe` code, the SIMD is simdutf8's.
pub(crate) fn is_valid(bytes: &[u8]) -> bool {
    if bytes.len() < SIMD_MIN {
        std::str::from_utf8(bytes).is_ok()
    } else {
        simdutf8::basic::from_utf8(bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` split at every pair of points and compares with
    /// `from_utf8` on the whole.
    fn check_all_splits(bytes: &[u8]) {
        let whole = std::str::from_utf8(bytes).is_ok();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut v = Utf8Validator::new();
                let r = v
                    .feed(&bytes[..i])
                    .and_then(|()| v.feed(&bytes[i..j]))
                    .and_then(|()| v.feed(&bytes[j..]))
                    .and_then(|()| v.finish());
                assert_eq!(r.is_ok(), whole, "{bytes:x?} split at {i}, {j}");
            }
        }
    }

    #[test]
    fn splits() {
        let samples: &[&[u8]] = &[
            b"",
            b"hello",
            "κόσμε".as_bytes(),
            "a€b𝄞c".as_bytes(),
            "\u{10FFFF}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}".as_bytes(),
            &[0xC0, 0x80],
            &[0xED, 0xA0, 0x80],
            &[0xF4, 0x90, 0x80, 0x80],
            &[0xF0, 0x9F, 0x98],
            &[0xE2, 0x82, 0x41],
            &[0x80],
            &[0xFF],
            &[b'a', 0xF0, 0x9F, 0x98, 0x80, 0xF0],
        ];
        for s in samples {
            check_all_splits(s);
        }
    }

    /// Long inputs (the SIMD path) against std, valid and with one bad
    /// byte at many places, fed whole and in pieces of several sizes.
    #[test]
    fn long_inputs_agree_with_std() {
        let text = "ascii then Größe, 速い茶色の狐, 🦀🚀 and \u{10FFFF} again; ".repeat(6);
        let base = text.as_bytes();
        let bad_bytes = [0x80u8, 0xC0, 0xED, 0xF5, 0xFF, b'x'];
        let mut cases = vec![base.to_vec()];
        for at in (0..base.len()).step_by(7) {
            for &b in &bad_bytes {
                let mut v = base.to_vec();
                v[at] = b;
                cases.push(v);
            }
            cases.push(base[..at].to_vec());
        }
        for case in &cases {
            let want = std::str::from_utf8(case).is_ok();
            for piece in [1, 2, 3, 5, 63, 64, 65, 100, 1000] {
                let mut v = Utf8Validator::new();
                let r = case
                    .chunks(piece)
                    .try_for_each(|p| v.feed(p))
                    .and_then(|()| v.finish());
                assert_eq!(r.is_ok(), want, "piece {piece}: {case:x?}");
            }
        }
    }

    #[test]
    fn incomplete_tail_points_at_a_cut_character() {
        assert_eq!(incomplete_tail(b""), 0);
        assert_eq!(incomplete_tail(b"ab"), 2);
        assert_eq!(incomplete_tail("a€".as_bytes()), 4);
        assert_eq!(incomplete_tail(&"a€".as_bytes()[..3]), 1);
        assert_eq!(incomplete_tail(&[b'a', 0xF0, 0x9F, 0x98]), 1);
        assert_eq!(incomplete_tail(&[0x80, 0x80, 0x80]), 3);
        assert_eq!(incomplete_tail(&[b'a', 0xFF]), 1);
    }

    #[test]
    fn fails_early() {
        // Overlong, surrogate and out-of-range sequences fail on the byte
        // that makes them impossible, before the character would end.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xC0]), Err(ProtocolError::InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(&[0xED]).unwrap();
        assert_eq!(v.feed(&[0xA0]), Err(ProtocolError::InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(&[0xF4]).unwrap();
        assert_eq!(v.feed(&[0x90]), Err(ProtocolError::InvalidUtf8));
        let mut v = Utf8Validator::new();
        v.feed(&[0xF0, 0x9F]).unwrap();
        assert!(v.is_incomplete());
        v.feed(&[0x98]).unwrap();
        assert_eq!(v.feed(b"x"), Err(ProtocolError::InvalidUtf8));
    }

    #[test]
    fn finish_and_reset() {
        let mut v = Utf8Validator::new();
        v.feed(&[0xE2, 0x82]).unwrap();
        assert_eq!(v.finish(), Err(ProtocolError::InvalidUtf8));
        assert!(!v.is_incomplete());
        v.feed(&[0xE2]).unwrap();
        v.reset();
        v.feed(b"ok").unwrap();
        v.finish().unwrap();
    }
}
