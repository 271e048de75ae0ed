//! One client process: runs one workload for one library against one
//! server and prints `RESULT ...` (CPU time of the workload alone, from
//! getrusage, wall time, peak RSS, allocations, and the workload's value).
//!
//! With `zero`, the workload does all its setup (connections opened, the
//! firehose asked for) but sends and receives no message and makes no
//! timed handshake: the baseline that the instruction counts subtract.

use std::any::Any;
use std::time::{Duration, Instant};

use crate::alloc;
use crate::clients::{self, Lib, Target};
use crate::firehose;

/// What one child reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub cpu_us: u64,
    /// The user-space part of `cpu_us` (the rest is the kernel's).
    pub user_us: u64,
    pub wall_us: u64,
    pub rss_kb: u64,
    pub allocs: u64,
    /// Operations counted (messages, handshakes) or bytes per connection.
    pub value: f64,
}

impl Sample {
    pub fn line(&self) -> String {
        format!(
            "RESULT {} {} {} {} {} {}",
            self.cpu_us, self.wall_us, self.rss_kb, self.allocs, self.value, self.user_us
        )
    }

    pub fn parse(stdout: &str) -> Option<Sample> {
        let line = stdout.lines().find(|l| l.starts_with("RESULT "))?;
        let f: Vec<&str> = line.split_whitespace().skip(1).collect();
        Some(Sample {
            cpu_us: f[0].parse().ok()?,
            wall_us: f[1].parse().ok()?,
            rss_kb: f[2].parse().ok()?,
            allocs: f[3].parse().ok()?,
            value: f[4].parse().ok()?,
            user_us: f[5].parse().ok()?,
        })
    }
}

/// CPU time of this process so far: (user + system, user).
fn cpu_now() -> (Duration, Duration) {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (tv(ru.ru_utime) + tv(ru.ru_stime), tv(ru.ru_utime))
}

/// Peak resident set of this process, in KiB. (Not getrusage's
/// `ru_maxrss`: Linux carries that across exec, so a child would report the
/// parent's peak.)
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// The operations a workload counts at `scale` (messages, round trips,
/// handshakes): what an instruction count is divided by.
pub fn ops(id: &str, scale: f64) -> usize {
    match id {
        "a" => scaled(200_000, scale),
        "b" => scaled(20_000, scale),
        "c" => scaled(500, scale),
        "d" => scaled(200, scale.sqrt()) * scaled(200, scale.sqrt()),
        "e" => scaled(1000, scale),
        "h" => scaled(1_000_000, scale),
        "f" | "g" => scaled(10_000, scale),
        other => panic!("unknown workload {other}"),
    }
}

struct Clock {
    cpu: (Duration, Duration),
    wall: Instant,
    allocs: usize,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            cpu: cpu_now(),
            wall: Instant::now(),
            allocs: alloc::calls(),
        }
    }

    fn stop(self, value: f64) -> Sample {
        let cpu = cpu_now();
        Sample {
            cpu_us: (cpu.0 - self.cpu.0).as_micros() as u64,
            user_us: (cpu.1 - self.cpu.1).as_micros() as u64,
            wall_us: self.wall.elapsed().as_micros() as u64,
            rss_kb: peak_rss_kb(),
            allocs: (alloc::calls() - self.allocs) as u64,
            value,
        }
    }
}

/// Runs workload `id` and prints its `RESULT` line, then exits.
pub fn run(lib: Lib, id: &str, mut target: Target, scale: f64, zero: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let id = id.to_owned();
    let sample = rt.block_on(async move {
        let n = |count: usize| if zero { 0 } else { count };
        match id.as_str() {
            "a" | "c" => {
                let size = if id == "a" { 16 } else { 1 << 20 };
                let count = n(ops(&id, scale));
                let conn = clients::open(lib, &target).await;
                let clock = Clock::start();
                conn.stream(count, size).await;
                clock.stop(count as f64)
            }
            "b" => {
                let count = n(ops(&id, scale));
                let mut conn = clients::open(lib, &target).await;
                let clock = Clock::start();
                conn.round_trips(count, 16).await;
                let s = clock.stop(count as f64);
                conn.close().await;
                s
            }
            "d" => {
                let (conns, count) = (scaled(200, scale.sqrt()), n(scaled(200, scale.sqrt())));
                let mut open = Vec::with_capacity(conns);
                for _ in 0..conns {
                    open.push(clients::open(lib, &target).await);
                }
                let clock = Clock::start();
                let tasks: Vec<_> = open
                    .into_iter()
                    .map(|mut c| {
                        tokio::spawn(async move {
                            c.round_trips(count, 64).await;
                            c
                        })
                    })
                    .collect();
                let mut done = Vec::with_capacity(conns);
                for t in tasks {
                    done.push(t.await.expect("task"));
                }
                clock.stop((conns * count) as f64)
            }
            "e" => {
                let count = n(ops(&id, scale));
                let clock = Clock::start();
                for _ in 0..count {
                    clients::open(lib, &target).await.close().await;
                }
                clock.stop(count as f64)
            }
            "h" => {
                let count = n(ops(&id, scale));
                target.path = firehose::path(count);
                let mut conn = clients::open(lib, &target).await;
                let clock = Clock::start();
                conn.firehose(count).await;
                clock.stop(count as f64)
            }
            "f" => idle_connections(lib, &target, ops("f", scale)).await,
            other => panic!("unknown workload {other}"),
        }
    });
    println!("{}", sample.line());
    // The runtime may hold connections of the last workload: no need to
    // close them politely.
    std::process::exit(0);
}

/// `count` connections opened one after the other (untimed), then one
/// round trip of 16 B on each, all at once (timed: the sample's CPU time),
/// then the heap bytes each connection holds once idle (the sample's
/// value). With `WSOCK_COMPARE_SEQ` set (a diagnostic), the round trip is
/// made on each connection as it opens instead, one after the other.
async fn idle_connections(lib: Lib, target: &Target, count: usize) -> Sample {
    let mut held: Vec<Box<dyn Any + Send>> = Vec::with_capacity(count + 1);
    // Warm the runtime and allocator with one connection first.
    let mut c = clients::open(lib, target).await;
    c.round_trips(1, 16).await;
    held.push(c.boxed());
    let before = alloc::live();
    let mut open = Vec::with_capacity(count);
    let seq = std::env::var_os("WSOCK_COMPARE_SEQ").is_some();
    for _ in 0..count {
        let mut c = clients::open(lib, target).await;
        if seq {
            c.round_trips(1, 16).await;
        }
        open.push(c);
    }
    let clock = Clock::start();
    let tasks: Vec<_> = open
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                if !seq {
                    c.round_trips(1, 16).await;
                }
                c.boxed()
            })
        })
        .collect();
    for t in tasks {
        held.push(t.await.expect("task"));
    }
    let mut s = clock.stop(0.0);
    // Let any timer or waker settle before counting.
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.value = (alloc::live() - before) as f64 / count as f64;
    s
}
