//! The tables printed at the end of a run, and the CSV behind the chart
//! (scripts/bench_chart.py).

use std::fmt::Write as _;

use crate::child::Sample;
use crate::clients::Lib;
use crate::{Kind, RowResult};

/// The figure a row is judged by, lower is better: CPU ms, or heap bytes.
fn figure(kind: Kind, s: &Sample) -> f64 {
    match kind {
        Kind::Cpu => s.cpu_us as f64 / 1000.0,
        Kind::Memory => s.value,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// (median, minimum) of a library's figures in a row.
fn stats(kind: Kind, samples: &[Sample]) -> (f64, f64) {
    let v: Vec<f64> = samples.iter().map(|s| figure(kind, s)).collect();
    (median(v.clone()), min(&v))
}

fn kind_of(r: &RowResult) -> Kind {
    // g is measured by the children of f, by CPU time.
    r.row.w.kind
}

fn best_peer(values: &[(Lib, f64)]) -> f64 {
    values
        .iter()
        .filter(|(l, _)| *l != Lib::Wsock)
        .map(|(_, v)| *v)
        .fold(f64::INFINITY, f64::min)
}

fn fmt(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Cpu if v < 10.0 => format!("{v:.2}"),
        Kind::Cpu if v < 100.0 => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

fn row_name(r: &RowResult) -> String {
    format!(
        "| {}. {} | {} | {} | {} |",
        r.row.w.id,
        r.row.w.what,
        r.row.server.name(),
        if r.row.tls { "wss" } else { "ws" },
        r.row.target()
    )
}

fn header(t: &mut String, first: &str) {
    let _ = write!(t, "| {first} | server | | target |");
    for l in Lib::ALL {
        let _ = write!(t, " {} |", l.name());
    }
    let _ = writeln!(t, "\n|---|---|---|---|---:|---:|---:|---:|");
}

/// Client CPU time (or heap per connection): median / min of the rounds,
/// and the ratios of both to the best peer's.
pub fn table(results: &[RowResult], repeat: usize, scale: f64, load: &str) -> String {
    let mut t = String::new();
    if repeat == 0 {
        return t;
    }
    let _ = writeln!(
        t,
        "\nClient CPU time (user+sys) in ms, or heap bytes per connection (f): median / min of \
         {repeat} rounds{}; (x, y) = ratio of the median, of the min, to the best peer's. \
         Servers: core = wsock's core, one write per read; tws = tokio-websockets, one write \
         per message. Load at the end: {load}",
        if scale != 1.0 {
            format!(", scale {scale}")
        } else {
            String::new()
        }
    );
    header(&mut t, "workload");
    for r in results {
        let kind = kind_of(r);
        let st: Vec<(Lib, (f64, f64))> = r
            .samples
            .iter()
            .map(|(l, s)| (*l, stats(kind, s)))
            .collect();
        let best_med = best_peer(&st.iter().map(|(l, s)| (*l, s.0)).collect::<Vec<_>>());
        let best_min = best_peer(&st.iter().map(|(l, s)| (*l, s.1)).collect::<Vec<_>>());
        let _ = write!(t, "{}", row_name(r));
        for (_, (med, mn)) in &st {
            let _ = write!(
                t,
                " {} / {} ({:.2}, {:.2}) |",
                fmt(kind, *med),
                fmt(kind, *mn),
                med / best_med,
                mn / best_min
            );
        }
        let _ = writeln!(t);
    }
    let _ = writeln!(
        t,
        "\nWall time (ms) and peak RSS (MiB) of the client process, medians"
    );
    header(&mut t, "workload");
    for r in results {
        let _ = write!(t, "{}", row_name(r));
        for (_, s) in &r.samples {
            let wall = median(s.iter().map(|x| x.wall_us as f64 / 1000.0).collect());
            let rss = median(s.iter().map(|x| x.rss_kb as f64 / 1024.0).collect());
            let _ = write!(t, " {wall:.0} ms, {rss:.1} MiB |");
        }
        let _ = writeln!(t);
    }
    t
}

/// User-space instructions per operation under callgrind, and the ratio
/// to the best peer's.
pub fn instructions(results: &[RowResult], scale: f64) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nUser-space instructions per operation (callgrind Ir, the workload at scale {scale} \
         less the same setup with no message); (x) = ratio to the best peer"
    );
    let _ = write!(t, "| workload | server | | target |");
    for l in Lib::ALL {
        let _ = write!(t, " {} |", l.name());
    }
    let _ = writeln!(t, "\n|---|---|---|---|---:|---:|---:|---:|");
    for r in results {
        let (Some(instr), Some(target)) = (&r.instr, r.row.w.instr_target) else {
            continue;
        };
        let v: Vec<(Lib, f64)> = Lib::ALL.into_iter().zip(instr.iter().copied()).collect();
        let best = best_peer(&v);
        let _ = write!(
            t,
            "| {}. {} | {} | {} | {target} |",
            r.row.w.id,
            r.row.w.what,
            r.row.server.name(),
            if r.row.tls { "wss" } else { "ws" }
        );
        for (_, x) in &v {
            let _ = write!(t, " {x:.0} ({:.2}) |", x / best);
        }
        let _ = writeln!(t);
    }
    t
}

pub fn write_csv(path: &str, results: &[RowResult]) {
    let mut c = String::from(
        "workload,what,server,transport,target,kind,lib,median,min,rounds,cpu_us_median,\
         user_us_median,wall_us_median,rss_kb_median,allocs_median,instr_per_op\n",
    );
    for r in results {
        let kind = kind_of(r);
        for (i, (l, s)) in r.samples.iter().enumerate() {
            let (med, mn) = stats(kind, s);
            let m = |f: fn(&Sample) -> u64| median(s.iter().map(|x| f(x) as f64).collect());
            let instr = r
                .instr
                .as_ref()
                .map(|v| format!("{:.0}", v[i]))
                .unwrap_or_default();
            let _ = writeln!(
                c,
                "{},\"{}\",{},{},\"{}\",{:?},{},{:.3},{:.3},{},{:.0},{:.0},{:.0},{:.0},{:.0},{}",
                r.row.w.id,
                r.row.w.what,
                r.row.server.name(),
                if r.row.tls { "wss" } else { "ws" },
                r.row.target(),
                kind,
                l.name(),
                med,
                mn,
                s.len(),
                m(|x| x.cpu_us),
                m(|x| x.user_us),
                m(|x| x.wall_us),
                m(|x| x.rss_kb),
                m(|x| x.allocs),
                instr
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
