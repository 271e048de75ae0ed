//! One connection attempt (connect, then the on-connect hook), and the
//! loop form: a `Stream` of connected sockets.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::Instant;

use crate::control::MessageWebSocketControl;
use crate::error::{Error, Result};
use crate::message::MessageWebSocket;

use super::backoff::{Backoff, Jitter};
use super::policy::{FailureStage, ReconnectPolicy};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The on-connect hook, boxed.
pub(crate) type Hook =
    Box<dyn FnMut(MessageWebSocket) -> BoxFuture<Result<MessageWebSocket>> + Send>;

/// Boxes a user's hook.
pub(crate) fn hook<F, Fut>(mut f: F) -> Hook
where
    F: FnMut(MessageWebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = Result<MessageWebSocket>> + Send + 'static,
{
    Box::new(move |ws| Box::pin(f(ws)))
}

/// What every attempt needs: where, with which options, the hook, and the
/// backoff.
pub(crate) struct Connector {
    url: String,
    control: MessageWebSocketControl,
    pub(crate) hook: Option<Hook>,
    pub(crate) backoff: Backoff,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("url", &self.url)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub(crate) fn new(
        url: &str,
        control: MessageWebSocketControl,
        policy: ReconnectPolicy,
    ) -> Self {
        Connector {
            url: url.to_owned(),
            control,
            hook: None,
            backoff: Backoff::new(policy, Jitter::from_os()),
        }
    }

    pub(crate) fn control(&self) -> &MessageWebSocketControl {
        &self.control
    }

    pub(crate) fn policy(&self) -> &ReconnectPolicy {
        &self.backoff.policy
    }

    /// One attempt: a connection with the control's options (its connect
    /// timeout included), then the hook on the whole socket.
    pub(crate) async fn attempt(&mut self) -> Result<MessageWebSocket, (Error, FailureStage)> {
        let ws = MessageWebSocket::connect(&self.url, self.control.clone())
            .await
            .map_err(|e| (e, FailureStage::Connect))?;
        match &mut self.hook {
            Some(hook) => hook(ws).await.map_err(|e| (e, FailureStage::OnConnect)),
            None => Ok(ws),
        }
    }
}

/// A reconnecting socket or stream that stopped: the error, wrapped for
/// the caller.
pub(crate) fn gave_up(error: std::sync::Arc<Error>, attempts: u32) -> Error {
    Error::GaveUp {
        attempts,
        last: error,
    }
}

/// The loop form (Python's `async for websocket in connect(...)`): a
/// `Stream` of connected sockets, each after the on-connect hook, for code
/// that writes its own read loop. Asking for the next item means the last
/// connection is over (drop it first): the next is made after the
/// policy's delay, as after a lost connection of
/// [`ReconnectingMessageWebSocket`](super::ReconnectingMessageWebSocket)
/// (the backoff starts again when the last one stayed up the policy's
/// `reset_after`), and so are the attempts that fail. The stream does not
/// see why a connection ended, so every end is retried.
///
/// Yields `Err(`[`Error::GaveUp`]`)` once when the policy stops (an error
/// it does not retry, or the attempts ran out), then ends.
///
/// ```no_run
/// use futures_util::StreamExt; // or any Stream adapter
/// use wsock::reconnect::{ReconnectPolicy, connections};
/// # async fn demo() -> wsock::Result<()> {
/// let mut sockets = connections("ws://127.0.0.1:9001/feed", Default::default(), ReconnectPolicy::default());
/// while let Some(ws) = sockets.next().await {
///     let mut ws = ws?;
///     while let Ok(wsock::Received::Message(m)) = ws.receive().await {
///         println!("{:?}", m);
///     }
/// }
/// # Ok(()) }
/// ```
pub fn connections(
    url: &str,
    control: MessageWebSocketControl,
    policy: ReconnectPolicy,
) -> Connections {
    Connections {
        connector: Some(Connector::new(url, control, policy)),
        next: None,
        handed_out: None,
        done: false,
    }
}

type Next = BoxFuture<(Connector, Result<MessageWebSocket>)>;

/// The stream [`connections`] returns.
pub struct Connections {
    /// Here between items; inside `next` while one is made.
    connector: Option<Connector>,
    next: Option<Next>,
    /// When the last socket was handed out.
    handed_out: Option<Instant>,
    done: bool,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("connector", &self.connector)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// Runs `hook` on each new socket before it is handed out (see
    /// [`ReconnectingMessageWebSocket::on_connect`](super::ReconnectingMessageWebSocket::on_connect)).
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: FnMut(MessageWebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = Result<MessageWebSocket>> + Send + 'static,
    {
        if let Some(c) = &mut self.connector {
            c.hook = Some(self::hook(hook));
        }
        self
    }
}

/// The next connection: after the last one's end (if one was handed out),
/// and after each failed attempt, the policy's wait.
async fn next_connection(
    mut c: Connector,
    last_lasted: Option<std::time::Duration>,
) -> (Connector, Result<MessageWebSocket>) {
    if let Some(lasted) = last_lasted {
        c.backoff.connection_ended(lasted);
        match c.backoff.after_failure(None, FailureStage::Connection) {
            Some(delay) => tokio::time::sleep(delay).await,
            None => {
                let attempts = c.backoff.attempt();
                let e = Error::ConnectionClosed;
                return (c, Err(gave_up(e.into(), attempts)));
            }
        }
    }
    loop {
        match c.attempt().await {
            Ok(ws) => return (c, Ok(ws)),
            Err((e, stage)) => match c.backoff.after_failure(Some(&e), stage) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => {
                    let attempts = c.backoff.attempt();
                    return (c, Err(gave_up(e.into(), attempts)));
                }
            },
        }
    }
}

impl futures_core::Stream for Connections {
    type Item = Result<MessageWebSocket>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if this.next.is_none() {
            let Some(c) = this.connector.take() else {
                return Poll::Ready(None);
            };
            let lasted = this.handed_out.map(|t| t.elapsed());
            this.next = Some(Box::pin(next_connection(c, lasted)));
        }
        let Some(next) = &mut this.next else {
            return Poll::Ready(None);
        };
        let (c, item) = std::task::ready!(next.as_mut().poll(cx));
        this.next = None;
        this.connector = Some(c);
        match &item {
            Ok(_) => this.handed_out = Some(Instant::now()),
            Err(_) => this.done = true,
        }
        Poll::Ready(Some(item))
    }
}
