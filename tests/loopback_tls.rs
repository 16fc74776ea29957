//! The blocking client over TLS (STARTTLS and implicit TLS 1.3) against a real SMTP
//! server (aiosmtpd, `tests/loopback/smtp_server.py`) on 127.0.0.1, with the test
//! PKI of `tests/data/certs/`: what the server stored is compared byte for byte
//! with what the message writer produced, and every refusal is a typed error.
//!
//! Ignored like `tests/loopback.rs` unless run with `-- --include-ignored` (as
//! `.ci/run` does, after installing aiosmtpd). Each test starts its own server on an
//! ephemeral port; the server exits when the test drops its stdin.
#![cfg(all(
    feature = "tls",
    feature = "std",
    feature = "encoded-words",
    feature = "quoted-printable"
))]

use std::cell::RefCell;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

mod common;

use common::peer::{Server, check_delivered, start_tls, stored};

use embedded_io::{ErrorType, Read, Write};
use embedded_smtp::blocking::{Deadline, FromStdTcp};
use embedded_smtp::message::{Attachment, BodySource, DateTime, Message};
use embedded_smtp::tls::blocking::{TlsClient, client};
use embedded_smtp::tls::{
    self, Connector, StreamError, TLS_READ_BUFFER, TLS_WRITE_BUFFER, TlsFailure,
};
use embedded_smtp::verify::{
    TimeSource, TrustAnchor, Verifier, VerifyError, anchor_from_der, spki_sha256,
};
use embedded_smtp::{
    Config, Credentials, Domain, Error, HeaderText, Mailbox, Mechanism, Security, Unsupported,
};
use rand_core::OsRng;

/// Inside the validity of every good test certificate (2025-2125), after
/// `leaf-expired`'s (2019-2020).
const NOW: u64 = 1_780_000_000;

macro_rules! der {
    ($name:literal) => {
        include_bytes!(concat!("data/certs/", $name, ".der")).as_slice()
    };
}

fn start(mode: &str, leaf: &str, extra: &[&str]) -> Server {
    start_tls(mode, leaf, extra)
}

// ------------------------------------------------------------ the client --

/// A TCP socket that keeps a copy of every byte the client wrote, so a test can
/// look at what went over the wire.
struct Recorder {
    tcp: FromStdTcp,
    sent: Sent,
}

impl Deadline for Recorder {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.tcp.start_wait(limit);
    }
}

impl ErrorType for Recorder {
    type Error = std::io::Error;
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        self.tcp.read(buf)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        let n = self.tcp.write(buf)?;
        self.sent.borrow_mut().extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), std::io::Error> {
        self.tcp.flush()
    }
}

fn connect(port: u16) -> (Recorder, Sent) {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let sent = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        tcp: FromStdTcp::new(tcp),
        sent: sent.clone(),
    };
    (recorder, sent)
}

type TestError = Error<StreamError<std::io::Error>>;
/// What the client wrote to the socket, shared with the test.
type Sent = Rc<RefCell<Vec<u8>>>;
type Session<'a> = Result<TlsClient<'a, 'a, 'a, Recorder, OsRng>, TestError>;

/// The TLS and client buffers of one session.
struct Buffers {
    rx: [u8; 512],
    tx: [u8; 1024],
    tls_read: Vec<u8>,
    tls_write: Vec<u8>,
}

impl Buffers {
    fn new() -> Self {
        Buffers {
            rx: [0; 512],
            tx: [0; 1024],
            tls_read: vec![0; TLS_READ_BUFFER],
            tls_write: vec![0; TLS_WRITE_BUFFER],
        }
    }
}

fn config(security: Security, mechanism: Mechanism) -> Config<'static> {
    Config::new(Domain::try_new("sensor-7.loopback.test").unwrap())
        .with_security(security)
        .with_credentials(
            Credentials::try_new("alice", "s3cret")
                .unwrap()
                .with_mechanism(mechanism),
        )
}

/// A connected client (greeting, EHLO, STARTTLS, EHLO, AUTH done).
fn open<'a>(
    port: u16,
    security: Security,
    mechanism: Mechanism,
    verifier: Verifier<'a>,
    buffers: &'a mut Buffers,
) -> (Session<'a>, Sent) {
    let (socket, sent) = connect(port);
    let connector = Connector::new("localhost", verifier, OsRng);
    let result = client(
        socket,
        connector,
        config(security, mechanism),
        tls::Buffers {
            rx: &mut buffers.rx,
            tx: &mut buffers.tx,
            tls_read: &mut buffers.tls_read,
            tls_write: &mut buffers.tls_write,
        },
    )
    .and_then(|mut c| c.connect().map(|()| c));
    (result, sent)
}

