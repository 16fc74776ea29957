//! Engine-level tests: the exact `Action` sequence and bytes for a session, driven
//! by hand without any stream.

use std::vec;
use std::vec::Vec;

use super::*;
use crate::address::{Address, Domain};
use crate::auth::Credentials;
use crate::error::ProtocolError;
use crate::message::RawMessage;
use crate::reply::{Extensions, ReplyCode};
use txn::MIN_STAGE;

/// What a step of the engine looked like, owned for comparison.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Send(Vec<u8>),
    Recv,
    Handshake,
    StartTls,
    Body,
    Done(Outcome),
    Failed(Error),
}

fn step<const N: usize>(e: &mut Engine<'_, N>) -> Seen {
    match e.poll_action() {
        Action::Send(b) => Seen::Send(b.bytes().to_vec()),
        Action::Recv(_) => Seen::Recv,
        Action::Handshake => Seen::Handshake,
        Action::StartTls => Seen::StartTls,
        Action::Body => Seen::Body,
        Action::Done(o) => Seen::Done(o),
        Action::Failed(err) => Seen::Failed(err),
    }
}

/// Delivers server bytes through the Recv buffer.
fn recv<const N: usize>(e: &mut Engine<'_, N>, bytes: &[u8]) {
    match e.poll_action() {
        Action::Recv(buf) => {
            buf[..bytes.len()].copy_from_slice(bytes);
            e.handle_received(bytes.len());
        }
        other => panic!("expected Recv, got {other:?}"),
    }
}

/// Takes a Send, checks its bytes, reports it fully written.
fn sent<const N: usize>(e: &mut Engine<'_, N>, expected: &[u8]) {
    let seen = step(e);
    assert_eq!(seen, Seen::Send(expected.to_vec()));
    e.handle_sent(expected.len());
}

fn cfg() -> Config<'static> {
    Config::new(Domain::try_new("client.example").unwrap())
}

#[test]
fn action_sequence_of_a_pipelined_session() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 2> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_GREETING));
    assert_eq!(step(&mut e), Seen::Recv);
    recv(&mut e, b"220 mx ready\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    assert_eq!(e.stage(), Stage::Ehlo);
    // The EHLO reply in two pieces, split inside a line.
    recv(&mut e, b"250-mx\r\n250-PIPEL");
    assert_eq!(step(&mut e), Seen::Recv);
    recv(&mut e, b"INING\r\n250 SIZE 100\r\n");
    assert_eq!(step(&mut e), Seen::Done(Outcome::Ready));
    assert_eq!(e.timeout(), None);
    assert!(e.capabilities().has(Extensions::PIPELINING));
    assert_eq!(e.capabilities().size_limit, Some(100));

    let a = Address::try_new("a@example.com").unwrap();
    e.begin_transaction(
        Some(a),
        [a, a],
        MailParams {
            size: Some(10),
            ..MailParams::default()
        },
    )
    .unwrap();
    // One write for the whole group (RFC 2920).
    sent(&mut e, b"MAIL FROM:<a@example.com> SIZE=10\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n");
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_MAIL));
    recv(&mut e, b"250 ok\r\n250 ok\r\n");
    assert_eq!(e.stage(), Stage::Rcpt);
    recv(&mut e, b"550 no\r\n354 go\r\n");
    assert_eq!(step(&mut e), Seen::Body);
    let mut body = RawMessage::new(b".x\ny");
    e.handle_body(&mut body);
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_DATA_BLOCK));
    // Body and end-of-data line in one write.
    sent(&mut e, b"..x\r\ny\r\n.\r\n");
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_DATA_TERMINATION));
    recv(&mut e, b"250 2.0.0 queued\r\n");
    assert_eq!(step(&mut e), Seen::Done(Outcome::Sent));
    assert_eq!(e.report().accepted(), 1);
    assert_eq!(
        e.report().refused().map(|(i, _)| i).collect::<Vec<_>>(),
        [1]
    );
    e.quit().unwrap();
    sent(&mut e, b"QUIT\r\n");
    e.handle_eof();
    assert_eq!(step(&mut e), Seen::Done(Outcome::Closed));
}

#[test]
fn short_writes_resume() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    assert_eq!(
        step(&mut e),
        Seen::Send(b"EHLO client.example\r\n".to_vec())
    );
    e.handle_sent(5);
    assert_eq!(step(&mut e), Seen::Send(b"client.example\r\n".to_vec()));
    e.handle_sent(16);
    assert_eq!(step(&mut e), Seen::Recv);
}

