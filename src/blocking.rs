//! The blocking client: one loop over the [`Engine`] on an `embedded_io` stream.
//!
//! The loop decides nothing: it writes what the engine says to write, reads into
//! the buffer the engine hands out, passes the message source on, and starts the
//! transport's [`Deadline`] whenever the engine begins a new wait. The stream
//! may be anything that implements `embedded_io::{Read, Write}`: a TCP socket
//! adapter, a TLS connection, or a test double.
//!
//! ```no_run
//! # fn demo(tcp: impl embedded_io::Read + embedded_io::Write + embedded_smtp::blocking::Deadline + embedded_io::ErrorType<Error = core::convert::Infallible>) -> Result<(), embedded_smtp::Error> {
//! use embedded_smtp::{blocking::Client, Address, Config, Domain, HeaderText, Mailbox};
//! use embedded_smtp::message::Message;
//!
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! let config = Config::new(Domain::try_new("sensor-7.local")?);
//! let mut client: Client<_> = Client::new(tcp, config, &mut rx, &mut tx)?;
//! client.connect()?;
//! let from = Mailbox::parse("Sensor 7 <sensor7@example.com>")?;
//! let to = [Mailbox::parse("ops@example.com")?];
//! let mut message: Message<'_> = Message::new(from, HeaderText::try_new("Temperature over threshold")?)
//!     .to(&to)
//!     .text("Sensor 7 reads 81.5 °C (limit 75 °C).\n");
//! let report = client.send(&mut message)?;
//! assert_eq!(report.accepted(), 1);
//! client.quit()?;
//! # Ok(()) }
//! ```

use core::time::Duration;

use embedded_io::{ErrorType, Read, Write};

use crate::NoTls;
use crate::address::Address;
use crate::driver::{begin, io, note};
use crate::engine::{Action, Config, Engine, MailParams, Outcome, Report, Stage};
use crate::error::{Error, Failure, Invariant, Unsupported, broken};
use crate::message::{BodySource, Message, RawMessage};
use crate::reply::Capabilities;
use crate::retry::{Delivery, Next, Pause, Policy, Retry};

/// A blocking transport that bounds its own waits. Before each wait the client
/// calls [`start_wait`](Deadline::start_wait) with that wait's limit (RFC 5321
/// §4.5.3.2, or [`Config::with_timeout`]); the transport then fails its reads,
/// writes and flushes with an error of kind [`embedded_io::ErrorKind::TimedOut`]
/// once that much time has passed since the call, counted over the whole wait
/// (every read of a multi-line reply), not per read: a server that drips a reply
/// one byte at a time gets no more time than a silent one. The client reports it as
/// [`Error::TimedOut`] with the stage.
///
/// The client needs its transport to be one: `nal::FromNal`
/// (feature `nal`), `blocking::FromStdTcp` (feature `std`) and
/// `tls::blocking::TlsStream` (feature `tls`) over either
/// are. A transport whose waits are bounded some other way (a watchdog, a socket
/// time-out set once), or a test double, says so with [`Untimed`].
pub trait Deadline {
    /// A new wait begins now and may last `limit` in all (`None`: no limit), until
    /// the next call.
    fn start_wait(&mut self, limit: Option<Duration>);
}

impl<T: Deadline + ?Sized> Deadline for &mut T {
    fn start_wait(&mut self, limit: Option<Duration>) {
        T::start_wait(self, limit);
    }
}

/// A transport whose waits the client does not bound: [`Deadline::start_wait`]
/// does nothing. A silent or dripping server then holds the client as long as the
/// transport itself lets it; use it only when something else bounds the waits (a
/// socket time-out, a watchdog), or for test doubles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Untimed<S>(pub S);

impl<S> Untimed<S> {
    /// The transport.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S> Deadline for Untimed<S> {
    fn start_wait(&mut self, _: Option<Duration>) {}
}

impl<S: ErrorType> ErrorType for Untimed<S> {
    type Error = S::Error;
}

impl<S: Read> Read for Untimed<S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, S::Error> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for Untimed<S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, S::Error> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> Result<(), S::Error> {
        self.0.flush()
    }
}

#[cfg(feature = "std")]
pub use crate::std_tcp::FromStdTcp;

