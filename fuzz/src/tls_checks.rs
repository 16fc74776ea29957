//! The `tls_records` fuzz target: the recorded implicit-TLS session
//! (`tls_script.rs`) played back to the crate's public clients with records
//! injected, split and corrupted, reads cut anywhere, and socket calls failing or
//! (async) cancelled, and what must hold whatever the input.
//!
//! # Input (also in `fuzz/corpus/README.md`)
//!
//! Byte 0: bit 0 picks the client (0 blocking, 1 async); bits 1–2 the error kind of
//! injected socket errors (connection reset, other, timed out, broken pipe). Byte
//! 1 seeds the read sizes (0: whole). Then up to 32 operations, each an opcode byte
//! (its low 3 bits) and its arguments; a missing byte reads as 0, and `pos` is taken
//! modulo the number of recorded records + 1 (the position before that recorded
//! record; the last: after all of them):
//!
//! | op | arguments | effect |
//! |---|---|---|
//! | 0 | pos, type, version (2), length (2), n, n bytes | plaintext record with that header and body |
//! | 1 | pos, inner type, padding, n, n bytes | encrypted record; inner type 0: no type byte and no content |
//! | 2 | pos, message type, n, n bytes | encrypted handshake message |
//! | 3 | pos, lifetime, n, n bytes | encrypted, well-formed NewSessionTicket (ticket = the bytes) |
//! | 4 | record, size | recorded record re-sent as records of `size` (0: 1) content bytes |
//! | 5 | record, offset (2), mask | byte `offset` (modulo the record's length) XOR `mask` (0: 1) |
//! | 6 | call (2), kind | read call `call` fails (kind bit 0 clear) or stalls (set; blocking: fails) |
//! | 7 | call (2), kind | the same for write calls |
//!
//! Encrypted records use the key in force where they are inserted: the server's
//! handshake key up to its Finished (a man in the middle who ran the key exchange
//! himself), its application key after it (the authenticated server).
//!
//! # Not generated: the documented residual
//!
//! embedded-tls 0.19 panics (`unimplemented!`) on an *encrypted* handshake
//! message after the handshake of a type it parses (ServerHello, EncryptedExtensions,
//! Certificate, CertificateRequest, CertificateVerify, Finished; NewSessionTicket is
//! ignored). Only the authenticated server can send one, and no guard without its
//! keys can see it. So after the handshake: such a message is sent as a KeyUpdate
//! (24) instead (ops 1 and 2; a NewSessionTicket comes from op 3, well-formed, since
//! one whose inner lengths run short would leave a parsed type behind it);
//! encrypted application data carries no content (op 1: SMTP replies are the
//! recording's own); and encrypted handshake records are not split (op 4).
//!
//! # Properties
//!
//! 1. No panic, and no wait other than the script's stalls.
//! 2. Benign inputs (only chunked reads, application data split across records,
//!    empty application data and well-formed NewSessionTickets after the handshake,
//!    faults never reached) send the message and quit cleanly.
//! 3. The message is reported sent only if the client read the whole record with
//!    the final `250`, and never when something that must stop the session came
//!    before it: a plaintext record other than one ChangeCipherSpec during the
//!    handshake, an encrypted record during the handshake other than an empty
//!    handshake one, an alert, a KeyUpdate, an unknown or missing inner type after
//!    the handshake, a flipped byte the client must authenticate, a socket error or
//!    a cancelled wait.
//! 4. Every failure is TLS- or transport-level (`Error::Tls`,
//!    `Error::Io(StreamError::Tls)`, `Error::Closed`, `Error::TimedOut`): the SMTP
//!    bytes are the recording's, so never a reply or protocol error.
//! 5. After a failure the stream stays failed: no later read returns data; after
//!    `Error::Io(e)` every later read, write, flush and close fails with
//!    `e`; after a time-out every later call fails with one and the same error.
//!    When the implicit handshake fails, the client keeps no stream; the same
//!    handshake is then run again on a bare `TlsStream`, which must fail the same
//!    way and then fail every call with that failure.

use embedded_io::ErrorKind;
use embedded_smtp::Error;
use embedded_smtp::engine::Stage;
use embedded_smtp::tls::StreamError;

use crate::tls_script::{
    APPLICATION_DATA, CHANGE_CIPHER_SPEC, Driver, Epoch, Fault, HANDSHAKE, KEY_UPDATE, Later,
    PARSED_HANDSHAKE_TYPES, Plan, Record, Run, Session, SessionError, handshake_message,
    new_session_ticket,
};

/// How an operation bears on the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// A correct client completes the session anyway.
    Benign,
    /// No claim (a correct client may go either way).
    Tolerated,
    /// The session must not report the message sent if this comes before the `250`.
    Fatal,
}

