//! The command line, parsed by hand: a dozen flags do not need clap, whose
//! build time counts on a 2-core machine. Every flag is checked here, so a
//! mistake is a usage error (exit 2) before anything connects.

use std::path::PathBuf;
use std::time::Duration;

use wsock::ChainValidationResult;

pub(crate) const USAGE: &str = "usage: wsock [OPTIONS] URL";

/// How incoming binary messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryAs {
    /// Lower-case hex digits, one message per line.
    Hex,
    /// The bytes as they came, nothing added.
    Raw,
}

/// A timeout flag: left alone (the library's default), a time, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timeout {
    Default,
    Set(Option<Duration>),
}

impl Timeout {
    /// The control's value: `default` when the flag was not given.
    pub(crate) fn or(self, default: Option<Duration>) -> Option<Duration> {
        match self {
            Timeout::Default => default,
            Timeout::Set(v) => v,
        }
    }
}

/// Everything the command line says.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) stream: bool,
    pub(crate) binary: bool,
    pub(crate) binary_as: BinaryAs,
    pub(crate) output: Option<PathBuf>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) subprotocols: Vec<String>,
    pub(crate) proxy: Option<String>,
    pub(crate) proxy_from_env: bool,
    pub(crate) ca_files: Vec<PathBuf>,
    pub(crate) ignore_errors: Vec<ChainValidationResult>,
    pub(crate) deflate: bool,
    pub(crate) keep_alive: Option<Duration>,
    pub(crate) connect_timeout: Timeout,
    /// Off unless given: an interactive tool waits for the server as long
    /// as the connection lives, where the library's 30 s would end a quiet
    /// session.
    pub(crate) receive_timeout: Option<Duration>,
    pub(crate) send_timeout: Timeout,
    pub(crate) close_timeout: Timeout,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) progress: bool,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Command {
    Run(Box<Options>),
    Help,
    Version,
}

/// The names `--ignore-certificate-error` takes: every WinRT
/// `ChainValidationResult` but `Success`, which is no error to ignore.
pub(crate) fn ignorable_names() -> impl Iterator<Item = (ChainValidationResult, String)> {
    ChainValidationResult::ALL
        .into_iter()
        .filter(|c| *c != ChainValidationResult::Success)
        // The Debug name is the WinRT member's name.
        .map(|c| (c, format!("{c:?}")))
}

