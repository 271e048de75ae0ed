//! wsock against tokio-tungstenite, tokio-websockets and fastwebsockets.
//!
//! One run starts one echo server (in this process, on its own thread) and
//! runs every workload through every library, each client in a child
//! process of its own (this binary, re-executed with `--child`), so that the
//! CPU time and memory it reports are the client's alone. Each child times
//! only its workload (getrusage before and after: user + system time of
//! every thread), and the parent keeps the best of `--repeat` runs, the
//! libraries taking turns so that noise from other work on the machine
//! spreads over all of them.
//!
//! ```text
//! cargo bench --manifest-path benches/compare/Cargo.toml -- [--repeat N] [--scale F]
//!     [--only a,b,...] [--csv PATH]
//! ```
//!
//! Workloads (issue 8):
//! a. one connection, 200,000 messages of 16 B sent back to back, echoes
//!    read concurrently
//! b. 20,000 sequential round trips of 16 B
//! c. 500 messages of 1 MiB streamed
//! d. 200 connections, each 200 round trips of 64 B, all at once
//! e. 1,000 sequential handshakes: connect, then the close handshake
//! f. heap bytes held by an idle open connection (1,000 of them, after one
//!    round trip each)

mod alloc;
mod clients;
mod server;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use clients::{Conn, Lib};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

#[derive(Debug, Clone, Copy)]
struct Workload {
    id: &'static str,
    what: &'static str,
    /// The issue's target for wsock against the best peer.
    target: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// CPU time of the workload; lower is better.
    Cpu,
    /// Operations per CPU second; higher is better.
    Rate,
    /// Heap bytes per connection; lower is better.
    Memory,
}

const WORKLOADS: [Workload; 6] = [
    Workload {
        id: "a",
        what: "200k x 16 B streamed",
        target: "<= 0.5",
        kind: Kind::Cpu,
    },
    Workload {
        id: "b",
        what: "20k x 16 B round trips",
        target: "<= 0.9",
        kind: Kind::Cpu,
    },
    Workload {
        id: "c",
        what: "500 x 1 MiB streamed",
        target: "<= 0.9",
        kind: Kind::Cpu,
    },
    Workload {
        id: "d",
        what: "200 conns x 200 x 64 B round trips",
        target: "<= 0.9",
        kind: Kind::Cpu,
    },
    Workload {
        id: "e",
        what: "1k handshakes (connect + close)",
        target: ">= 1.1",
        kind: Kind::Rate,
    },
    Workload {
        id: "f",
        what: "heap per idle connection",
        target: "<= 4 KiB & below all",
        kind: Kind::Memory,
    },
];

/// What one child reports.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    cpu_us: u64,
    /// The user-space part of `cpu_us` (the rest is the kernel's).
    user_us: u64,
    wall_us: u64,
    rss_kb: u64,
    allocs: u64,
    /// Operations counted (messages, handshakes) or bytes per connection.
    value: f64,
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

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(1)
}

