//! The command line's options as the library's controls. Both controls
//! carry the same shared fields under the same names, so one macro fills
//! either and the two modes cannot drift apart.

use wsock::{Credential, DeflateOptions, MessageWebSocketControl, ProxyConfig};
use wsock::{StreamWebSocketControl, certificates};

use crate::args::Options;

/// Fills the shared fields of `$control` from `$o`; `Err` is a usage
/// error (a header the handshake owns, a proxy URL that is not http://, a
/// CA file that cannot be read).
macro_rules! fill {
    ($control:expr, $o:expr) => {{
        let c = &mut $control;
        let o: &Options = $o;
        for (name, value) in &o.headers {
            c.set_request_header(name, value)
                .map_err(|e| format!("--header {name:?}: {}", e.report()))?;
        }
        c.supported_protocols = o.subprotocols.clone();
        c.proxy = proxy(o)?;
        for file in &o.ca_files {
            let data = std::fs::read(file).map_err(|e| format!("--ca {}: {e}", file.display()))?;
            let roots = certificates::parse_certificates(&data)
                .map_err(|e| format!("--ca {}: {}", file.display(), e.report()))?;
            c.trusted_root_certificates.extend(roots);
        }
        c.ignorable_server_certificate_errors = o.ignore_errors.clone();
        c.deflate = o.deflate.then(DeflateOptions::default);
        c.keep_alive_interval = o.keep_alive;
        c.connect_timeout = o.connect_timeout.or(c.connect_timeout);
        c.receive_timeout = o.receive_timeout;
        c.send_timeout = o.send_timeout.or(c.send_timeout);
        c.close_timeout = o.close_timeout.or(c.close_timeout);
        c.server_credential = o
            .user
            .as_ref()
            .map(|u| Credential::new(u.clone(), o.password.clone().unwrap_or_default()));
    }};
}

fn proxy(o: &Options) -> Result<Option<ProxyConfig>, String> {
    if let Some(url) = &o.proxy {
        return ProxyConfig::new(url)
            .map(Some)
            .map_err(|e| format!("--proxy: {}", e.report()));
    }
    if o.proxy_from_env {
        return ProxyConfig::from_env()
            .map(Some)
            .map_err(|e| format!("--proxy-from-env: {}", e.report()));
    }
    Ok(None)
}

pub(crate) fn message_control(o: &Options) -> Result<MessageWebSocketControl, String> {
    let mut control = MessageWebSocketControl::default();
    fill!(control, o);
    control.message_type = if o.binary {
        wsock::MessageType::Binary
    } else {
        wsock::MessageType::Utf8
    };
    Ok(control)
}

pub(crate) fn stream_control(o: &Options) -> Result<StreamWebSocketControl, String> {
    let mut control = StreamWebSocketControl::default();
    fill!(control, o);
    Ok(control)
}