pub(crate) fn help() -> String {
    let names: Vec<String> = ignorable_names().map(|(_, n)| n).collect();
    let mut names_text = String::new();
    let mut line = String::from("                          ");
    for (i, n) in names.iter().enumerate() {
        let piece = if i + 1 < names.len() {
            format!("{n}, ")
        } else {
            n.clone()
        };
        if line.len() + piece.len() > 78 {
            names_text.push_str(line.trim_end());
            names_text.push('\n');
            line = String::from("                          ");
        }
        line.push_str(&piece);
    }
    names_text.push_str(&line);
    format!(
        "wsock {version}: a WebSocket client on the command line

{USAGE}

Message mode (the default): each line of standard input is sent as a text
message (without its line end); each message received is written to standard
output, text as it is and one per line, binary as --binary-as says. The end
of standard input closes the connection with 1000 and waits for the server's
close.

Stream mode (--stream): standard input goes to the server and the server's
data to standard output, as bytes, through a StreamWebSocket (binary
messages whose boundaries do not count). The end of standard input closes
the connection with 1000 once what was read has been sent; what the server
had not yet sent when that close reached it is lost (a WebSocket close ends
both directions: there is no half-close).

On exit standard error tells how the connection ended, `closed: CODE REASON`
or `error: WHAT (WebErrorStatus::NAME)`, and the exit status says it too:
  0  the connection closed with 1000, 1001 or no code (1005)
  1  an error (the connection failed, or could not be made)
  2  bad usage
  3  the connection closed with another code

Options:
  --stream                pipe bytes through a StreamWebSocket (see above)
  --binary                send each line as a binary message (its bytes)
  --binary-as hex|raw     write incoming binary messages as hex digits, one
                          message per line (the default), or as raw bytes
  --output FILE           append incoming messages (or, with --stream, the
                          data) to FILE instead of writing them to stdout
  --progress              with --stream: show bytes sent and received and the
                          rate on standard error; shown without this flag only
                          when standard error is a terminal
  -H, --header 'NAME: VALUE'
                          add a header to the upgrade request (repeatable)
  --subprotocol NAME      offer a subprotocol, in order of preference
                          (repeatable)
  --proxy URL             connect through this HTTP proxy (http://host:port)
  --proxy-from-env        use the proxy the environment names (https_proxy,
                          http_proxy, all_proxy, no_proxy)
  --ca FILE               trust the certificates in FILE (PEM or DER) as roots,
                          beside the built-in Mozilla roots (repeatable)
  --ignore-certificate-error NAME
                          do not fail the connection for this problem with the
                          server's certificate (repeatable); NAME is one of:
{names_text}
  --deflate               offer permessage-deflate compression
  --keep-alive SECS       send a ping every SECS seconds
  --connect-timeout SECS|none
                          time for resolution, TCP, TLS and the upgrade
                          (default 60)
  --receive-timeout SECS|none
                          fail when the server has been silent this long
                          (default none: wait as long as the connection lives)
  --send-timeout SECS|none
                          time a send may wait for the server (default 30)
  --close-timeout SECS|none
                          time the server has to answer the close (default 10)
  --user NAME             user name for HTTP Basic authentication of the
                          upgrade (sent over wss:// only)
  --password PASSWORD     its password
  -h, --help              show this help
  -V, --version           show the version

SECS may have a fraction (0.5). There is no --http-version: the library
speaks HTTP/1.1 only.
",
        version = env!("CARGO_PKG_VERSION"),
    )
}

/// Parses the arguments after the program name. `Err` is a usage error,
/// to print with [`USAGE`].
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = Options {
        url: String::new(),
        stream: false,
        binary: false,
        binary_as: BinaryAs::Hex,
        output: None,
        headers: Vec::new(),
        subprotocols: Vec::new(),
        proxy: None,
        proxy_from_env: false,
        ca_files: Vec::new(),
        ignore_errors: Vec::new(),
        deflate: false,
        keep_alive: None,
        connect_timeout: Timeout::Default,
        receive_timeout: None,
        send_timeout: Timeout::Default,
        close_timeout: Timeout::Default,
        user: None,
        password: None,
        progress: false,
    };
    let mut url = None;
    let mut binary_as_given = false;
    let mut args = args.into_iter();
    let mut only_operands = false;
    while let Some(arg) = args.next() {
        if only_operands || !arg.starts_with('-') || arg == "-" {
            if url.replace(arg).is_some() {
                return Err("only one URL can be given".into());
            }
            continue;
        }
        if arg == "--" {
            only_operands = true;
            continue;
        }
        // `--flag=value` as well as `--flag value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--stream" => o.stream = true,
            "--binary" => o.binary = true,
            "--progress" => o.progress = true,
            "--deflate" => o.deflate = true,
            "--proxy-from-env" => o.proxy_from_env = true,
            "--binary-as" => {
                binary_as_given = true;
                o.binary_as = match value()?.as_str() {
                    "hex" => BinaryAs::Hex,
                    "raw" => BinaryAs::Raw,
                    other => return Err(format!("--binary-as takes hex or raw, not {other:?}")),
                }
            }
            "--output" => o.output = Some(value()?.into()),
            "-H" | "--header" => {
                let v = value()?;
                let Some((name, val)) = v.split_once(':') else {
                    return Err(format!("{flag} takes 'NAME: VALUE', not {v:?}"));
                };
                o.headers
                    .push((name.trim().to_owned(), val.trim().to_owned()));
            }
            "--subprotocol" => o.subprotocols.push(value()?),
            "--proxy" => o.proxy = Some(value()?),
            "--ca" => o.ca_files.push(value()?.into()),
            "--ignore-certificate-error" => {
                let v = value()?;
                let found = ignorable_names().find(|(_, n)| n.eq_ignore_ascii_case(&v));
                match found {
                    Some((c, _)) => o.ignore_errors.push(c),
                    None => {
                        return Err(format!(
                            "unknown certificate error {v:?} (wsock --help lists them)"
                        ));
                    }
                }
            }
            "--keep-alive" => o.keep_alive = Some(seconds(&flag, &value()?)?),
            "--connect-timeout" => o.connect_timeout = Timeout::Set(timeout(&flag, &value()?)?),
            "--receive-timeout" => o.receive_timeout = timeout(&flag, &value()?)?,
            "--send-timeout" => o.send_timeout = Timeout::Set(timeout(&flag, &value()?)?),
            "--close-timeout" => o.close_timeout = Timeout::Set(timeout(&flag, &value()?)?),
            "--user" => o.user = Some(value()?),
            "--password" => o.password = Some(value()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    o.url = url.ok_or("no URL given")?;
    if o.stream && (o.binary || binary_as_given) {
        return Err("--binary and --binary-as are for message mode, not --stream".into());
    }
    if o.proxy.is_some() && o.proxy_from_env {
        return Err("--proxy and --proxy-from-env cannot go together".into());
    }
    if o.password.is_some() && o.user.is_none() {
        return Err("--password needs --user".into());
    }
    Ok(Command::Run(Box::new(o)))
}

/// A time in seconds, fractions allowed, above zero.
fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{flag} takes a number of seconds above 0, not {v:?}"))
}

/// [`seconds`], or `none` for no limit.
fn timeout(flag: &str, v: &str) -> Result<Option<Duration>, String> {
    if v.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    seconds(flag, v)
        .map(Some)
        .map_err(|e| format!("{e} (or none)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(o) => Ok(*o),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_take_their_values_either_way() {
        let o = run(&[
            "-H",
            "X-A: 1",
            "--header=X-B:2",
            "--subprotocol",
            "chat",
            "--receive-timeout=0.5",
            "--send-timeout",
            "none",
            "ws://h/",
        ])
        .unwrap();
        assert_eq!(o.url, "ws://h/");
        assert_eq!(
            o.headers,
            [("X-A".into(), "1".into()), ("X-B".into(), "2".into())]
        );
        assert_eq!(o.subprotocols, ["chat"]);
        assert_eq!(o.receive_timeout, Some(Duration::from_millis(500)));
        assert_eq!(o.send_timeout, Timeout::Set(None));
        assert_eq!(o.connect_timeout, Timeout::Default);
    }

    #[test]
    fn receive_timeout_is_off_unless_given() {
        assert_eq!(run(&["ws://h/"]).unwrap().receive_timeout, None);
    }

    #[test]
    fn certificate_errors_are_the_winrt_names_in_any_case() {
        let o = run(&[
            "--ignore-certificate-error",
            "untrusted",
            "--ignore-certificate-error=InvalidName",
            "wss://h/",
        ])
        .unwrap();
        assert_eq!(
            o.ignore_errors,
            [
                ChainValidationResult::Untrusted,
                ChainValidationResult::InvalidName
            ]
        );
        assert!(run(&["--ignore-certificate-error", "Success", "wss://h/"]).is_err());
        assert!(help().contains("InvalidCertificateAuthorityPolicy"));
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [
            &[][..],
            &["--nope", "ws://h/"],
            &["ws://a/", "ws://b/"],
            &["--keep-alive", "0", "ws://h/"],
            &["--connect-timeout", "soon", "ws://h/"],
            &["--binary-as", "base64", "ws://h/"],
            &["--stream", "--binary", "ws://h/"],
            &["--password", "p", "ws://h/"],
            &["-H", "no colon", "ws://h/"],
            &["ws://h/", "--header"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }
}