/// Delivers `message` by the [`retry`](crate::retry) policy: each attempt makes a
/// new connection with `connect` (which gets the client's buffers `rx` and `tx`
/// and returns a client ready for [`connect`](Client::connect)), then runs
/// `connect` and [`send_and_quit`](Client::send_and_quit). Transient failures are
/// tried again after a pause from `pause`, with jitter from `random` (the
/// caller's RNG); see the [`retry`](crate::retry) module for what "at least once"
/// means here.
///
/// ```no_run
/// # #[cfg(feature = "std")]
/// # fn demo(message: &mut embedded_smtp::message::Message<'_>) -> Result<(), Box<dyn std::error::Error>> {
/// use core::time::Duration;
/// use embedded_smtp::blocking::{self, Client, FromStdTcp};
/// use embedded_smtp::retry::{Delivery, Policy, StdPause};
/// use embedded_smtp::{Config, Domain};
///
/// let config = Config::new(Domain::try_new("sensor-7.local")?);
/// let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
/// let policy = Policy::new(5).with_total(Duration::from_secs(600));
/// let mut seed = 0x2545_f491u32;
/// let delivery = blocking::deliver(
///     policy, message, &mut rx, &mut tx,
///     |rx, tx| {
///         let tcp = FromStdTcp::connect("127.0.0.1:2525", Duration::from_secs(30))
///             .map_err(embedded_smtp::Error::Io)?;
///         Client::<'_, _>::new(tcp, config, rx, tx)
///     },
///     &mut StdPause::default(),
///     || { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; seed },
/// );
/// assert!(matches!(delivery, Delivery::Delivered { .. }));
/// # Ok(()) }
/// ```
pub fn deliver<S, U, R, const N: usize>(
    policy: Policy,
    message: &mut Message<'_, R>,
    rx: &mut [u8],
    tx: &mut [u8],
    mut connect: impl for<'b> FnMut(
        &'b mut [u8],
        &'b mut [u8],
    ) -> Result<Client<'b, S, N, U>, Error<S::Error>>,
    pause: &mut impl Pause,
    mut random: impl FnMut() -> u32,
) -> Delivery<Report<N>, Error<S::Error>>
where
    S: Read + Write + Deadline,
    U: Upgrade<S>,
    R: Read,
{
    let mut schedule = Retry::new(policy);
    loop {
        schedule.begin(pause.now());
        let result = connect(rx, tx).and_then(|mut client| {
            client.connect()?;
            client.send_and_quit(message).cloned()
        });
        match schedule.after(result, pause.now(), random()) {
            Next::Retry(d) => pause.sleep(d),
            Next::Done(delivery) => return delivery,
        }
    }
}

/// Switches a stream to TLS in place: at the start of an implicit-TLS session
/// ([`Action::Handshake`]) and when the server has accepted `STARTTLS`
/// ([`Action::StartTls`]). The `tls` feature provides one
/// (`tls::Connector`); [`NoTls`] refuses STARTTLS and
/// takes an implicit-TLS stream as already encrypted.
pub trait Upgrade<S: ErrorType> {
    /// Runs the TLS handshake on `stream` after the server's `220` to `STARTTLS`.
    /// On success the client sends EHLO again over the encrypted stream; on
    /// failure the connection is unusable.
    ///
    /// # Errors
    /// Whatever stopped the handshake.
    fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>>;

    /// Runs the implicit TLS handshake (port 465) on `stream`, before the
    /// greeting, within the engine's limit for it. By default the same handshake
    /// as [`upgrade`](Self::upgrade).
    ///
    /// # Errors
    /// Whatever stopped the handshake.
    fn open(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        self.upgrade(stream)
    }
}

/// An upgrader the caller keeps (a `tls::Connector` in
/// its own frame, say): the client then holds only the reference.
impl<S: ErrorType, T: Upgrade<S> + ?Sized> Upgrade<S> for &mut T {
    fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        T::upgrade(self, stream)
    }

    fn open(&mut self, stream: &mut S) -> Result<(), Error<S::Error>> {
        T::open(self, stream)
    }
}

impl<S: ErrorType> Upgrade<S> for NoTls {
    fn upgrade(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Err(Error::Unsupported(Unsupported::TlsUnavailable))
    }

    /// The stream is the caller's and already encrypted (its own TLS stack ran
    /// the handshake): nothing to do.
    fn open(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Ok(())
    }
}

