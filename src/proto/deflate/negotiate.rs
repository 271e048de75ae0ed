//! The `Sec-WebSocket-Extensions` negotiation of permessage-deflate (RFC 7692
//! section 7.1), for both roles.
//!
//! The header grammar is RFC 6455 section 9.1: a comma-separated list of
//! extensions, each a name and `;`-separated parameters, each parameter a
//! token with an optional value that is a token or a quoted string (whose
//! unescaped content must again be a token). Names are compared without
//! regard to ASCII case.

use std::fmt::Write as _;

use super::{DeflateConfig, DeflateOptions, EXTENSION_NAME, MAX_WINDOW_BITS};

/// An extension parameter: its name and its value, unquoted.
type Param<'a> = (&'a str, Option<String>);

/// The permessage-deflate parameters of one offer or answer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

impl DeflateOptions {
    /// The client's offer: the `Sec-WebSocket-Extensions` value to send.
    ///
    /// It always carries `client_max_window_bits` (with this side's limit,
    /// or bare to say the server may set one), then `server_max_window_bits`,
    /// `server_no_context_takeover` and `client_no_context_takeover` when
    /// asked for.
    pub fn offer(&self) -> String {
        let mut offer = String::from(EXTENSION_NAME);
        match self.client_max_window_bits {
            Some(bits) => {
                let _ = write!(offer, "; client_max_window_bits={bits}");
            }
            None => offer.push_str("; client_max_window_bits"),
        }
        if let Some(bits) = self.server_max_window_bits {
            let _ = write!(offer, "; server_max_window_bits={bits}");
        }
        if self.server_no_context_takeover {
            offer.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            offer.push_str("; client_no_context_takeover");
        }
        offer
    }

