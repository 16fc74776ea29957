//! The async client (feature `async`): the same [`Engine`] driven over
//! `embedded_io_async` streams, for embassy tasks and other executors.
//!
//! It has the same names and behaviour as [`blocking::Client`](crate::blocking::Client);
//! the loop decides nothing. Time limits: every wait (all its reads, writes and
//! flushes together) is bounded by the engine's limit through the [`Timer`] the
//! caller names in [`Client::new`] ([`NoTimer`] never fires; features
//! `embassy-time` and `tokio` provide `EmbassyTimer` and `TokioTimer`). A wait
//! that runs out ends with [`Error::TimedOut`] naming the stage.
//!
//! ```no_run
//! # async fn demo<S: embedded_io_async::Read + embedded_io_async::Write>(tcp: S, timer: impl embedded_smtp::asynch::Timer) -> Result<(), embedded_smtp::Error<S::Error>> {
//! use embedded_smtp::asynch::Client;
//! use embedded_smtp::message::Message;
//! use embedded_smtp::{Config, Domain, HeaderText, Mailbox};
//!
//! let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
//! let config = Config::new(Domain::try_new("sensor-7.local")?);
//! // The timer bounds every wait: EmbassyTimer (feature embassy-time), TokioTimer
//! // (feature tokio), or NoTimer to say that something else does.
//! let mut client: Client<'_, S, 4, _, _> = Client::new(tcp, timer, config, &mut rx, &mut tx)?;
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
use crate::driver::{begin, io, note};
use crate::engine::{Action, Config, Engine, MailParams, Outcome, Report, Stage};
use crate::error::{Error, Failure, Invariant, Unsupported, broken};
use crate::message::{BodySource, Message, RawMessage};
use crate::reply::Capabilities;

/// Switches a stream to TLS in place, for implicit TLS ([`Action::Handshake`])
/// and STARTTLS ([`Action::StartTls`]); the async counterpart of
/// [`blocking::Upgrade`](crate::blocking::Upgrade).
#[allow(async_fn_in_trait)]
pub trait Upgrade<S: ErrorType> {
    /// Runs the TLS handshake on `stream` after the server's `220` to `STARTTLS`.
    ///
    /// # Errors
    /// Whatever stopped the handshake; the connection is then unusable.
    async fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>>;

    /// Runs the implicit TLS handshake (port 465) before the greeting. By default
    /// the same handshake as [`upgrade`](Self::upgrade).
    ///
    /// # Errors
    /// Whatever stopped the handshake; the connection is then unusable.
    async fn open(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        self.upgrade(stream).await
    }
}

/// An upgrader the caller keeps in its own frame: the client holds the reference.
impl<S: ErrorType, T: Upgrade<S> + ?Sized> Upgrade<S> for &mut T {
    async fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        T::upgrade(self, stream).await
    }

    async fn open(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        T::open(self, stream).await
    }
}

impl<S: ErrorType> Upgrade<S> for NoTls {
    async fn upgrade(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Err(Error::Unsupported(Unsupported::TlsUnavailable))
    }

    /// The stream is the caller's and already encrypted: nothing to do.
    async fn open(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Ok(())
    }
}

/// A wait ran past its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimedOut;

/// Bounds the client's waits. The core has no clock: the caller's executor does
/// (embassy-time, tokio, a hardware timer), so this is the one thing the async
/// client asks of it, and it must be named: [`Client::new`] takes one, and
/// [`NoTimer`] is the explicit choice of none.
///
/// Before each wait the client calls [`start_wait`](Timer::start_wait) with that
/// wait's limit (RFC 5321 §4.5.3.2); every read, write and flush of the wait then
/// runs through [`with_timeout`](Timer::with_timeout) against that one deadline,
/// so a server that drips a reply byte by byte runs out of time as a silent one
/// does.
#[allow(async_fn_in_trait)]
pub trait Timer {
    /// A new wait begins now and may last `limit` in all (`None`: no limit), until
    /// the next call.
    fn start_wait(&mut self, limit: Option<Duration>);

