//! The blocking client: one loop over the [`Engine`] on an `embedded_io` stream.
//!
//! The loop decides nothing: it writes what the engine says to write, reads into
//! the buffer the engine hands out, and passes the message source on. The stream
//! may be anything that implements `embedded_io::{Read, Write}`: a TCP socket
//! adapter, a TLS connection, or a test double.
//!
//! ```no_run
//! # fn demo(tcp: impl embedded_io::Read + embedded_io::Write + embedded_io::ErrorType<Error = core::convert::Infallible>) -> Result<(), embedded_smtp::Error> {
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
use crate::driver::{Envelope, io};
use crate::engine::{Action, Config, Engine, MailParams, Outcome, Report};
use crate::error::{Error, ProtocolError, Unsupported};
use crate::message::{BodySource, Message, RawMessage};
use crate::reply::Capabilities;

/// A hook the client calls before each wait with the engine's time limit, so the
/// stream's owner can arm a socket time-out or a timer. A transport that then fails
/// with [`embedded_io::ErrorKind::TimedOut`] is reported as [`Error::TimedOut`] with the stage.
pub type TimeoutHook<S> = fn(&mut S, Option<Duration>);

/// Switches a stream to TLS in place when the server has accepted `STARTTLS`
/// ([`Action::StartTls`]). The `tls` feature provides one; [`NoTls`] refuses.
pub trait Upgrade<S: ErrorType> {
    /// Runs the TLS handshake on `stream`. On success the client sends EHLO again
    /// over the encrypted stream; on failure the connection is unusable.
    ///
    /// # Errors
    /// Whatever stopped the handshake.
    fn upgrade(&mut self, stream: &mut S) -> Result<(), Error<S::Error>>;
}

impl<S: ErrorType> Upgrade<S> for NoTls {
    fn upgrade(&mut self, _: &mut S) -> Result<(), Error<S::Error>> {
        Err(Error::Unsupported(Unsupported::TlsUnavailable))
    }
}

/// A blocking SMTP client over stream `S`, for transactions of up to `N`
/// recipients, upgrading to TLS for STARTTLS with `U`.
pub struct Client<'a, S, const N: usize = 4, U = NoTls> {
    stream: S,
    engine: Engine<'a, N>,
    upgrade: U,
    timeout_hook: Option<TimeoutHook<S>>,
    armed: Option<Duration>,
    dirty: bool,
}

impl<'a, S: Read + Write, const N: usize> Client<'a, S, N, NoTls> {
    /// A client over a connected stream with caller-owned buffers (see
    /// [`Engine::new`] for their sizes). Nothing is read or written yet. A session
    /// configured for STARTTLS fails with [`Unsupported::TlsUnavailable`]; use
    /// [`with_upgrade`](Client::with_upgrade) for that.
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

impl<'a, S: Read + Write, const N: usize, U: Upgrade<S>> Client<'a, S, N, U> {
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
            timeout_hook: None,
            armed: None,
            dirty: false,
        })
    }

    /// Calls `hook` with the time limit of each wait (see [`TimeoutHook`]).
    pub fn with_timeout_hook(mut self, hook: TimeoutHook<S>) -> Self {
        self.timeout_hook = Some(hook);
        self
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
    /// # Errors
    /// [`Error::NoRecipients`] when every recipient was refused (the transaction was
    /// reset and the connection can send again), [`Error::Rejected`] for a refused
    /// `MAIL`, `DATA` or end of data, and any other [`Error`].
    pub fn send<R: Read>(
        &mut self,
        message: &mut Message<'_, R>,
    ) -> Result<Report<N>, Error<S::Error>> {
        match self.transact(message, false)? {
            Outcome::Sent => Ok(self.engine.report_copy()),
            _ => Err(Error::Protocol(ProtocolError::InvalidState)),
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
        match self.run(Some(&mut body))? {
            Outcome::Sent => Ok(self.engine.report_copy()),
            _ => Err(Error::Protocol(ProtocolError::InvalidState)),
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
    ) -> Result<Report<N>, Error<S::Error>> {
        match self.transact(message, true)? {
            Outcome::Closed => Ok(self.engine.report_copy()),
            _ => Err(Error::Protocol(ProtocolError::InvalidState)),
        }
    }

    /// The transaction of [`send`](Self::send) and [`send_and_quit`](Self::send_and_quit),
    /// out of line: the envelope and the writer live in this frame only while the
    /// message goes out, not in the caller's (a smaller stack on a microcontroller).
    #[inline(never)]
    fn transact<R: Read>(
        &mut self,
        message: &mut Message<'_, R>,
        quit: bool,
    ) -> Result<Outcome, Error<S::Error>> {
        let env = Envelope::<N>::of(message)?;
        self.engine
            .begin_transaction(Some(env.from), env.recipients(), env.params)
            .map_err(Error::widen)?;
        if quit {
            self.engine.quit_after_transaction().map_err(Error::widen)?;
        }
        self.run(Some(&mut message.writer()))
    }

    /// Sends `QUIT` and waits for its reply (or for the server to close).
    ///
    /// # Errors
    /// Any [`Error`] from the exchange; [`ProtocolError::InvalidState`] when the
    /// session is not idle (after an error, just drop the connection).
    pub fn quit(&mut self) -> Result<(), Error<S::Error>> {
        self.engine.quit().map_err(Error::widen)?;
        self.run(None).map(|_| ())
    }

    crate::driver::client_accessors!();

    /// The driver loop: carries out actions until the engine is done or fails.
    fn run(&mut self, mut body: Option<&mut dyn BodySource>) -> Result<Outcome, Error<S::Error>> {
        loop {
            self.arm();
            let stage = self.engine.stage();
            match self.engine.poll_action() {
                Action::Send(bytes) => match self.stream.write(bytes) {
                    Ok(0) => self.engine.handle_eof(),
                    Ok(n) => {
                        self.dirty = true;
                        self.engine.handle_sent(n);
                    }
                    Err(e) => return Err(io(e, stage)),
                },
                Action::Recv(buf) => {
                    if self.dirty {
                        self.stream.flush().map_err(|e| io(e, stage))?;
                        self.dirty = false;
                    }
                    match self.stream.read(buf) {
                        Ok(0) => self.engine.handle_eof(),
                        Ok(n) => self.engine.handle_received(n),
                        Err(e) => return Err(io(e, stage)),
                    }
                }
                Action::Body => match body.as_deref_mut() {
                    Some(b) => self.engine.handle_body(b),
                    None => return Err(Error::Protocol(ProtocolError::InvalidState)),
                },
                Action::StartTls => {
                    self.upgrade.upgrade(&mut self.stream)?;
                    self.engine.handle_tls_ready();
                }
                Action::Done(outcome) => {
                    if self.dirty {
                        self.stream.flush().map_err(|e| io(e, stage))?;
                        self.dirty = false;
                    }
                    return Ok(outcome);
                }
                Action::Failed(e) => return Err(e.widen()),
            }
        }
    }

    fn arm(&mut self) {
        if let Some(hook) = self.timeout_hook {
            let t = self.engine.timeout();
            if t != self.armed {
                hook(&mut self.stream, t);
                self.armed = t;
            }
        }
    }
}
