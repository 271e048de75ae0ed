//! Opening a client connection: URL, transport, upgrade, then a
//! [`Session`]. Both socket types open through here; the layout in DESIGN.md
//! has no home for this glue between `connect/` and `handshake/`, and it
//! belongs to neither. Basic authentication of the upgrade (a 401, then
//! the request again with the credential) is here too: see
//! [`Credential`] for the rules. So is the rule that secrets stay with
//! the [`Origin`] the caller connected to when a redirect leads elsewhere.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::connect::{self, ConnectOptions, Target, TlsSetup, Transport};
use crate::control::ClientOptions;
use crate::credential::{Credential, offers_basic};
use crate::error::{Error, Result, TimeoutKind};
use crate::handshake::client::{Request, parse_response_compact, response_body_len, write_request};
use crate::handshake::{
    HandshakeError, HttpResponse, Limits, generate_key_bytes, has_token, header_values,
};
use crate::http_version::HttpPlan;
#[cfg(feature = "http2")]
use crate::http2;
use crate::information::{ConnectionFacts, Stats, UpgradeResponse};
use crate::proto::deflate::{DeflateConfig, DeflateOptions};
use crate::proto::{Config, Connection, Role};
use crate::session::Session;

/// Connects to `url` and runs the upgrade, all within the connect timeout.
pub(crate) async fn open(
    url: &str,
    opts: &ClientOptions,
    max_message_size: usize,
) -> Result<(Session, ConnectionFacts)> {
    opts.check()?;
    // Owned only once a redirect replaces it.
    let mut url = Cow::Borrowed(url);
    let mut target = Target::parse(&url)?;
    let first_step = opts.session.close_timeout;
    // Pinned here and lent to the timeout, not handed over by value: an
    // async fn keeps its arguments for its whole life, so a future passed
    // by value and pinned inside would be stored (and copied) twice.
    let upgrade = pin!(async {
        let mut redirects = 0;
        // The caller's credential: the control's, else the first URL's
        // userinfo. A `Location` may carry userinfo too, but the server
        // chose that, not the caller: it is never read.
        let url_credential = target
            .credentials
            .take()
            .map(|(user, password)| Credential::new(user, password));
        let credential = opts.server_credential.as_ref().or(url_credential.as_ref());
        // The origin the caller connected to, noted at the first redirect
        // (`None` until then: every hop so far went there).
        let mut origin: Option<Origin> = None;
        let (io, remote, accepted, leftover, tls) = loop {
            // Secrets only to the caller's origin, unless they chose to send
            // them everywhere.
            let trusted = opts.dangerous_send_secrets_across_origins
                || origin.as_ref().is_none_or(|o| o.holds(&target));
            let headers = if trusted {
                Cow::Borrowed(&opts.headers[..])
            } else {
                Cow::Owned(
                    (opts.headers.iter())
                        .filter(|(name, _)| !is_secret_header(name))
                        .cloned()
                        .collect(),
                )
            };
            let authorization = match credential {
                Some(credential) if trusted => authorization(opts, credential, &target, &headers)?,
                _ => None,
            };
            // The caller's options as they are for ws://; for wss://, a copy
            // with the TLS configuration made for this connection (boxed,
            // so that it takes no room in this future when unused).
            let (tls, with_tls) = if target.tls {
                // A client certificate is a credential too: it proves who
                // the caller is, so it goes only where the secrets go.
                let mut certificates = Cow::Borrowed(&opts.connect.certificates);
                if !trusted && certificates.client_certificate.is_some() {
                    certificates.to_mut().client_certificate = None;
                }
                let setup = connect::tls_setup(opts.connect.tls.as_ref(), &certificates)?;
                let mut connect = Box::new(opts.connect.clone());
                connect.tls = Some(setup.config.clone());
                (Some(setup), Some(connect))
            } else {
                (None, None)
            };
            let connect = with_tls.as_deref().unwrap_or(&opts.connect);
            match connect_and_upgrade(&target, opts, connect, &headers, authorization).await {
                Ok((io, remote, accepted, leftover)) => {
                    break (io, remote, accepted, leftover, tls);
                }
                Err(Error::Handshake(HandshakeError::Status(resp)))
                    if matches!(resp.status, 301 | 302 | 303 | 307 | 308) =>
                {
                    let Some(next) = resp.header("location").and_then(|l| redirect_url(&url, l))
                    else {
                        return Err(HandshakeError::Status(resp).into());
                    };
                    let next_target = Target::parse(&next)?;
                    if target.tls && !next_target.tls {
                        return Err(HandshakeError::InsecureRedirect(resp).into());
                    }
                    if redirects >= opts.max_redirects {
                        return Err(HandshakeError::Status(resp).into());
                    }
                    let first = origin.get_or_insert_with(|| Origin::of(&target));
                    let own_client_certificate = (opts.connect.tls.as_ref())
                        .is_some_and(|c| c.client_auth_cert_resolver.has_certs());
                    if next_target.tls
                        && own_client_certificate
                        && !first.holds(&next_target)
                        && !opts.dangerous_send_secrets_across_origins
                    {
                        return Err(HandshakeError::CrossOriginClientCertificate(resp).into());
                    }
                    redirects += 1;
                    (url, target) = (Cow::Owned(next), next_target);
                }
                Err(e) => return Err(e),
            }
        };
        let Agreed {
            protocol,
            deflate,
            response,
        } = accepted;
        let facts = ConnectionFacts {
            local_address: io.local_addr(),
            // The address connected to: what `io.peer_addr()` would ask the
            // socket for.
            remote_address: Some(remote),
            protocol,
            server_certificates: io.peer_certificates().unwrap_or_default(),
            unsolicited_pong_interval: opts.session.unsolicited_pong_interval,
            server_certificate_errors: tls
                .as_ref()
                .map(TlsSetup::server_certificate_errors)
                .unwrap_or_default(),
            deflate,
            http_response: response,
        };
        let mut config = Config::new(Role::Client);
        config.max_frame_size = opts.max_frame_size.min(max_message_size);
        config.max_message_size = max_message_size;
        config.deflate = deflate;
        let session = Session::new(
            io,
            Connection::new(config),
            leftover,
            opts.session.clone(),
            Arc::new(Stats::default()),
        );
        Ok((session, facts))
    });
    within_connect_timeout(opts.connect_timeout, first_step, upgrade).await
}

