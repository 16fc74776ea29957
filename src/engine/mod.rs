//! The sans-I/O SMTP engine: the whole protocol as a state machine that never
//! touches a stream, a clock or an RNG.
//!
//! ```text
//!             poll_action() ──► Action::Send(bytes) ──► driver writes ──► handle_sent(n)
//!   caller ─►   │          ──► Action::Recv(buf)    ──► driver reads  ──► handle_received(n) / handle_eof()
//!  connect()    │          ──► Action::StartTls     ──► TLS handshake ──► handle_tls_ready()
//!  begin_…()    │          ──► Action::Body         ──► handle_body(&mut source)
//!  quit()       └─────────► Action::Done(Outcome) / Action::Failed(Error)
//! ```
//!
//! The caller owns both buffers. Replies are parsed line by line out of `rx`, so
//! `rx` needs to hold one reply line ([`MIN_RX_BUFFER`](limits::MIN_RX_BUFFER)); `tx` holds one command
//! group: the EHLO/AUTH lines, or `MAIL` + every `RCPT` + `DATA` of a transaction
//! (about 40 bytes plus the addresses each), and chunks of the body.
//!
//! Every decision lives here, once: HELO fallback, STARTTLS, choosing and running
//! AUTH, pipelining (RFC 2920), per-recipient outcomes, `RSET` after a failed
//! transaction, and the time limit of every wait ([`Engine::timeout`]).

mod action;
mod auth;
mod config;
mod log;
mod reply;
#[cfg(test)]
mod tests;
mod txn;

use txn::Txn;

use core::time::Duration;

pub use action::{Action, Outcome, Outgoing, Stage};
pub use config::{Config, MailParams, Report, Security};
use reply::refusal;

use crate::auth::{Chosen, Prompt};
use crate::command::Command;
use crate::error::{Buffer, Contract, Error, Failure, Invariant, Misuse, Response, broken};
use crate::limits;
use crate::message::DotStuffer;
use crate::reply::{Assembler, Capabilities};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The implicit TLS handshake (RFC 8314), before the greeting.
    Implicit,
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Handshake,
    Auth,
    Ready,
    Sent,
    Txn,
    Body,
    EndOfData,
    /// `.` sent after a pipelined `DATA` got `354` with no recipient accepted.
    DrainEmpty,
    Rset,
    Quit,
    Closed,
    Broken,
}

impl State {
    fn awaits_reply(self) -> bool {
        matches!(
            self,
            State::Greeting
                | State::Ehlo
                | State::Helo
                | State::StartTls
                | State::Auth
                | State::Txn
                | State::EndOfData
                | State::DrainEmpty
                | State::Rset
                | State::Quit
        )
    }
}

/// What the first line of the reply being read said.
#[derive(Debug, Clone, Copy)]
struct Head {
    response: Response,
    /// For a `334` during LOGIN: what the prompt asks.
    prompt: Result<Prompt, ()>,
}

/// The SMTP protocol engine. `N` is the most recipients one transaction may have.
///
/// Create it with [`Engine::new`], then repeatedly take [`poll_action`](Engine::poll_action)
/// and report back with the `handle_*` method the action names. A fresh engine
/// starts by waiting for the greeting and runs EHLO, STARTTLS and AUTH up to
/// [`Outcome::Ready`]; then [`begin_transaction`](Engine::begin_transaction) sends one
/// message and [`quit`](Engine::quit) ends the session.
pub struct Engine<'a, const N: usize> {
    config: Config<'a>,
    rx: &'a mut [u8],
    rx_len: usize,
    tx: &'a mut [u8],
    /// Bytes queued in `tx`.
    tx_len: usize,
    /// Bytes of `tx` already written.
    tx_sent: usize,
    /// End of the bytes to write before waiting (a line when not pipelining).
    tx_flush: usize,
    /// `tx[secret.0..secret.1]` is an AUTH payload (empty when `secret.0 ==
    /// secret.1`): it is marked on the [`Action::Send`]s that carry it, redacted
    /// from the log, and `tx` is zeroed once it is written.
    secret: (usize, usize),
    state: State,
    caps: Capabilities,
    encrypted: bool,
    assembler: Assembler,
    head: Option<Head>,
    /// The error to report with the next [`poll_action`](Engine::poll_action) when
    /// `report_error` is set; otherwise a failed transaction's error, kept until
    /// `RSET` (or `QUIT`) is answered. One slot for both: an error to report ends
    /// the transaction, so they are never needed at once.
    error: Option<Error>,
    report_error: bool,
    /// Where and how the session broke, first: what every later call names.
    broken: Option<(Stage, Failure)>,
    /// Counts the waits begun: see [`Engine::wait_id`].
    waits: u32,
    auth: Option<Chosen>,
    challenges: u8,
    login_step: u8,
    txn: Txn,
    report: Report<N>,
    stuffer: DotStuffer,
    raw_start: usize,
    raw_end: usize,
    body_done: bool,
}

