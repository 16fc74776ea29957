//! What the engine asks its driver to do next, and the stages of a session.

use core::ops::Range;

use crate::error::Error;

/// The next thing the driver must do, returned by [`Engine::poll_action`](super::Engine::poll_action).
///
/// An `Action` borrows the engine: act on it, report the result with the matching
/// `handle_*` call, then poll again.
#[must_use = "an Action is a step the driver must carry out"]
#[derive(Debug)]
#[non_exhaustive]
pub enum Action<'a> {
    /// Write these bytes ([`Outgoing::bytes`]) to the stream, then call
    /// [`handle_sent`](super::Engine::handle_sent) with the number written (a short
    /// write is fine: the rest comes back in the next `Send`), or
    /// [`handle_eof`](super::Engine::handle_eof) if the stream is closed.
    Send(Outgoing<'a>),
    /// Flush anything the stream buffers, read into this buffer, then call
    /// [`handle_received`](super::Engine::handle_received) with the number read, or
    /// [`handle_eof`](super::Engine::handle_eof) on end of stream. The driver must not
    /// read more than the buffer: bytes the engine did not ask for must stay in the
    /// stream (STARTTLS depends on it).
    Recv(&'a mut [u8]),
    /// The session uses implicit TLS ([`Security::Implicit`](super::Security::Implicit),
    /// port 465, RFC 8314): run the TLS handshake on the stream now, before the
    /// greeting, then call [`handle_tls_ready`](super::Engine::handle_tls_ready), or
    /// [`handle_failure`](super::Engine::handle_failure) with `Failure::Upgrade`. Its
    /// time limit is [`timeout`](super::Engine::timeout) like any other wait's, and
    /// its stage [`Stage::TlsHandshake`]. A stream the caller's own TLS has already
    /// encrypted just reports it ready.
    Handshake,
    /// The server accepted `STARTTLS`: run the TLS handshake on the stream now, then
    /// call [`handle_tls_ready`](super::Engine::handle_tls_ready). The engine has
    /// checked that no plaintext byte is left over (RFC 3207 §4.2).
    StartTls,
    /// The server is ready for the message body: call
    /// [`handle_body`](super::Engine::handle_body) with the message source. The
    /// engine pulls one chunk, normalises line ends, stuffs dots and returns it as
    /// the next `Send`.
    Body,
    /// The step the caller asked for is complete.
    Done(Outcome),
    /// The step failed. The engine's [`is_usable`](super::Engine::is_usable) says
    /// whether the connection can still be used (for example after a refused
    /// recipient list, which the engine has already reset with `RSET`).
    Failed(Error),
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Outcome {
    /// The session is open (greeting, EHLO, STARTTLS and AUTH done) and idle.
    Ready,
    /// The message was accepted by the server (its final `250` was read); the
    /// [`Report`](super::Report) holds each recipient's reply and the final reply.
    Sent,
    /// `QUIT` was answered (or the server closed after it): the session is over.
    Closed,
}

/// The bytes of an [`Action::Send`], and which of them are secret: an AUTH
/// payload (the base64 credentials after `AUTH PLAIN `, or a LOGIN response
/// line). A transcript or a log redacts [`secret`](Outgoing::secret) without
/// parsing SMTP; its `Debug` shows only lengths.
#[derive(Clone, Copy)]
pub struct Outgoing<'a> {
    bytes: &'a [u8],
    /// `bytes[secret.0..secret.1]`, empty when `secret.0 >= secret.1`.
    secret: (usize, usize),
}

impl<'a> Outgoing<'a> {
    pub(super) fn new(bytes: &'a [u8], secret: (usize, usize)) -> Self {
        Outgoing { bytes, secret }
    }

    /// The bytes to write.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The part of [`bytes`](Outgoing::bytes) that is secret, if any: for a write
    /// that was cut short, the part of it still to write.
    pub fn secret(&self) -> Option<Range<usize>> {
        let (s, e) = self.secret;
        (s < e && e <= self.bytes.len()).then_some(s..e)
    }

    /// The bytes as (before the secret, the secret, after it); the last two are
    /// empty when nothing is secret. Write the first and the last and a mark for
    /// the middle to log the bytes.
    pub fn split(&self) -> (&'a [u8], &'a [u8], &'a [u8]) {
        match self.secret() {
            Some(r) => (
                self.bytes.get(..r.start).unwrap_or_default(),
                self.bytes.get(r.clone()).unwrap_or_default(),
                self.bytes.get(r.end..).unwrap_or_default(),
            ),
            None => (self.bytes, &[], &[]),
        }
    }
}

impl core::fmt::Debug for Outgoing<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outgoing")
            .field("len", &self.bytes.len())
            .field("secret", &self.secret())
            .finish()
    }
}

pub use crate::stage::Stage;
