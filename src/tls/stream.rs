//! What the blocking and the async TLS streams share: their states and every step
//! that is not I/O. Each twin ([`super::blocking`], [`super::asynch`]) only calls
//! embedded-tls (awaiting, or not) between these steps.
//!
//! ```text
//!   Plain ──begin_handshake──► (handshake runs on the Guard) ──end_handshake──► Tls
//!     │                                                              │
//!     └────────── any failure: Failed(the first failure), for good ◄──┘
//! ```

use embedded_io::ErrorKind;
use embedded_tls::{CryptoRngCore, TlsCipherSuite, TlsError};

use super::error::RecordError;
use super::guard::{Guard, VERDICT_LEN, Verdict};
use super::{Connector, MIN_TLS_READ_BUFFER, MIN_TLS_WRITE_BUFFER, SessionError, StreamError};
use super::{TlsFailure, WRITE_OVERHEAD};
use crate::engine::Stage;
use crate::error::{Buffer, Error, Misuse};

/// A TLS stream's state over socket `T`, with embedded-tls connection `Conn`.
pub(super) enum State<'b, T, Conn> {
    /// Before the handshake: the socket and the buffers the handshake will use.
    Plain {
        socket: T,
        read: &'b mut [u8],
        write: &'b mut [u8],
    },
    /// After a successful handshake.
    Tls {
        connection: Conn,
        /// The guard's refusal, if any.
        verdict: Verdict<'b>,
        /// The server closed (close_notify, or the socket ended).
        eof: bool,
        /// An async call is under way; still set on entry means it was cancelled.
        busy: bool,
    },
    /// Failed for good: every call returns this failure.
    Failed(TlsFailure),
}

/// What a handshake starts from: the guarded socket, the buffers for embedded-tls
/// and the verdict cells.
pub(super) struct Handshake<'b, T> {
    pub(super) socket: Guard<'b, T>,
    pub(super) read: &'b mut [u8],
    pub(super) write: &'b mut [u8],
    pub(super) verdict: Verdict<'b>,
}

impl<'b, T, Conn> State<'b, T, Conn> {
    /// A plain stream.
    pub(super) fn new(socket: T, read: &'b mut [u8], write: &'b mut [u8]) -> Self {
        State::Plain {
            socket,
            read,
            write,
        }
    }

    /// Takes the plain socket and buffers for a handshake: the socket goes behind
    /// the record guard. Until the caller puts the connection in place
    /// ([`State::Tls`] with `busy` set, built where it stays: about 1.3 KB never
    /// copied) the stream is [`TlsFailure::Interrupted`], which is also what stays
    /// if an async handshake is cancelled.
    ///
    /// # Errors
    /// [`Error::Capacity`] for a buffer below its minimum (the stream stays plain);
    /// [`Misuse::NotPlain`] when the stream is not plain.
    pub(super) fn begin_handshake<E, Rng: CryptoRngCore, C: TlsCipherSuite>(
        &mut self,
        connector: &Connector<'_, Rng, C>,
    ) -> Result<Handshake<'b, T>, SessionError<E>> {
        let (socket, read, write) =
            match core::mem::replace(self, State::Failed(TlsFailure::Interrupted)) {
                State::Plain {
                    socket,
                    read,
                    write,
                } => (socket, read, write),
                other => {
                    *self = other;
                    return Err(Error::Misuse(Misuse::NotPlain));
                }
            };
        let len = match write_len(connector.fragment, read.len(), write.len()) {
            Ok(len) => len,
            Err(e) => {
                *self = State::Plain {
                    socket,
                    read,
                    write,
                };
                return Err(e);
            }
        };
        // The verdict's cells come from the end of the write buffer, past what
        // embedded-tls is given; `len` is at most the buffer less the verdict.
        let (write, rest) = write.split_at_mut(len);
        let (_, cells) = rest.split_at_mut(rest.len() - VERDICT_LEN);
        let verdict = Verdict::new(cells);
        Ok(Handshake {
            socket: Guard::new(socket, read.len(), verdict),
            read,
            write,
            verdict,
        })
    }

    /// The connection of a handshake under way (after [`State::begin_handshake`]).
    pub(super) fn connection(&mut self) -> Option<&mut Conn> {
        match self {
            State::Tls { connection, .. } => Some(connection),
            _ => None,
        }
    }

    /// After the handshake returned `result`: TLS up, or the first failure kept.
    /// A handshake embedded-tls completed without the server's Certificate or
    /// CertificateVerify is refused here ([`Provider::check_verified`](crate::verify::Provider::check_verified)).
    ///
    /// # Errors
    /// The handshake's failure: [`Error::TimedOut`] at [`Stage::TlsHandshake`] for
    /// a transport time-out, [`Error::Tls`] otherwise.
    pub(super) fn end_handshake<E, Rng: CryptoRngCore, C: TlsCipherSuite>(
        &mut self,
        result: Result<(), TlsError>,
        connector: &Connector<'_, Rng, C>,
    ) -> Result<(), SessionError<E>> {
        let refused = match self {
            State::Tls { verdict, .. } => verdict.get(),
            _ => None,
        };
        let failure = match result {
            Ok(()) => match connector.provider.check_verified() {
                Ok(()) => {
                    debug!("TLS 1.3 established");
                    if let State::Tls { busy, .. } = self {
                        *busy = false;
                    }
                    return Ok(());
                }
                Err(e) => TlsFailure::Verify(e),
            },
            Err(e) => handshake_failure(e, refused, connector),
        };
        warn!("TLS handshake failed");
        *self = State::Failed(failure);
        Err(match failure.kind() {
            ErrorKind::TimedOut => Error::TimedOut {
                stage: Stage::TlsHandshake,
            },
            _ => Error::Tls(failure),
        })
    }

    /// Before an async call: a call still marked busy was cancelled half-way.
    #[cfg(feature = "async")]
    pub(super) fn enter(&mut self) {
        if let State::Tls { busy: true, .. } = self {
            warn!("TLS call cancelled half-way");
            *self = State::Failed(TlsFailure::Interrupted);
        }
    }

    /// What a read of the established connection returned, as the stream's result.
    /// The server's close_notify and the end of the socket are end of stream.
    pub(super) fn after_read<E>(
        &mut self,
        result: Result<usize, TlsError>,
    ) -> Result<usize, StreamError<E>> {
        match result {
            Ok(n) => {
                if let State::Tls { busy, .. } = self {
                    *busy = false;
                }
                Ok(n)
            }
            Err(TlsError::ConnectionClosed | TlsError::IoError) => {
                if let State::Tls { eof, busy, .. } = self {
                    *eof = true;
                    *busy = false;
                }
                Ok(0)
            }
            // embedded-tls answers a post-handshake handshake message it does not
            // parse (KeyUpdate, RFC 8446 §4.6.3) with `Unimplemented`.
            Err(TlsError::Unimplemented) => Err(self.fail(TlsFailure::KeyUpdate)),
            Err(e) => Err(self.fail_with(e)),
        }
    }

    /// What a write or flush of the established connection returned.
    pub(super) fn after_write<R, E>(
        &mut self,
        result: Result<R, TlsError>,
    ) -> Result<R, StreamError<E>> {
        match result {
            Ok(r) => {
                if let State::Tls { busy, .. } = self {
                    *busy = false;
                }
                Ok(r)
            }
            Err(e) => Err(self.fail_with(e)),
        }
    }

    /// The failure for embedded-tls's error `e`: the guard's refusal if it refused.
    fn fail_with<E>(&mut self, e: TlsError) -> StreamError<E> {
        let failure = match self {
            State::Tls { verdict, .. } => match verdict.get() {
                Some(r) => TlsFailure::Record(r),
                None => TlsFailure::from_tls(e),
            },
            State::Failed(f) => *f,
            State::Plain { .. } => TlsFailure::from_tls(e),
        };
        self.fail(failure)
    }

    /// The stream fails for good with `failure` (the connection and the socket
    /// are dropped).
    fn fail<E>(&mut self, failure: TlsFailure) -> StreamError<E> {
        warn!("TLS stream failed");
        *self = State::Failed(failure);
        StreamError::Tls(failure)
    }
}

