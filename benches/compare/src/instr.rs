//! User-space instructions per operation, a figure that does not move
//! with the machine's load: the child run under `valgrind --tool=callgrind`
//! twice, with the workload and with `zero` (the same setup, no message),
//! and the difference of callgrind's `Ir` totals divided by the count.

use std::process::Command;

use crate::child;
use crate::clients::Lib;
use crate::{Row, Servers};

/// Instructions per operation of `row` for `lib`, at `scale`.
pub fn per_op(lib: Lib, row: &Row, scale: f64, servers: &Servers) -> f64 {
    let full = total(lib, row, scale, false, servers);
    let base = total(lib, row, scale, true, servers);
    (full as f64 - base as f64) / child::ops(row.w.id, scale) as f64
}

fn total(lib: Lib, row: &Row, scale: f64, zero: bool, servers: &Servers) -> u64 {
    let id = row.w.id;
    let (server, target) = servers.start(row);
    let out_file = std::env::temp_dir().join(format!(
        "wsock-compare-callgrind.{}.{}",
        std::process::id(),
        lib.name()
    ));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(std::env::current_exe().expect("exe"))
        .args(crate::child_args(lib, id, &target, scale, zero))
        .env(crate::tls::CA_ENV, &servers.ca_hex)
        .output()
        .expect("valgrind (is it installed?)");
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("RESULT "),
        "{} {id} under callgrind failed: {}\n{}",
        lib.name(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).expect("callgrind output");
    let _ = std::fs::remove_file(&out_file);
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("callgrind Ir total")
}