#[test]
fn starttls_action_then_fresh_ehlo() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 1> =
        Engine::new(cfg().with_security(Security::StartTls), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250-mx\r\n250-STARTTLS\r\n250 PIPELINING\r\n");
    sent(&mut e, b"STARTTLS\r\n");
    recv(&mut e, b"220 go\r\n");
    assert_eq!(step(&mut e), Seen::StartTls);
    assert!(!e.is_encrypted());
    e.handle_tls_ready();
    assert!(e.is_encrypted());
    assert!(
        !e.capabilities().has(Extensions::PIPELINING),
        "capabilities from before TLS are forgotten"
    );
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250 mx\r\n");
    assert_eq!(step(&mut e), Seen::Done(Outcome::Ready));
}

#[test]
fn starttls_injection_in_the_same_read() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 1> =
        Engine::new(cfg().with_security(Security::StartTls), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250-mx\r\n250 STARTTLS\r\n");
    sent(&mut e, b"STARTTLS\r\n");
    recv(&mut e, b"220 go\r\n250 AUTH PLAIN\r\n");
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Protocol(ProtocolError::StartTlsInjection))
    );
    assert!(!e.is_usable());
}

#[test]
fn secrets_are_zeroed_after_sending() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    {
        let c = cfg()
            .with_credentials(Credentials::try_new("u", "hunter2").unwrap())
            .allow_plaintext_auth();
        let mut e: Engine<'_, 1> = Engine::new(c, &mut rx, &mut tx).unwrap();
        recv(&mut e, b"220 hi\r\n");
        sent(&mut e, b"EHLO client.example\r\n");
        recv(&mut e, b"250-mx\r\n250 AUTH PLAIN\r\n");
        assert!(e.is_sending_secret());
        // base64("\0u\0hunter2")
        sent(&mut e, b"AUTH PLAIN AHUAaHVudGVyMg==\r\n");
        assert!(!e.is_sending_secret());
        // Zeroed as soon as it was written, while the engine still holds `tx`.
        let needle = b"AHUAaHVudGVy";
        assert!(
            !e.tx.windows(needle.len()).any(|w| w == needle),
            "the AUTH line is still in tx after it was sent"
        );
        recv(&mut e, b"235 ok\r\n");
        assert_eq!(step(&mut e), Seen::Done(Outcome::Ready));
    }
    let needle = b"AHUAaHVudGVy";
    assert!(
        !tx.windows(needle.len()).any(|w| w == needle),
        "the AUTH line is still in tx"
    );
}

#[test]
fn calls_in_the_wrong_state_are_misuse() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    let a = Address::try_new("a@example.com").unwrap();
    assert_eq!(
        e.begin_transaction(Some(a), [a], MailParams::default()),
        Err(Error::Misuse(Misuse::NotIdle))
    );
    assert_eq!(e.quit(), Err(Error::Misuse(Misuse::NotIdle)));
    assert_eq!(
        e.quit_after_transaction(),
        Err(Error::Misuse(Misuse::NoTransaction))
    );
    // Misuse leaves the session as it was: still waiting for the greeting.
    assert!(e.is_usable());
    assert_eq!(step(&mut e), Seen::Recv);
    let err = Error::<core::convert::Infallible>::Misuse(Misuse::NotIdle);
    assert!(!err.is_transient());
    assert_eq!(
        std::format!("{err}"),
        "misuse: the session is not idle (connect first, and let each step end)"
    );
}

#[test]
fn a_driver_that_breaks_the_contract_is_told_so() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    // A TLS handshake nobody asked for.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    e.handle_tls_ready();
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Contract(Contract::UnaskedTls))
    );
    assert!(!e.is_usable());
    drop(e);
    // More bytes read than the buffer holds.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    e.handle_received(513);
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Contract(Contract::ReceivedTooMuch))
    );
    drop(e);
    // More bytes written than the Send held.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 mx\r\n");
    assert_eq!(
        step(&mut e),
        Seen::Send(b"EHLO client.example\r\n".to_vec())
    );
    e.handle_sent(22);
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Contract(Contract::SentTooMuch))
    );
    drop(e);
    // A body nobody asked for.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    e.handle_body(&mut RawMessage::new(b"x\r\n"));
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Contract(Contract::UnaskedBody))
    );
    let err = Error::<core::convert::Infallible>::Contract(Contract::UnaskedBody);
    assert!(!err.is_transient());
}