fn root() -> [TrustAnchor<'static>; 1] {
    [anchor_from_der(der!("root-ca")).unwrap()]
}

fn at_now<'a>(anchors: &'a [TrustAnchor<'a>]) -> Verifier<'a> {
    Verifier::with_anchors(anchors, TimeSource::Now(NOW))
}

/// The content types of the TLS records in `bytes` (which must be whole records).
fn record_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while !bytes.is_empty() {
        let head = &bytes[..bytes.len().min(5)];
        assert!(bytes.len() >= 5, "a partial record header: {head:02x?}");
        // Record version 3.1 (the ClientHello, RFC 8446 §5.1) or 3.3.
        assert!(
            bytes[1] == 3 && (bytes[2] == 1 || bytes[2] == 3),
            "not a TLS record: {head:02x?}"
        );
        let len = u16::from_be_bytes([bytes[3], bytes[4]]) as usize;
        assert!(bytes.len() >= 5 + len, "a partial record");
        types.push(bytes[0]);
        bytes = &bytes[5 + len..];
    }
    types
}

/// What the client sent after `STARTTLS\r\n` (which must be its last plaintext).
fn after_starttls(sent: &[u8]) -> &[u8] {
    let at = sent
        .windows(10)
        .position(|w| w == b"STARTTLS\r\n")
        .expect("STARTTLS was sent");
    assert_eq!(
        &sent[..at],
        b"EHLO sensor-7.loopback.test\r\n",
        "plaintext before STARTTLS"
    );
    &sent[at + 10..]
}

const HANDSHAKE: u8 = 0x16;
const APPLICATION_DATA: u8 = 0x17;

// ------------------------------------------------------------- the message --

const CSV: &[u8] = b"time,celsius\n15:00,74.9\n15:01,78.2\n15:02,81.5\n";

fn alert<'a>(
    from: &'a [Mailbox<'a>; 1],
    to: &'a [Mailbox<'a>],
    atts: &'a mut [Attachment<'a, &'a [u8]>],
) -> Message<'a> {
    Message::new(
        from[0],
        HeaderText::try_new("Kühlraum 2: 81,5 °C — alarm").unwrap(),
    )
    .to(to)
    .date(DateTime {
        unix_seconds: 1_795_874_400,
        offset_minutes: 60,
    })
    .message_id([0x42; 16])
    .text("Cold room 2 is at 81.5 °C.\n.\nA line with a lone dot above.\n")
    .attachments(atts)
}

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

/// Sends the alert with its attachment over a TLS session and checks what the
/// server stored against the writer's output, byte for byte. Returns what the
/// client wrote to the socket.
fn deliver(
    server: &Server,
    security: Security,
    mechanism: Mechanism,
    verifier: Verifier<'_>,
) -> Vec<u8> {
    let from = [Mailbox::parse("Sensor 7 <alice@example.org>").unwrap()];
    let to = [Mailbox::parse("Ops <ops@example.org>").unwrap()];
    let expected = {
        let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
        render(&mut alert(&from, &to, &mut atts).writer())
    };

    let mut buffers = Buffers::new();
    let (client, sent) = open(server.port, security, mechanism, verifier, &mut buffers);
    let mut client = client.unwrap();
    assert!(client.engine().is_encrypted());
    assert!(client.stream_mut().is_encrypted());
    let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
    let report = client.send(&mut alert(&from, &to, &mut atts)).unwrap();
    assert_eq!(report.accepted(), 1);
    client.quit().unwrap();
    drop(client);

    check_delivered(server, 1, &expected, CSV);
    sent.take()
}

/// Over TLS the client wrote a ClientHello and then only encrypted records.
fn assert_all_encrypted(records: &[u8]) {
    let types = record_types(records);
    assert_eq!(types[0], HANDSHAKE, "{types:?}");
    assert!(types.len() > 3, "{types:?}");
    assert!(
        types[1..].iter().all(|&t| t == APPLICATION_DATA),
        "{types:?}"
    );
}

// ------------------------------------------------------------ good servers --

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_ecdsa_auth_plain() {
    let server = start(
        "starttls",
        "leaf-ecdsa",
        &["--auth", "alice:s3cret", "--require-auth"],
    );
    let anchors = root();
    let sent = deliver(
        &server,
        Security::StartTls,
        Mechanism::Plain,
        at_now(&anchors),
    );
    // In the clear: EHLO and STARTTLS only; then TLS records only.
    assert_all_encrypted(after_starttls(&sent));
}

