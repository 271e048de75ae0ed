//! wsock against tokio-tungstenite, tokio-websockets and fastwebsockets.
//!
//! One run starts two echo servers (wsock's core in a read-decode-write
//! loop, and tokio-websockets' server writing each message on its own),
//! each on `ws://` and `wss://` (the run's own CA), in this process, and
//! runs every workload through every library against each, each client in
//! a child process of its own (this binary, re-executed with `--child`), so
//! that the CPU time and memory it reports are the client's alone. Each
//! child times only its workload (getrusage before and after: user +
//! system time of every thread); the libraries take turns within each of
//! `--repeat` rounds, and each cell shows the median and the minimum.
//!
//! ```text
//! cargo bench --manifest-path benches/compare/Cargo.toml -- [--repeat N] [--scale F]
//!     [--only a,b,...] [--servers core,tws] [--plain-only] [--csv PATH]
//!     [--instructions [--instructions-scale F]]
//! ```
//!
//! `--instructions` adds user-space instructions per operation under
//! callgrind (see `instr.rs`); `--repeat 0` gives those alone.
//!
//! Workloads (issues 8 and 18; `wss` marks those run over TLS too):
//! a. one connection, 200,000 messages of 16 B sent back to back, echoes
//!    read concurrently
//! b. 20,000 sequential round trips of 16 B (wss)
//! c. 500 messages of 1 MiB streamed (wss)
//! d. 200 connections, each 200 round trips of 64 B, all at once
//! e. 1,000 sequential handshakes: connect, then the close handshake (wss)
//! h. firehose: the server pushes 1,000,000 JSON-like text messages of
//!    about 100 B; the client checks each (wss)
//! f. 10,000 connections open at once: heap bytes each holds when idle
//! g. the same 10,000: one round trip on each, all at once (same children
//!    as f)

mod alloc;
mod child;
mod clients;
mod firehose;
mod instr;
mod report;
mod server;
mod tls;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use child::Sample;
use clients::{Lib, Target};
use server::Server;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub id: &'static str,
    pub what: &'static str,
    /// The issue's target for wsock against the best peer, over ws://.
    pub target: &'static str,
    /// Over wss:// (None: not run over TLS).
    pub tls_target: Option<&'static str>,
    /// The target for instructions per operation (None: not counted).
    pub instr_target: Option<&'static str>,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// CPU time of the workload; lower is better.
    Cpu,
    /// Heap bytes per connection; lower is better.
    Memory,
}