    /// Checks the server's answer (the `Sec-WebSocket-Extensions` value of
    /// its 101) against [`offer`](Self::offer) and returns what was agreed.
    ///
    /// Refused, with the reason: anything but exactly one
    /// `permessage-deflate` element; an unknown, repeated or malformed
    /// parameter; a window outside 8 to 15 (or written with a leading zero);
    /// `client_max_window_bits` without a value or above the offered one;
    /// a missing or larger `server_max_window_bits` when one was offered; a
    /// missing `server_no_context_takeover` when it was asked for.
    ///
    /// ```
    /// use wsock::proto::deflate::DeflateOptions;
    /// let options = DeflateOptions::default();
    /// let agreed = options.accept_answer("permessage-deflate; client_max_window_bits=10").unwrap();
    /// assert_eq!((agreed.client_max_window_bits, agreed.server_max_window_bits), (10, 15));
    /// assert!(options.accept_answer("permessage-deflate; x_bits=3").is_err());
    /// assert!(options.accept_answer("x-webkit-deflate-frame").is_err());
    /// ```
    pub fn accept_answer(&self, answer: &str) -> Result<DeflateConfig, &'static str> {
        let mut elements = split_quoted(answer, ',')
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let (Some(element), None) = (elements.next(), elements.next()) else {
            return Err("the answer must hold exactly one extension");
        };
        let (name, params) = parse_element(element).ok_or("malformed extension answer")?;
        if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
            return Err("the answer names an extension that was not offered");
        }
        let answer = parse_params(&params)?;
        let client_bits = match answer.client_max_window_bits {
            None => MAX_WINDOW_BITS,
            Some(None) => return Err("client_max_window_bits needs a value in an answer"),
            Some(Some(bits)) => {
                if self
                    .client_max_window_bits
                    .is_some_and(|offered| bits > offered)
                {
                    return Err("client_max_window_bits above the offered value");
                }
                bits
            }
        };
        if let Some(offered) = self.server_max_window_bits {
            match answer.server_max_window_bits {
                None => return Err("server_max_window_bits was offered and not answered"),
                Some(bits) if bits > offered => {
                    return Err("server_max_window_bits above the offered value");
                }
                Some(_) => {}
            }
        }
        if self.server_no_context_takeover && !answer.server_no_context_takeover {
            return Err("server_no_context_takeover was asked for and not answered");
        }
        Ok(DeflateConfig {
            server_no_context_takeover: answer.server_no_context_takeover,
            // Offered, it is a promise this side keeps whatever the answer.
            client_no_context_takeover: answer.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: answer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
            client_max_window_bits: client_bits
                .min(self.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS)),
            compression_threshold: self.compression_threshold,
            compression_level: self.compression_level,
        })
    }

    /// The server's choice among the client's offers (the
    /// `Sec-WebSocket-Extensions` value of its request): the first
    /// `permessage-deflate` offer whose parameters are all known and well
    /// formed, with what was agreed and the answer to send. `None`: no
    /// acceptable offer, answer without the extension.
    ///
    /// Other extensions and malformed offers are passed over (RFC 7692
    /// section 5: a server declines an offer it cannot accept, it does not
    /// fail the handshake).
    ///
    /// ```
    /// use wsock::proto::deflate::DeflateOptions;
    /// let options = DeflateOptions::default();
    /// let offers = "x-foo, permessage-deflate; server_max_window_bits=20, \
    ///               permessage-deflate; server_max_window_bits=10; client_max_window_bits";
    /// let (agreed, answer) = options.answer_offers(offers).unwrap();
    /// assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
    /// assert_eq!(agreed.server_max_window_bits, 10);
    /// assert!(options.answer_offers("x-foo; bar").is_none());
    /// ```
    pub fn answer_offers(&self, offers: &str) -> Option<(DeflateConfig, String)> {
        split_quoted(offers, ',').into_iter().find_map(|element| {
            let (name, params) = parse_element(element.trim())?;
            if !name.eq_ignore_ascii_case(EXTENSION_NAME) {
                return None;
            }
            let offer = parse_params(&params).ok()?;
            Some(self.answer(&offer))
        })
    }

    /// The answer to one well-formed offer.
    fn answer(&self, offer: &Params) -> (DeflateConfig, String) {
        let server_no_context_takeover =
            offer.server_no_context_takeover || self.server_no_context_takeover;
        let client_no_context_takeover = self.client_no_context_takeover;
        let server_bits = self
            .server_max_window_bits
            .unwrap_or(MAX_WINDOW_BITS)
            .min(offer.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS));
        let answer_server_bits =
            offer.server_max_window_bits.is_some() || self.server_max_window_bits.is_some();
        // The client's window can be limited only if its offer allows it.
        let client_bits = match (self.client_max_window_bits, offer.client_max_window_bits) {
            (Some(ours), Some(theirs)) => Some(ours.min(theirs.unwrap_or(MAX_WINDOW_BITS))),
            _ => None,
        };
        let mut answer = String::from(EXTENSION_NAME);
        if server_no_context_takeover {
            answer.push_str("; server_no_context_takeover");
        }
        if client_no_context_takeover {
            answer.push_str("; client_no_context_takeover");
        }
        if answer_server_bits {
            let _ = write!(answer, "; server_max_window_bits={server_bits}");
        }
        if let Some(bits) = client_bits {
            let _ = write!(answer, "; client_max_window_bits={bits}");
        }
        let config = DeflateConfig {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.unwrap_or(MAX_WINDOW_BITS),
            compression_threshold: self.compression_threshold,
            compression_level: self.compression_level,
        };
        (config, answer)
    }
}

