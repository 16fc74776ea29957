//! The blocking client against a real SMTP server (aiosmtpd, `tests/loopback/smtp_server.py`)
//! on 127.0.0.1, comparing what the server stored with what was sent.
//!
//! Each test is `#[ignore]`d, with the reason, so that a plain `cargo test` stays
//! hermetic and says how many it left out; `.ci/run` (which installs aiosmtpd)
//! runs them with `-- --include-ignored`. Each test starts its
//! own server on an ephemeral port; the server exits when the test drops its stdin.
//!
//! The file runs in two builds (`.ci/run`'s loopback gate): with every feature, and
//! with `std` alone, the default build's encoders: an ASCII subject, and the UTF-8
//! text as base64 instead of quoted-printable.
#![cfg(feature = "std")]

mod common;

use common::peer::{check_delivered, connect, start, stored};
use embedded_smtp::blocking::Client;
use embedded_smtp::message::{Attachment, BodySource, DateTime, Message, RawMessage};
use embedded_smtp::{Address, Config, Credentials, Domain, Error, HeaderText, Mailbox, Mechanism};

/// The bytes a body source produces, filled through an odd-sized buffer.
fn render(body: &mut dyn BodySource) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 333];
    loop {
        let n = body.fill(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn config() -> Config<'static> {
    Config::new(Domain::try_new("sensor-7.loopback.test").unwrap())
}

const CSV: &[u8] = b"time,celsius\n15:00,74.9\n15:01,78.2\n15:02,81.5\n";

/// The alert's subject: RFC 2047 words where the build has them.
#[cfg(feature = "encoded-words")]
const SUBJECT: &str = "Kühlraum 2: 81,5 °C — alarm";
/// The alert's subject: RFC 2047 words where the build has them.
#[cfg(not(feature = "encoded-words"))]
const SUBJECT: &str = "Cold room 2: 81.5 C - alarm";

/// The alert's text: UTF-8, so quoted-printable or (without that feature) base64.
const TEXT: &str = "Cold room 2 is at 81.5 °C.\n.\nA line with a lone dot above.\n";

/// The text part of a stored alert as the reader sees it: the canonical text with
/// CRLF line breaks, decoded from quoted-printable or base64.
fn text_part(stored: &str) -> String {
    use base64::Engine as _;
    let (head, rest) = stored
        .split_once("Content-Type: text/plain; charset=utf-8\r\n")
        .unwrap();
    assert!(head.contains("multipart/mixed"), "{stored}");
    let (cte, rest) = rest.split_once("\r\n\r\n").unwrap();
    let body = rest.split("\r\n--=_").next().unwrap();
    match cte {
        "Content-Transfer-Encoding: quoted-printable" => body
            .replace("=\r\n", "")
            .replace("=C2=B0", "°")
            .replace("=3D", "="),
        "Content-Transfer-Encoding: base64" => {
            let b64: String = body.split("\r\n").collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        }
        other => panic!("unexpected {other}"),
    }
}

fn alert<'a>(
    from: &'a [Mailbox<'a>; 1],
    to: &'a [Mailbox<'a>],
    atts: &'a mut [Attachment<'a, &'a [u8]>],
) -> Message<'a> {
    Message::new(from[0], HeaderText::try_new(SUBJECT).unwrap())
        .to(to)
        .date(DateTime {
            unix_seconds: 1_795_874_400,
            offset_minutes: 60,
        })
        .message_id([0x42; 16])
        .text(TEXT)
        .attachments(atts)
}

/// The peer in plain mode taking AUTH as alice (allowed without TLS), plus `extra`.
fn alice_peer(extra: &[&str]) -> common::peer::Server {
    let mut args = vec![
        "--mode",
        "plain",
        "--auth",
        "alice:s3cret",
        "--allow-plaintext-auth",
    ];
    args.extend(extra);
    start(&args)
}

/// The configuration that logs in as alice over plain text.
fn alice() -> Config<'static> {
    config()
        .with_credentials(Credentials::try_new("alice", "s3cret").unwrap())
        .allow_plaintext_auth()
}

