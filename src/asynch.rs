//! The async client (feature `async`): the same [`Engine`] driven over
//! `embedded_io_async` streams, for embassy tasks and other executors.
//!
//! It has the same names and behaviour as [`blocking::Client`](crate::blocking::Client);
//! the loop decides nothing. Time limits: every read, write and flush is bounded by
//! the engine's limit for the current wait through a [`Timer`] the caller supplies
//! ([`NoTimer`] never fires; feature `embassy-time` provides [`EmbassyTimer`]). A wait
//! that runs out ends with [`Error::TimedOut`] naming the stage.
//!
//! ```no_run
//! # async fn demo<S: embedded_io_async::Read + embedded_io_async::Write>(tcp: S) -> Result<(), embedded_smtp::Error<S::Error>> {
//! use embedded_smtp::asynch::Client;
//! use embedded_smtp::message::Message;
//! use embedded_smtp::{Config, Domain, HeaderText, Mailbox};
//!
//! let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
//! let config = Config::new(Domain::try_new("sensor-7.local")?);
//! let mut client: Client<'_, S> = Client::new(tcp, config, &mut rx, &mut tx)?;
//! client.connect().await?;
//! let to = [Mailbox::parse("ops@example.com")?];
//! let mut message: Message<'_> =
//!     Message::new(Mailbox::parse("sensor7@example.com")?, HeaderText::try_new("Battery low")?)
//!         .to(&to)
//!         .text("Battery at 3.41 V.\n");
//! client.send_and_quit(&mut message).await?;
//! # Ok(()) }
//! ```

use core::future::Future;
use core::time::Duration;

use embedded_io_async::{ErrorType, Read, Write};

use crate::NoTls;
use crate::address::Address;
use crate::driver::{Envelope, io};
use crate::engine::{Action, Config, Engine, MailParams, Outcome, Report, Stage};
use crate::error::{Error, ProtocolError, Unsupported};
use crate::message::{BodySource, Message, RawMessage};
use crate::reply::Capabilities;

/// Switches a stream to TLS in place when the server has accepted `STARTTLS`; the
/// async counterpart of [`blocking::Upgrade`](crate::blocking::Upgrade).
#[allow(async_fn_in_trait)]
pub trait Upgrade<S: ErrorType> {
    /// Runs the TLS handshake on `stream`.
    ///
    /// # Errors
    /// Whatever stopped the handshake; the connection is then unusable.
    async fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>>;
}

impl<S: ErrorType> Upgrade<S> for NoTls {
    async fn upgrade(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Err(Error::Unsupported(Unsupported::TlsUnavailable))
    }
}

/// A wait ran past its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimedOut;

/// Bounds a future by a time limit. The core has no clock: the caller's executor
/// does (embassy-time, tokio, a hardware timer), so this is the one thing the async
/// client asks of it.
#[allow(async_fn_in_trait)]
pub trait Timer {
    /// Runs `f` to completion or until `limit` has passed, whichever comes first.
    ///
    /// # Errors
    /// [`TimedOut`] when the limit passed first (`f` is dropped).
    async fn with_timeout<F: Future>(
        &mut self,
        limit: Duration,
        f: F,
    ) -> Result<F::Output, TimedOut>;
}

/// A timer that never fires: waits are bounded only by the transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoTimer;

impl Timer for NoTimer {
    async fn with_timeout<F: Future>(&mut self, _: Duration, f: F) -> Result<F::Output, TimedOut> {
        Ok(f.await)
    }
}

/// [`Timer`] on `embassy_time::with_timeout` (feature `embassy-time`).
#[cfg(feature = "embassy-time")]
#[cfg_attr(docsrs, doc(cfg(feature = "embassy-time")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbassyTimer;