#[test]
#[cfg(feature = "tls-rsa")]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_rsa_auth_login() {
    let server = start(
        "starttls",
        "leaf-rsa",
        &["--auth", "alice:s3cret", "--require-auth"],
    );
    let anchors = root();
    let sent = deliver(
        &server,
        Security::StartTls,
        Mechanism::Login,
        at_now(&anchors),
    );
    assert_all_encrypted(after_starttls(&sent));
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_ecdsa_auth_login() {
    let server = start(
        "implicit",
        "leaf-ecdsa",
        &["--auth", "alice:s3cret", "--require-auth"],
    );
    let anchors = root();
    let sent = deliver(
        &server,
        Security::Implicit,
        Mechanism::Login,
        at_now(&anchors),
    );
    assert_all_encrypted(&sent);
}

#[test]
#[cfg(feature = "tls-rsa")]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_rsa_auth_plain() {
    let server = start(
        "implicit",
        "leaf-rsa",
        &["--auth", "alice:s3cret", "--require-auth"],
    );
    let anchors = root();
    let sent = deliver(
        &server,
        Security::Implicit,
        Mechanism::Plain,
        at_now(&anchors),
    );
    assert_all_encrypted(&sent);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_ecdsa_pinned_without_a_clock() {
    let server = start("implicit", "leaf-ecdsa", &["--auth", "alice:s3cret"]);
    let pins = [spki_sha256(der!("leaf-ecdsa")).unwrap()];
    let sent = deliver(
        &server,
        Security::Implicit,
        Mechanism::Auto,
        Verifier::with_pins(&pins),
    );
    assert_all_encrypted(&sent);
}

// ------------------------------------------------------------- refusals --

/// Opens a session that must fail; returns the error and the bytes the client sent.
fn refused(server: &Server, security: Security, verifier: Verifier<'_>) -> (TestError, Vec<u8>) {
    let mut buffers = Buffers::new();
    let (client, sent) = open(
        server.port,
        security,
        Mechanism::Plain,
        verifier,
        &mut buffers,
    );
    let e = match client {
        Ok(_) => panic!("the session was expected to fail"),
        Err(e) => e,
    };
    assert!(!e.is_transient(), "{e:?}");
    let sent = sent.take();
    (e, sent)
}

