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
#[cfg(test)]
mod tests;
mod txn;

use txn::Txn;

use core::time::Duration;

pub use action::{Action, Outcome, Outgoing, Stage};
pub use config::{Config, MailParams, Report, Security};

use crate::auth::{Chosen, Prompt};
use crate::command::Command;
use crate::error::{
    Buffer, Contract, Error, Failure, Invariant, Misuse, ProtocolError, Response, Text,
    Unsupported, broken,
};
use crate::limits;
use crate::message::DotStuffer;
use crate::reply::{Assembler, Capabilities, Extensions, ReplyCode, Status, parse_line};

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
                _ if self.txn.bdat => limits::TIMEOUT_DATA_BLOCK,
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
                } else if self.txn.bdat && self.txn.last && i + 1 == self.txn.expected() {
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

    /// A copy of [`report`](Self::report), out of line: the compiler then writes it
    /// straight into the caller's result (no report-sized temporary in its frame).
    #[inline(never)]
    pub(crate) fn report_copy(&self) -> Report<N> {
        self.report.clone()
    }

    // ----- internals -----

    /// Ends the session with `e`. Generic and out of line, so that callers pass the
    /// small error kinds and the 80-byte [`Error`] is built in this frame only, not
    /// in each caller's (the reply handling's frames are on the deepest stack path).
    #[inline(never)]
    fn fail(&mut self, e: impl Into<Error>) {
        let e = e.into();
        let failure = match e {
            Error::Closed { .. } => Failure::Closed,
            Error::Source(_) => Failure::Source,
            _ => Failure::Session,
        };
        self.break_with(failure);
        self.error = Some(e);
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

    /// Logs the command lines in `tx[from..to]` at trace level, the secret span
    /// replaced by `[secret]`.
    #[cfg(any(feature = "log", feature = "defmt"))]
    pub(super) fn log_sent(&self, from: usize, to: usize) {
        let mut at = from;
        while at < to {
            let rest = part(self.tx, at, to);
            let len = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            let line = part(rest, 0, len);
            let text = line.strip_suffix(b"\r\n").unwrap_or(line);
            let (s, e) = self.secret;
            if s < e && at < e && s < at + text.len() {
                let keep = s.saturating_sub(at).min(text.len());
                trace!("C: {}[secret]", printable(part(text, 0, keep)));
            } else {
                trace!("C: {}", printable(text));
            }
            at += len;
        }
    }

    #[cfg(not(any(feature = "log", feature = "defmt")))]
    pub(super) fn log_sent(&self, _: usize, _: usize) {}

    /// End of the next command line at or after `tx_sent`.
    fn next_line_end(&self) -> usize {
        part(self.tx, self.tx_sent, self.tx_len)
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.tx_len, |i| self.tx_sent + i + 1)
    }

    /// Parses buffered reply lines while a reply is awaited and nothing is left to send.
    fn process(&mut self) {
        let mut pos = 0;
        while self.state.awaits_reply() && self.tx_sent == self.tx_flush && !self.report_error {
            let line = match parse_line(part(self.rx, pos, self.rx_len), &self.config.parser) {
                Ok(Status::Complete(l)) => l,
                Ok(Status::Partial) => {
                    if self.rx_len == self.rx.len() && pos == 0 {
                        self.fail(crate::reply::ReplyError::LineTooLong);
                    }
                    break;
                }
                Err(e) => {
                    self.fail(e);
                    break;
                }
            };
            let (line, used) = line;
            #[cfg(any(feature = "log", feature = "defmt"))]
            {
                let raw = part(self.rx, pos, pos + used);
                trace!("S: {}", printable(raw.strip_suffix(b"\r\n").unwrap_or(raw)));
            }
            let first = !self.assembler.in_progress();
            let last = match self.assembler.push(&line) {
                Ok(last) => last,
                Err(e) => {
                    self.fail(e);
                    break;
                }
            };
            if first {
                let (enhanced, text) = match line.enhanced() {
                    Some((e, t)) => (Some(e), t),
                    None => (None, line.text),
                };
                let prompt = if self.state == State::Auth && line.code == ReplyCode::AUTH_CONTINUE {
                    crate::auth::login_prompt(line.text)
                } else {
                    Ok(Prompt::Other)
                };
                self.head = Some(Head {
                    response: Response {
                        code: line.code,
                        enhanced,
                        text: Text::new(text),
                    },
                    prompt,
                });
            } else if self.state == State::Ehlo {
                self.caps.apply_line(line.text);
            }
            pos += used;
            if last {
                self.waits = self.waits.wrapping_add(1);
                let residue = pos < self.rx_len;
                if let Some(head) = self.head.take() {
                    self.on_reply(head, residue);
                }
            }
        }
        if pos > 0 {
            move_left(self.rx, pos, 0, self.rx_len - pos);
            self.rx_len -= pos;
        }
    }

    fn reject(&mut self, stage: Stage, response: Response) {
        self.fail(refusal(stage, response));
    }

    /// Keeps the refusal of a transaction's command as the transaction's error
    /// (out of line: the error is built here only).
    #[inline(never)]
    pub(super) fn keep_refusal(&mut self, stage: Stage, response: Response) {
        self.error = Some(refusal(stage, response));
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

    /// Whether a `3yz` reply is what the current command awaits: `334` to AUTH,
    /// `354` to DATA. Anywhere else it is a protocol error.
    fn intermediate_expected(&self, code: ReplyCode) -> bool {
        match self.state {
            State::Auth => code == ReplyCode::AUTH_CONTINUE,
            State::Txn => {
                code == ReplyCode::START_MAIL_INPUT
                    && !self.txn.bdat
                    && self.txn.replies == 1 + self.txn.rcpts
            }
            State::Quit | State::DrainEmpty => true,
            _ => false,
        }
    }

    /// Acts on one complete reply.
    fn on_reply(&mut self, head: Head, residue: bool) {
        let r = head.response;
        let code = r.code;
        if code == ReplyCode::SERVICE_NOT_AVAILABLE && self.state != State::Quit {
            // 421: the server is closing the channel (RFC 5321 §3.8). While resetting
            // a failed transaction, the transaction's own error is the one to report.
            let stage = self.stage();
            let e = self
                .error
                .take()
                .unwrap_or(Error::Rejected { stage, response: r });
            self.fail(e);
            return;
        }
        if code.is_intermediate() && !self.intermediate_expected(code) {
            let stage = self.stage();
            self.fail(ProtocolError::UnexpectedReply { stage, code });
            return;
        }
        match self.state {
            State::Greeting => {
                if code == ReplyCode::SERVICE_READY {
                    self.queue(Command::Ehlo(self.config.client_id), false);
                    self.state = State::Ehlo;
                } else {
                    self.reject(Stage::Greeting, r);
                }
            }
            State::Ehlo => {
                if code.is_positive() {
                    self.after_hello();
                } else if code.get() == 500 || code.get() == 502 {
                    // EHLO not understood: an RFC 821 server (RFC 5321 §3.2).
                    self.caps = Capabilities::new();
                    self.queue(Command::Helo(self.config.client_id), false);
                    self.state = State::Helo;
                } else {
                    self.reject(Stage::Ehlo, r);
                }
            }
            State::Helo => {
                if code.is_positive() {
                    self.caps = Capabilities::new();
                    self.after_hello();
                } else {
                    self.reject(Stage::Helo, r);
                }
            }
            State::StartTls => {
                if code == ReplyCode::SERVICE_READY {
                    if residue {
                        self.fail(ProtocolError::StartTlsInjection);
                    } else {
                        self.state = State::Handshake;
                    }
                } else {
                    self.reject(Stage::StartTls, r);
                }
            }
            State::Auth => self.on_auth_reply(head),
            State::Txn => self.on_txn_reply(r),
            State::EndOfData => {
                if code.is_positive() {
                    self.report.reply = Some(r);
                    self.finish_txn();
                } else {
                    // The transaction is over either way (RFC 5321 §4.1.1.4).
                    self.keep_refusal(Stage::EndOfData, r);
                    self.end_failed_txn();
                }
            }
            State::DrainEmpty => self.end_failed_txn(),
            State::Rset => {
                let e = self.error.take();
                if code.is_positive() {
                    self.state = State::Ready;
                    self.error = e;
                    self.report_error = self.error.is_some();
                } else {
                    match e {
                        Some(e) => self.fail(e),
                        None => self.reject(Stage::Rset, r),
                    }
                }
            }
            State::Quit => {
                self.state = State::Closed;
                // A transaction that ended with QUIT reports its failure now.
                self.report_error = self.error.is_some();
            }
            _ => self.fail(ProtocolError::UnsolicitedData),
        }
    }

    /// After EHLO/HELO: STARTTLS if required, else AUTH if configured, else ready.
    fn after_hello(&mut self) {
        if self.config.security == Security::StartTls && !self.encrypted {
            if self.caps.has(Extensions::STARTTLS) && self.state == State::Ehlo {
                self.queue(Command::StartTls, false);
                self.state = State::StartTls;
            } else {
                self.fail(Unsupported::StartTls);
            }
            return;
        }
        match self.config.credentials {
            Some(cred) => self.start_auth(cred),
            None => self.state = State::Ready,
        }
    }
}

/// The error for a reply that is not the success awaited: a `4yz` or `5yz` is the
/// server's refusal ([`Error::Rejected`]); any other code is a protocol error
/// naming it.
#[inline(never)]
pub(super) fn refusal(stage: Stage, response: Response) -> Error {
    let code = response.code;
    if code.is_transient() || code.is_permanent() {
        Error::Rejected { stage, response }
    } else {
        Error::Protocol(ProtocolError::UnexpectedReply { stage, code })
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

/// `bytes` as text for the log (replies and commands are ASCII, or UTF-8 with
/// SMTPUTF8).
#[cfg(any(feature = "log", feature = "defmt"))]
fn printable(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("<not UTF-8>")
}

impl<const N: usize> core::fmt::Debug for Engine<'_, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
