//! What the loopback benchmarks (`stream`, `http2`) share: wsock's echo
//! server on a thread of its own, so that the client's thread does only
//! the client's work, and that thread's CPU time per operation.

use std::future::Future;
use std::time::Instant;

use wsock::server::{Listener, echo};

/// Nanoseconds of CPU time this thread has used.
pub(crate) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Wall and CPU time of one measured step, per operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall_us: f64,
    pub(crate) cpu_us: f64,
}

/// Runs `f`, `ops` operations, and times it on this thread.
pub(crate) async fn measured<F: Future<Output = ()>>(ops: usize, f: F) -> Sample {
    let (wall, cpu) = (Instant::now(), thread_cpu_ns());
    f.await;
    let per = ops.max(1) as f64;
    Sample {
        wall_us: wall.elapsed().as_secs_f64() * 1e6 / per,
        cpu_us: (thread_cpu_ns() - cpu) as f64 / 1e3 / per,
    }
}

/// The median and the minimum of one figure of `samples`.
pub(crate) fn median_min(samples: &[Sample], pick: impl Fn(&Sample) -> f64) -> (f64, f64) {
    let mut v: Vec<f64> = samples.iter().map(pick).collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0])
}

/// Starts wsock's echo server on a thread of its own, in a current-thread
/// runtime, on the listener `bind` makes there; its port.
pub(crate) fn spawn_echo_server<B, F>(bind: B) -> u16
where
    B: FnOnce() -> F + Send + 'static,
    F: Future<Output = Listener>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = bind().await;
            tx.send(listener.local_addr().port()).unwrap();
            let _ = listener
                .serve(|incoming| async move {
                    if let Ok(ws) = incoming.accept(None).await {
                        let _ = echo(ws).await;
                    }
                })
                .await;
        });
    });
    rx.recv().unwrap()
}