/// A decoded input: the plan and what its operations must do.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// How to play the session back.
    pub plan: Plan,
    /// Whether some operation must stop the session before the `250`.
    pub fatal: bool,
    /// Whether every operation is benign (faults are judged when they fire).
    pub benign: bool,
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn take(&mut self) -> Vec<u8> {
        let n = usize::from(self.u8()).min(self.0.len());
        let (bytes, rest) = self.0.split_at(n);
        self.0 = rest;
        bytes.to_vec()
    }
}

const KINDS: [ErrorKind; 4] = [
    ErrorKind::ConnectionReset,
    ErrorKind::Other,
    ErrorKind::TimedOut,
    ErrorKind::BrokenPipe,
];

/// Reads a fuzz input (format in the module docs).
pub fn decode(data: &[u8], session: &Session) -> Decoded {
    let mut r = Bytes(data);
    let flags = r.u8();
    let driver = if flags & 1 == 0 {
        Driver::Blocking
    } else {
        Driver::Async
    };
    let mut plan = Plan::clean(driver);
    plan.fault_kind = KINDS[usize::from(flags >> 1 & 3)];
    plan.read_seed = r.u8();
    let count = session.records.len();
    let queued = session.queued;
    let mut effects = vec![];
    for _ in 0..32 {
        if r.0.is_empty() {
            break;
        }
        let op = r.u8() & 7;
        let arg = r.u8();
        let pos = usize::from(arg) % (count + 1);
        let post = session.epoch_at(pos) == Epoch::Application;
        let before_queued = pos <= queued;
        let (effect, record) = match op {
            0 => {
                let content_type = r.u8();
                let version = r.u16();
                let claimed_len = r.u16();
                let body = r.take();
                let ccs = content_type == CHANGE_CIPHER_SPEC && claimed_len == 1 && body == [1];
                let effect = if ccs && !post {
                    Effect::Tolerated
                } else {
                    Effect::Fatal
                };
                let record = Record::Plain {
                    content_type,
                    version,
                    claimed_len,
                    body,
                };
                (effect, Some(record))
            }
            1 => {
                let inner = r.u8();
                let pad = usize::from(r.u8());
                let mut content = r.take();
                let inner_type = (inner != 0).then_some(inner);
                if inner_type.is_none() || (post && inner == APPLICATION_DATA) {
                    content.clear();
                }
                if post
                    && inner == HANDSHAKE
                    && let Some(first) = content.first_mut()
                    && PARSED_HANDSHAKE_TYPES.contains(first)
                {
                    *first = KEY_UPDATE;
                }
                let effect = match (post, inner_type) {
                    (_, Some(HANDSHAKE)) if content.is_empty() => Effect::Tolerated,
                    (true, Some(APPLICATION_DATA)) => Effect::Benign,
                    _ => Effect::Fatal,
                };
                let record = Record::Sealed {
                    inner_type,
                    content,
                    pad,
                };
                (effect, Some(record))
            }
            2 => {
                let mut msg_type = r.u8();
                let body = r.take();
                if post && PARSED_HANDSHAKE_TYPES.contains(&msg_type) {
                    msg_type = KEY_UPDATE;
                }
                let record = Record::sealed(HANDSHAKE, &handshake_message(msg_type, &body));
                (Effect::Fatal, Some(record))
            }
            3 => {
                let lifetime = u32::from(r.u8()) * 3600;
                let ticket = r.take();
                let nst = new_session_ticket(lifetime, &[0], &ticket);
                let effect = if post { Effect::Benign } else { Effect::Fatal };
                (effect, Some(Record::sealed(HANDSHAKE, &nst)))
            }
            4 => {
                let n = usize::from(arg) % count;
                let size = usize::from(r.u8()).max(1);
                let rec = &session.records[n];
                if rec.epoch == Epoch::Application && rec.content_type == HANDSHAKE {
                    continue;
                }
                plan.splits.push((n, size));
                let effect = if rec.content_type == APPLICATION_DATA {
                    Effect::Benign
                } else {
                    Effect::Tolerated
                };
                effects.push(effect);
                continue;
            }
            5 => {
                let n = usize::from(arg) % count;
                let offset = usize::from(r.u16());
                let mask = r.u8().max(1);
                plan.flips.push((n, offset, mask));
                continue;
            }
            _ => {
                let call = usize::from(arg) << 8 | usize::from(r.u8());
                let fault = if r.u8() & 1 == 0 {
                    Fault::Error
                } else {
                    Fault::Stall
                };
                if op == 6 {
                    plan.read_faults.push((call, fault));
                } else {
                    plan.write_faults.push((call, fault));
                }
                // Judged when it fires (`SocketReport`).
                continue;
            }
        };
        if let Some(record) = record {
            plan.injections.push((pos, record));
        }
        effects.push(if effect == Effect::Fatal && !before_queued {
            Effect::Tolerated
        } else {
            effect
        });
    }
    // Flips are judged once all splits are known, by the change they make in the
    // end (two flips of the same bits undo each other).
    let spans = if plan.flips.is_empty() {
        vec![]
    } else {
        plan.wire(session).spans
    };
    let mut net: Vec<(usize, usize, u8)> = vec![];
    for &(n, offset, mask) in &plan.flips {
        let (start, end) = spans[n];
        let at = offset % (end - start);
        match net.iter_mut().find(|(m, a, _)| (*m, *a) == (n, at)) {
            Some(entry) => entry.2 ^= mask,
            None => net.push((n, at, mask)),
        }
    }
    for (n, at, mask) in net {
        let rec = &session.records[n];
        let authenticated = match rec.epoch {
            // The ServerHello's type byte and message (not its version and length).
            Epoch::Plain => n == 0 && (at == 0 || at >= 5),
            _ => true,
        };
        let split = plan.splits.iter().any(|(s, _)| *s == n);
        let sure = authenticated && !(split && rec.epoch == Epoch::Plain);
        effects.push(if mask != 0 && sure && n <= queued {
            Effect::Fatal
        } else {
            Effect::Tolerated
        });
    }
    Decoded {
        fatal: effects.contains(&Effect::Fatal),
        benign: effects.iter().all(|e| *e == Effect::Benign),
        plan,
    }
}