/// A blocking SMTP client over stream `S`, for transactions of up to `N`
/// recipients, upgrading to TLS for STARTTLS with `U`.
pub struct Client<'a, S, const N: usize = 4, U = NoTls> {
    stream: S,
    engine: Engine<'a, N>,
    upgrade: U,
    /// The engine's [`wait_id`](Engine::wait_id) the transport's deadline was set for.
    armed: u32,
    dirty: bool,
}

impl<'a, S: Read + Write + Deadline> Client<'a, S> {
    /// A client over a connected stream with caller-owned buffers (see
    /// [`Engine::new`] for their sizes), for transactions of up to 4 recipients
    /// ([`with_max_recipients`](Client::with_max_recipients) for another limit).
    /// Nothing is read or written yet. A session configured for STARTTLS fails with
    /// [`Unsupported::TlsUnavailable`]; use [`with_upgrade`](Client::with_upgrade)
    /// for that.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn new(
        stream: S,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Client::with_max_recipients(stream, config, rx, tx)
    }
}

impl<'a, S: Read + Write + Deadline, const N: usize> Client<'a, S, N, NoTls> {
    /// [`new`](Client::new) for transactions of up to `N` recipients:
    /// `Client::<_, 16>::with_max_recipients(..)`.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn with_max_recipients(
        stream: S,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        // Not through the out-of-line `with_upgrade`: a plain client is small (its
        // stream is usually a reference), and inline it costs no extra call.
        Engine::<N>::check_buffers(&config, rx, tx).map_err(|e| e.widened())?;
        Ok(Client {
            stream,
            engine: Engine::build(config, rx, tx),
            upgrade: NoTls,
            armed: 0,
            dirty: false,
        })
    }
}

impl<'a, S: Read + Write + Deadline, const N: usize, U: Upgrade<S>> Client<'a, S, N, U> {
    /// A client whose stream can be switched to TLS by `upgrade` for STARTTLS.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    // Out of line, with the client assembled by `assemble`: inlined, the client was
    // built in a temporary of the caller's frame, copied into the `Result` and
    // copied again into the caller's variable, three client-sized slots (over TLS
    // 2.7 KB each, 3.1 KB with RSA) on the stack for the whole session.
    #[inline(never)]
    pub fn with_upgrade(
        stream: S,
        upgrade: U,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, Error<S::Error>> {
        Engine::<N>::check_buffers(&config, rx, tx).map_err(|e| e.widened())?;
        Ok(Client::assemble(stream, upgrade, config, rx, tx))
    }

    /// The client from its parts, written straight into the place of the result
    /// (no client-sized temporary in [`with_upgrade`](Self::with_upgrade)'s frame).
    #[inline(never)]
    fn assemble(
        stream: S,
        upgrade: U,
        config: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Self {
        Client {
            stream,
            engine: Engine::build(config, rx, tx),
            upgrade,
            armed: 0,
            dirty: false,
        }
    }

    /// Reads the greeting and runs EHLO (or HELO), STARTTLS and AUTH as configured.
    ///
    /// # Errors
    /// Any [`Error`]; after one the connection should be dropped.
    pub fn connect(&mut self) -> Result<(), Error<S::Error>> {
        self.run(None).map(|_| ())
    }

    /// Sends a message built with [`Message`]: its From address is the envelope
    /// sender and its To, Cc and Bcc addresses the recipients.
    ///
    /// Returns the per-recipient report once the server accepted the message.
    ///
    /// The same message can be sent again (a retry on a new connection): its
    /// attachments start again from their first byte, so the server gets the same
    /// bytes, Message-ID included.
    ///
    /// # Errors
    /// [`Error::NoRecipients`] when every recipient was refused (the transaction was
    /// reset and the connection can send again), [`Error::Rejected`] for a refused
    /// `MAIL`, `DATA` or end of data,
    /// [`InputErrorKind::AttachmentSpent`](crate::InputErrorKind::AttachmentSpent) before
    /// `MAIL` when an attachment read by an earlier send cannot start again, and
    /// any other [`Error`].
    pub fn send<R: Read>(
        &mut self,
        message: &mut Message<'_, R>,
    ) -> Result<&Report<N>, Error<S::Error>> {
        match self.transact(message, false)? {
            Outcome::Sent => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
        }
    }

    /// Sends a message the caller already formatted as RFC 5322 text.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_raw<'r, I>(
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
    }

    /// Sends one message from any [`BodySource`] with explicit envelope and parameters.
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn send_with<'r, I, B>(
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
        match self.run(Some(&mut body))? {
            Outcome::Sent => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
        }
    }

