//! The progress line of stream mode: bytes sent and received and their
//! rates, on standard error.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When and how the line is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    started: Instant,
    /// On a terminal the line is redrawn in place, four times a second;
    /// elsewhere (asked for with `--progress`) a new line each second, so
    /// that a log does not fill with carriage returns.
    terminal: bool,
}

impl Progress {
    /// A progress line when standard error is a terminal or `asked` is set.
    pub(crate) fn new(asked: bool) -> Option<Progress> {
        let terminal = std::io::stderr().is_terminal();
        (asked || terminal).then(|| Progress {
            started: Instant::now(),
            terminal,
        })
    }

    /// Draws the line until aborted.
    pub(crate) async fn run(self, sent: Arc<AtomicU64>, received: Arc<AtomicU64>) {
        let period = if self.terminal {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(1)
        };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tick.tick().await;
            self.draw(&sent, &received, false);
        }
    }

    /// The last line, with the totals.
    pub(crate) fn finish(self, sent: &AtomicU64, received: &AtomicU64) {
        self.draw(sent, received, true);
    }

    fn draw(&self, sent: &AtomicU64, received: &AtomicU64, last: bool) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let (s, r) = (
            sent.load(Ordering::Relaxed),
            received.load(Ordering::Relaxed),
        );
        let line = format!(
            "sent {} ({}/s), received {} ({}/s)",
            size(s as f64),
            size(s as f64 / secs),
            size(r as f64),
            size(r as f64 / secs),
        );
        let mut err = std::io::stderr().lock();
        // Errors writing the progress line are not worth failing for.
        let _ = if self.terminal {
            // Padding wipes what a longer line before left.
            write!(err, "\r{line:<70}{}", if last { "\n" } else { "" })
        } else {
            writeln!(err, "{line}")
        };
    }
}

/// Bytes with a binary unit.
fn size(n: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_the_largest_unit_below_them() {
        assert_eq!(size(512.0), "512 B");
        assert_eq!(size(1536.0), "1.5 KiB");
        assert_eq!(size(4.0 * 1024.0 * 1024.0), "4.0 MiB");
    }
}
