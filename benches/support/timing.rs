//! A small timing loop for the micro-benchmarks, in place of a framework:
//! run a closure in batches sized to about 0.1 s, keep the best of several
//! batches, and report time per call (and bytes per second when given).
//!
//! Time is this thread's CPU time from `/proc/thread-self/schedstat`
//! (nanoseconds), so that other work on a shared machine inflates it less
//! than wall time; where that file is missing, wall time.

use std::hint::black_box;
use std::time::Instant;

/// Nanoseconds of CPU time this thread has used, if the kernel says.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// A clock: CPU time of this thread where available, else wall time.
struct Clock {
    wall: Instant,
    cpu: Option<u64>,
}

impl Clock {
    fn start() -> Self {
        Clock {
            cpu: thread_cpu_ns(),
            wall: Instant::now(),
        }
    }

    fn elapsed_ns(&self) -> f64 {
        match (self.cpu, thread_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64,
            _ => self.wall.elapsed().as_nanos() as f64,
        }
    }
}

/// The benchmarks to run: those whose name contains the first command-line
/// argument that is not a flag (`cargo bench -- mask` runs the masking ones).
pub(crate) fn selected(name: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(filter) => name.contains(&filter),
        None => true,
    }
}

/// Times `f`, printing the best time per call of 5 batches and, when
/// `bytes` is given (bytes processed per call), the throughput.
pub(crate) fn bench<T>(name: &str, bytes: Option<usize>, mut f: impl FnMut() -> T) {
    if !selected(name) {
        return;
    }
    // Grow the batch until it takes about 0.1 s.
    let mut iters: u64 = 1;
    loop {
        let c = Clock::start();
        for _ in 0..iters {
            black_box(f());
        }
        let ns = c.elapsed_ns();
        if ns > 1e8 || iters > 1 << 40 {
            break;
        }
        let factor = if ns < 1e6 {
            10.0
        } else {
            (1.2e8 / ns).max(1.5)
        };
        iters = (iters as f64 * factor) as u64;
    }
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let c = Clock::start();
        for _ in 0..iters {
            black_box(f());
        }
        best = best.min(c.elapsed_ns() / iters as f64);
    }
    match bytes {
        Some(b) => println!(
            "{name:<44} {:>12} {:>10.2} GB/s",
            fmt_ns(best),
            b as f64 / best
        ),
        None => println!("{name:<44} {:>12}", fmt_ns(best)),
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}