    /// Sends a message and ends the session: `QUIT` goes out in the same write as
    /// the end of the message when the server offers PIPELINING, saving the round
    /// trip a separate [`quit`](Self::quit) costs. The right call for a device that
    /// sends one alert per connection.
    ///
    /// # Errors
    /// As [`send`](Self::send); after an error the session is over too.
    pub fn send_and_quit<R: Read>(
        &mut self,
        message: &mut Message<'_, R>,
    ) -> Result<&Report<N>, Error<S::Error>> {
        match self.transact(message, true)? {
            Outcome::Closed => Ok(self.engine.report()),
            _ => Err(Error::Invariant(broken(Invariant::State))),
        }
    }

    /// The transaction of [`send`](Self::send) and [`send_and_quit`](Self::send_and_quit),
    /// out of line: the writer lives in this frame only while the
    /// message goes out, not in the caller's (a smaller stack on a microcontroller).
    #[inline(never)]
    fn transact<R: Read>(
        &mut self,
        message: &mut Message<'_, R>,
        quit: bool,
    ) -> Result<Outcome, Error<S::Error>> {
        begin(&mut self.engine, message, quit)?;
        self.run(Some(&mut message.writer()))
    }

    /// Sends `QUIT` and waits for its reply (or for the server to close).
    ///
    /// # Errors
    /// Any [`Error`] from the exchange; [`Misuse::NotIdle`](crate::Misuse::NotIdle) when the
    /// session is not idle (after an error, just drop the connection).
    pub fn quit(&mut self) -> Result<(), Error<S::Error>> {
        self.engine.quit().map_err(|e| e.widened())?;
        self.run(None).map(|_| ())
    }

    crate::driver::client_accessors!();

    /// The driver loop: carries out actions until the engine is done or fails.
    fn run(&mut self, mut body: Option<&mut dyn BodySource>) -> Result<Outcome, Error<S::Error>> {
        loop {
            self.arm();
            let stage = self.engine.stage();
            match self.engine.poll_action() {
                Action::Send(out) => match self.stream.write(out.bytes()) {
                    Ok(0) => self.engine.handle_eof(),
                    Ok(n) => {
                        self.dirty = true;
                        self.engine.handle_sent(n);
                    }
                    Err(e) => return Err(note(&mut self.engine, io(e, stage), Failure::Write)),
                },
                Action::Recv(buf) => {
                    if self.dirty {
                        if let Err(e) = self.stream.flush() {
                            return Err(note(&mut self.engine, io(e, stage), Failure::Write));
                        }
                        self.dirty = false;
                    }
                    match self.stream.read(buf) {
                        Ok(0) => self.engine.handle_eof(),
                        Ok(n) => self.engine.handle_received(n),
                        Err(e) => return Err(note(&mut self.engine, io(e, stage), Failure::Read)),
                    }
                }
                Action::Body => match body.as_deref_mut() {
                    Some(b) => self.engine.handle_body(b),
                    None => return Err(Error::Invariant(broken(Invariant::NoBody))),
                },
                tls @ (Action::Handshake | Action::StartTls) => {
                    let done = if matches!(tls, Action::Handshake) {
                        self.upgrade.open(&mut self.stream)
                    } else {
                        self.upgrade.upgrade(&mut self.stream)
                    };
                    if let Err(e) = done {
                        return Err(note(&mut self.engine, e, Failure::Upgrade));
                    }
                    self.engine.handle_tls_ready();
                }
                Action::Done(outcome) => {
                    self.flush(stage)?;
                    return Ok(outcome);
                }
                Action::Failed(ref e) => return Err(e.widened()),
            }
        }
    }

    /// Flushes what was written since the last read, telling the engine if it fails.
    fn flush(&mut self, stage: Stage) -> Result<(), Error<S::Error>> {
        if self.dirty {
            if let Err(e) = self.stream.flush() {
                return Err(note(&mut self.engine, io(e, stage), Failure::Write));
            }
            self.dirty = false;
        }
        Ok(())
    }

    /// Starts the transport's deadline when a new wait begins.
    fn arm(&mut self) {
        let id = self.engine.wait_id();
        if id != self.armed {
            self.stream.start_wait(self.engine.timeout());
            self.armed = id;
        }
    }
}