/// Child: runs one workload for one library and prints `RESULT ...`.
fn child(lib: Lib, id: &str, addr: SocketAddr, scale: f64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sample = rt.block_on(async move {
        let measure = |start: (Duration, Duration), wall: Instant, allocs: usize, value: f64| {
            let cpu = cpu_now();
            Sample {
                cpu_us: (cpu.0 - start.0).as_micros() as u64,
                user_us: (cpu.1 - start.1).as_micros() as u64,
                wall_us: wall.elapsed().as_micros() as u64,
                rss_kb: peak_rss_kb(),
                allocs: (alloc::calls() - allocs) as u64,
                value,
            }
        };
        match id {
            "a" | "c" => {
                let (count, size) = if id == "a" {
                    (scaled(200_000, scale), 16)
                } else {
                    (scaled(500, scale), 1 << 20)
                };
                let conn = clients::open(lib, addr).await;
                let (t, w, n) = (cpu_now(), Instant::now(), alloc::calls());
                conn.stream(count, size).await;
                measure(t, w, n, count as f64)
            }
            "b" => {
                let count = scaled(20_000, scale);
                let mut conn = clients::open(lib, addr).await;
                let (t, w, n) = (cpu_now(), Instant::now(), alloc::calls());
                conn.round_trips(count, 16).await;
                let s = measure(t, w, n, count as f64);
                conn.close().await;
                s
            }
            "d" => {
                let (conns, count) = (scaled(200, scale.sqrt()), scaled(200, scale.sqrt()));
                let mut open = Vec::with_capacity(conns);
                for _ in 0..conns {
                    open.push(clients::open(lib, addr).await);
                }
                let (t, w, n) = (cpu_now(), Instant::now(), alloc::calls());
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
                measure(t, w, n, (conns * count) as f64)
            }
            "e" => {
                let count = scaled(1000, scale);
                let (t, w, n) = (cpu_now(), Instant::now(), alloc::calls());
                for _ in 0..count {
                    clients::open(lib, addr).await.close().await;
                }
                measure(t, w, n, count as f64)
            }
            "f" => {
                let count = scaled(1000, scale);
                let mut held = Vec::with_capacity(count);
                // Warm the runtime and allocator with one connection first.
                let mut c = clients::open(lib, addr).await;
                c.round_trips(1, 16).await;
                held.push(c.boxed());
                let before = alloc::live();
                let (t, w, n) = (cpu_now(), Instant::now(), alloc::calls());
                for _ in 0..count {
                    let mut c: Conn = clients::open(lib, addr).await;
                    c.round_trips(1, 16).await;
                    held.push(c.boxed());
                }
                // Let any timer or waker settle before counting.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let per = (alloc::live() - before) as f64 / count as f64;
                let s = measure(t, w, n, per);
                drop(held);
                s
            }
            other => panic!("unknown workload {other}"),
        }
    });
    println!(
        "RESULT {} {} {} {} {} {}",
        sample.cpu_us, sample.wall_us, sample.rss_kb, sample.allocs, sample.value, sample.user_us
    );
    // The runtime may hold connections of the last workload: no need to
    // close them politely.
    std::process::exit(0);
}

fn run_child(lib: Lib, id: &str, addr: SocketAddr, scale: f64) -> Sample {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--child",
            lib.name(),
            id,
            &addr.to_string(),
            &scale.to_string(),
        ])
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
        panic!(
            "{} {id} failed: {}\n{}",
            lib.name(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let f: Vec<&str> = line.split_whitespace().skip(1).collect();
    Sample {
        cpu_us: f[0].parse().expect("cpu"),
        wall_us: f[1].parse().expect("wall"),
        rss_kb: f[2].parse().expect("rss"),
        allocs: f[3].parse().expect("allocs"),
        value: f[4].parse().expect("value"),
        user_us: f[5].parse().expect("user"),
    }
}

/// The figure a workload is judged by: lower is better for Cpu and Memory,
/// higher for Rate.
fn figure(w: &Workload, s: &Sample) -> f64 {
    match w.kind {
        Kind::Cpu => s.cpu_us as f64 / 1000.0,
        Kind::Rate => s.value / (s.cpu_us.max(1) as f64 / 1e6),
        Kind::Memory => s.value,
    }
}

fn better(w: &Workload, a: f64, b: f64) -> bool {
    match w.kind {
        Kind::Rate => a > b,
        _ => a < b,
    }
}

fn fmt_figure(w: &Workload, v: f64) -> String {
    match w.kind {
        Kind::Cpu => format!("{v:.0} ms"),
        Kind::Rate => format!("{v:.0}/s"),
        Kind::Memory => format!("{:.0} B", v),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let lib = Lib::from_name(&args[1]).expect("library");
        child(
            lib,
            &args[2],
            args[3].parse().expect("addr"),
            args[4].parse().expect("scale"),
        );
        return;
    }
    if args.first().map(String::as_str) == Some("--serve") {
        // For profiling one client by hand: `--child LIB ID ADDR SCALE`.
        println!("{}", server::start());
        loop {
            std::thread::park();
        }
    }
    let mut repeat = 3;
    let mut scale = 1.0;
    let mut only: Option<Vec<String>> = None;
    let mut csv = format!(
        "{}/../../target/bench-compare.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeat" => repeat = it.next().and_then(|v| v.parse().ok()).expect("--repeat N"),
            "--scale" => scale = it.next().and_then(|v| v.parse().ok()).expect("--scale F"),
            "--only" => {
                only = Some(
                    it.next()
                        .expect("--only a,b")
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                )
            }
            "--csv" => csv = it.next().expect("--csv PATH").clone(),
            // cargo bench passes --bench; ignore anything else it adds.
            _ => {}
        }
    }
    let addr = server::start();
    let workloads: Vec<Workload> = WORKLOADS
        .into_iter()
        .filter(|w| only.as_ref().is_none_or(|o| o.iter().any(|x| x == w.id)))
        .collect();

    let mut results: Vec<(Workload, Vec<(Lib, Sample)>)> = Vec::new();
    for w in &workloads {
        let mut best: Vec<Option<Sample>> = vec![None; Lib::ALL.len()];
        for r in 0..repeat {
            // Alternate the order so no library always runs first.
            let mut order: Vec<(usize, Lib)> = Lib::ALL.into_iter().enumerate().collect();
            let n = order.len();
            order.rotate_left(r % n);
            for (i, lib) in order {
                let s = run_child(lib, w.id, addr, scale);
                eprintln!(
                    "  {} {:<18} cpu {:>8.1} ms  user {:>8.1} ms  wall {:>8.1} ms  rss {:>7} KiB  value {:.1}",
                    w.id,
                    lib.name(),
                    s.cpu_us as f64 / 1000.0,
                    s.user_us as f64 / 1000.0,
                    s.wall_us as f64 / 1000.0,
                    s.rss_kb,
                    s.value
                );
                let keep = match &best[i] {
                    None => true,
                    Some(b) => better(w, figure(w, &s), figure(w, b)),
                };
                if keep {
                    best[i] = Some(s);
                }
            }
        }
        let row = Lib::ALL
            .into_iter()
            .zip(best)
            .map(|(l, s)| (l, s.expect("sample")))
            .collect();
        results.push((*w, row));
    }

    print_table(&results, repeat, scale);
    write_csv(&csv, &results);
}