#[cfg(feature = "embassy-time")]
impl Timer for EmbassyTimer {
    async fn with_timeout<F: Future>(
        &mut self,
        limit: Duration,
        f: F,
    ) -> Result<F::Output, TimedOut> {
        // Limits beyond a year (e.g. `Duration::MAX` to mean "never") wait without
        // a deadline instead of overflowing embassy's tick arithmetic.
        const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);
        if limit >= NEVER {
            return Ok(f.await);
        }
        let micros = limit.as_micros() as u64;
        embassy_time::with_timeout(embassy_time::Duration::from_micros(micros), f)
            .await
            .map_err(|_| TimedOut)
    }
}

/// An async SMTP client over stream `S`, for transactions of up to `N` recipients,
/// upgrading to TLS for STARTTLS with `U` and bounding waits with `T`.
pub struct Client<'a, S, const N: usize = 4, U = NoTls, T = NoTimer> {
    stream: S,
    engine: Engine<'a, N>,
    upgrade: U,
    timer: T,
    dirty: bool,
}

impl<'a, S: Read + Write, const N: usize> Client<'a, S, N, NoTls, NoTimer> {
    /// A client over a connected stream with caller-owned buffers (see
    /// [`Engine::new`] for their sizes). Nothing is read or written yet.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn new(
        stream: S,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Client::with_upgrade(stream, NoTls, config, rx, tx)
    }
}

impl<'a, S: Read + Write, const N: usize, U: Upgrade<S>> Client<'a, S, N, U, NoTimer> {
    /// A client whose stream can be switched to TLS by `upgrade` for STARTTLS.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn with_upgrade(
        stream: S,
        upgrade: U,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Engine::<N>::check_buffers(&config, rx, tx).map_err(Error::widen)?;
        Ok(Client {
            stream,
            engine: Engine::build(config, rx, tx),
            upgrade,
            timer: NoTimer,
            dirty: false,
        })
    }
}

