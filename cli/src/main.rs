//! `wsock`: a WebSocket client on the command line (in the manner of wscat
//! and websocat) on the wsock library. `wsock --help` says how to use it.

#![forbid(unsafe_code)]

mod args;
mod control;
mod message;
mod output;
mod progress;
mod stream;

use std::process::ExitCode;

use args::{Command, USAGE};
use output::Sink;
use progress::Progress;

fn main() -> ExitCode {
    let mut argv = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => argv.push(s),
            Err(a) => return usage_error(&format!("argument {a:?} is not UTF-8")),
        }
    }
    let options = match args::parse(argv) {
        Ok(Command::Run(o)) => o,
        Ok(Command::Help) => {
            print!("{}", args::help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("wsock {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(msg) => return usage_error(&msg),
    };
    // Everything the command line names is checked before connecting: a
    // wrong flag or file is a usage error, never a half-made connection.
    let sink = match Sink::open(options.output.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            let path = options.output.as_deref().unwrap_or_else(|| "-".as_ref());
            return usage_error(&format!("--output {}: {e}", path.display()));
        }
    };
    let mode = if options.stream {
        control::stream_control(&options).map(Mode::Stream)
    } else {
        control::message_control(&options).map(Mode::Message)
    };
    let mode = match mode {
        Ok(m) => m,
        Err(msg) => return usage_error(&msg),
    };

    // One thread is plenty for one connection.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return output::End::Local(format!("starting the runtime: {e}")).report(),
    };
    let end = runtime.block_on(async {
        match mode {
            Mode::Message(control) => message::run(&options, control, sink).await,
            Mode::Stream(control) => {
                let out: stream::Output = match sink {
                    Sink::Stdout(_) => Box::new(tokio::io::stdout()),
                    Sink::File(f) => Box::new(tokio::fs::File::from_std(f)),
                };
                stream::run(&options.url, control, out, Progress::new(options.progress)).await
            }
        }
    });
    // Tokio's standard input reads on a blocking thread that a terminal
    // may keep waiting forever: do not wait for it.
    runtime.shutdown_background();
    end.report()
}

enum Mode {
    Message(wsock::MessageWebSocketControl),
    Stream(wsock::StreamWebSocketControl),
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("wsock: {msg}\n{USAGE}\n(wsock --help tells more)");
    ExitCode::from(2)
}