const WORKLOADS: [Workload; 8] = [
    Workload {
        id: "a",
        what: "200k x 16 B streamed",
        target: "<= 1.0",
        tls_target: None,
        instr_target: Some("<= 0.5"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "b",
        what: "20k x 16 B round trips",
        target: "<= 1.0",
        tls_target: Some("<= 1.0"),
        instr_target: Some("<= 1.0"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "c",
        what: "500 x 1 MiB streamed",
        target: "<= 0.8",
        tls_target: Some("<= 0.8"),
        instr_target: Some("<= 0.5"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "d",
        what: "200 conns x 200 x 64 B round trips",
        target: "<= 1.0",
        tls_target: None,
        instr_target: Some("<= 1.0"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "e",
        what: "1k handshakes (connect + close)",
        target: "<= 1.0",
        tls_target: Some("<= 0.8"),
        instr_target: Some("<= 1.0"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "h",
        what: "firehose: 1M x ~100 B text pushed",
        target: "<= 0.8",
        tls_target: Some("<= 0.8"),
        instr_target: Some("<= 0.5"),
        kind: Kind::Cpu,
    },
    Workload {
        id: "f",
        what: "10k conns: heap per idle connection",
        target: "<= 2.5 KB, <= 1.0",
        tls_target: None,
        instr_target: None,
        kind: Kind::Memory,
    },
    Workload {
        id: "g",
        what: "10k conns: 1 round trip on each, at once",
        target: "<= 1.0",
        tls_target: None,
        instr_target: None,
        kind: Kind::Cpu,
    },
];

/// One row of the table: a workload against one server, plain or TLS.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub w: Workload,
    pub server: Server,
    pub tls: bool,
}

impl Row {
    pub fn target(&self) -> &'static str {
        if self.tls {
            self.w.tls_target.unwrap_or(self.w.target)
        } else {
            self.w.target
        }
    }

    /// The workload whose children give this row's samples (g is f's).
    fn runs_as(&self) -> &'static str {
        if self.w.id == "g" { "f" } else { self.w.id }
    }
}

/// Every sample of every library in one row.
pub type Samples = Vec<(Lib, Vec<Sample>)>;

/// A row's results: every sample of every library, and the instruction
/// counts when asked for.
pub struct RowResult {
    pub row: Row,
    pub samples: Samples,
    pub instr: Option<Vec<f64>>,
}

/// The arguments of a `--child` run.
pub fn child_args(lib: Lib, id: &str, target: &Target, scale: f64, zero: bool) -> Vec<String> {
    vec![
        "--child".into(),
        lib.name().into(),
        id.into(),
        target.addr.to_string(),
        if target.tls { "wss" } else { "ws" }.into(),
        scale.to_string(),
        if zero { "zero" } else { "full" }.into(),
    ]
}

/// What every child's server needs: the TLS configuration, and the CA
/// the children trust.
pub struct Servers {
    config: Arc<rustls::ServerConfig>,
    pub ca_hex: String,
}

impl Servers {
    /// A fresh server for one client process of `row`, and the target.
    pub fn start(&self, row: &Row) -> (server::Running, Target) {
        let running = server::start(row.server, row.tls.then(|| self.config.clone()));
        let target = Target {
            addr: running.addr,
            tls: row.tls,
            path: "/".into(),
        };
        (running, target)
    }
}

fn run_child(lib: Lib, id: &str, target: &Target, scale: f64, ca_hex: &str) -> Sample {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(child_args(lib, id, target, scale, false))
        .env(tls::CA_ENV, ca_hex)
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Sample::parse(&stdout).unwrap_or_else(|| {
        panic!(
            "{} {id} {} failed: {}\n{}",
            lib.name(),
            target.url(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

struct Options {
    repeat: usize,
    scale: f64,
    only: Option<Vec<String>>,
    servers: Vec<Server>,
    plain_only: bool,
    csv: String,
    instructions: bool,
    instr_scale: f64,
}

fn options(args: &[String]) -> Options {
    let mut o = Options {
        repeat: 5,
        scale: 1.0,
        only: None,
        servers: Server::ALL.to_vec(),
        plain_only: false,
        csv: format!(
            "{}/../../target/bench-compare.csv",
            env!("CARGO_MANIFEST_DIR")
        ),
        instructions: false,
        instr_scale: 0.05,
    };
    let list = |v: Option<&String>, what: &str| -> Vec<String> {
        v.unwrap_or_else(|| panic!("{what} a,b"))
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeat" => o.repeat = it.next().and_then(|v| v.parse().ok()).expect("--repeat N"),
            "--scale" => o.scale = it.next().and_then(|v| v.parse().ok()).expect("--scale F"),
            "--only" => o.only = Some(list(it.next(), "--only")),
            "--servers" => {
                o.servers = list(it.next(), "--servers")
                    .iter()
                    .map(|s| Server::from_name(s).expect("server: core or tws"))
                    .collect()
            }
            "--plain-only" => o.plain_only = true,
            "--csv" => o.csv = it.next().expect("--csv PATH").clone(),
            "--instructions" => o.instructions = true,
            "--instructions-scale" => {
                o.instr_scale = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--instructions-scale F")
            }
            // cargo bench passes --bench; ignore anything else it adds.
            _ => {}
        }
    }
    o
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let lib = Lib::from_name(&args[1]).expect("library");
        let target = Target {
            addr: args[3].parse().expect("addr"),
            tls: args[4] == "wss",
            path: "/".into(),
        };
        child::run(
            lib,
            &args[2],
            target,
            args[5].parse().expect("scale"),
            args[6] == "zero",
        );
        return;
    }
    let (ca, server_config) = tls::make();
    let ca_hex = tls::to_hex(&ca);
    if args.first().map(String::as_str) == Some("--serve") {
        // For profiling one client by hand:
        // `WSOCK_COMPARE_CA=HEX compare --child LIB ID ADDR ws|wss SCALE full`.
        println!("{}={ca_hex}", tls::CA_ENV);
        let mut running = Vec::new();
        for s in Server::ALL {
            for tls in [false, true] {
                let r = server::start(s, tls.then(|| server_config.clone()));
                println!("{} {} {}", s.name(), if tls { "wss" } else { "ws" }, r.addr);
                running.push(r);
            }
        }
        loop {
            std::thread::park();
        }
    }
    let servers = Servers {
        config: server_config,
        ca_hex,
    };
    let o = options(&args);
    firehose::self_check();
    let mut rows = Vec::new();
    for w in WORKLOADS {
        if !o.only.as_ref().is_none_or(|l| l.iter().any(|x| x == w.id)) {
            continue;
        }
        for &server in &o.servers {
            rows.push(Row {
                w,
                server,
                tls: false,
            });
            if w.tls_target.is_some() && !o.plain_only {
                rows.push(Row {
                    w,
                    server,
                    tls: true,
                });
            }
        }
    }

    let mut done: HashMap<(&'static str, &'static str, bool), Samples> = HashMap::new();
    let mut results = Vec::new();
    for row in rows {
        let key = (row.runs_as(), row.server.name(), row.tls);
        let samples = if let Some(s) = done.get(&key) {
            s.clone()
        } else {
            let s = run_row(&row, &o, &servers);
            done.insert(key, s.clone());
            s
        };
        let instr = (o.instructions && row.w.instr_target.is_some()).then(|| {
            Lib::ALL
                .into_iter()
                .map(|lib| {
                    let v = instr::per_op(lib, &row, o.instr_scale, &servers);
                    eprintln!(
                        "  {} {} {} {:<18} {:.0} instructions per op",
                        row.w.id,
                        row.server.name(),
                        if row.tls { "wss" } else { "ws" },
                        lib.name(),
                        v
                    );
                    v
                })
                .collect()
        });
        results.push(RowResult {
            row,
            samples,
            instr,
        });
    }

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    print!(
        "{}",
        report::table(&results, o.repeat, o.scale, load.trim())
    );
    if o.instructions {
        print!("{}", report::instructions(&results, o.instr_scale));
    }
    report::write_csv(&o.csv, &results);
}

/// The samples of one row: `repeat` rounds, the libraries taking turns
/// (each round starts with the next one, so none always runs first).
fn run_row(row: &Row, o: &Options, servers: &Servers) -> Samples {
    let mut all: Samples = Lib::ALL.into_iter().map(|l| (l, Vec::new())).collect();
    for r in 0..o.repeat {
        let mut order: Vec<usize> = (0..all.len()).collect();
        let n = order.len();
        order.rotate_left(r % n);
        for i in order {
            let lib = all[i].0;
            let (server, target) = servers.start(row);
            let s = run_child(lib, row.runs_as(), &target, o.scale, &servers.ca_hex);
            drop(server);
            eprintln!(
                "  {} {} {:<26} {:<18} cpu {:>8.1} ms  user {:>8.1} ms  wall {:>8.1} ms  rss {:>7} KiB  value {:.1}",
                row.runs_as(),
                row.server.name(),
                target.url(),
                lib.name(),
                s.cpu_us as f64 / 1000.0,
                s.user_us as f64 / 1000.0,
                s.wall_us as f64 / 1000.0,
                s.rss_kb,
                s.value
            );
            all[i].1.push(s);
        }
    }
    all
}