impl<'a, S: Read + Write, const N: usize, U: Upgrade<S>, T: Timer> Client<'a, S, N, U, T> {
    /// Bounds every wait by the engine's time limit with `timer`.
    pub fn with_timer<T2: Timer>(self, timer: T2) -> Client<'a, S, N, U, T2> {
        let Client {
            stream,
            engine,
            upgrade,
            dirty,
            ..
        } = self;
        Client {
            stream,
            engine,
            upgrade,
            timer,
            dirty,
        }
    }

    /// Reads the greeting and runs EHLO (or HELO), STARTTLS and AUTH as configured.
    ///
    /// # Errors
    /// Any [`Error`]; after one the connection should be dropped.
    pub async fn connect(&mut self) -> Result<(), Error<S::Error>> {
        self.run(None).await.map(|_| ())
    }

    /// Sends a message built with [`Message`]; see
    /// [`blocking::Client::send`](crate::blocking::Client::send).
    ///
    /// # Errors
    /// As the blocking client's.
    pub async fn send<R: embedded_io::Read>(
        &mut self,
        message: &mut Message<'_, R>,
    ) -> Result<Report<N>, Error<S::Error>> {
        let env = Envelope::<N>::of(message)?;
        self.send_with(
            Some(env.from),
            env.recipients(),
            env.params,
            &mut message.writer(),
        )
        .await
    }

    /// Sends a message the caller already formatted as RFC 5322 text.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_raw<'r, I>(
        &mut self,
        from: Address<'_>,
        recipients: I,
        message: &mut RawMessage<'_>,
    ) -> Result<Report<N>, Error<S::Error>>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
    {
        let params = MailParams {
            body_8bit: message.is_8bit(),
            ..MailParams::default()
        };
        self.send_with(Some(from), recipients, params, message)
            .await
    }

    /// Sends one message from any [`BodySource`] with explicit envelope and parameters.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub async fn send_with<'r, I, B>(
        &mut self,
        from: Option<Address<'_>>,
        recipients: I,
        params: MailParams,
        body: &mut B,
    ) -> Result<Report<N>, Error<S::Error>>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
        B: BodySource + ?Sized,
    {
        self.engine
            .begin_transaction(from, recipients, params)
            .map_err(Error::widen)?;
        let mut body = body;
        match self.run(Some(&mut body)).await? {
            Outcome::Sent => Ok(self.engine.report_copy()),
            _ => Err(Error::Protocol(ProtocolError::InvalidState)),
        }
    }

    /// Sends a message and ends the session, `QUIT` in the same write as the end of
    /// the message when the server offers PIPELINING; see
    /// [`blocking::Client::send_and_quit`](crate::blocking::Client::send_and_quit).
    ///
    /// # Errors
    /// As [`send`](Self::send); after an error the session is over too.
    pub async fn send_and_quit<R: embedded_io::Read>(
        &mut self,
        message: &mut Message<'_, R>,
    ) -> Result<Report<N>, Error<S::Error>> {
        let env = Envelope::<N>::of(message)?;
        self.engine
            .begin_transaction(Some(env.from), env.recipients(), env.params)
            .map_err(Error::widen)?;
        self.engine.quit_after_transaction().map_err(Error::widen)?;
        match self.run(Some(&mut message.writer())).await? {
            Outcome::Closed => Ok(self.engine.report_copy()),
            _ => Err(Error::Protocol(ProtocolError::InvalidState)),
        }
    }

    /// Sends `QUIT` and waits for its reply (or for the server to close).
    ///
    /// # Errors
    /// Any [`Error`] from the exchange; [`ProtocolError::InvalidState`] when the
    /// session is not idle.
    pub async fn quit(&mut self) -> Result<(), Error<S::Error>> {
        self.engine.quit().map_err(Error::widen)?;
        self.run(None).await.map(|_| ())
    }

    crate::driver::client_accessors!();

    /// The driver loop: carries out actions until the engine is done or fails.
    async fn run(
        &mut self,
        mut body: Option<&mut dyn BodySource>,
    ) -> Result<Outcome, Error<S::Error>> {
        loop {
            let stage = self.engine.stage();
            let limit = self.engine.timeout();
            match self.engine.poll_action() {
                Action::Send(bytes) => {
                    let n =
                        bounded(&mut self.timer, limit, stage, self.stream.write(bytes)).await?;
                    if n == 0 {
                        self.engine.handle_eof();
                    } else {
                        self.dirty = true;
                        self.engine.handle_sent(n);
                    }
                }
                Action::Recv(buf) => {
                    if self.dirty {
                        bounded(&mut self.timer, limit, stage, self.stream.flush()).await?;
                        self.dirty = false;
                    }
                    match bounded(&mut self.timer, limit, stage, self.stream.read(buf)).await? {
                        0 => self.engine.handle_eof(),
                        n => self.engine.handle_received(n),
                    }
                }
                Action::Body => match body.as_deref_mut() {
                    Some(b) => self.engine.handle_body(b),
                    None => return Err(Error::Protocol(ProtocolError::InvalidState)),
                },
                Action::StartTls => {
                    let handshake = self.upgrade.upgrade(&mut self.stream);
                    match limit {
                        Some(limit) => self
                            .timer
                            .with_timeout(limit, handshake)
                            .await
                            .map_err(|TimedOut| Error::TimedOut { stage })??,
                        None => handshake.await?,
                    }
                    self.engine.handle_tls_ready();
                }
                Action::Done(outcome) => {
                    if self.dirty {
                        bounded(&mut self.timer, limit, stage, self.stream.flush()).await?;
                        self.dirty = false;
                    }
                    return Ok(outcome);
                }
                Action::Failed(e) => return Err(e.widen()),
            }
        }
    }
}

/// Runs one I/O future under the wait's time limit and maps its error.
async fn bounded<T: Timer, V, E: embedded_io::Error>(
    timer: &mut T,
    limit: Option<Duration>,
    stage: Stage,
    f: impl Future<Output = Result<V, E>>,
) -> Result<V, Error<E>> {
    let r = match limit {
        Some(limit) => timer
            .with_timeout(limit, f)
            .await
            .map_err(|TimedOut| Error::TimedOut { stage })?,
        None => f.await,
    };
    r.map_err(|e| io(e, stage))
}