#[test]
fn a_code_that_is_neither_success_nor_refusal_is_a_protocol_error() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    // 250 where the greeting's 220 belongs: not a refusal.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"250 hello\r\n");
    let unexpected = |stage, code| {
        Seen::Failed(Error::Protocol(ProtocolError::UnexpectedReply {
            stage,
            code: ReplyCode::new(code).unwrap(),
        }))
    };
    assert_eq!(step(&mut e), unexpected(Stage::Greeting, 250));
    drop(e);
    // 354 to EHLO.
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 mx\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"354 go on\r\n");
    assert_eq!(step(&mut e), unexpected(Stage::Ehlo, 354));
    drop(e);
    // 334 to MAIL (not pipelined).
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 mx\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250 mx\r\n");
    assert_eq!(step(&mut e), Seen::Done(Outcome::Ready));
    let a = Address::try_new("a@example.com").unwrap();
    e.begin_transaction(Some(a), [a], MailParams::default())
        .unwrap();
    sent(&mut e, b"MAIL FROM:<a@example.com>\r\n");
    recv(&mut e, b"334 what\r\n");
    let err = match step(&mut e) {
        Seen::Failed(err) => err,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        err,
        Error::Protocol(ProtocolError::UnexpectedReply {
            stage: Stage::Mail,
            code: ReplyCode::new(334).unwrap(),
        })
    );
    assert_eq!(err.code(), ReplyCode::new(334));
    assert!(!err.is_transient());
    assert_eq!(
        std::format!("{err}"),
        "protocol error: unexpected reply 334 to MAIL FROM"
    );
    // A 5yz there is the server's refusal.
    let refused = refusal(
        Stage::Mail,
        Response::new(ReplyCode::new(550).unwrap(), b"no"),
    );
    assert!(matches!(
        refused,
        Error::Rejected {
            stage: Stage::Mail,
            ..
        }
    ));
}

#[test]
fn capacity_names_the_buffer() {
    let (mut rx, mut tx) = ([0u8; 511], [0u8; 512]);
    assert_eq!(
        Engine::<1>::new(cfg(), &mut rx, &mut tx).err(),
        Some(Error::Capacity {
            buffer: Buffer::Rx,
            required: 512
        })
    );
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 100]);
    let err = Engine::<1>::new(cfg(), &mut rx, &mut tx).err().unwrap();
    assert_eq!(
        err,
        Error::Capacity {
            buffer: Buffer::Tx,
            required: 512
        }
    );
    assert_eq!(
        std::format!("{err}"),
        "transmit (tx) buffer too small: 512 bytes needed"
    );
}

#[test]
fn eof_names_the_stage() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250-mx\r\n");
    e.handle_eof();
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Closed { stage: Stage::Ehlo })
    );
}

#[test]
fn timeout_override() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let e: Engine<'_, 1> =
        Engine::new(cfg().with_timeout(Duration::from_secs(7)), &mut rx, &mut tx).unwrap();
    assert_eq!(e.timeout(), Some(Duration::from_secs(7)));
}

