//! Replies: the buffered lines parsed one by one, each complete reply acted on
//! by the state that awaits it, and the error for a refusal.

#[cfg(any(feature = "log", feature = "defmt"))]
use super::log::printable;
use super::{Engine, Head, Security, State, move_left, part};
use crate::auth::Prompt;
use crate::command::Command;
use crate::error::{Error, ProtocolError, Response, Unsupported};
use crate::reply::{Capabilities, Extensions, Line, ReplyCode, Status, parse_line};
use crate::stage::Stage;

impl<const N: usize> Engine<'_, N> {
    /// Parses buffered reply lines while a reply is awaited and nothing is left to send.
    pub(super) fn process(&mut self) {
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
                keep_head(&mut self.head, self.state == State::Auth, &line);
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

    /// Ends the session with the refusal of the command the state awaits.
    pub(super) fn reject(&mut self, response: &Response) {
        self.keep_refusal(self.stage(), *response);
        self.fail_kept();
    }

    /// Keeps the refusal of the command `stage` names in `self.error`: a
    /// transaction's error, or the one [`reject`](Self::reject) ends the session
    /// with (out of line: the error is built here only).
    #[inline(never)]
    pub(super) fn keep_refusal(&mut self, stage: Stage, response: Response) {
        self.error = Some(refusal(stage, response));
    }

    /// Whether a `3yz` reply is what the current command awaits: `334` to AUTH,
    /// `354` to DATA. Anywhere else it is a protocol error.
    pub(super) fn intermediate_expected(&self, code: ReplyCode) -> bool {
        match self.state {
            State::Auth => code == ReplyCode::AUTH_CONTINUE,
            State::Txn => {
                code == ReplyCode::START_MAIL_INPUT
                    && !self.txn.bdat()
                    && self.txn.replies == 1 + self.txn.rcpts
            }
            State::Quit | State::DrainEmpty => true,
            _ => false,
        }
    }

    /// Acts on one complete reply.
    ///
    /// Out of line: `head` is then the callee's own copy, which the compiler knows
    /// apart from the engine, so keeping its response (in the report, say) is a
    /// `memcpy`; inlined, the copy out of `self.head` is forwarded and may overlap
    /// its destination, which links a `memmove` (about 1.3 KB on a Cortex-M0).
    #[inline(never)]
    pub(super) fn on_reply(&mut self, head: Head, residue: bool) {
        let r = head.response;
        let code = r.code;
        // 421: the server is closing the channel (RFC 5321 §3.8).
        let closing = code == ReplyCode::SERVICE_NOT_AVAILABLE && self.state != State::Quit;
        if code.is_intermediate() && !self.intermediate_expected(code) {
            let stage = self.stage();
            self.fail(ProtocolError::UnexpectedReply { stage, code });
            return;
        }
        match self.state {
            // The end of the session: while resetting a failed transaction, the
            // transaction's own error is the one to report.
            s if closing || (s == State::Rset && !code.is_positive()) => {
                if self.error.is_some() {
                    self.fail_kept();
                } else {
                    self.reject(&r);
                }
            }
            State::Greeting if code == ReplyCode::SERVICE_READY => {
                self.queue(Command::Ehlo(self.config.client_id), false);
                self.state = State::Ehlo;
            }
            // After HELO the capabilities are empty: they were cleared before it,
            // and HELO's reply lines are not read as capabilities.
            State::Ehlo | State::Helo if code.is_positive() => self.after_hello(),
            State::Ehlo if code.get() == 500 || code.get() == 502 => {
                // EHLO not understood: an RFC 821 server (RFC 5321 §3.2).
                self.caps = Capabilities::new();
                self.queue(Command::Helo(self.config.client_id), false);
                self.state = State::Helo;
            }
            State::StartTls if code == ReplyCode::SERVICE_READY => {
                if residue {
                    self.fail(ProtocolError::StartTlsInjection);
                } else {
                    self.state = State::Handshake;
                }
            }
            // The state names the stage: its command was refused.
            State::Greeting | State::Ehlo | State::Helo | State::StartTls => {
                self.reject(&r);
            }
            State::Auth => self.on_auth_reply(head),
            State::Txn => self.on_txn_reply(r),
            State::EndOfData if code.is_positive() => {
                self.report.reply = Some(r);
                self.finish_txn();
            }
            State::EndOfData | State::DrainEmpty => {
                // The transaction is over either way (RFC 5321 §4.1.1.4); after
                // the empty message, with the error already kept.
                if self.state == State::EndOfData {
                    self.keep_refusal(Stage::EndOfData, r);
                }
                self.end_failed_txn();
            }
            State::Rset => {
                // Reset: the transaction's error, if any, is reported now.
                self.state = State::Ready;
                self.report_error = self.error.is_some();
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
    pub(super) fn after_hello(&mut self) {
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

/// Keeps in `head` what the first line of a reply says, until its last line;
/// `auth` while AUTH awaits the reply.
///
/// Out of line, so that the copies of the text it makes are not in the frame of
/// [`Engine::process`] while the reply is acted on.
#[inline(never)]
fn keep_head(head: &mut Option<Head>, auth: bool, line: &Line<'_>) {
    let prompt = if auth && line.code == ReplyCode::AUTH_CONTINUE {
        crate::auth::login_prompt(line.text)
    } else {
        Ok(Prompt::Other)
    };
    *head = Some(Head {
        response: Response::new(line.code, line.text),
        prompt,
    });
}
