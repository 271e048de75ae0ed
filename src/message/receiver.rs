//! The receiving half of the message socket.

use super::*;

/// The receiving half of a [`MessageWebSocket`].
#[derive(Debug)]
pub struct MessageReceiver {
    pub(super) shared: Shared,
    pub(super) mode: MessageWebSocketReceiveMode,
    pub(super) receive_timeout: Option<Duration>,
    /// The receive timeout's timer, kept from one receive to the next.
    pub(super) deadline: Deadline,
    /// Pieces of a fragmented message in full-message mode.
    pub(super) assembly: BytesMut,
    pub(super) assembly_type: MessageType,
    /// The peer's close, once seen, until reported.
    pub(super) closed: Option<CloseFrame>,
    pub(super) close_reported: bool,
    /// Messages decoded ahead, under the same lock as the one before them.
    /// Its capacity is kept while messages stream in and given back when
    /// the receiver waits for the peer, so an idle connection holds none.
    pub(super) ahead: VecDeque<Message>,
    /// Set when the socket is split: messages the sender half read while
    /// closing, which come before anything this half reads on.
    pub(super) stash: Option<Arc<Mutex<Stash>>>,
}

fn lock_stash(stash: &Mutex<Stash>) -> std::sync::MutexGuard<'_, Stash> {
    stash.lock().unwrap_or_else(|p| p.into_inner())
}

/// Most messages decoded ahead under one lock.
const READ_AHEAD: usize = 64;

