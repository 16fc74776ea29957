//! A mail transaction: `MAIL`, `RCPT`, `DATA` or `BDAT`, the body pulled from its
//! source and dot-stuffed into `tx`, the replies of each, and `RSET` after a
//! failed one.

use super::config::{MailParams, Report};
use super::{Engine, State, part, part_mut, refusal, tail_mut};
use crate::address::Address;
use crate::command::Command;
use crate::error::{
    Buffer, Contract, Error, Field, InputError, InputErrorKind, Invariant, Misuse, Response,
    Unsupported, broken,
};
use crate::message::{BodySource, DotStuffer};
use crate::reply::{Extensions, ReplyCode};
use crate::stage::Stage;

/// Room kept at the end of `tx` for the end-of-data line (`\r\n.\r\n`) and a
/// pipelined `QUIT\r\n`.
const TERMINATOR_ROOM: usize = 5 + 6;
/// Room kept before a `BDAT` chunk for its command line (`BDAT <u64> LAST\r\n`).
const BDAT_HEADER_ROOM: usize = 32;
/// Most `BDAT` chunks sent before their replies are read (bounds what the server
/// must buffer, RFC 2920 §3.1 on deadlock).
const MAX_CHUNKS_IN_FLIGHT: u16 = 16;
/// Smallest raw chunk worth pulling from a message source.
pub(super) const MIN_STAGE: usize = 32;

/// Progress of one transaction.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Txn {
    pub(super) rcpts: u16,
    /// Replies read so far (MAIL, each RCPT, then DATA or each BDAT).
    pub(super) replies: u16,
    pub(super) accepted: u16,
    pub(super) mail_ok: bool,
    pub(super) pipelined: bool,
    /// The body goes in `BDAT` chunks.
    pub(super) bdat: bool,
    /// `BDAT` commands sent.
    pub(super) chunks: u16,
    /// The `LAST` chunk (or the end-of-data line) is queued.
    pub(super) last: bool,
    /// End the session after this transaction.
    pub(super) quit: bool,
    /// `QUIT` went out in the same write as the end of the message.
    pub(super) quit_sent: bool,
}

impl Txn {
    /// Replies owed for what was sent.
    pub(super) fn expected(&self) -> u16 {
        1 + self.rcpts + if self.bdat() { self.chunks } else { 1 }
    }

    /// The body goes in `BDAT` chunks: never without feature `chunking`, so that
    /// the compiler leaves the `BDAT` paths out of such a build.
    pub(super) fn bdat(&self) -> bool {
        cfg!(feature = "chunking") && self.bdat
    }
}

impl<'a, const N: usize> Engine<'a, N> {
    /// Pulls the next chunk of the message from `body` after an [`Action::Body`](super::Action::Body);
    /// the chunk comes back, dot-stuffed, as the next [`Action::Send`](super::Action::Send). When `body`
    /// is exhausted the end-of-data line follows.
    ///
    /// If `body` fails, the message is not terminated (so the server cannot deliver
    /// a truncated message) and the connection is unusable: the next action is
    /// [`Action::Failed`](super::Action::Failed) with [`Error::Source`].
    pub fn handle_body<B: BodySource + ?Sized>(&mut self, mut body: &mut B) {
        self.pull_body(&mut body);
    }

    /// [`handle_body`](Self::handle_body) for any source: one copy of the code
    /// whatever the source's type (the sources' `fill` is called through the vtable).
    #[inline(never)]
    fn pull_body(&mut self, body: &mut dyn BodySource) {
        // The queue is empty, or (pipelined BDAT) holds the unsent envelope.
        let envelope_waits = self.txn.bdat() && self.txn.chunks == 0 && self.tx_flush == 0;
        if self.state != State::Body
            || self.tx_sent != self.tx_flush
            || (self.tx_len != 0 && !envelope_waits)
        {
            self.fail(Contract::UnaskedBody);
            return;
        }
        let bdat = self.txn.bdat();
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
        if bdat && out == start && !done {
            // No room for data beside the envelope: send the envelope first.
            self.tx_flush = self.tx_len;
            return;
        }
        if !bdat {
            trace!("C: ({} octets of the message)", out - start);
        }
        if done {
            // The end of the message: its last line ended, and for DATA the
            // end-of-data line.
            let tail = tail_mut(self.tx, out);
            let end = if bdat {
                self.stuffer.finish_lines(tail)
            } else {
                self.stuffer.finish(tail)
            };
            let Some(n) = self.room(end) else { return };
            out += n;
        }
        if bdat {
            let Some(end) = self.frame_chunk(start, out, done) else {
                return;
            };
            out = end;
        } else if done {
            trace!("C: .");
        }
        // Before, `last` was false: the engine asks for no body after the end.
        self.txn.last = done;
        if done && self.txn.quit && self.txn.pipelined {
            // RFC 2920 §3.1: QUIT may close the group that ends the message.
            let quit = Command::Quit.emit(tail_mut(self.tx, out)).ok();
            let Some(n) = self.room(quit) else { return };
            self.log_sent(out, out + n);
            out += n;
            self.txn.quit_sent = true;
        }
        self.set_tx(out);
        if bdat {
            let in_flight = self.txn.expected() - self.txn.replies;
            if done || !self.txn.pipelined || in_flight >= MAX_CHUNKS_IN_FLIGHT {
                self.state = State::Txn;
            }
        } else if done {
            self.state = State::EndOfData;
        }
    }