impl<T: crate::blocking::Deadline, Conn> State<'_, T, Conn> {
    /// A new wait of at most `limit`: started on the socket at once while it is
    /// plain, else posted for the guard to start before its next read or write.
    pub(super) fn start_wait(&mut self, limit: Option<core::time::Duration>) {
        match self {
            State::Plain { socket, .. } => socket.start_wait(limit),
            State::Tls { verdict, .. } => verdict.post_wait(limit),
            State::Failed(_) => {}
        }
    }
}

/// How much of a write buffer of `write` bytes embedded-tls may use, after
/// checking both buffers' sizes (the last [`VERDICT_LEN`] bytes are the guard's).
pub(super) fn write_len<E>(fragment: usize, read: usize, write: usize) -> Result<usize, Error<E>> {
    if read < MIN_TLS_READ_BUFFER {
        return Err(Error::Capacity {
            buffer: Buffer::TlsRead,
            required: MIN_TLS_READ_BUFFER,
        });
    }
    if write < MIN_TLS_WRITE_BUFFER {
        return Err(Error::Capacity {
            buffer: Buffer::TlsWrite,
            required: MIN_TLS_WRITE_BUFFER,
        });
    }
    Ok((write - VERDICT_LEN).min(fragment + WRITE_OVERHEAD))
}

/// The failure of a handshake that embedded-tls ended with `e`: the guard's
/// refusal first (a record that is not TLS at all before the ServerHello is
/// [`TlsFailure::NotTls`]), then the verifier's typed reason, then `e` itself.
fn handshake_failure<Rng: CryptoRngCore, C: TlsCipherSuite>(
    e: TlsError,
    refused: Option<RecordError>,
    connector: &Connector<'_, Rng, C>,
) -> TlsFailure {
    if let Some(r) = refused {
        return match r {
            RecordError::UnexpectedType {
                content_type,
                after_server_hello: false,
            } if !(20..=24).contains(&content_type) => TlsFailure::NotTls,
            r => TlsFailure::Record(r),
        };
    }
    match (e, connector.verifier().last_error()) {
        (
            TlsError::InvalidCertificate
            | TlsError::InvalidSignature
            | TlsError::InvalidSignatureScheme
            | TlsError::InvalidHandshake,
            Some(reason),
        ) => TlsFailure::Verify(reason),
        // A record type that does not exist: the peer does not speak TLS.
        (TlsError::InvalidRecord, _) => TlsFailure::NotTls,
        (e, _) => TlsFailure::from_tls(e),
    }
}