    /// Runs `f` to completion or until the current wait's deadline, whichever
    /// comes first.
    ///
    /// # Errors
    /// [`TimedOut`] when the deadline passed first (`f` is dropped).
    async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut>;
}

/// A timer that never fires: waits are bounded only by the transport, and a
/// silent or dripping server holds the client as long as the transport lets it.
/// Name it only when something else bounds the session (a task watchdog, a
/// `select` with a deadline of the caller's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoTimer;

impl Timer for NoTimer {
    fn start_wait(&mut self, _: Option<Duration>) {}

    async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
        Ok(f.await)
    }
}

/// [`Timer`] on `embassy_time::with_deadline` (feature `embassy-time`).
#[cfg(feature = "embassy-time")]
#[cfg_attr(docsrs, doc(cfg(feature = "embassy-time")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmbassyTimer {
    deadline: Option<embassy_time::Instant>,
}

#[cfg(feature = "embassy-time")]
impl EmbassyTimer {
    /// A timer with no wait started.
    pub fn new() -> Self {
        EmbassyTimer { deadline: None }
    }
}

#[cfg(feature = "embassy-time")]
impl Timer for EmbassyTimer {
    fn start_wait(&mut self, limit: Option<Duration>) {
        // Limits beyond a year (e.g. `Duration::MAX` to mean "never") wait without
        // a deadline instead of overflowing embassy's tick arithmetic.
        const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);
        self.deadline = limit.filter(|l| *l < NEVER).and_then(|l| {
            let micros = embassy_time::Duration::from_micros(l.as_micros() as u64);
            embassy_time::Instant::now().checked_add(micros)
        });
    }

    async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
        match self.deadline {
            Some(d) => embassy_time::with_deadline(d, f)
                .await
                .map_err(|_| TimedOut),
            None => Ok(f.await),
        }
    }
}

#[cfg(feature = "embassy-time")]
impl crate::retry::AsyncPause for EmbassyTimer {
    fn now(&mut self) -> Duration {
        Duration::from_micros(embassy_time::Instant::now().as_micros())
    }

    async fn sleep(&mut self, d: Duration) {
        embassy_time::Timer::after(embassy_time::Duration::from_micros(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        ))
        .await;
    }
}

/// [`Timer`] on `tokio::time::timeout_at` (feature `tokio`): for the async client
/// on a tokio runtime (with its time driver enabled).
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokioTimer {
    deadline: Option<tokio::time::Instant>,
    /// What [`AsyncPause::now`](crate::retry::AsyncPause::now) counts from.
    origin: Option<tokio::time::Instant>,
}

#[cfg(feature = "tokio")]
impl TokioTimer {
    /// A timer with no wait started.
    pub fn new() -> Self {
        TokioTimer {
            deadline: None,
            origin: None,
        }
    }
}

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.deadline = limit.and_then(|l| tokio::time::Instant::now().checked_add(l));
    }

    async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
        match self.deadline {
            Some(d) => tokio::time::timeout_at(d, f).await.map_err(|_| TimedOut),
            None => Ok(f.await),
        }
    }
}

