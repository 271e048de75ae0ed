//! Running the built binary through pipes, shared by the test files.

// Each test file uses a part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Long enough for a slow, loaded machine; a hang fails instead of
/// blocking the suite.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// What the binary reads.
pub(crate) enum Input {
    Bytes(Vec<u8>),
    File(PathBuf),
    /// A pipe left open until the binary exits, as a terminal that nobody
    /// types into.
    Open,
}

#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

/// Runs the binary with `args`, waiting at most [`LIMIT`].
pub(crate) fn wsock(args: &[&str], input: Input) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsock"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The proxy variables of the machine must not reach the loopback
    // server (they are only read with --proxy-from-env, but be sure).
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
    ] {
        cmd.env_remove(var);
    }
    match &input {
        Input::File(p) => cmd.stdin(std::fs::File::open(p).unwrap()),
        Input::Bytes(_) | Input::Open => cmd.stdin(Stdio::piped()),
    };
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take();
    let mut held = None;
    match input {
        Input::Bytes(b) => {
            let mut w = stdin.unwrap();
            std::thread::spawn(move || {
                let _ = w.write_all(&b);
            });
        }
        Input::Open => held = stdin,
        Input::File(_) => {}
    }
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).unwrap();
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            let e = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
            panic!("wsock {args:?} did not exit within {LIMIT:?}; stderr: {e}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(held);
    Run {
        status: status.code().expect("exited, not killed by a signal"),
        stdout: out.join().unwrap(),
        stderr: String::from_utf8(err.join().unwrap()).unwrap(),
    }
}

/// A runtime for the server side, beside the blocking test thread.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn temp_file(name: &str) -> PathBuf {
    let p =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}