/// The permessage-deflate parameters of an offer or answer: each known
/// parameter at most once, with a value where one is required and none
/// where none is allowed.
fn parse_params(params: &[Param<'_>]) -> Result<Params, &'static str> {
    let mut p = Params::default();
    for (name, value) in params {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "server_no_context_takeover" | "client_no_context_takeover" => {
                if value.is_some() {
                    return Err("a no_context_takeover parameter takes no value");
                }
                let flag = if name.starts_with("server") {
                    &mut p.server_no_context_takeover
                } else {
                    &mut p.client_no_context_takeover
                };
                if *flag {
                    return Err("repeated parameter");
                }
                *flag = true;
            }
            "server_max_window_bits" => {
                if p.server_max_window_bits.is_some() {
                    return Err("repeated parameter");
                }
                let value = value
                    .as_deref()
                    .ok_or("server_max_window_bits needs a value")?;
                p.server_max_window_bits = Some(window_bits(value)?);
            }
            "client_max_window_bits" => {
                if p.client_max_window_bits.is_some() {
                    return Err("repeated parameter");
                }
                p.client_max_window_bits = Some(value.as_deref().map(window_bits).transpose()?);
            }
            _ => return Err("unknown permessage-deflate parameter"),
        }
    }
    Ok(p)
}

/// A window size: a decimal 8 to 15 without leading zeroes.
fn window_bits(value: &str) -> Result<u8, &'static str> {
    match value {
        "8" => Ok(8),
        "9" => Ok(9),
        "10" => Ok(10),
        "11" => Ok(11),
        "12" => Ok(12),
        "13" => Ok(13),
        "14" => Ok(14),
        "15" => Ok(15),
        _ => Err("window bits must be 8 to 15"),
    }
}

/// One extension of the list: its name and its parameters (values
/// unquoted). `None` when it breaks the grammar.
fn parse_element(element: &str) -> Option<(&str, Vec<Param<'_>>)> {
    let mut parts = split_quoted(element, ';').into_iter();
    let name = parts.next()?.trim();
    if !is_token(name) {
        return None;
    }
    let mut params = Vec::new();
    for part in parts {
        let (pname, value) = match part.split_once('=') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim())?)),
            None => (part.trim(), None),
        };
        if !is_token(pname) {
            return None;
        }
        params.push((pname, value));
    }
    Some((name, params))
}

/// A parameter value: a token, or a quoted string whose unescaped content
/// is a token (RFC 6455 section 9.1).
fn unquote(value: &str) -> Option<String> {
    let inner = match value.strip_prefix('"') {
        None => value.to_owned(),
        Some(rest) => {
            let body = rest.strip_suffix('"')?;
            let mut out = String::with_capacity(body.len());
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.push(chars.next()?),
                    '"' => return None,
                    c => out.push(c),
                }
            }
            out
        }
    };
    is_token(&inner).then_some(inner)
}

/// Splits at `sep` outside quoted strings (a backslash escapes the next
/// character inside one).
fn split_quoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

fn is_token(s: &str) -> bool {
    crate::handshake::is_token(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Result<Params, &'static str> {
        let (name, p) = parse_element(s).ok_or("malformed")?;
        assert_eq!(name, EXTENSION_NAME);
        parse_params(&p)
    }

    #[test]
    fn grammar() {
        assert_eq!(
            split_quoted("a, b;c=\"x,y\", d", ','),
            ["a", " b;c=\"x,y\"", " d"]
        );
        assert_eq!(
            split_quoted("a;c=\"x\\\";y\";d", ';'),
            ["a", "c=\"x\\\";y\"", "d"]
        );
        assert_eq!(unquote("\"10\"").as_deref(), Some("10"));
        assert_eq!(unquote("\"1\\0\"").as_deref(), Some("10"));
        assert_eq!(unquote("\"1 0\""), None);
        assert_eq!(unquote("\"10"), None);
        assert_eq!(unquote(""), None);
        assert_eq!(parse_element("permessage-deflate;"), None);
        assert_eq!(parse_element(" ; a"), None);
        assert_eq!(parse_element("p; a b"), None);
        let (name, p) = parse_element("p ; a = 1 ; b").unwrap();
        assert_eq!((name, p), ("p", vec![("a", Some("1".into())), ("b", None)]));
    }

    #[test]
    fn parameters() {
        let all = params(
            "permessage-deflate; server_no_context_takeover; Client_No_Context_Takeover; \
             server_max_window_bits=\"9\"; client_max_window_bits",
        )
        .unwrap();
        assert_eq!(
            all,
            Params {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(9),
                client_max_window_bits: Some(None),
            }
        );
        for bad in [
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=+9",
            "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
            "permessage-deflate; mux",
        ] {
            assert!(params(bad).is_err(), "{bad}");
        }
        for bits in 8..=15u8 {
            assert_eq!(window_bits(&bits.to_string()), Ok(bits));
        }
    }
}