#[cfg(feature = "tokio")]
impl crate::retry::AsyncPause for TokioTimer {
    fn now(&mut self) -> Duration {
        let now = tokio::time::Instant::now();
        now.duration_since(*self.origin.get_or_insert(now))
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Delivers `message` by the [`retry`](crate::retry) policy; the async twin of
/// [`blocking::deliver`](crate::blocking::deliver): each attempt makes a new
/// connection with `connect` (an async closure that gets the client's buffers and
/// returns a client ready for [`connect`](Client::connect)), then runs `connect`
/// and `send_and_quit`; transient failures are tried again after a pause from
/// `pause`, with jitter from `random`.
pub async fn deliver<S, U, T, R, const N: usize>(
    policy: crate::retry::Policy,
    message: &mut Message<'_, R>,
    rx: &mut [u8],
    tx: &mut [u8],
    mut connect: impl for<'b> AsyncFnMut(
        &'b mut [u8],
        &'b mut [u8],
    ) -> Result<Client<'b, S, N, U, T>, Error<S::Error>>,
    pause: &mut impl crate::retry::AsyncPause,
    mut random: impl FnMut() -> u32,
) -> crate::retry::Delivery<Report<N>, Error<S::Error>>
where
    S: Read + Write,
    U: Upgrade<S>,
    T: Timer,
    R: embedded_io::Read,
{
    use crate::retry::{Next, Retry};
    let mut schedule = Retry::new(policy);
    loop {
        schedule.begin(pause.now());
        let result = match connect(rx, tx).await {
            Ok(mut client) => match client.connect().await {
                Ok(()) => client.send_and_quit(message).await.cloned(),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match schedule.after(result, pause.now(), random()) {
            Next::Retry(d) => pause.sleep(d).await,
            Next::Done(delivery) => return delivery,
        }
    }
}

/// An async SMTP client over stream `S`, for transactions of up to `N` recipients,
/// upgrading to TLS for STARTTLS with `U` and bounding waits with `T`.
pub struct Client<'a, S, const N: usize = 4, U = NoTls, T = NoTimer> {
    stream: S,
    engine: Engine<'a, N>,
    upgrade: U,
    timer: T,
    /// The engine's [`wait_id`](Engine::wait_id) the timer's deadline was set for.
    armed: u32,
    dirty: bool,
}

impl<'a, S: Read + Write, T: Timer> Client<'a, S, 4, NoTls, T> {
    /// A client over a connected stream with caller-owned buffers (see
    /// [`Engine::new`] for their sizes), for transactions of up to 4 recipients
    /// ([`with_max_recipients`](Client::with_max_recipients) for another limit),
    /// its waits bounded by `timer` ([`NoTimer`] to leave them to the transport).
    /// Nothing is read or written yet.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn new(
        stream: S,
        timer: T,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Client::with_upgrade(stream, NoTls, timer, config, rx, tx)
    }
}

impl<'a, S: Read + Write, const N: usize, T: Timer> Client<'a, S, N, NoTls, T> {
    /// [`new`](Client::new) for transactions of up to `N` recipients:
    /// `Client::<_, 16>::with_max_recipients(..)`.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn with_max_recipients(
        stream: S,
        timer: T,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Client::with_upgrade(stream, NoTls, timer, config, rx, tx)
    }
}