    /// Puts the `BDAT` line in front of the chunk staged at `start..out` (right
    /// after the queued commands, at `tx_len`); returns the chunk's new end, `None`
    /// (the engine failed) when the line does not fit the room kept for it.
    #[cfg(feature = "chunking")]
    fn frame_chunk(&mut self, start: usize, out: usize, done: bool) -> Option<usize> {
        let header = Command::Bdat {
            size: (out - start) as u64,
            last: done,
        };
        let at = self.tx_len;
        let h = header.emit(part_mut(self.tx, at, start)).ok();
        let h = self.room(h)?;
        super::move_left(self.tx, start, at + h, out - start);
        self.log_sent(at, at + h);
        trace!("C: ({} octets of the message)", out - start);
        self.txn.chunks += 1;
        Some(at + h + (out - start))
    }

    /// Without `BDAT` (feature `chunking`) no chunk is ever framed.
    #[cfg(not(feature = "chunking"))]
    fn frame_chunk(&mut self, _start: usize, _out: usize, _done: bool) -> Option<usize> {
        self.fail(crate::error::broken(crate::error::Invariant::State));
        None
    }

    /// Starts a transaction: `MAIL FROM`, one `RCPT TO` per recipient, `DATA`, then
    /// the body through [`Action::Body`](super::Action::Body). Allowed once the session is
    /// [`Outcome::Ready`](super::Outcome::Ready) (or after [`Outcome::Sent`](super::Outcome::Sent)). `from` `None` is the null
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
            return Err(Misuse::NotIdle.into());
        }
        let rcpts = recipients.into_iter();
        // One walk for the count and for non-ASCII addresses.
        let mut utf8 = params.smtputf8 || from.is_some_and(|a| !a.is_ascii());
        let mut count = 0;
        for a in rcpts.clone() {
            count += 1;
            utf8 |= !a.is_ascii();
        }
        if count == 0 {
            return Err(InputError::new(Field::Recipients, InputErrorKind::NoRecipients).into());
        }
        if count > N {
            let kind = InputErrorKind::TooManyRecipients { max: N };
            return Err(InputError::new(Field::Recipients, kind).into());
        }
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
        let bdat = cfg!(feature = "chunking")
            && self.config.chunking
            && self.caps.has(Extensions::CHUNKING);
        let data = if bdat { None } else { Some(Command::Data) };
        // Each command goes into `tx` after the last while the group fits, and
        // counts in `required` either way: `tx` is idle, so what a group too large
        // for it left there is never sent.
        let mut required = append(self.tx, 0, mail);
        for a in rcpts {
            required += append(self.tx, required, Command::Rcpt(a));
        }
        if let Some(data) = data {
            required += append(self.tx, required, data);
        }
        if required > self.tx.len() {
            return Err(Error::Capacity {
                buffer: Buffer::Tx,
                required,
            });
        }
        let at = required;
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
        self.secret = (0, 0);
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
        // What goes out now (without PIPELINING, each next line once its
        // predecessor is answered); a pipelined envelope waiting for BDAT goes
        // out ahead of the chunk, so it is logged first.
        self.log_sent(0, if pipelined { at } else { self.tx_flush });
        self.waits = self.waits.wrapping_add(1);
        Ok(())
    }

    /// Ends the session after the transaction just begun: `QUIT` follows the end of
    /// the message (in the same write when the server offers PIPELINING), or follows
    /// a failure instead of `RSET`. The step then ends with [`Outcome::Closed`](super::Outcome::Closed) once
    /// the message was accepted, or [`Action::Failed`](super::Action::Failed) with the transaction's error.
    ///
    /// # Errors
    /// [`Misuse::NoTransaction`] when no transaction was begun or its end is queued.
    pub fn quit_after_transaction(&mut self) -> Result<(), Error> {
        if let Some(e) = self.unusable() {
            return Err(e);
        }
        if !matches!(self.state, State::Txn | State::Body) || self.txn.last {
            return Err(Misuse::NoTransaction.into());
        }
        self.txn.quit = true;
        Ok(())
    }

    pub(super) fn on_txn_reply(&mut self, r: Response) {
        let stage = self.stage();
        self.txn.replies += 1;
        let ok = r.code.is_positive();
        match stage {
            Stage::Mail => {
                self.txn.mail_ok = ok;
                if !ok {
                    self.keep_refusal(stage, r);
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
                    if self.txn.bdat() {
                        self.state = State::Body;
                        return;
                    }
                }
            }
            _ if !self.txn.bdat() => return self.on_data_reply(r),
            _ => {
                // The reply to a BDAT chunk; the LAST one is the server's acceptance.
                if !ok && self.error.is_none() {
                    self.error = Some(if self.txn.accepted == 0 {
                        self.no_recipients()
                    } else {
                        refusal(stage, r)
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
            let from = self.tx_flush;
            self.tx_flush = self.next_line_end();
            self.log_sent(from, self.tx_flush);
        }
    }

    /// The reply to `DATA`.
    fn on_data_reply(&mut self, r: Response) {
        let go = self.txn.mail_ok && self.txn.accepted > 0;
        if r.code == ReplyCode::START_MAIL_INPUT && go {
            self.set_tx(0);
            self.state = State::Body;
            return;
        }
        if self.error.is_none() {
            self.error = Some(if self.txn.accepted == 0 {
                self.no_recipients()
            } else {
                refusal(Stage::Data, r)
            });
        }
        if r.code == ReplyCode::START_MAIL_INPUT {
            // RFC 2920 §3.1: DATA accepted with no valid recipient; send an empty
            // message, which the server must refuse.
            let end = DotStuffer::new().finish(self.tx);
            let Some(n) = self.room(end) else { return };
            self.set_tx(n);
            trace!("C: .");
            self.state = State::DrainEmpty;
            return;
        }
        self.abort_txn();
    }

    /// The message was accepted: idle, or on to QUIT.
    pub(super) fn finish_txn(&mut self) {
        if self.txn.quit {
            self.go_quit();
        } else {
            self.state = State::Sent;
        }
    }

    /// The transaction ended with an error and needs no reset.
    pub(super) fn end_failed_txn(&mut self) {
        if self.txn.quit {
            self.go_quit();
        } else {
            self.state = State::Ready;
            self.report_error = self.error.is_some();
        }
    }

    /// Sends QUIT unless it already went out with the end of the message.
    pub(super) fn go_quit(&mut self) {
        if !self.txn.quit_sent {
            self.set_tx(0);
            self.queue(Command::Quit, false);
        }
        if self.state != State::Broken {
            self.state = State::Quit;
        }
    }

    /// The error when no recipient was accepted (only asked then: every reply in
    /// the report is a refusal).
    fn no_recipients(&self) -> Error {
        let refused = &self.report.recipients;
        match refused.first() {
            Some(first) => Error::NoRecipients {
                refused: refused.len() as u16,
                first: *first,
            },
            None => Error::Invariant(broken(Invariant::State)),
        }
    }

    /// Drops the rest of the transaction's commands and resets it (or quits).
    pub(super) fn abort_txn(&mut self) {
        if self.txn.quit {
            return self.go_quit();
        }
        self.set_tx(0);
        self.queue(Command::Rset, false);
        self.state = State::Rset;
    }
}

/// Writes `cmd` into `tx[at..]` if it fits there; returns its length either way.
fn append(tx: &mut [u8], at: usize, cmd: Command<'_>) -> usize {
    match cmd.emit(tail_mut(tx, at)) {
        Ok(n) => n,
        Err(c) => c.required,
    }
}