/// Moves `buf[src..src + n]` to `buf[dst..]`, for `dst <= src`, in pieces that do
/// not overlap: [`crate::bytes::copy`] (a `memcpy`, which every image has) instead of
/// `copy_within`, whose `memmove` costs about 1.6 KB of flash on a Cortex-M.
fn move_left(buf: &mut [u8], src: usize, dst: usize, n: usize) {
    let gap = src.saturating_sub(dst);
    if gap == 0 {
        return;
    }
    let mut done = 0;
    while done < n {
        let k = gap.min(n - done);
        let Some((head, tail)) = buf.split_at_mut_checked(src + done) else {
            return;
        };
        if let (Some(to), Some(from)) = (head.get_mut(dst + done..dst + done + k), tail.get(..k)) {
            crate::bytes::copy(to, from);
        }
        done += k;
    }
}

// The engine keeps its indices within its buffers; these accessors say so without
// a panic path (a bounds-check failure and its location) at every use.

/// `buf[from..to]`, empty if out of bounds.
fn part(buf: &[u8], from: usize, to: usize) -> &[u8] {
    buf.get(from..to).unwrap_or_default()
}

/// `buf[from..to]`, empty if out of bounds.
fn part_mut(buf: &mut [u8], from: usize, to: usize) -> &mut [u8] {
    buf.get_mut(from..to).unwrap_or_default()
}

/// `buf[from..]`, empty if out of bounds.
fn tail_mut(buf: &mut [u8], from: usize) -> &mut [u8] {
    buf.get_mut(from..).unwrap_or_default()
}

impl<'a, const N: usize> Engine<'a, N> {
    /// A session over buffers the caller owns.
    ///
    /// `rx` must hold at least [`MIN_RX_BUFFER`](limits::MIN_RX_BUFFER) bytes and the
    /// parser's line limit; `tx` at least [`MIN_TX_BUFFER`](limits::MIN_TX_BUFFER).
    /// Larger `tx` buffers send the body in fewer, larger writes.
    ///
    /// # Errors
    /// [`Error::Capacity`] when a buffer is too small.
    pub fn new(config: Config<'a>, rx: &'a mut [u8], tx: &'a mut [u8]) -> Result<Self, Error> {
        Self::check_buffers(&config, rx, tx)?;
        Ok(Self::build(config, rx, tx))
    }

    /// The size checks of [`new`](Self::new).
    pub(crate) fn check_buffers(config: &Config<'a>, rx: &[u8], tx: &[u8]) -> Result<(), Error> {
        let rx_min = limits::MIN_RX_BUFFER.max(config.parser.max_line_len);
        if rx.len() < rx_min {
            return Err(Error::Capacity {
                buffer: Buffer::Rx,
                required: rx_min,
            });
        }
        if tx.len() < limits::MIN_TX_BUFFER {
            return Err(Error::Capacity {
                buffer: Buffer::Tx,
                required: limits::MIN_TX_BUFFER,
            });
        }
        Ok(())
    }