#[test]
fn a_long_body_goes_out_in_full_writes() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 600]);
    let mut e: Engine<'_, 1> = Engine::new(cfg(), &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    recv(&mut e, b"250 mx\r\n");
    let a = Address::try_new("a@example.com").unwrap();
    e.begin_transaction(Some(a), [a], MailParams::default())
        .unwrap();
    sent(&mut e, b"MAIL FROM:<a@example.com>\r\n");
    recv(&mut e, b"250 ok\r\n");
    sent(&mut e, b"RCPT TO:<a@example.com>\r\n");
    recv(&mut e, b"250 ok\r\n");
    sent(&mut e, b"DATA\r\n");
    recv(&mut e, b"354 go\r\n");
    let text: Vec<u8> = (0..5000u32)
        .map(|i| {
            if i % 50 == 49 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let mut body = RawMessage::new(&text);
    let mut wire = Vec::new();
    let mut writes = Vec::new();
    while let Seen::Body = step(&mut e) {
        e.handle_body(&mut body);
        match step(&mut e) {
            Seen::Send(b) => {
                e.handle_sent(b.len());
                writes.push(b.len());
                wire.extend_from_slice(&b);
            }
            other => panic!("{other:?}"),
        }
    }
    // The text ends in LF: every LF becomes CRLF and the end-of-data line follows.
    let mut expected: Vec<u8> = text
        .iter()
        .flat_map(|&b| {
            if b == b'\n' {
                vec![b'\r', b'\n']
            } else {
                vec![b]
            }
        })
        .collect();
    expected.extend_from_slice(b".\r\n");
    assert!(
        wire == expected,
        "wire bytes differ ({} vs {} bytes)",
        wire.len(),
        expected.len()
    );
    // Every write but the last fills most of tx (not half of it, as a naive split would).
    for w in &writes[..writes.len() - 1] {
        assert!(
            *w > 600 * 2 / 3 - MIN_STAGE,
            "write of {w} bytes in {writes:?}"
        );
    }
    assert!(writes.len() <= 5200 / 380, "{} writes", writes.len());
}

#[test]
fn move_left_equals_copy_within() {
    for len in 0..40usize {
        for src in 0..len {
            for dst in 0..=src {
                let n = len - src;
                let mut a: std::vec::Vec<u8> = (0..len as u8).collect();
                let mut b = a.clone();
                super::move_left(&mut a, src, dst, n);
                b.copy_within(src..src + n, dst);
                assert_eq!(a, b, "len {len} src {src} dst {dst}");
            }
        }
    }
}

#[test]
fn implicit_tls_starts_with_the_handshake_and_its_limit() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let config = cfg().with_security(Security::Implicit);
    let mut e: Engine<'_, 1> = Engine::new(config, &mut rx, &mut tx).unwrap();
    let first = e.wait_id();
    assert_eq!(e.stage(), Stage::TlsHandshake);
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_TLS_HANDSHAKE));
    assert!(!e.is_encrypted());
    assert_eq!(step(&mut e), Seen::Handshake);
    e.handle_tls_ready();
    assert!(e.is_encrypted());
    // The greeting is a new wait with its own limit.
    assert_ne!(e.wait_id(), first);
    assert_eq!(e.stage(), Stage::Greeting);
    assert_eq!(e.timeout(), Some(limits::TIMEOUT_GREETING));
    assert_eq!(step(&mut e), Seen::Recv);
    recv(&mut e, b"220 mx\r\n");
    sent(&mut e, b"EHLO client.example\r\n");
    // A second handshake report is the driver's mistake.
    e.handle_tls_ready();
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Contract(Contract::UnaskedTls))
    );

    drop(e);
    // A failed handshake names its stage in every later call.
    let mut e: Engine<'_, 1> = Engine::new(config, &mut rx, &mut tx).unwrap();
    assert_eq!(step(&mut e), Seen::Handshake);
    e.handle_failure(Failure::TimedOut);
    assert_eq!(
        step(&mut e),
        Seen::Failed(Error::Unusable {
            stage: Stage::TlsHandshake,
            failure: Failure::TimedOut
        })
    );
}

/// The secret span of each `Send`: exactly the AUTH payload, also when the
/// driver writes it in pieces.
#[test]
fn sends_mark_their_secret_span() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let c = cfg()
        .with_credentials(
            Credentials::try_new("u", "hunter2")
                .unwrap()
                .with_mechanism(crate::auth::Mechanism::Plain),
        )
        .allow_plaintext_auth();
    let mut e: Engine<'_, 1> = Engine::new(c, &mut rx, &mut tx).unwrap();
    recv(&mut e, b"220 hi\r\n");
    match e.poll_action() {
        Action::Send(out) => {
            assert_eq!(out.secret(), None);
            assert_eq!(
                out.split(),
                (&b"EHLO client.example\r\n"[..], &b""[..], &b""[..])
            );
        }
        other => panic!("{other:?}"),
    }
    e.handle_sent(21);
    recv(&mut e, b"250-mx\r\n250 AUTH PLAIN\r\n");
    // Written in pieces of 7 bytes: each piece says which of its bytes are secret.
    let mut seen = Vec::new();
    let mut secret = Vec::new();
    while let Action::Send(out) = e.poll_action() {
        let n = out.bytes().len().min(7);
        let piece = &out.bytes()[..n];
        if let Some(r) = out.secret() {
            secret.extend_from_slice(&out.bytes()[r.start.min(n)..r.end.min(n)]);
        }
        seen.extend_from_slice(piece);
        e.handle_sent(n);
    }
    assert_eq!(seen, b"AUTH PLAIN AHUAaHVudGVyMg==\r\n");
    assert_eq!(secret, b"AHUAaHVudGVyMg==");
    // Debug never shows the bytes.
    let text = std::format!("{:?}", Outgoing::new(b"AUTH PLAIN AHUA\r\n", (11, 15)));
    assert_eq!(text, "Outgoing { len: 17, secret: Some(11..15) }");
}
