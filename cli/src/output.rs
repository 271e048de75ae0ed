//! What the client writes: incoming messages (to standard output or a
//! file), and the last line on standard error with the exit status that
//! goes with it.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use wsock::{Message, MessageType};

use crate::args::BinaryAs;

/// Where incoming data goes.
pub(crate) enum Sink {
    Stdout(io::Stdout),
    File(File),
}

impl Sink {
    /// Standard output, or `path` opened for appending (created if need be),
    /// so that several runs can gather into one file.
    pub(crate) fn open(path: Option<&Path>) -> io::Result<Sink> {
        Ok(match path {
            None => Sink::Stdout(io::stdout()),
            Some(p) => Sink::File(OpenOptions::new().create(true).append(true).open(p)?),
        })
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(s) => s.write(buf),
            Sink::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(s) => s.flush(),
            Sink::File(f) => f.flush(),
        }
    }
}

/// Writes one message: text as it is and a line end, binary as hex and a
/// line end or as raw bytes. Flushed at once: someone may be watching.
pub(crate) fn write_message(out: &mut Sink, m: &Message, binary_as: BinaryAs) -> io::Result<()> {
    match (m.message_type(), binary_as) {
        (MessageType::Utf8, _) => {
            out.write_all(m.data())?;
            out.write_all(b"\n")?;
        }
        (MessageType::Binary, BinaryAs::Hex) => {
            let mut line = hex(m.data());
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        (MessageType::Binary, BinaryAs::Raw) => out.write_all(m.data())?,
    }
    out.flush()
}

/// Lower-case hex digits, two per byte, nothing between them.
pub(crate) fn hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len() * 2 + 1);
    for b in data {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// How a run ended.
#[derive(Debug)]
pub(crate) enum End {
    /// The close handshake: the server's code and reason.
    Closed(u16, String),
    /// The library failed.
    Failed(wsock::Error),
    /// Something on this side failed (standard input or output, a file).
    Local(String),
}

impl End {
    /// Prints the last line on standard error and gives the exit status:
    /// 0 for a normal close, 1 for an error, 3 for another close code (2,
    /// bad usage, is main's).
    pub(crate) fn report(self) -> ExitCode {
        match self {
            End::Closed(code, reason) => {
                if reason.is_empty() {
                    eprintln!("closed: {code}");
                } else {
                    eprintln!("closed: {code} {reason}");
                }
                // 1005 is a close frame without a code: a clean close all
                // the same, as the library's stream socket counts it.
                match code {
                    1000 | 1001 | 1005 => ExitCode::SUCCESS,
                    _ => ExitCode::from(3),
                }
            }
            End::Failed(e) => {
                eprintln!("error: {} (WebErrorStatus::{})", e.report(), e.status());
                ExitCode::FAILURE
            }
            End::Local(what) => {
                eprintln!("error: {what}");
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(hex(&[]), "");
    }
}