fn print_table(results: &[(Workload, Vec<(Lib, Sample)>)], repeat: usize, scale: f64) {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nClient CPU time (user+sys), best of {repeat}{}; (x) = ratio to the best peer",
        if scale != 1.0 {
            format!(", scale {scale}")
        } else {
            String::new()
        }
    );
    let _ = write!(t, "| workload | target |");
    for l in Lib::ALL {
        let _ = write!(t, " {} |", l.name());
    }
    let _ = writeln!(t, "\n|---|---|---:|---:|---:|---:|");
    for (w, row) in results {
        let best_peer = row
            .iter()
            .filter(|(l, _)| *l != Lib::Wsock)
            .map(|(_, s)| figure(w, s))
            .reduce(|a, b| if better(w, a, b) { a } else { b })
            .unwrap_or(f64::NAN);
        let _ = write!(t, "| {}. {} | {} |", w.id, w.what, w.target);
        for (_, s) in row {
            let v = figure(w, s);
            let _ = write!(t, " {} ({:.2}) |", fmt_figure(w, v), v / best_peer);
        }
        let _ = writeln!(t);
    }
    let _ = writeln!(t, "\nWall time and peak RSS of the client process");
    let _ = write!(t, "| workload |");
    for l in Lib::ALL {
        let _ = write!(t, " {} |", l.name());
    }
    let _ = writeln!(t, "\n|---|---:|---:|---:|---:|");
    for (w, row) in results {
        let _ = write!(t, "| {}. {} |", w.id, w.what);
        for (_, s) in row {
            let _ = write!(
                t,
                " {:.0} ms, {:.1} MiB |",
                s.wall_us as f64 / 1000.0,
                s.rss_kb as f64 / 1024.0
            );
        }
        let _ = writeln!(t);
    }
    print!("{t}");
}

fn write_csv(path: &str, results: &[(Workload, Vec<(Lib, Sample)>)]) {
    let mut c = String::from(
        "workload,what,target,kind,lib,figure,cpu_us,wall_us,rss_kb,allocs,value,user_us\n",
    );
    for (w, row) in results {
        for (l, s) in row {
            let _ = writeln!(
                c,
                "{},{},{},{:?},{},{:.3},{},{},{},{},{:.3},{}",
                w.id,
                w.what,
                w.target,
                w.kind,
                l.name(),
                figure(w, s),
                s.cpu_us,
                s.wall_us,
                s.rss_kb,
                s.allocs,
                s.value,
                s.user_us
            );
        }
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(path, c) {
        Ok(()) => println!("\nresults written to {path}"),
        Err(e) => eprintln!("cannot write {path}: {e}"),
    }
}