impl MessageReceiver {
    /// The next message, or the peer's close; see
    /// [`MessageWebSocket::receive`].
    ///
    /// **Receive timeout:** after 30 s without a frame from the peer (the
    /// WinRT default) this fails with
    /// [`Error::Timeout`]`(`[`TimeoutKind::Receive`](crate::TimeoutKind::Receive)`)`;
    /// the socket stays usable and the next `receive()` reads on. To wait
    /// as long as the connection lives, before connecting:
    ///
    /// ```
    /// # let mut control = wsock::MessageWebSocketControl::default();
    /// control.receive_timeout = None;
    /// ```
    ///
    /// or, on this half, [`set_receive_timeout(None)`](Self::set_receive_timeout).
    #[inline]
    pub fn receive(&mut self) -> impl Future<Output = Result<Received>> + '_ {
        Receive {
            rx: self,
            armed: None,
        }
    }

    /// Changes this half's receive timeout (`None`: wait as long as the
    /// connection lives).
    pub fn set_receive_timeout(&mut self, limit: Option<Duration>) {
        self.receive_timeout = limit;
    }

    /// The peer's close code and reason, once its close frame came (1005
    /// when it gave no code; `None` before, or when the connection ended
    /// without one), whichever half read it.
    pub fn close_status(&self) -> Option<(u16, String)> {
        if let Some(f) = &self.closed {
            return Some((f.code, f.reason.clone()));
        }
        let s = self.shared.lock();
        s.peer_close.as_ref().map(|f| (f.code, f.reason.clone()))
    }

    pub(super) fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        loop {
            if let Some(m) = self.ahead.pop_front() {
                return Poll::Ready(Ok(Received::Message(m)));
            }
            if let Some(frame) = &self.closed {
                if self.close_reported {
                    return Poll::Ready(Err(Error::ConnectionClosed));
                }
                // Make sure the reply left before reporting the close.
                let mut s = self.shared.lock();
                let _ = ready!(s.poll_flush(cx, Side::Reader));
                if s.proto.config().role == proto::Role::Server {
                    ready!(s.poll_shutdown(cx, Side::Reader));
                }
                self.close_reported = true;
                return Poll::Ready(Ok(Received::Closed {
                    code: frame.code,
                    reason: frame.reason.clone(),
                }));
            }
            let ev = 'event: {
                let mut s = self.shared.lock();
                // First what a closing sender half read for this one (it
                // reads only under the session lock, so nothing decoded
                // after this can come before it).
                let kept = self.stash.as_ref().and_then(|k| lock_stash(k).pop());
                if let Some((ev, was_full)) = kept {
                    if was_full {
                        // The sender may wait for room.
                        s.wake_halves();
                    }
                    break 'event Ok(ev);
                }
                let Poll::Ready(ev) = s.poll_event(cx, Side::Reader) else {
                    // Going to wait: let go of the read-ahead queue (empty
                    // here) rather than hold it through an idle spell.
                    if self.ahead.capacity() != 0 {
                        self.ahead = VecDeque::new();
                    }
                    return Poll::Pending;
                };
                if let Ok(Event::Data {
                    first: true,
                    fin: true,
                    ..
                }) = &ev
                {
                    read_ahead(&mut self.ahead, &mut s);
                }
                ev
            };
            match ev {
                Ok(Event::Data {
                    kind,
                    payload,
                    first,
                    fin,
                    ..
                }) => {
                    let t = type_of(kind);
                    if self.mode == MessageWebSocketReceiveMode::PartialMessage {
                        return Poll::Ready(Ok(Received::Message(Message::new(t, payload, fin))));
                    }
                    if first && fin {
                        return Poll::Ready(Ok(Received::Message(Message::new(t, payload, true))));
                    }
                    if first {
                        self.assembly_type = t;
                        self.assembly.clear();
                    }
                    self.assembly.extend_from_slice(&payload);
                    if fin {
                        let data = std::mem::take(&mut self.assembly).freeze();
                        return Poll::Ready(Ok(Received::Message(Message::new(
                            self.assembly_type,
                            data,
                            true,
                        ))));
                    }
                }
                Ok(Event::Ping(_)) | Ok(Event::Pong(_)) => {}
                Ok(Event::Close(_)) => {
                    let s = self.shared.lock();
                    self.closed = s.peer_close.clone();
                    // A sender half may wait for this in a close of the
                    // output.
                    s.wake_halves();
                }
                Err(Error::ConnectionClosed) if !self.close_reported => {
                    // The handshake ended in another half (or in `close`).
                    self.closed = self.shared.lock().peer_close.clone();
                    if self.closed.is_none() {
                        self.close_reported = true;
                        return Poll::Ready(Err(Error::ConnectionClosed));
                    }
                }
                Err(e) => {
                    // The session is over: wake a sender half that waits.
                    self.shared.lock().wake_halves();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// The future of [`MessageReceiver::receive`], written by hand rather than
/// as an `async fn` so that a message decoded ahead is taken in a few
/// instructions, with no lock and no timer: the first thing each poll does.
/// Otherwise it polls [`MessageReceiver::poll_receive`] under the receive
/// timeout, whose timer the receiver keeps from one receive to the next
/// ([`Deadline`]). Dropping it midway loses nothing.
struct Receive<'a> {
    rx: &'a mut MessageReceiver,
    /// This receive's deadline, once a poll was not ready.
    armed: Option<tokio::time::Instant>,
}

impl Future for Receive<'_> {
    type Output = Result<Received>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(m) = this.rx.ahead.pop_front() {
            return Poll::Ready(Ok(Received::Message(m)));
        }
        this.poll_wait(cx)
    }
}

impl Receive<'_> {
    /// The receive timeout measures the peer's silence: when it runs out
    /// but the peer sent something meanwhile (a pong, part of a large
    /// message), the wait goes on until the timeout has passed since then.
    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<Result<Received>> {
        let rx = &mut *self.rx;
        if let Poll::Ready(v) = rx.poll_receive(cx) {
            return Poll::Ready(v);
        }
        let shared = &rx.shared;
        rx.deadline
            .poll_silence(
                cx,
                &mut self.armed,
                rx.receive_timeout,
                TimeoutKind::Receive,
                || shared.lock().last_heard,
            )
            .map(Err)
    }
}

/// After a single-frame message, takes the messages that are already
/// whole in the read buffer too (as far as
/// [`Session::buffered_messages`] allows), so a stream of small messages
/// costs one lock per read rather than one per message.
fn read_ahead(ahead: &mut VecDeque<Message>, s: &mut Session) {
    let room = READ_AHEAD.saturating_sub(ahead.len());
    s.buffered_messages(room, |kind, data| {
        ahead.push_back(Message::new(type_of(kind), data, true));
    });
}