/// Whether `e` is a TLS- or transport-level failure.
fn transport_level(e: &SessionError) -> bool {
    matches!(
        e,
        Error::Tls(_)
            | Error::Io(StreamError::Tls(_))
            | Error::Closed { .. }
            | Error::TimedOut { .. }
    )
}

/// Checks the properties of the module docs on one played-back session.
pub fn check_run(decoded: &Decoded, run: &Run) {
    let fatal = decoded.fatal || run.socket.fault_before_queued;
    let benign = decoded.benign && run.socket.faults == 0;
    if benign {
        assert_eq!(run.sent, Ok(1), "a benign input stopped the session");
        assert_eq!(run.quit, Some(Ok(())), "a benign input stopped QUIT");
    }
    if run.sent.is_ok() {
        assert!(
            run.socket.got_queued,
            "reported sent without the whole 250 record"
        );
        assert!(
            !fatal,
            "reported sent although something that must stop the session came first"
        );
    }
    for e in [
        run.sent.as_ref().err(),
        run.quit.as_ref().and_then(|q| q.as_ref().err()),
    ]
    .into_iter()
    .flatten()
    {
        assert!(transport_level(e), "not a TLS or transport failure: {e:?}");
    }
    for later in &run.later {
        assert!(
            !matches!(later, Later::Read(Ok(n)) if *n > 0),
            "data read after the session failed: {later:?}"
        );
    }
    // Every failure leaves the stream to call, the implicit handshake's too (it
    // runs in `connect`, as the session's first step); after a failed handshake
    // the stream fails every call.
    let handshake = matches!(
        run.failure(),
        Some(
            Error::Tls(_)
                | Error::TimedOut {
                    stage: Stage::TlsHandshake
                }
        )
    );
    if run.failure().is_some() {
        assert!(!run.later.is_empty(), "{:?}", run.failure());
    }
    if handshake {
        for later in &run.later {
            assert!(
                later.error().is_some(),
                "after a failed handshake the stream went on: {later:?}"
            );
        }
    }
    match run.failure() {
        Some(Error::Io(e)) => {
            for later in &run.later {
                assert_eq!(
                    later.error().as_ref(),
                    Some(e),
                    "after {e:?} the stream did not stay failed: {later:?}"
                );
            }
        }
        Some(Error::TimedOut { .. }) if !handshake => {
            let first = run.later.first().and_then(Later::error);
            assert!(first.is_some(), "after a time-out: {:?}", run.later);
            for later in &run.later {
                assert_eq!(
                    later.error(),
                    first,
                    "after a time-out the stream did not stay failed the same way"
                );
            }
        }
        _ => {}
    }
}

/// The `tls_records` target: decode, play back, check.
pub fn tls_records(data: &[u8]) {
    let session = Session::get();
    let decoded = decode(data, session);
    let run = decoded.plan.run(session);
    check_run(&decoded, &run);
    if let Some(
        failure @ (Error::Tls(_)
        | Error::TimedOut {
            stage: Stage::TlsHandshake,
        }),
    ) = run.failure()
    {
        check_handshake(failure, &decoded.plan.handshake(session));
    }
}

/// The handshake that failed with `failure` in the client, run again on a bare
/// stream: the same failure, then every call fails with it (a time-out: with one
/// and the same error).
pub fn check_handshake(
    failure: &SessionError,
    (result, later): &(Result<(), SessionError>, Vec<Later>),
) {
    assert_eq!(
        result.as_ref().err(),
        Some(failure),
        "the bare stream's handshake"
    );
    let expected = match failure {
        Error::Tls(f) => Some(StreamError::Tls(*f)),
        _ => later.first().and_then(Later::error),
    };
    assert!(expected.is_some(), "after {failure:?}: {later:?}");
    for call in later {
        assert_eq!(
            call.error(),
            expected,
            "after {failure:?} the stream did not stay failed: {call:?}"
        );
    }
}