fn verify_error(e: &TestError) -> VerifyError {
    match e {
        Error::Tls(TlsFailure::Verify(reason)) => *reason,
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_wrong_root_fails_before_any_smtp_over_tls() {
    let server = start("starttls", "leaf-ecdsa", &["--auth", "alice:s3cret"]);
    let anchors = [anchor_from_der(der!("other-root-ca")).unwrap()];
    let (e, sent) = refused(&server, Security::StartTls, at_now(&anchors));
    assert_eq!(verify_error(&e), VerifyError::UnknownIssuer);
    assert_eq!(
        e.to_string(),
        "TLS: the server was not authenticated: the server's certificate is not from a trusted CA"
    );
    // After STARTTLS the client sent its ClientHello and nothing else: no Finished,
    // no EHLO, no AUTH.
    assert_eq!(record_types(after_starttls(&sent)), [HANDSHAKE]);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_untrusted_server_gets_nothing_but_the_client_hello() {
    let server = start("implicit", "leaf-ecdsa", &["--auth", "alice:s3cret"]);
    let anchors = [anchor_from_der(der!("other-root-ca")).unwrap()];
    let (e, sent) = refused(&server, Security::Implicit, at_now(&anchors));
    assert_eq!(verify_error(&e), VerifyError::UnknownIssuer);
    assert_eq!(record_types(&sent), [HANDSHAKE]);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_wrong_host_name() {
    let server = start("implicit", "leaf-wrong-host", &[]);
    let anchors = root();
    let (e, sent) = refused(&server, Security::Implicit, at_now(&anchors));
    assert_eq!(verify_error(&e), VerifyError::NotValidForName);
    assert!(e.to_string().contains("for another name"), "{e}");
    assert_eq!(record_types(&sent), [HANDSHAKE]);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_expired_at_the_given_time() {
    let server = start("starttls", "leaf-expired", &[]);
    let anchors = root();
    let (e, sent) = refused(&server, Security::StartTls, at_now(&anchors));
    assert_eq!(verify_error(&e), VerifyError::Expired);
    assert!(e.to_string().contains("expired"), "{e}");
    assert_eq!(record_types(after_starttls(&sent)), [HANDSHAKE]);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn implicit_pin_mismatch() {
    let server = start("implicit", "leaf-ecdsa", &[]);
    let pins = [spki_sha256(der!("leaf-rsa")).unwrap()];
    let (e, sent) = refused(&server, Security::Implicit, Verifier::with_pins(&pins));
    assert_eq!(verify_error(&e), VerifyError::PinMismatch);
    assert_eq!(
        e.to_string(),
        "TLS: the server was not authenticated: the server's key matches no pin"
    );
    assert_eq!(record_types(&sent), [HANDSHAKE]);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn starttls_required_but_not_offered() {
    let server = start(
        "plain",
        "leaf-ecdsa",
        &["--auth", "alice:s3cret", "--allow-plaintext-auth"],
    );
    let anchors = root();
    let (e, sent) = refused(&server, Security::StartTls, at_now(&anchors));
    assert!(
        matches!(e, Error::Unsupported(Unsupported::StartTls)),
        "{e:?}"
    );
    assert!(e.to_string().contains("no fallback to plaintext"), "{e}");
    // No AUTH (the server offered it), nothing after EHLO.
    assert_eq!(sent, b"EHLO sensor-7.loopback.test\r\n");
}

/// The async client over TLS (`tls::asynch`), implicit and STARTTLS, against the
/// same server: the stored message is the writer's output byte for byte.
#[cfg(feature = "async")]
mod asynch {
    use super::*;
    use embedded_smtp::tls::asynch::client as async_client;

    /// A std socket as an `embedded_io_async` stream (blocking inside; the test
    /// polls the future on one thread).
    struct AsyncTcp(TcpStream);

    impl ErrorType for AsyncTcp {
        type Error = std::io::Error;
    }

    impl embedded_io_async::Read for AsyncTcp {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
            std::io::Read::read(&mut self.0, buf)
        }
    }

    impl embedded_io_async::Write for AsyncTcp {
        async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
            std::io::Write::write(&mut self.0, buf)
        }

        async fn flush(&mut self) -> Result<(), std::io::Error> {
            std::io::Write::flush(&mut self.0)
        }
    }

    fn block_on<F: core::future::Future>(f: F) -> F::Output {
        let mut f = core::pin::pin!(f);
        let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
        loop {
            if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn deliver_async(server: &Server, security: Security) {
        let from = [Mailbox::parse("Sensor 7 <alice@example.org>").unwrap()];
        let to = [Mailbox::parse("Ops <ops@example.org>").unwrap()];
        let expected = {
            let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
            render(&mut alert(&from, &to, &mut atts).writer())
        };
        let tcp = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        tcp.set_nodelay(true).unwrap();
        let anchors = root();
        let connector = Connector::new("localhost", at_now(&anchors), OsRng);
        let mut b = Buffers::new();
        block_on(async {
            let mut c = async_client(
                AsyncTcp(tcp),
                connector,
                embedded_smtp::asynch::NoTimer,
                config(security, Mechanism::Auto),
                tls::Buffers {
                    rx: &mut b.rx,
                    tx: &mut b.tx,
                    tls_read: &mut b.tls_read,
                    tls_write: &mut b.tls_write,
                },
            )
            .unwrap();
            c.connect().await.unwrap();
            assert!(c.engine().is_encrypted() && c.stream_mut().is_encrypted());
            let mut atts = [Attachment::new("readings.csv", "text/csv", CSV).unwrap()];
            let report = c
                .send_and_quit(&mut alert(&from, &to, &mut atts))
                .await
                .unwrap();
            assert_eq!(report.accepted(), 1);
        });
        let (eml, json) = stored(server, 1);
        assert!(
            eml == expected,
            "delivered bytes differ from the writer's output"
        );
        assert!(json.contains(r#""auth_user": "alice""#), "{json}");
    }

    #[test]
    #[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
    fn async_implicit_and_starttls() {
        let server = start(
            "implicit",
            "leaf-ecdsa",
            &["--auth", "alice:s3cret", "--require-auth"],
        );
        deliver_async(&server, Security::Implicit);
        let server = start(
            "starttls",
            "leaf-ecdsa",
            &["--auth", "alice:s3cret", "--require-auth"],
        );
        deliver_async(&server, Security::StartTls);
    }
}