impl<'a, S: Read + Write, const N: usize, U: Upgrade<S>, T: Timer> Client<'a, S, N, U, T> {
    /// A client whose stream can be switched to TLS by `upgrade` for STARTTLS.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn with_upgrade(
        stream: S,
        upgrade: U,
        timer: T,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Engine::<N>::check_buffers(&config, rx, tx).map_err(|e| e.widened())?;
        Ok(Client {
            stream,
            engine: Engine::build(config, rx, tx),
            upgrade,
            timer,
            armed: 0,
            dirty: false,
        })
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
    ) -> Result<&Report<N>, Error<S::Error>> {
        match self.transact(message, false).await? {
            Outcome::Sent => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
        }
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
    ) -> Result<&Report<N>, Error<S::Error>>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
    {
        message.rewind();
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
    ) -> Result<&Report<N>, Error<S::Error>>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
        B: BodySource + ?Sized,
    {
        self.engine
            .begin_transaction(from, recipients, params)
            .map_err(|e| e.widened())?;
        let mut body = body;
        match self.run(Some(&mut body)).await? {
            Outcome::Sent => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
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
    ) -> Result<&Report<N>, Error<S::Error>> {
        match self.transact(message, true).await? {
            Outcome::Closed => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
        }
    }

    /// The transaction of [`send`](Self::send) and [`send_and_quit`](Self::send_and_quit):
    /// one future for both.
    async fn transact<R: embedded_io::Read>(
        &mut self,
        message: &mut Message<'_, R>,
        quit: bool,
    ) -> Result<Outcome, Error<S::Error>> {
        begin(&mut self.engine, message, quit)?;
        self.run(Some(&mut message.writer())).await
    }

    /// Sends `QUIT` and waits for its reply (or for the server to close).
    ///
    /// # Errors
    /// Any [`Error`] from the exchange; [`Misuse::NotIdle`](crate::Misuse::NotIdle) when the
    /// session is not idle.
    pub async fn quit(&mut self) -> Result<(), Error<S::Error>> {
        self.engine.quit().map_err(|e| e.widened())?;
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
            let id = self.engine.wait_id();
            if id != self.armed {
                self.timer.start_wait(self.engine.timeout());
                self.armed = id;
            }
            match self.engine.poll_action() {
                Action::Send(out) => {
                    let n = match bounded(&mut self.timer, stage, self.stream.write(out.bytes()))
                        .await
                    {
                        Ok(n) => n,
                        Err(e) => return Err(note(&mut self.engine, e, Failure::Write)),
                    };
                    if n == 0 {
                        self.engine.handle_eof();
                    } else {
                        self.dirty = true;
                        self.engine.handle_sent(n);
                    }
                }
                Action::Recv(buf) => {
                    if self.dirty {
                        if let Err(e) = bounded(&mut self.timer, stage, self.stream.flush()).await {
                            return Err(note(&mut self.engine, e, Failure::Write));
                        }
                        self.dirty = false;
                    }
                    match bounded(&mut self.timer, stage, self.stream.read(buf)).await {
                        Ok(0) => self.engine.handle_eof(),
                        Ok(n) => self.engine.handle_received(n),
                        Err(e) => return Err(note(&mut self.engine, e, Failure::Read)),
                    }
                }
                Action::Body => match body.as_deref_mut() {
                    Some(b) => self.engine.handle_body(b),
                    None => return Err(Error::Invariant(broken(Invariant::NoBody))),
                },
                Action::Handshake => {
                    let open = self.upgrade.open(&mut self.stream);
                    let done = self.timer.with_timeout(open).await;
                    self.tls_ready(done, stage)?;
                }
                Action::StartTls => {
                    let upgrade = self.upgrade.upgrade(&mut self.stream);
                    let done = self.timer.with_timeout(upgrade).await;
                    self.tls_ready(done, stage)?;
                }
                Action::Done(outcome) => {
                    if self.dirty {
                        if let Err(e) = bounded(&mut self.timer, stage, self.stream.flush()).await {
                            return Err(note(&mut self.engine, e, Failure::Write));
                        }
                        self.dirty = false;
                    }
                    return Ok(outcome);
                }
                Action::Failed(ref e) => return Err(e.widened()),
            }
        }
    }
}

impl<S: Read + Write, const N: usize, U: Upgrade<S>, T: Timer> Client<'_, S, N, U, T> {
    /// Tells the engine how a TLS handshake (bounded by the wait's deadline) ended.
    fn tls_ready(
        &mut self,
        done: Result<Result<(), Error<S::Error>>, TimedOut>,
        stage: Stage,
    ) -> Result<(), Error<S::Error>> {
        match done.unwrap_or(Err(Error::TimedOut { stage })) {
            Ok(()) => {
                self.engine.handle_tls_ready();
                Ok(())
            }
            Err(e) => Err(note(&mut self.engine, e, Failure::Upgrade)),
        }
    }
}

/// Runs one I/O future against the wait's deadline and maps its error.
async fn bounded<T: Timer, V, E: embedded_io::Error>(
    timer: &mut T,
    stage: Stage,
    f: impl Future<Output = Result<V, E>>,
) -> Result<V, Error<E>> {
    timer
        .with_timeout(f)
        .await
        .map_err(|TimedOut| Error::TimedOut { stage })?
        .map_err(|e| io(e, stage))
}
