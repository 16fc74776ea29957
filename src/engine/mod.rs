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
#[cfg(test)]
mod tests;

use core::time::Duration;

pub use action::{Action, Outcome, Stage};

use crate::address::{Address, Domain};
use crate::auth::{self, Chosen, Credentials, Prompt};
use crate::command::Command;
use crate::error::{
    Error, Failure, Field, InputError, InputErrorKind, ProtocolError, Response, Text, Unsupported,
};
use crate::limits;
use crate::message::{BodySource, DotStuffer};
use crate::reply::{
    Assembler, Capabilities, Extensions, ParserConfig, ReplyCode, Status, parse_line,
};

/// Room kept at the end of `tx` for the end-of-data line (`\r\n.\r\n`) and a
/// pipelined `QUIT\r\n`.
const TERMINATOR_ROOM: usize = 5 + 6;
/// Room kept before a `BDAT` chunk for its command line (`BDAT <u64> LAST\r\n`).
const BDAT_HEADER_ROOM: usize = 32;
/// Most `BDAT` chunks sent before their replies are read (bounds what the server
/// must buffer, RFC 2920 §3.1 on deadlock).
const MAX_CHUNKS_IN_FLIGHT: u16 = 16;
/// Smallest raw chunk worth pulling from a message source.
const MIN_STAGE: usize = 32;

/// How the connection is (to be) encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Security {
    /// Plain TCP. AUTH is refused unless [`Config::allow_plaintext_auth`] is set.
    #[default]
    None,
    /// TLS from the first byte (port 465, RFC 8314): the driver connects TLS before
    /// the greeting and the engine treats the session as encrypted.
    Implicit,
    /// Plain TCP upgraded with `STARTTLS` (port 587, RFC 3207). Required: when the
    /// server does not offer it or refuses it the session stops; there is no
    /// fallback to plaintext.
    StartTls,
}

/// Settings of a session. Cheap to copy; build with [`Config::new`] and the `with_*`
/// methods.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    client_id: Domain<'a>,
    security: Security,
    credentials: Option<Credentials<'a>>,
    allow_plaintext_auth: bool,
    pipelining: bool,
    chunking: bool,
    timeout: Option<Duration>,
    parser: ParserConfig,
}

impl<'a> Config<'a> {
    /// A session that greets with `EHLO client_id`, without TLS or AUTH, using
    /// PIPELINING when offered and the RFC 5321 §4.5.3.2 time limits.
    pub fn new(client_id: Domain<'a>) -> Self {
        Config {
            client_id,
            security: Security::None,
            credentials: None,
            allow_plaintext_auth: false,
            pipelining: true,
            chunking: true,
            timeout: None,
            parser: ParserConfig::DEFAULT,
        }
    }

    /// Sets how the connection is encrypted.
    pub fn with_security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// Authenticates with these credentials after EHLO (and STARTTLS).
    pub fn with_credentials(mut self, credentials: Credentials<'a>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Allows AUTH over an unencrypted connection, which sends the password in the
    /// clear. Only for a server on the same host or a trusted network.
    pub fn allow_plaintext_auth(mut self) -> Self {
        self.allow_plaintext_auth = true;
        self
    }

    /// Whether to use PIPELINING (RFC 2920) when the server offers it (default true).
    pub fn with_pipelining(mut self, on: bool) -> Self {
        self.pipelining = on;
        self
    }

    /// Whether to send the message with `BDAT` (CHUNKING, RFC 3030) instead of `DATA`
    /// when the server offers it (default true). With PIPELINING too, the envelope
    /// and a message that fits `tx` go out in one write and need one round trip.
    pub fn with_chunking(mut self, on: bool) -> Self {
        self.chunking = on;
        self
    }

    /// One time limit for every wait instead of the RFC 5321 §4.5.3.2 figures.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Reply parser limits (line length, lines per reply).
    pub fn with_parser(mut self, parser: ParserConfig) -> Self {
        self.parser = parser;
        self
    }

    /// The EHLO name.
    pub fn client_id(&self) -> Domain<'a> {
        self.client_id
    }

    /// The security mode.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The limit set with [`Config::with_timeout`], if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// ESMTP facts about the message of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MailParams {
    /// The message size in octets if known; sent as `SIZE=` when the server offers
    /// SIZE (RFC 1870), and checked against the server's limit before `MAIL`.
    pub size: Option<u64>,
    /// The body holds 8-bit octets: needs 8BITMIME (RFC 6152), sent as `BODY=8BITMIME`.
    pub body_8bit: bool,
    /// The headers hold UTF-8 addresses: needs SMTPUTF8 (RFC 6531). Non-ASCII
    /// envelope addresses set this on their own.
    pub smtputf8: bool,
}