/// The alert with its `readings.csv` attachment as the writer makes it.
fn rendered_alert(from: &[Mailbox<'_>; 1], to: &[Mailbox<'_>]) -> Vec<u8> {
    let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
    render(&mut alert(from, to, &mut atts).writer())
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn plain_auth_pipelined_with_attachment_and_a_refused_recipient() {
    let server = alice_peer(&["--require-auth", "--reject-rcpt", "nobody@example.org"]);
    let from = [Mailbox::parse("Sensor 7 <alice@example.org>").unwrap()];
    let to = [
        Mailbox::parse("Ops <ops@example.org>").unwrap(),
        Mailbox::parse("nobody@example.org").unwrap(),
    ];
    let expected = rendered_alert(&from, &to);

    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), alice(), &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
    let report = client.send(&mut alert(&from, &to, &mut atts)).unwrap();
    assert_eq!(report.accepted(), 1);
    let refused: Vec<_> = report.refused().map(|(i, r)| (i, r.code.get())).collect();
    assert_eq!(refused, vec![(1, 550)]);
    client.quit().unwrap();

    let text = check_delivered(&server, 1, &expected, CSV);
    // The text arrived whole, its lone dot line un-stuffed, as one line (the CRLF
    // before a boundary belongs to the boundary, RFC 2046 §5.1.1: compared without
    // the last line break).
    let want = TEXT.replace('\n', "\r\n");
    assert_eq!(
        text_part(&text).trim_end_matches("\r\n"),
        want.trim_end_matches("\r\n"),
        "{text}"
    );
    let cte = if cfg!(feature = "quoted-printable") {
        "quoted-printable"
    } else {
        "base64"
    };
    assert!(
        text.contains(&format!(
            "charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Subject: {}",
            if cfg!(feature = "encoded-words") {
                "=?UTF-8?B?"
            } else {
                SUBJECT
            }
        )),
        "{text}"
    );
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn plain_login_without_pipelining_two_messages_on_one_connection() {
    let server = start(&[
        "--mode",
        "plain",
        "--auth",
        "alice:s3cret",
        "--allow-plaintext-auth",
        "--no-pipelining",
    ]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let cfg = config()
        .with_credentials(
            Credentials::try_new("alice", "s3cret")
                .unwrap()
                .with_mechanism(Mechanism::Login),
        )
        .allow_plaintext_auth();
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), cfg, &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let raw = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: raw\r\n\r\n..starts with a dot\nbare LF line\r\n.\r\nend";
    for _ in 0..2 {
        let r = client
            .send_raw(
                Address::try_new("alice@example.org").unwrap(),
                [Address::try_new("bob@example.org").unwrap()],
                &mut RawMessage::new(raw),
            )
            .unwrap();
        assert_eq!(r.accepted(), 1);
    }
    client.quit().unwrap();
    for n in [1, 2] {
        let (eml, json) = stored(&server, n);
        // CRLF-normalised, dots intact after the server removed the stuffing.
        assert_eq!(eml, b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: raw\r\n\r\n..starts with a dot\r\nbare LF line\r\n.\r\nend\r\n".to_vec());
        assert!(json.contains(r#""auth_user": "alice""#), "{json}");
    }
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn wrong_password_is_a_clear_permanent_error() {
    let server = start(&[
        "--mode",
        "plain",
        "--auth",
        "alice:s3cret",
        "--allow-plaintext-auth",
    ]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let cfg = config()
        .with_credentials(Credentials::try_new("alice", "the-account-password").unwrap())
        .allow_plaintext_auth();
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), cfg, &mut rx, &mut tx).unwrap();
    let e = client.connect().unwrap_err();
    assert!(
        matches!(e, Error::Rejected { response, .. } if response.code.get() == 535),
        "{e:?}"
    );
    assert!(e.is_permanent());
    assert!(e.to_string().contains("authorization code"), "{e}");
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn plaintext_auth_is_refused_without_permission() {
    let server = start(&[
        "--mode",
        "plain",
        "--auth",
        "alice:s3cret",
        "--allow-plaintext-auth",
    ]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let cfg = config().with_credentials(Credentials::try_new("alice", "s3cret").unwrap());
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), cfg, &mut rx, &mut tx).unwrap();
    assert_eq!(
        client.connect().unwrap_err().to_string(),
        Error::<std::io::Error>::Unsupported(embedded_smtp::Unsupported::PlaintextAuth).to_string()
    );
}

/// A non-ASCII `Reply-To` address goes out raw in its header (RFC 6532), so the
/// message asks for SMTPUTF8 although every envelope address is ASCII.
#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn utf8_reply_to_goes_with_smtputf8() {
    let server = start(&["--mode", "plain"]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), config(), &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let to = [Mailbox::parse("ops@example.org").unwrap()];
    let reply_to = [Mailbox::parse("值班@example.org").unwrap()];
    let mut msg = Message::new(
        Mailbox::parse("sensor-7@example.org").unwrap(),
        HeaderText::try_new("Door 3 opened").unwrap(),
    )
    .to(&to)
    .reply_to(&reply_to)
    .without_date()
    .text("Door 3 opened.\n");
    assert_eq!(client.send(&mut msg).unwrap().accepted(), 1);
    client.quit().unwrap();
    let (eml, json) = stored(&server, 1);
    assert!(json.contains(r#""mail_options": ["SMTPUTF8"]"#), "{json}");
    let eml = String::from_utf8(eml).unwrap();
    assert!(eml.contains("\r\nReply-To: 值班@example.org\r\n"), "{eml}");
}

/// CHUNKING (feature `chunking`, the peer's `--chunking`): with PIPELINING the
/// message goes in `BDAT` chunks of what fits `tx`, which the server takes as they
/// are (RFC 3030 §2: no dot-stuffing, no terminator), so the stored bytes are the
/// writer's own, lone dot line included; `QUIT` rides with the last chunk. The same
/// message with `with_chunking(false)` goes with `DATA` to the same server.
#[cfg(feature = "chunking")]
#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn bdat_chunks_carry_the_writer_s_bytes() {
    let server = alice_peer(&["--chunking"]);
    let from = [Mailbox::parse("Sensor 7 <alice@example.org>").unwrap()];
    let to = [Mailbox::parse("Ops <ops@example.org>").unwrap()];
    let expected = rendered_alert(&from, &to);
    for (n, chunking) in [(1, true), (2, false)] {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let cfg = alice().with_chunking(chunking);
        let mut client: Client<'_, _> =
            Client::new(connect(server.port), cfg, &mut rx, &mut tx).unwrap();
        client.connect().unwrap();
        let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
        let report = client
            .send_and_quit(&mut alert(&from, &to, &mut atts))
            .unwrap();
        assert_eq!(report.accepted(), 1);
        check_delivered(&server, n, &expected, CSV);
        let (_, json) = stored(&server, n);
        let chunks = json
            .split(r#""bdat_chunks": "#)
            .nth(1)
            .map(|s| s.trim_end_matches(|c: char| !c.is_ascii_digit()));
        if chunking {
            // Each chunk is at most what fits `tx` beside its BDAT line.
            let chunks: usize = chunks.expect("sent with BDAT").parse().unwrap();
            assert!(chunks > expected.len() / 512, "{chunks} chunks: {json}");
        } else {
            assert_eq!(chunks, None, "sent with DATA: {json}");
        }
    }
}
