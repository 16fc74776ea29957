//! What the engine asks its driver to do next, and the stages of a session.

use crate::error::Error;

/// The next thing the driver must do, returned by [`Engine::poll_action`](super::Engine::poll_action).
///
/// An `Action` borrows the engine: act on it, report the result with the matching
/// `handle_*` call, then poll again.
#[must_use = "an Action is a step the driver must carry out"]
#[derive(Debug)]
#[non_exhaustive]
pub enum Action<'a> {
    /// Write these bytes to the stream, then call
    /// [`handle_sent`](super::Engine::handle_sent) with the number written (a short
    /// write is fine: the rest comes back in the next `Send`), or
    /// [`handle_eof`](super::Engine::handle_eof) if the stream is closed.
    Send(&'a [u8]),
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

pub use crate::stage::Stage;
