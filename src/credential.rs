//! User names and passwords: WinRT's `ServerCredential` and
//! `ProxyCredential`, sent with HTTP Basic authentication (RFC 7617).
//!
//! # Server credentials
//!
//! The credential is the control's `server_credential`, or else the
//! user name and password of the URL (`wss://user:pass@host/`). It is sent
//! as `Authorization: Basic ...` when the server answers the upgrade with
//! 401 and offers the `Basic` scheme (or no scheme at all): the upgrade is
//! sent again on the same connection when the server kept it open (an
//! HTTP/1.1 answer without `Connection: close` whose body was read whole),
//! otherwise on a new connection, all within the connect timeout. With
//! `pre_authenticate`, it goes with the first request and no 401 is
//! needed. A 401 when there is no credential, or a second 401, fails with
//! [`WebErrorStatus::Unauthorized`](crate::WebErrorStatus::Unauthorized).
//! A request header `Authorization` set by the caller is sent as it is and
//! turns this off.
//!
//! Basic authentication shows the password to anyone who sees the
//! request, so over plain `ws://` it is sent only when the control's
//! `allow_unencrypted_credentials` is set. Without it a 401 stays a 401,
//! and `pre_authenticate` is refused as an invalid argument.
//!
//! # Redirects
//!
//! With `max_redirects` above zero, the credential goes only to the
//! origin of the URL given to `connect`: the same scheme (`ws` or `wss`),
//! host and port (80 or 443 when the URL has none). So do the caller's
//! own `Authorization`, `Cookie` and `Proxy-Authorization` request
//! headers (names in any case). A redirect to another origin is followed
//! without them, neither up front nor after that host's 401 (which then
//! fails as [`Unauthorized`](crate::WebErrorStatus::Unauthorized)), as
//! curl does without `--location-trusted`; a redirect back to the first
//! origin sends them again. The credential is the caller's: user name and
//! password in a `Location` URL, which the server chose, are never used.
//! The control's `dangerous_send_secrets_across_origins` keeps the
//! secrets on every hop, for servers that are all trusted with them.
//!
//! # Proxy credentials
//!
//! The control's `proxy_credential` (or the user name and password of the
//! proxy URL) is sent with every `CONNECT` as `Proxy-Authorization: Basic
//! ...`. An HTTP proxy URL is `http://`, so this is always in clear text on
//! the way to the proxy, as with any HTTP proxy.
//!
//! A SOCKS5 proxy (`socks5://`, `socks5h://`) gets the same credential
//! with RFC 1929's user name and password exchange, also in clear text,
//! and only when the proxy chooses that method; each part is at most 255
//! bytes (a longer one, or an empty user name, is an invalid argument,
//! refused before anything is sent). The server credential never goes to
//! any proxy: it is sent, if at all, inside the tunnel to the server.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::{Error, Result};
use crate::handshake::{HttpResponse, header_values};

/// A user name and password (WinRT's `PasswordCredential`, as used by
/// `ServerCredential` and `ProxyCredential`). `Debug` never shows the
/// password.
///
/// ```
/// let c = wsock::Credential::new("alice", "secret");
/// assert!(!format!("{c:?}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// The user name. Basic authentication cannot carry a `:` in it.
    pub user_name: String,
    /// The password.
    pub password: String,
}

impl Credential {
    /// A credential.
    pub fn new(user_name: impl Into<String>, password: impl Into<String>) -> Self {
        Credential {
            user_name: user_name.into(),
            password: password.into(),
        }
    }

    /// The `Basic` header value: `Basic ` and base64 of `user:password` in
    /// UTF-8. A `:` in the user name, or a control character in either, is
    /// [`Error::InvalidArgument`] (RFC 7617 section 2).
    pub(crate) fn basic(&self) -> Result<String> {
        if self.user_name.contains(':') {
            return Err(Error::invalid(
                "a user name for Basic authentication cannot contain ':'",
            ));
        }
        if (self.user_name.chars().chain(self.password.chars())).any(char::is_control) {
            return Err(Error::invalid(
                "a user name or password for Basic authentication cannot contain control characters",
            ));
        }
        let pair = format!("{}:{}", self.user_name, self.password);
        Ok(format!("Basic {}", BASE64.encode(pair)))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("user_name", &self.user_name)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// True when a 401 invites Basic credentials: one of its challenges is the
/// `Basic` scheme, or it has no `WWW-Authenticate` header at all.
///
/// A challenge list is `scheme [params], scheme [params]`; the elements
/// are split at commas, so an auth-param value containing `, basic` could
/// be misread as a challenge. Sending Basic credentials to a server that
/// does not want them costs one refused request.
pub(crate) fn offers_basic(response: &HttpResponse) -> bool {
    let mut challenges = header_values(&response.headers, "www-authenticate").peekable();
    if challenges.peek().is_none() {
        return true;
    }
    challenges.flat_map(|v| v.split(',')).any(|element| {
        let scheme = element.trim_start_matches([' ', '\t']);
        scheme.len() >= 5
            && scheme.as_bytes()[..5].eq_ignore_ascii_case(b"basic")
            && scheme[5..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t')
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn basic_header() {
        // RFC 7617 section 2's example.
        assert_eq!(
            Credential::new("Aladdin", "open sesame").basic().unwrap(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        // RFC 7617 section 2.1's UTF-8 example.
        assert_eq!(
            Credential::new("test", "123\u{a3}").basic().unwrap(),
            "Basic dGVzdDoxMjPCow=="
        );
        assert_eq!(Credential::new("", "").basic().unwrap(), "Basic Og==");
        assert!(
            Credential::new("a:b", "c")
                .basic()
                .unwrap_err()
                .is_invalid_argument()
        );
        assert!(
            Credential::new("a", "c\r\n")
                .basic()
                .unwrap_err()
                .is_invalid_argument()
        );
    }

    fn response(challenges: &[&str]) -> HttpResponse {
        HttpResponse {
            status: 401,
            reason: "Unauthorized".into(),
            headers: challenges
                .iter()
                .map(|c| ("WWW-Authenticate".to_owned(), (*c).to_owned()))
                .collect(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn basic_challenges() {
        assert!(offers_basic(&response(&[])));
        assert!(offers_basic(&response(&["Basic realm=\"x\""])));
        assert!(offers_basic(&response(&["basic"])));
        assert!(offers_basic(&response(&[
            "Digest realm=\"x\", qop=\"auth\"",
            "BASIC realm=y"
        ])));
        assert!(offers_basic(&response(&["Negotiate, Basic realm=\"x\""])));
        assert!(!offers_basic(&response(&["Digest realm=\"x\""])));
        assert!(!offers_basic(&response(&["Bearer", "Basically"])));
        assert!(!offers_basic(&response(&[""])));
    }
}