/// Runs `fut` within `limit` (`None`: no limit); running out of time is
/// `Error::Timeout(TimeoutKind::Connect)`. As with
/// [`with_timeout`](crate::session::with_timeout), the limit is armed only
/// if `fut` is not ready on its first poll.
///
/// The timer first goes off after `first_step` (when shorter than
/// `limit`), and only then is moved on to the real deadline; the outcome
/// is the same. The reason is Tokio's timer driver: registering a timer
/// that expires before the earliest one it last slept towards wakes the
/// driver through its eventfd, a system call. A connect timer of 60 s
/// followed by a close timer of 10 s did that on every connection; with
/// the connect timer's first expiry no later than the close timeout, the
/// close timer (and the next connect's) expire after what the driver
/// already waits for, and register without the wake-up.
async fn within_connect_timeout<T>(
    limit: Option<Duration>,
    first_step: Option<Duration>,
    mut fut: Pin<&mut impl Future<Output = Result<T>>>,
) -> Result<T> {
    let Some(limit) = limit else {
        return fut.await;
    };
    if let Poll::Ready(v) = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
        return v;
    }
    let deadline = tokio::time::Instant::now() + limit;
    let step = first_step.map_or(limit, |s| s.min(limit));
    let mut stepped = step < limit;
    let mut timer = pin!(tokio::time::sleep(step));
    poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        while timer.as_mut().poll(cx).is_ready() {
            if !stepped {
                return Poll::Ready(Err(Error::Timeout(TimeoutKind::Connect)));
            }
            stepped = false;
            timer.as_mut().reset(deadline);
        }
        Poll::Pending
    })
    .await
}

/// The URL a `Location` header points to, relative to `base`, with
/// `http(s)` mapped to `ws(s)`.
fn redirect_url(base: &str, location: &str) -> Option<String> {
    let mut next = url::Url::parse(base).ok()?.join(location).ok()?;
    let scheme = match next.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        _ => return None,
    };
    next.set_scheme(scheme).ok()?;
    Some(next.into())
}

/// An origin (RFC 6454) as far as secrets go: the scheme (`ws` or `wss`),
/// the host as resolved and the port, with the scheme's default filled
/// in. The caller's credential and their `Authorization`, `Cookie` and
/// `Proxy-Authorization` headers go only to the origin of the URL they
/// connected to: a redirect elsewhere drops them (as curl does without
/// `--location-trusted`), a redirect back there sends them again.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    tls: bool,
    host: String,
    port: u16,
}

impl Origin {
    fn of(target: &Target) -> Origin {
        Origin {
            tls: target.tls,
            host: target.host.clone(),
            port: target.port,
        }
    }

    /// Whether `target` is at this origin. Hosts are compared as the URL
    /// parser leaves them (domains in lower case, IP addresses in one
    /// form), so `LOCALHOST` is `localhost` but `127.0.0.1` is not.
    fn holds(&self, target: &Target) -> bool {
        self.tls == target.tls && self.port == target.port && self.host == target.host
    }
}

