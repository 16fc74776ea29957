//! TLS over blocking `embedded_io` streams ([`embedded_tls::blocking`]). The
//! steps that are not I/O are shared with `tls::asynch` (`stream.rs`).

use embedded_io::{ErrorType, Read, Write};
use embedded_tls::blocking::{TlsConnection, TlsContext};
use embedded_tls::{Aes128GcmSha256, CryptoRngCore, TlsCipherSuite};

use super::guard::Guard;
use super::stream::State;
use super::{Buffers, Connector, SessionError, StreamError, TlsFailure};
use crate::blocking::{Client, Deadline, Upgrade};
use crate::engine::Config;

/// A blocking client on a [`TlsStream`] that the [`Connector`] upgrades.
pub type TlsClient<'a, 'b, 'c, T, Rng, const N: usize = 4, C = Aes128GcmSha256> =
    Client<'a, TlsStream<'b, T, C>, N, Connector<'c, Rng, C>>;

type Connection<'b, T, C> = TlsConnection<'b, Guard<'b, T>, C>;

/// A stream that is plain until its TLS handshake and TLS after it, over
/// socket `T` with caller-owned TLS buffers (`'b`). The server's records pass the
/// record guard (see the module docs of [`super`]) before embedded-tls reads them.
///
/// After any failure (of the handshake, of a read or a write, or a record the
/// guard refused) the stream is failed for good: every later read, write, flush
/// and [`close`](TlsStream::close) returns the same [`TlsFailure`], and the socket
/// has been dropped.
///
/// `T` may be the socket itself or `&mut socket` (embedded-io implements both
/// traits for `&mut T`); borrow it when the socket must be closed through its
/// network stack afterwards, since after a handshake embedded-tls keeps the
/// socket until the stream is dropped.
pub struct TlsStream<
    'b,
    T: Read + Write + Deadline + 'b,
    C: TlsCipherSuite + 'static = Aes128GcmSha256,
> {
    state: State<'b, T, Connection<'b, T, C>>,
}

impl<'b, T: Read + Write + Deadline + 'b, C: TlsCipherSuite + 'static> TlsStream<'b, T, C> {
    /// A plain stream over `socket` that [`TlsStream::start_tls`] (or the client,
    /// for STARTTLS) turns into TLS with these buffers: `read` at least
    /// [`TLS_READ_BUFFER`](super::TLS_READ_BUFFER) (16 640) bytes, `write`
    /// [`TLS_WRITE_BUFFER`](super::TLS_WRITE_BUFFER) (4 096; only the first
    /// [`MAX_TLS_WRITE_BUFFER`](super::MAX_TLS_WRITE_BUFFER) bytes are used).
    pub fn new(socket: T, read: &'b mut [u8], write: &'b mut [u8]) -> Self {
        TlsStream {
            state: State::new(socket, read, write),
        }
    }

    /// Implicit TLS (port 465): runs the handshake on `socket` at once and returns
    /// the encrypted stream, for a client configured with [`Security::Implicit`](crate::Security::Implicit).
    ///
    /// # Errors
    /// [`Error::Tls`](crate::Error::Tls) when the handshake fails or the server is
    /// not authenticated ([`TlsFailure::Verify`] carries the reason), and
    /// [`Error::Capacity`](crate::Error::Capacity) when a buffer is below
    /// [`MIN_TLS_READ_BUFFER`](super::MIN_TLS_READ_BUFFER) or
    /// [`MIN_TLS_WRITE_BUFFER`](super::MIN_TLS_WRITE_BUFFER).
    pub fn open<Rng: CryptoRngCore>(
        socket: T,
        read: &'b mut [u8],
        write: &'b mut [u8],
        connector: &mut Connector<'_, Rng, C>,
    ) -> Result<Self, SessionError<T::Error>> {
        let mut stream = TlsStream::new(socket, read, write);
        stream.start_tls(connector)?;
        Ok(stream)
    }

    /// Runs the TLS handshake on the plain stream, in place, and then checks
    /// that the server was authenticated
    /// ([`Provider::check_verified`](crate::verify::Provider::check_verified)).
    /// After a failure the stream is failed for good and the socket has been dropped.
    ///
    /// # Errors
    /// As [`TlsStream::open`];
    /// [`Misuse::NotPlain`](crate::Misuse::NotPlain) when
    /// the stream is not plain.
    pub fn start_tls<Rng: CryptoRngCore>(
        &mut self,
        connector: &mut Connector<'_, Rng, C>,
    ) -> Result<(), SessionError<T::Error>> {
        let h = self.state.begin_handshake(connector)?;
        // Built where it stays (never copied), busy until the handshake ends.
        self.state = State::Tls {
            connection: TlsConnection::new(h.socket, h.read, h.write),
            verdict: h.verdict,
            eof: false,
            busy: true,
        };
        let opened = match self.state.connection() {
            Some(connection) => {
                connection.open(TlsContext::new(&connector.config, &mut connector.provider))
            }
            None => {
                return Err(crate::Error::Invariant(crate::error::broken(
                    crate::Invariant::State,
                )));
            }
        };
        self.state.end_handshake(opened, connector)
    }

    /// Whether the handshake has completed (and the server was authenticated).
    pub fn is_encrypted(&self) -> bool {
        matches!(self.state, State::Tls { .. })
    }

    /// Sends the TLS `close_notify` alert (when TLS is up) and drops the socket.
    /// After `QUIT` this is optional: SMTP has already ended the session.
    ///
    /// # Errors
    /// The failure to send the alert, or the stream's earlier failure.
    pub fn close(self) -> Result<(), TlsFailure> {
        match self.state {
            State::Tls { connection, .. } => connection
                .close()
                .map(drop)
                .map_err(|(_, e)| TlsFailure::from_tls(e)),
            State::Plain { .. } => Ok(()),
            State::Failed(f) => Err(f),
        }
    }
}