/// What happened to each recipient of the last transaction, and the server's final
/// reply (its text usually carries the queue id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<const N: usize> {
    recipients: heapless::Vec<Response, N>,
    reply: Option<Response>,
}

impl<const N: usize> Report<N> {
    const fn new() -> Self {
        Report {
            recipients: heapless::Vec::new(),
            reply: None,
        }
    }

    /// Each recipient's reply, in the order the recipients were given. `2yz`
    /// (250, 251, 252) means accepted.
    pub fn recipients(&self) -> &[Response] {
        &self.recipients
    }

    /// How many recipients were accepted.
    pub fn accepted(&self) -> usize {
        self.recipients
            .iter()
            .filter(|r| r.code.is_positive())
            .count()
    }

    /// The refused recipients as (index in the recipient list, reply).
    pub fn refused(&self) -> impl Iterator<Item = (usize, &Response)> {
        self.recipients
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.code.is_positive())
    }

    /// The reply to the end of data, once the message was accepted.
    pub fn reply(&self) -> Option<&Response> {
        self.reply.as_ref()
    }
}

impl<const N: usize> Default for Report<N> {
    fn default() -> Self {
        Report::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
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

/// Progress of one transaction.
#[derive(Debug, Clone, Copy, Default)]
struct Txn {
    rcpts: u16,
    /// Replies read so far (MAIL, each RCPT, then DATA or each BDAT).
    replies: u16,
    accepted: u16,
    mail_ok: bool,
    pipelined: bool,
    /// The body goes in `BDAT` chunks.
    bdat: bool,
    /// `BDAT` commands sent.
    chunks: u16,
    /// The `LAST` chunk (or the end-of-data line) is queued.
    last: bool,
    /// End the session after this transaction.
    quit: bool,
    /// `QUIT` went out in the same write as the end of the message.
    quit_sent: bool,
}

impl Txn {
    /// Replies owed for what was sent.
    fn expected(&self) -> u16 {
        1 + self.rcpts + if self.bdat { self.chunks } else { 1 }
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
    /// `tx[..tx_flush]` holds a secret: zero it once written.
    tx_secret: bool,
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
            return Err(Error::Capacity { required: rx_min });
        }
        if tx.len() < limits::MIN_TX_BUFFER {
            return Err(Error::Capacity {
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
            encrypted: config.security == Security::Implicit,
            assembler: Assembler::new(config.parser),
            config,
            rx,
            rx_len: 0,
            tx,
            tx_len: 0,
            tx_sent: 0,
            tx_flush: 0,
            tx_secret: false,
            state: State::Greeting,
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
            return Action::Send(part(self.tx, self.tx_sent, self.tx_flush));
        }
        match self.state {
            s if s.awaits_reply() => Action::Recv(tail_mut(self.rx, self.rx_len)),
            State::Handshake => Action::StartTls,
            State::Body => Action::Body,
            State::Ready => Action::Done(Outcome::Ready),
            State::Sent => Action::Done(Outcome::Sent),
            State::Closed => Action::Done(Outcome::Closed),
            _ => Action::Failed(Error::Protocol(ProtocolError::InvalidState)),
        }
    }

    /// Reports that the driver wrote `n` bytes of the last [`Action::Send`].
    pub fn handle_sent(&mut self, n: usize) {
        self.tx_sent = (self.tx_sent + n).min(self.tx_flush);
        if self.tx_sent == self.tx_flush {
            self.waits = self.waits.wrapping_add(1);
            if self.tx_secret {
                part_mut(self.tx, 0, self.tx_flush).fill(0);
                self.tx_secret = false;
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
        self.rx_len = (self.rx_len + n).min(self.rx.len());
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

    /// Reports that the TLS handshake asked for by [`Action::StartTls`] succeeded.
    /// The engine forgets what it learnt before TLS and sends EHLO again (RFC 3207 §4.2).
    pub fn handle_tls_ready(&mut self) {
        if self.state != State::Handshake {
            self.fail(ProtocolError::InvalidState);
            return;
        }
        self.encrypted = true;
        self.caps = Capabilities::new();
        self.queue(Command::Ehlo(self.config.client_id), false);
        self.state = State::Ehlo;
        self.waits = self.waits.wrapping_add(1);
    }

    /// Pulls the next chunk of the message from `body` after an [`Action::Body`];
    /// the chunk comes back, dot-stuffed, as the next [`Action::Send`]. When `body`
    /// is exhausted the end-of-data line follows.
    ///
    /// If `body` fails, the message is not terminated (so the server cannot deliver
    /// a truncated message) and the connection is unusable: the next action is
    /// [`Action::Failed`] with [`Error::Source`].
    pub fn handle_body<B: BodySource + ?Sized>(&mut self, mut body: &mut B) {
        self.pull_body(&mut body);
    }

    /// [`handle_body`](Self::handle_body) for any source: one copy of the code
    /// whatever the source's type (the sources' `fill` is called through the vtable).
    #[inline(never)]
    fn pull_body(&mut self, body: &mut dyn BodySource) {
        // The queue is empty, or (pipelined BDAT) holds the unsent envelope.
        let envelope_waits = self.txn.bdat && self.txn.chunks == 0 && self.tx_flush == 0;
        if self.state != State::Body
            || self.tx_sent != self.tx_flush
            || (self.tx_len != 0 && !envelope_waits)
        {
            self.fail(ProtocolError::InvalidState);
            return;
        }
        let bdat = self.txn.bdat;
        // Pack as much as fits into one write (few writes mean no Nagle/delayed-ACK
        // stalls): raw bytes are staged at the end of `tx` in a third of the free
        // space, so their normalised form (at most twice as long) always fits before
        // them. A BDAT chunk leaves room in front for its command line.
        let cap = self.tx.len();
        let limit = cap - TERMINATOR_ROOM;
        let start = if bdat {
            self.tx_len + BDAT_HEADER_ROOM
        } else {
            0
        };
        let mut out = start;
        while out < limit {
            if self.raw_start == self.raw_end && !self.body_done {
                let stage = (limit - out) / 3;
                if stage < MIN_STAGE {
                    break;
                }
                let at = cap - stage;
                match body.fill(tail_mut(self.tx, at)) {
                    Ok(0) => self.body_done = true,
                    Ok(n) => {
                        self.raw_start = at;
                        self.raw_end = at + n.min(stage);
                    }
                    Err(kind) => {
                        self.fail(Error::Source(kind));
                        return;
                    }
                }
            }
            if self.raw_start == self.raw_end {
                break;
            }
            let end = self.raw_start.min(limit);
            let Some((head, raw)) = self.tx.split_at_mut_checked(self.raw_start) else {
                break;
            };
            let (used, made) = self.stuffer.encode(
                part(raw, 0, self.raw_end - self.raw_start),
                part_mut(head, out, end),
            );
            self.raw_start += used;
            out += made;
            if used == 0 {
                break;
            }
        }
        let done = self.body_done && self.raw_start == self.raw_end;
        if bdat {
            if out == start && !done {
                // No room for data beside the envelope: send the envelope first.
                self.tx_flush = self.tx_len;
                return;
            }
            if done {
                out += self
                    .stuffer
                    .finish_lines(tail_mut(self.tx, out))
                    .unwrap_or(0);
            }
            let header = Command::Bdat {
                size: (out - start) as u64,
                last: done,
            };
            let at = self.tx_len;
            let h = header.emit(part_mut(self.tx, at, start)).unwrap_or(0);
            move_left(self.tx, start, at + h, out - start);
            out = at + h + (out - start);
            self.txn.chunks += 1;
            self.txn.last = done;
        } else if done {
            out += self.stuffer.finish(tail_mut(self.tx, out)).unwrap_or(0);
            self.txn.last = true;
        }
        if self.txn.last && self.txn.quit && self.txn.pipelined {
            // RFC 2920 §3.1: QUIT may close the group that ends the message.
            out += Command::Quit.emit(tail_mut(self.tx, out)).unwrap_or(0);
            self.txn.quit_sent = true;
        }
        self.set_tx(out, false);
        if bdat {
            let in_flight = self.txn.expected() - self.txn.replies;
            if self.txn.last || !self.txn.pipelined || in_flight >= MAX_CHUNKS_IN_FLIGHT {
                self.state = State::Txn;
            }
        } else if self.txn.last {
            self.state = State::EndOfData;
        }
    }

    /// Starts a transaction: `MAIL FROM`, one `RCPT TO` per recipient, `DATA`, then
    /// the body through [`Action::Body`]. Allowed once the session is
    /// [`Outcome::Ready`] (or after [`Outcome::Sent`]). `from` `None` is the null
    /// reverse path `<>`.
    ///
    /// Everything is checked before a byte is queued: the recipient count (1..=`N`),
    /// SMTPUTF8 / 8BITMIME / SIZE against what the server offers, and that the
    /// command group fits `tx`.
    ///
    /// # Errors
    /// [`Error::Input`], [`Error::Unsupported`], [`Error::Capacity`] or
    /// [`Error::Protocol`] (wrong state); the session is left as it was.
    pub fn begin_transaction<'r, I>(
        &mut self,
        from: Option<Address<'_>>,
        recipients: I,
        params: MailParams,
    ) -> Result<(), Error>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
    {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !matches!(self.state, State::Ready | State::Sent) || self.tx_len != 0 {
            return Err(Error::Protocol(ProtocolError::InvalidState));
        }
        let rcpts = recipients.into_iter();
        let count = rcpts.clone().count();
        if count == 0 {
            return Err(InputError::new(Field::Recipients, InputErrorKind::NoRecipients).into());
        }
        if count > N {
            let kind = InputErrorKind::TooManyRecipients { max: N };
            return Err(InputError::new(Field::Recipients, kind).into());
        }
        let utf8 = params.smtputf8
            || from.is_some_and(|a| !a.is_ascii())
            || rcpts.clone().any(|a| !a.is_ascii());
        if utf8 && !self.caps.has(Extensions::SMTPUTF8) {
            return Err(Unsupported::SmtpUtf8.into());
        }
        if params.body_8bit && !self.caps.has(Extensions::EIGHTBITMIME) {
            return Err(Unsupported::EightBitMime.into());
        }
        if let (Some(limit), Some(size)) = (self.caps.size_limit, params.size)
            && size > limit
        {
            return Err(Unsupported::MessageTooLarge { limit }.into());
        }
        let mail = Command::Mail {
            from,
            size: params.size.filter(|_| self.caps.has(Extensions::SIZE)),
            body_8bit: params.body_8bit,
            smtputf8: utf8,
        };
        let bdat = self.config.chunking && self.caps.has(Extensions::CHUNKING);
        let data = if bdat { None } else { Some(Command::Data) };
        let required = mail.len()
            + rcpts.clone().map(|a| Command::Rcpt(a).len()).sum::<usize>()
            + data.map_or(0, |d| d.len());
        if required > self.tx.len() {
            return Err(Error::Capacity { required });
        }
        let mut at = 0;
        at += mail.emit(tail_mut(self.tx, at)).unwrap_or(0);
        for cmd in rcpts.map(Command::Rcpt).chain(data) {
            at += cmd.emit(tail_mut(self.tx, at)).unwrap_or(0);
        }
        let pipelined = self.config.pipelining && self.caps.has(Extensions::PIPELINING);
        debug!(
            "transaction: {} recipient(s), pipelined {}",
            count, pipelined
        );
        self.report = Report::new();
        if !self.report_error {
            self.error = None;
        }
        self.txn = Txn {
            rcpts: count as u16,
            pipelined,
            bdat,
            ..Txn::default()
        };
        self.tx_len = at;
        self.tx_sent = 0;
        self.stuffer = if bdat {
            DotStuffer::normaliser()
        } else {
            DotStuffer::new()
        };
        self.body_done = false;
        self.raw_start = 0;
        self.raw_end = 0;
        if pipelined && bdat {
            // The envelope waits in `tx` for the first chunk: one write for both.
            self.tx_flush = 0;
            self.state = State::Body;
        } else {
            self.tx_flush = if pipelined { at } else { self.next_line_end() };
            self.state = State::Txn;
        }
        self.waits = self.waits.wrapping_add(1);
        Ok(())
    }

    /// Ends the session after the transaction just begun: `QUIT` follows the end of
    /// the message (in the same write when the server offers PIPELINING), or follows
    /// a failure instead of `RSET`. The step then ends with [`Outcome::Closed`] once
    /// the message was accepted, or [`Action::Failed`] with the transaction's error.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidState`] when no transaction was begun.
    pub fn quit_after_transaction(&mut self) -> Result<(), Error> {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !matches!(self.state, State::Txn | State::Body) || self.txn.last {
            return Err(Error::Protocol(ProtocolError::InvalidState));
        }
        self.txn.quit = true;
        Ok(())
    }

    /// Queues `QUIT`. Allowed when the session is ready or after a message; the next
    /// [`Outcome::Closed`] ends the session.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidState`] in the middle of an exchange or after an error
    /// that made the connection unusable: then just drop the connection.
    pub fn quit(&mut self) -> Result<(), Error> {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !matches!(self.state, State::Ready | State::Sent) || self.tx_len != 0 {
            return Err(Error::Protocol(ProtocolError::InvalidState));
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
            State::Handshake => limits::TIMEOUT_TLS_HANDSHAKE,
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
            State::Handshake => Stage::TlsHandshake,
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

    /// Whether the bytes of the current [`Action::Send`] carry a secret (an AUTH
    /// response). Transcript loggers must redact them.
    pub fn is_sending_secret(&self) -> bool {
        self.tx_secret || self.state == State::Auth && self.tx_sent < self.tx_flush
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
        if self.tx_secret {
            self.tx.fill(0);
            self.tx_secret = false;
        }
    }

    /// Replaces the queue with `tx[..n]`, all of it to be sent now.
    fn set_tx(&mut self, n: usize, secret: bool) {
        self.tx_len = n;
        self.tx_sent = 0;
        self.tx_flush = n;
        self.tx_secret = secret;
    }

    /// Queues one command (the queue must be empty).
    fn queue(&mut self, cmd: Command<'_>, secret: bool) {
        match cmd.emit(self.tx) {
            Ok(n) => self.set_tx(n, secret),
            Err(c) => self.fail(Error::Capacity {
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
                    auth::login_prompt(line.text)
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
                trace!("S: reply {}", line.code.get());
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
        self.fail(Error::Rejected { stage, response });
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
                    self.error = Some(Error::Rejected {
                        stage: Stage::EndOfData,
                        response: r,
                    });
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
                    self.fail(e.unwrap_or(Error::Rejected {
                        stage: Stage::Rset,
                        response: r,
                    }));
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
        let Some(cred) = self.config.credentials else {
            self.state = State::Ready;
            return;
        };
        if !self.encrypted && !self.config.allow_plaintext_auth {
            self.fail(Unsupported::PlaintextAuth);
            return;
        }
        let Some(chosen) = auth::choose(cred.mechanism(), self.caps.auth) else {
            self.fail(Unsupported::AuthMechanism);
            return;
        };
        debug!("AUTH {}", chosen.name());
        self.auth = Some(chosen);
        self.challenges = 0;
        self.login_step = 0;
        self.state = State::Auth;
        let (user, secret) = (cred.username().as_bytes(), cred.secret().as_bytes());
        match chosen {
            Chosen::Plain => {
                let initial: &[&[u8]] = &[b"\0", user, b"\0", secret];
                self.queue(
                    Command::Auth {
                        mechanism: "PLAIN",
                        initial: Some(initial),
                    },
                    true,
                );
            }
            Chosen::Login => self.queue(
                Command::Auth {
                    mechanism: "LOGIN",
                    initial: None,
                },
                false,
            ),
            Chosen::XOAuth2 => {
                let initial: &[&[u8]] = &[b"user=", user, b"\x01auth=Bearer ", secret, b"\x01\x01"];
                self.queue(
                    Command::Auth {
                        mechanism: "XOAUTH2",
                        initial: Some(initial),
                    },
                    true,
                );
            }
        }
    }

    fn on_auth_reply(&mut self, head: Head) {
        let r = head.response;
        if r.code.is_positive() {
            self.state = State::Ready;
            return;
        }
        if r.code != ReplyCode::AUTH_CONTINUE {
            self.reject(Stage::Auth, r);
            return;
        }
        self.challenges += 1;
        if self.challenges > limits::MAX_AUTH_CHALLENGES {
            self.fail(ProtocolError::TooManyChallenges);
            return;
        }
        let Some(cred) = self.config.credentials else {
            self.fail(ProtocolError::InvalidState);
            return;
        };
        match self.auth {
            Some(Chosen::Login) => {
                let prompt = match head.prompt {
                    Ok(p) => p,
                    Err(()) => {
                        self.fail(ProtocolError::InvalidChallenge);
                        return;
                    }
                };
                let want_user = match prompt {
                    Prompt::Username => true,
                    Prompt::Password => false,
                    Prompt::Other => self.login_step == 0,
                };
                if !want_user && self.login_step == 0 || self.login_step >= 2 {
                    // A password prompt before the user name, or a third prompt.
                    self.fail(ProtocolError::UnexpectedReply {
                        stage: Stage::Auth,
                        code: r.code,
                    });
                    return;
                }
                self.login_step += 1;
                if want_user {
                    self.queue(Command::AuthResponse(&[cred.username().as_bytes()]), false);
                } else {
                    self.queue(Command::AuthResponse(&[cred.secret().as_bytes()]), true);
                }
            }
            // XOAUTH2 failure: the server sends a 334 with JSON error details and
            // expects an empty response before its final 5yz.
            Some(Chosen::XOAuth2) => self.queue(Command::AuthResponse(&[]), false),
            // PLAIN sent everything in the initial response: a challenge is unexpected.
            _ => self.fail(ProtocolError::UnexpectedReply {
                stage: Stage::Auth,
                code: r.code,
            }),
        }
    }

    fn on_txn_reply(&mut self, r: Response) {
        let stage = self.stage();
        self.txn.replies += 1;
        let ok = r.code.is_positive();
        match stage {
            Stage::Mail => {
                self.txn.mail_ok = ok;
                if !ok {
                    self.error = Some(Error::Rejected { stage, response: r });
                    if !self.txn.pipelined {
                        return self.abort_txn();
                    }
                }
            }
            Stage::Rcpt => {
                let _ = self.report.recipients.push(r);
                if ok {
                    self.txn.accepted += 1;
                }
                if !self.txn.pipelined && self.txn.replies > self.txn.rcpts {
                    if self.txn.accepted == 0 {
                        self.error = Some(self.no_recipients());
                        return self.abort_txn();
                    }
                    if self.txn.bdat {
                        self.state = State::Body;
                        return;
                    }
                }
            }
            _ if !self.txn.bdat => return self.on_data_reply(r),
            _ => {
                // The reply to a BDAT chunk; the LAST one is the server's acceptance.
                if !ok && self.error.is_none() {
                    self.error = Some(if self.txn.accepted == 0 {
                        self.no_recipients()
                    } else {
                        Error::Rejected { stage, response: r }
                    });
                }
                if self.txn.replies == self.txn.expected() {
                    if self.error.is_some() {
                        self.abort_txn();
                    } else if self.txn.last {
                        self.report.reply = Some(r);
                        self.finish_txn();
                    } else {
                        self.state = State::Body;
                    }
                }
                return;
            }
        }
        if !self.txn.pipelined {
            self.tx_flush = self.next_line_end();
        }
    }

    /// The reply to `DATA`.
    fn on_data_reply(&mut self, r: Response) {
        let go = self.txn.mail_ok && self.txn.accepted > 0;
        if r.code == ReplyCode::START_MAIL_INPUT && go {
            self.set_tx(0, false);
            self.state = State::Body;
            return;
        }
        if self.error.is_none() {
            self.error = Some(if self.txn.accepted == 0 {
                self.no_recipients()
            } else {
                Error::Rejected {
                    stage: Stage::Data,
                    response: r,
                }
            });
        }
        if r.code == ReplyCode::START_MAIL_INPUT {
            // RFC 2920 §3.1: DATA accepted with no valid recipient; send an empty
            // message, which the server must refuse.
            let n = DotStuffer::new().finish(self.tx).unwrap_or(0);
            self.set_tx(n, false);
            self.state = State::DrainEmpty;
            return;
        }
        self.abort_txn();
    }

    /// The message was accepted: idle, or on to QUIT.
    fn finish_txn(&mut self) {
        if self.txn.quit {
            self.go_quit();
        } else {
            self.state = State::Sent;
        }
    }

    /// The transaction ended with an error and needs no reset.
    fn end_failed_txn(&mut self) {
        if self.txn.quit {
            self.go_quit();
        } else {
            self.state = State::Ready;
            self.report_error = self.error.is_some();
        }
    }

    /// Sends QUIT unless it already went out with the end of the message.
    fn go_quit(&mut self) {
        if !self.txn.quit_sent {
            self.set_tx(0, false);
            self.queue(Command::Quit, false);
        }
        if self.state != State::Broken {
            self.state = State::Quit;
        }
    }

    fn no_recipients(&self) -> Error {
        let mut refused = self.report.refused();
        match refused.next() {
            Some((_, first)) => Error::NoRecipients {
                refused: 1 + refused.count() as u16,
                first: *first,
            },
            None => Error::Protocol(ProtocolError::InvalidState),
        }
    }

    /// Drops the rest of the transaction's commands and resets it (or quits).
    fn abort_txn(&mut self) {
        if self.txn.quit {
            return self.go_quit();
        }
        self.set_tx(0, false);
        self.queue(Command::Rset, false);
        self.state = State::Rset;
    }
}

impl<const N: usize> Drop for Engine<'_, N> {
    /// Zeroes any secret still in the transmit buffer.
    fn drop(&mut self) {
        if self.tx_secret {
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
