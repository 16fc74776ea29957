//! TLS over `embedded_io_async` streams (features `tls` and `async`): the async
//! twin of [`super::blocking`], for [`asynch::Client`](crate::asynch::Client). Same
//! states, same checks and the same record guard (the steps that are not I/O are
//! written once, in `stream.rs`); only the I/O is awaited.
//!
//! A read, write or flush whose future is dropped before it finishes (a time
//! limit, a `select`) may leave a record half read or half written: the next call
//! finds it so and fails the stream with [`TlsFailure::Interrupted`], for good.

use embedded_io_async::{ErrorType, Read, Write};
use embedded_tls::{Aes128GcmSha256, CryptoRngCore, TlsCipherSuite, TlsConnection, TlsContext};

use super::guard::Guard;
use super::stream::State;
use super::{Buffers, Connector, SessionError, StreamError, TlsFailure};
use crate::asynch::{Client, NoTimer, Timer, Upgrade};
use crate::engine::Config;

/// The async client over a [`TlsStream`], upgraded by its [`Connector`], its
/// waits bounded by `Tm`.
pub type TlsClient<'a, 'b, 'c, T, Rng, const N: usize = 4, C = Aes128GcmSha256, Tm = NoTimer> =
    Client<'a, TlsStream<'b, T, C>, N, Connector<'c, Rng, C>, Tm>;

type Connection<'b, T, C> = TlsConnection<'b, Guard<'b, T>, C>;

/// A socket that is plain until [`start_tls`](TlsStream::start_tls) and TLS 1.3
/// after it; see [`blocking::TlsStream`](super::blocking::TlsStream), whose
/// failure rules it shares, and the module docs for cancelled calls.
pub struct TlsStream<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static = Aes128GcmSha256> {
    state: State<'b, T, Connection<'b, T, C>>,
}

impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> TlsStream<'b, T, C> {
    /// A plain stream over `socket` that can switch to TLS with the record
    /// buffers `read` and `write` (see the module docs of [`super`] for sizes).
    pub fn new(socket: T, read: &'b mut [u8], write: &'b mut [u8]) -> Self {
        TlsStream {
            state: State::new(socket, read, write),
        }
    }

    /// Implicit TLS: the handshake runs now.
    ///
    /// # Errors
    /// [`Error::Tls`](crate::Error::Tls) with the reason, or [`Error::Capacity`](crate::Error::Capacity) for small buffers.
    pub async fn open<Rng: CryptoRngCore>(
        socket: T,
        read: &'b mut [u8],
        write: &'b mut [u8],
        connector: &mut Connector<'_, Rng, C>,
    ) -> Result<Self, SessionError<T::Error>> {
        let mut stream = TlsStream::new(socket, read, write);
        stream.start_tls(connector).await?;
        Ok(stream)
    }

    /// Runs the TLS 1.3 handshake in place and checks the server was verified. A
    /// handshake whose future is dropped leaves the stream
    /// [`TlsFailure::Interrupted`].
    ///
    /// # Errors
    /// [`Error::Tls`](crate::Error::Tls) with the reason (the stream is then failed for good),
    /// [`Error::Capacity`](crate::Error::Capacity) for small buffers (the stream stays plain), or
    /// [`Misuse::NotPlain`](crate::Misuse::NotPlain) when TLS
    /// is already up.
    pub async fn start_tls<Rng: CryptoRngCore>(
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
                connection
                    .open(TlsContext::new(&connector.config, &mut connector.provider))
                    .await
            }
            None => {
                return Err(crate::Error::Invariant(crate::error::broken(
                    crate::Invariant::State,
                )));
            }
        };
        self.state.end_handshake(opened, connector)
    }

    /// Whether TLS is up.
    pub fn is_encrypted(&self) -> bool {
        matches!(self.state, State::Tls { .. })
    }

    /// Sends the TLS `close_notify` alert (when TLS is up) and drops the socket.
    ///
    /// # Errors
    /// The failure to send the alert, or the stream's earlier failure.
    pub async fn close(mut self) -> Result<(), TlsFailure> {
        self.state.enter();
        match self.state {
            State::Tls { connection, .. } => connection
                .close()
                .await
                .map(drop)
                .map_err(|(_, e)| TlsFailure::from_tls(e)),
            State::Plain { .. } => Ok(()),
            State::Failed(f) => Err(f),
        }
    }
}

impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> ErrorType for TlsStream<'b, T, C> {
    type Error = StreamError<T::Error>;
}

impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Read for TlsStream<'b, T, C> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.state.enter();
        let result = match &mut self.state {
            State::Plain { socket, .. } => {
                return socket.read(buf).await.map_err(StreamError::Socket);
            }
            State::Tls { eof: true, .. } => return Ok(0),
            State::Tls {
                connection, busy, ..
            } => {
                *busy = true;
                connection.read(buf).await
            }
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_read(result)
    }
}

impl<'b, T: Read + Write + 'b, C: TlsCipherSuite + 'static> Write for TlsStream<'b, T, C> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.state.enter();
        let result = match &mut self.state {
            State::Plain { socket, .. } => {
                return socket.write(buf).await.map_err(StreamError::Socket);
            }
            State::Tls {
                connection, busy, ..
            } => {
                *busy = true;
                connection.write(buf).await
            }
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_write(result)
    }

    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.state.enter();
        let result = match &mut self.state {
            State::Plain { socket, .. } => {
                return socket.flush().await.map_err(StreamError::Socket);
            }
            State::Tls {
                connection, busy, ..
            } => {
                *busy = true;
                connection.flush().await
            }
            State::Failed(f) => return Err(StreamError::Tls(*f)),
        };
        self.state.after_write(result)
    }
}

impl<'b, T, Rng, C> Upgrade<TlsStream<'b, T, C>> for Connector<'_, Rng, C>
where
    T: Read + Write + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    async fn upgrade(
        &mut self,
        stream: &mut TlsStream<'b, T, C>,
    ) -> Result<(), SessionError<T::Error>> {
        stream.start_tls(self).await
    }
}

/// The same for a stream the caller keeps in its own frame (the client holds
/// `&mut TlsStream`).
impl<'b, T, Rng, C> Upgrade<&mut TlsStream<'b, T, C>> for Connector<'_, Rng, C>
where
    T: Read + Write + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
{
    async fn upgrade(
        &mut self,
        stream: &mut &mut TlsStream<'b, T, C>,
    ) -> Result<(), SessionError<T::Error>> {
        stream.start_tls(self).await
    }
}

/// An async client over `socket`, for transactions of up to 4 recipients
/// ([`client_with_max_recipients`] for another limit): for
/// [`Security::Implicit`](crate::Security::Implicit) the handshake runs first
/// thing in [`connect`](Client::connect), for
/// [`Security::StartTls`](crate::Security::StartTls) after the server's `220` to
/// `STARTTLS`. `timer` bounds every wait of the client, the handshake included
/// (its limit is the engine's, at
/// [`Stage::TlsHandshake`](crate::engine::Stage::TlsHandshake)); pass [`NoTimer`]
/// to leave the waits to the transport.
///
/// # Errors
/// As [`Client::with_upgrade`].
pub fn client<'a, 'b, 'c, T, Rng, C, Tm>(
    socket: T,
    connector: Connector<'c, Rng, C>,
    timer: Tm,
    config: Config<'a>,
    buffers: Buffers<'a, 'b>,
) -> Result<TlsClient<'a, 'b, 'c, T, Rng, 4, C, Tm>, SessionError<T::Error>>
where
    T: Read + Write + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
    Tm: Timer,
{
    client_with_max_recipients(socket, connector, timer, config, buffers)
}

/// [`client`] for transactions of up to `N` recipients.
///
/// # Errors
/// As [`client`].
pub fn client_with_max_recipients<'a, 'b, 'c, T, Rng, C, Tm, const N: usize>(
    socket: T,
    connector: Connector<'c, Rng, C>,
    timer: Tm,
    config: Config<'a>,
    buffers: Buffers<'a, 'b>,
) -> Result<TlsClient<'a, 'b, 'c, T, Rng, N, C, Tm>, SessionError<T::Error>>
where
    T: Read + Write + 'b,
    Rng: CryptoRngCore,
    C: TlsCipherSuite + 'static,
    Tm: Timer,
{
    let Buffers {
        rx,
        tx,
        tls_read,
        tls_write,
    } = buffers;
    let stream = TlsStream::new(socket, tls_read, tls_write);
    Client::with_upgrade(stream, connector, timer, config, rx, tx)
}