    /// [`new`](Self::new) after [`check_buffers`](Self::check_buffers). Out of
    /// line and infallible, so that the compiler builds the engine straight into
    /// its place in the client (no engine-sized temporary in the caller's frame).
    #[inline(never)]
    pub(crate) fn build(config: Config<'a>, rx: &'a mut [u8], tx: &'a mut [u8]) -> Self {
        Engine {
            encrypted: false,
            assembler: Assembler::new(config.parser),
            config,
            rx,
            rx_len: 0,
            tx,
            tx_len: 0,
            tx_sent: 0,
            tx_flush: 0,
            secret: (0, 0),
            state: if config.security == Security::Implicit {
                State::Implicit
            } else {
                State::Greeting
            },
            caps: Capabilities::new(),
            head: None,
            error: None,
            report_error: false,
            broken: None,
            waits: 1,
            auth: None,
            challenges: 0,
            login_step: 0,
            txn: Txn::default(),
            report: Report::new(),
            stuffer: DotStuffer::new(),
            raw_start: 0,
            raw_end: 0,
            body_done: false,
        }
    }

    /// The next step. Call it again after reporting the result of the last one.
    pub fn poll_action(&mut self) -> Action<'_> {
        if self.report_error {
            self.report_error = false;
            if let Some(e) = self.error.take() {
                return Action::Failed(e);
            }
        }
        if let Some(e) = self.unusable() {
            return Action::Failed(e);
        }
        if self.tx_sent < self.tx_flush {
            let (s, e) = self.secret;
            let secret = (
                s.max(self.tx_sent) - self.tx_sent,
                e.min(self.tx_flush).max(self.tx_sent) - self.tx_sent,
            );
            return Action::Send(Outgoing::new(
                part(self.tx, self.tx_sent, self.tx_flush),
                secret,
            ));
        }
        match self.state {
            s if s.awaits_reply() => Action::Recv(tail_mut(self.rx, self.rx_len)),
            State::Handshake => Action::StartTls,
            State::Implicit => Action::Handshake,
            State::Body => Action::Body,
            State::Ready => Action::Done(Outcome::Ready),
            State::Sent => Action::Done(Outcome::Sent),
            State::Closed => Action::Done(Outcome::Closed),
            _ => Action::Failed(Error::Invariant(broken(Invariant::State))),
        }
    }

    /// Reports that the driver wrote `n` bytes of the last [`Action::Send`].
    pub fn handle_sent(&mut self, n: usize) {
        if n > self.tx_flush - self.tx_sent {
            self.fail(Contract::SentTooMuch);
            return;
        }
        self.tx_sent += n;
        if self.tx_sent == self.tx_flush {
            self.waits = self.waits.wrapping_add(1);
            if self.has_secret() {
                part_mut(self.tx, 0, self.tx_flush).fill(0);
                self.secret = (0, 0);
            }
            if self.tx_flush == self.tx_len {
                self.tx_len = 0;
                self.tx_sent = 0;
                self.tx_flush = 0;
            }
            self.process();
        }
    }

    /// Reports that the driver read `n` bytes into the last [`Action::Recv`] buffer.
    pub fn handle_received(&mut self, n: usize) {
        if n > self.rx.len() - self.rx_len {
            self.fail(Contract::ReceivedTooMuch);
            return;
        }
        self.rx_len += n;
        self.process();
    }

    /// Reports that the transport failed: a read or a write (or flush) returned an
    /// error, a wait outlasted [`timeout`](Engine::timeout), or the TLS handshake
    /// of [`Action::StartTls`] failed. The driver returns its own error to its
    /// caller; from now on [`is_usable`](Engine::is_usable) is false, and
    /// [`poll_action`](Engine::poll_action), [`begin_transaction`](Engine::begin_transaction)
    /// and [`quit`](Engine::quit) fail with [`Error::Unusable`] naming this first
    /// failure. The caller MUST drop the connection.
    pub fn handle_failure(&mut self, failure: Failure) {
        self.error = None;
        self.report_error = false;
        self.break_with(failure);
    }

    /// Reports that the stream ended (a read or write of 0 bytes, or the peer closed).
    pub fn handle_eof(&mut self) {
        match self.state {
            State::Quit => self.state = State::Closed,
            State::Closed | State::Broken => {}
            _ => {
                let stage = self.stage();
                self.fail(Error::Closed { stage });
            }
        }
    }

    /// Reports that the TLS handshake asked for by [`Action::Handshake`] or
    /// [`Action::StartTls`] succeeded. After the implicit handshake the engine waits
    /// for the greeting; after STARTTLS it forgets what it learnt before TLS and
    /// sends EHLO again (RFC 3207 §4.2).
    pub fn handle_tls_ready(&mut self) {
        match self.state {
            State::Implicit => self.state = State::Greeting,
            State::Handshake => {
                self.caps = Capabilities::new();
                self.queue(Command::Ehlo(self.config.client_id), false);
                self.state = State::Ehlo;
            }
            _ => {
                self.fail(Contract::UnaskedTls);
                return;
            }
        }
        self.encrypted = true;
        self.waits = self.waits.wrapping_add(1);
    }

    /// Queues `QUIT`. Allowed when the session is ready or after a message; the next
    /// [`Outcome::Closed`] ends the session.
    ///
    /// # Errors
    /// [`Misuse::NotIdle`] before the session is ready or in the middle of an
    /// exchange; [`Error::Unusable`] after an error that made the connection
    /// unusable: then just drop the connection.
    pub fn quit(&mut self) -> Result<(), Error> {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !matches!(self.state, State::Ready | State::Sent) || self.tx_len != 0 {
            return Err(Misuse::NotIdle.into());
        }
        self.queue(Command::Quit, false);
        self.state = State::Quit;
        self.waits = self.waits.wrapping_add(1);
        Ok(())
    }

    /// The time limit for the current wait (RFC 5321 §4.5.3.2, or the configured
    /// override), `None` when the engine is not waiting on the network. Drivers
    /// arm it before each read or write.
    pub fn timeout(&self) -> Option<Duration> {
        let base = match self.state {
            State::Greeting => limits::TIMEOUT_GREETING,
            State::Txn => match self.stage() {
                Stage::Mail => limits::TIMEOUT_MAIL,
                Stage::Rcpt => limits::TIMEOUT_RCPT,
                Stage::EndOfData => limits::TIMEOUT_DATA_TERMINATION,
                _ if self.txn.bdat() => limits::TIMEOUT_DATA_BLOCK,
                _ => limits::TIMEOUT_DATA_INIT,
            },
            State::Body => limits::TIMEOUT_DATA_BLOCK,
            State::Handshake | State::Implicit => limits::TIMEOUT_TLS_HANDSHAKE,
            State::EndOfData | State::DrainEmpty => {
                if self.tx_sent < self.tx_flush {
                    limits::TIMEOUT_DATA_BLOCK
                } else {
                    limits::TIMEOUT_DATA_TERMINATION
                }
            }
            State::Ready | State::Sent | State::Closed | State::Broken => return None,
            _ => limits::TIMEOUT_OTHER,
        };
        Some(self.config.timeout.unwrap_or(base))
    }

    /// A number that changes whenever a new wait begins: a reply was completed (the
    /// next one, of a pipelined group too, is a new wait), a write was completed
    /// (each block of the body is one), or a new command group was queued. The
    /// wait's limit, [`timeout`](Engine::timeout), counts from that moment until
    /// the number changes again, however many reads and writes it takes: a server
    /// that sends a reply one byte at a time gets no more time than one that sends
    /// nothing (RFC 5321 §4.5.3.2 limits the wait for a reply, not a read).
    ///
    /// Drivers call the transport's deadline (the blocking client's
    /// [`Deadline::start_wait`](crate::blocking::Deadline::start_wait), the async
    /// client's `Timer`) each time it changes.
    pub fn wait_id(&self) -> u32 {
        self.waits
    }

    /// The stage the session is in (the command whose reply is awaited).
    pub fn stage(&self) -> Stage {
        match self.state {
            State::Greeting => Stage::Greeting,
            State::Ehlo => Stage::Ehlo,
            State::Helo => Stage::Helo,
            State::StartTls => Stage::StartTls,
            State::Handshake | State::Implicit => Stage::TlsHandshake,
            State::Auth => Stage::Auth,
            State::Txn => {
                let i = self.txn.replies;
                if i == 0 {
                    Stage::Mail
                } else if i <= self.txn.rcpts {
                    Stage::Rcpt
                } else if self.txn.bdat() && self.txn.last && i + 1 == self.txn.expected() {
                    Stage::EndOfData
                } else {
                    Stage::Data
                }
            }
            State::Body => Stage::Body,
            State::EndOfData | State::DrainEmpty => Stage::EndOfData,
            State::Rset => Stage::Rset,
            State::Quit | State::Closed => Stage::Quit,
            State::Ready | State::Sent | State::Broken => Stage::Connect,
        }
    }

    /// What the server's last EHLO said it supports (empty after HELO).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Whether the connection is encrypted (implicit TLS, or after STARTTLS).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Whether the connection can still carry commands (false after an error that
    /// left it in an unknown state, and after QUIT).
    pub fn is_usable(&self) -> bool {
        !matches!(self.state, State::Broken | State::Closed)
    }

    /// Each recipient's reply and the final reply of the last transaction.
    pub fn report(&self) -> &Report<N> {
        &self.report
    }

    // ----- internals -----

    /// Ends the session with `e`. Generic and out of line, so that callers pass the
    /// small error kinds and the 80-byte [`Error`] is built in this frame only, not
    /// in each caller's (the reply handling's frames are on the deepest stack path).
    #[inline(never)]
    fn fail(&mut self, e: impl Into<Error>) {
        self.error = Some(e.into());
        self.fail_kept();
    }

    /// Ends the session with the error already kept in `self.error`.
    #[inline(never)]
    fn fail_kept(&mut self) {
        let failure = match self.error {
            Some(Error::Closed { .. }) => Failure::Closed,
            Some(Error::Source(_)) => Failure::Source,
            _ => Failure::Session,
        };
        self.break_with(failure);
        self.report_error = true;
    }

    /// [`Error::Unusable`] once the session broke.
    fn unusable(&self) -> Option<Error> {
        match (self.state, self.broken) {
            (State::Broken, Some((stage, failure))) => Some(Error::Unusable { stage, failure }),
            _ => None,
        }
    }

    /// The session is over: keeps the first failure, forgets the queue and zeroes
    /// any secret in it.
    fn break_with(&mut self, failure: Failure) {
        warn!("session failed");
        if self.broken.is_none() {
            self.broken = Some((self.stage(), failure));
        }
        self.state = State::Broken;
        self.tx_len = 0;
        self.tx_sent = 0;
        self.tx_flush = 0;
        if self.has_secret() {
            self.tx.fill(0);
            self.secret = (0, 0);
        }
    }

    /// Whether `tx` holds a secret.
    fn has_secret(&self) -> bool {
        self.secret.0 < self.secret.1
    }

    /// Replaces the queue with `tx[..n]`, all of it to be sent now, none of it secret.
    pub(super) fn set_tx(&mut self, n: usize) {
        self.tx_len = n;
        self.tx_sent = 0;
        self.tx_flush = n;
        self.secret = (0, 0);
    }

    /// Queues one command (the queue must be empty). With `secret`, the command's
    /// payload (the base64 after `AUTH <mechanism> `, or a whole AUTH response
    /// line, without its CRLF) is the secret span.
    fn queue(&mut self, cmd: Command<'_>, secret: bool) {
        match cmd.emit(self.tx) {
            Ok(n) => {
                self.set_tx(n);
                if secret {
                    let start = match cmd {
                        Command::Auth { mechanism, .. } => "AUTH ".len() + mechanism.len() + 1,
                        _ => 0,
                    };
                    self.secret = (start.min(n), n.saturating_sub(2));
                }
                self.log_sent(0, n);
            }
            Err(c) => self.fail(Error::Capacity {
                buffer: Buffer::Tx,
                required: c.required,
            }),
        }
    }

    /// End of the next command line at or after `tx_sent`.
    fn next_line_end(&self) -> usize {
        part(self.tx, self.tx_sent, self.tx_len)
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.tx_len, |i| self.tx_sent + i + 1)
    }

    /// The length of a write into room the engine reserved for it. When that room
    /// was too small (a bug) the session breaks with [`Invariant::Room`] (and a
    /// `debug_assert!` fires): never wrong bytes on the wire.
    pub(super) fn room(&mut self, written: Option<usize>) -> Option<usize> {
        if written.is_none() {
            self.fail(broken(Invariant::Room));
        }
        written
    }
}

impl<const N: usize> Drop for Engine<'_, N> {
    /// Zeroes any secret still in the transmit buffer.
    fn drop(&mut self) {
        if self.has_secret() {
            self.tx.fill(0);
        }
    }
}

impl<const N: usize> core::fmt::Debug for Engine<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