/// Whether a request header of the caller's carries a secret, one that
/// goes only to their origin (names compared case-insensitively).
fn is_secret_header(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization"]
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// The `Authorization` value to offer with `credential`, if any, as Basic.
/// None when the request `headers` have an `Authorization` of the
/// caller's own, and over `ws://` unless unencrypted credentials are
/// allowed (asking to send them up front there is an invalid argument).
fn authorization(
    opts: &ClientOptions,
    credential: &Credential,
    target: &Target,
    headers: &[(String, String)],
) -> Result<Option<Authorization>> {
    if headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        return Ok(None);
    }
    if !target.tls && !opts.allow_unencrypted_credentials {
        if opts.pre_authenticate {
            return Err(Error::invalid(
                "pre_authenticate would send the password unencrypted over ws://; \
                 use wss:// or set allow_unencrypted_credentials",
            ));
        }
        return Ok(None);
    }
    Ok(Some(Authorization {
        value: credential.basic()?,
        up_front: opts.pre_authenticate,
    }))
}

/// A Basic credential ready to send, and whether to send it before any 401.
#[derive(Debug)]
struct Authorization {
    value: String,
    up_front: bool,
}

/// Connects and upgrades with `headers` (the caller's, less any secrets
/// this hop may not carry); on a 401 that invites Basic credentials, when
/// there is one and it was not sent yet, upgrades again with it: on the
/// same connection if the server kept it usable, else on a new one (also
/// when the kept one turns out to be closed before answering).
///
/// With HTTP/2 asked for ([`HttpPlan`]), the extended CONNECT of
/// [`http2::client::open`] first; the HTTP/1.1 upgrade when that says so.
async fn connect_and_upgrade(
    target: &Target,
    opts: &ClientOptions,
    connect: &ConnectOptions,
    headers: &[(String, String)],
    authorization: Option<Authorization>,
) -> Result<(Transport, SocketAddr, Agreed, BytesMut)> {
    let plan = HttpPlan::of(opts.http_version, opts.http_version_policy, target.tls);
    #[cfg(feature = "http2")]
    let kept = match plan {
        HttpPlan::Http11 => None,
        plan => {
            let exact = plan == HttpPlan::Http2Exact;
            let auth = authorization
                .as_ref()
                .map(|a| (a.value.as_str(), a.up_front));
            match http2::client::open(target, opts, connect, headers, auth, exact).await? {
                http2::client::Opened::Socket(io, remote, agreed) => {
                    return Ok((io, remote, agreed, BytesMut::new()));
                }
                http2::client::Opened::Http11(kept) => kept,
            }
        }
    };
    #[cfg(not(feature = "http2"))]
    let kept = match plan {
        HttpPlan::Http2Exact => {
            return Err(Error::invalid(
                "HTTP/2 was required, and this build has no HTTP/2 (feature http2)",
            ));
        }
        _ => None,
    };
    let (mut io, mut remote) = match kept {
        Some(kept) => kept,
        None => connect::open(target, connect).await?,
    };
    let mut sent = authorization
        .as_ref()
        .filter(|a| a.up_front)
        .map(|a| a.value.as_str());
    // True while retrying on a connection kept from a 401.
    let mut reused = false;
    loop {
        match upgrade(&mut io, target, opts, headers, sent).await {
            Ok(Upgrade::Accepted(agreed, leftover)) => {
                return Ok((io, remote, agreed, leftover));
            }
            Ok(Upgrade::Refused(response, reusable)) => {
                let retry = match &authorization {
                    Some(a) if sent.is_none() && response.status == 401 => {
                        offers_basic(&response).then_some(a.value.as_str())
                    }
                    _ => None,
                };
                let Some(value) = retry else {
                    return Err(HandshakeError::Status(response).into());
                };
                sent = Some(value);
                reused = reusable;
                if !reusable {
                    (io, remote) = connect::open(target, connect).await?;
                }
            }
            // The kept connection was closed under us: once more, anew.
            Err(Error::Handshake(HandshakeError::Truncated) | Error::Io(_)) if reused => {
                reused = false;
                (io, remote) = connect::open(target, connect).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What a 101 (or HTTP/2's 200) agreed to, and the answer itself for the
/// information.
pub(crate) struct Agreed {
    pub(crate) protocol: Option<String>,
    pub(crate) deflate: Option<DeflateConfig>,
    pub(crate) response: UpgradeResponse,
}

/// How an upgrade request was answered.
enum Upgrade {
    /// 101: what it agreed to and the bytes after the head.
    Accepted(Agreed, BytesMut),
    /// Another status, and whether the connection can carry another
    /// request (HTTP/1.1, no `Connection: close`, the body read whole and
    /// nothing after it).
    Refused(Box<HttpResponse>, bool),
}

/// Sends the upgrade request with `headers` (and `authorization`, if any)
/// and reads the answer.
async fn upgrade(
    io: &mut Transport,
    target: &Target,
    opts: &ClientOptions,
    headers: &[(String, String)],
    authorization: Option<&str>,
) -> Result<Upgrade> {
    let key = generate_key_bytes();
    // Base64: ASCII, so this never fails.
    let key = std::str::from_utf8(&key).unwrap_or_default();
    let mut headers = Cow::Borrowed(headers);
    if let Some(value) = authorization {
        headers
            .to_mut()
            .push(("Authorization".to_owned(), value.to_owned()));
    }
    let offer = opts.deflate.as_ref().map(DeflateOptions::offer);
    let req = Request {
        host: &target.host_header,
        resource: &target.resource,
        key,
        protocols: &opts.protocols,
        extensions: offer.as_deref(),
        headers: &headers,
    };
    let mut out = Vec::new();
    write_request(&req, &mut out);
    io.write_all(&out).await?;
    io.flush().await?;

    let limits = Limits::default();
    let mut rd = BytesMut::with_capacity(1024);
    // Nothing to parse before the first read.
    if read_more(io, &mut rd).await? == 0 {
        return Err(HandshakeError::Truncated.into());
    }
    loop {
        match parse_response_compact(&rd, &req, &limits) {
            Ok(Some((accepted, response, head_len))) => {
                rd.advance(head_len);
                let deflate = match (&opts.deflate, accepted.extensions) {
                    (Some(options), Some(answer)) => match options.accept_answer(&answer) {
                        Ok(agreed) => Some(agreed),
                        Err(reason) => {
                            return Err(HandshakeError::BadExtension { answer, reason }.into());
                        }
                    },
                    // parse_response refuses extensions that were not offered.
                    _ => None,
                };
                if rd.is_empty() {
                    // Nothing came after the head (the usual case): let the
                    // handshake's buffer go rather than hand the session a
                    // remnant too small for its reads, which it would grow
                    // (copying it) on its first read. With no buffer the
                    // session waits for bytes before taking memory.
                    rd = BytesMut::new();
                }
                let agreed = Agreed {
                    protocol: accepted.protocol,
                    deflate,
                    response,
                };
                return Ok(Upgrade::Accepted(agreed, rd));
            }
            Ok(None) => {}
            Err(HandshakeError::Status(resp)) => {
                // Keep reading a body of known length (bounded) while the
                // server sends it; one without (until close, or chunked) is
                // reported as far as it came.
                let want = response_body_len(resp.status, &resp.headers)
                    .unwrap_or(0)
                    .min(limits.max_body_size);
                if resp.body.len() >= want || read_more(io, &mut rd).await? == 0 {
                    let reusable = reusable(&rd, &resp, &limits);
                    return Ok(Upgrade::Refused(resp, reusable));
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if read_more(io, &mut rd).await? == 0 {
            return Err(HandshakeError::Truncated.into());
        }
    }
}

/// Whether the connection that carried `response` (whose bytes start `rd`)
/// can carry another request.
fn reusable(rd: &[u8], response: &HttpResponse, limits: &Limits) -> bool {
    let Ok(Some(head)) = connect::parse_head(rd, limits) else {
        return false;
    };
    let closes = has_token(header_values(&response.headers, "connection"), "close");
    let body = response_body_len(response.status, &response.headers);
    head.version == 1 && !closes && body.is_some_and(|n| head.len.checked_add(n) == Some(rd.len()))
}

async fn read_more(io: &mut Transport, rd: &mut BytesMut) -> Result<usize> {
    rd.reserve(1024);
    io.read_buf(rd).await.map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn origins_are_scheme_host_and_port_with_defaults() {
        let ws = Origin::of(&target("ws://example.com/a"));
        assert!(ws.holds(&target("ws://example.com:80/b?c")));
        assert!(ws.holds(&target("ws://EXAMPLE.com/")));
        assert!(ws.holds(&target("ws://user:pass@example.com/")));
        assert!(!ws.holds(&target("ws://example.com:8080/a")));
        assert!(!ws.holds(&target("wss://example.com/a")));
        assert!(!ws.holds(&target("wss://example.com:80/a")));
        assert!(!ws.holds(&target("ws://www.example.com/a")));
        assert!(!ws.holds(&target("ws://example.com.evil/a")));

        let wss = Origin::of(&target("wss://127.0.0.1/"));
        assert!(wss.holds(&target("wss://127.0.0.1:443/x")));
        assert!(!wss.holds(&target("wss://localhost/")));
        assert!(!wss.holds(&target("ws://127.0.0.1:443/")));
    }

    #[test]
    fn secret_headers_in_any_case() {
        for name in ["Authorization", "COOKIE", "proxy-authorization"] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in ["X-Trace", "Origin", "Cookie2x", "Authorization-Hint"] {
            assert!(!is_secret_header(name), "{name}");
        }
    }
}