/// The client's deadline reaches the socket: at once while the stream is plain,
/// through the record guard (before its next read or write) once embedded-tls owns
/// the socket.
impl<'b, T: Read + Write + Deadline + 'b, C: TlsCipherSuite + 'static> Deadline
    for TlsStream<'b, T, C>
{
    fn start_wait(&mut self, limit: Option<core::time::Duration>) {
        self.state.start_wait(limit);
    }
}

impl<'b, T: Read + Write + Deadline + 'b, C: TlsCipherSuite + 'static> ErrorType
    for TlsStream<'b, T, C>
{
    type Error = StreamError<T::Error>;
}

// Read, write and flush stay out of line: inlined into the blocking client's
// driver loop, embedded-tls's record reading (about 1.2 KB of locals) became part
// of the loop's frame, under which every encrypting write and flush then ran.
impl<'b, T: Read + Write + Deadline + 'b, C: TlsCipherSuite + 'static> Read
    for TlsStream<'b, T, C>
{
    /// Reads plain or decrypted bytes. The server's `close_notify`, and a
    /// connection closed without one, are end of stream (`Ok(0)`).
    #[inline(never)]
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let result = match &mut self.state {
            State::Plain { socket, .. } => return socket.read(buf).map_err(StreamError::Socket),
            State::Tls { eof: true, .. } => return Ok(0),
            State::Tls { connection, .. } => connection.read(buf),
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_read(result)
    }
}

impl<'b, T: Read + Write + Deadline + 'b, C: TlsCipherSuite + 'static> Write
    for TlsStream<'b, T, C>
{
    #[inline(never)]
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let result = match &mut self.state {
            State::Plain { socket, .. } => return socket.write(buf).map_err(StreamError::Socket),
            State::Tls { connection, .. } => connection.write(buf),
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_write(result)
    }

    #[inline(never)]
    fn flush(&mut self) -> Result<(), Self::Error> {
        let result = match &mut self.state {
            State::Plain { socket, .. } => return socket.flush().map_err(StreamError::Socket),
            State::Tls { connection, .. } => connection.flush(),
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_write(result)
    }
}

/// The implicit handshake (`open`, the session's first step) and STARTTLS: the
/// client calls `upgrade` after the server's `220` (and after the engine made sure
/// nothing followed it), then sends EHLO again.
impl<'b, T, Rng, C> Upgrade<TlsStream<'b, T, C>> for Connector<'_, Rng, C>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    // Out of line: inlined into the client's driver loop, the handshake's locals
    // (several KB) became part of the loop's frame for the whole session.
    #[inline(never)]
    fn upgrade(&mut self, stream: &mut TlsStream<'b, T, C>) -> Result<(), SessionError<T::Error>> {
        stream.start_tls(self)
    }
}

/// The same for a stream the caller keeps in its own frame (the client holds
/// `&mut TlsStream`).
impl<'b, T, Rng, C> Upgrade<&mut TlsStream<'b, T, C>> for Connector<'_, Rng, C>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    fn upgrade(
        &mut self,
        stream: &mut &mut TlsStream<'b, T, C>,
    ) -> Result<(), SessionError<T::Error>> {
        Upgrade::<TlsStream<'b, T, C>>::upgrade(self, stream)
    }
}

/// A blocking client over `socket` that speaks TLS as `config` says, for
/// transactions of up to 4 recipients ([`client_with_max_recipients`] for
/// another limit): [`Security::Implicit`](crate::Security::Implicit) runs the
/// handshake first thing in [`connect`](Client::connect) (port 465),
/// [`Security::StartTls`](crate::Security::StartTls) after the server's `220`
/// to `STARTTLS` (port 587), and [`Security::None`](crate::Security::None) never
/// uses TLS. Either handshake is one of the engine's waits, bounded by the
/// transport's [`Deadline`] at
/// [`Stage::TlsHandshake`](crate::engine::Stage::TlsHandshake).
///
/// # Errors
/// [`Error::Capacity`](crate::Error::Capacity) when `rx` or `tx` is too small
/// (the TLS buffers are checked when the handshake starts).
pub fn client<'a, 'b, 'c, T, Rng, C>(
    socket: T,
    connector: Connector<'c, Rng, C>,
    config: Config<'a>,
    buffers: Buffers<'a, 'b>,
) -> Result<TlsClient<'a, 'b, 'c, T, Rng, 4, C>, SessionError<T::Error>>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    client_with_max_recipients(socket, connector, config, buffers)
}

/// [`client`] for transactions of up to `N` recipients:
/// `client_with_max_recipients::<_, _, _, 16>(..)`, or let the type of the
/// result say `N`.
///
/// # Errors
/// As [`client`].
pub fn client_with_max_recipients<'a, 'b, 'c, T, Rng, C, const N: usize>(
    socket: T,
    connector: Connector<'c, Rng, C>,
    config: Config<'a>,
    buffers: Buffers<'a, 'b>,
) -> Result<TlsClient<'a, 'b, 'c, T, Rng, N, C>, SessionError<T::Error>>
where
    T: Read + Write + Deadline + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    let Buffers {
        rx,
        tx,
        tls_read,
        tls_write,
    } = buffers;
    let stream = TlsStream::new(socket, tls_read, tls_write);
    Client::with_upgrade(stream, connector, config, rx, tx)
}
