//! The README's desktop quick-start programs (blocking, and with tokio), run
//! against the loopback peer over implicit TLS 1.3 with AUTH: what a reader copies
//! is what this file runs.
//!
//! Each program below is the README's text, hidden lines left out, with the few
//! substitutions [`SUBSTITUTIONS`] lists (the server's address and port, its CA
//! file, and a `pub` to call `main` from here); `programs_are_the_readme_s` checks
//! that, and the loopback tests (ignored without the peer, as every loopback test)
//! send with them and read what the server stored.
#![cfg(all(feature = "std", feature = "tls"))]

mod common;

use std::sync::atomic::{AtomicU16, Ordering};

use common::peer::{start_tls, stored};

/// The peer's port, for the programs' `port()`.
static PORT: AtomicU16 = AtomicU16::new(0);

/// The port the peer of the running test listens on.
fn port() -> u16 {
    PORT.load(Ordering::SeqCst)
}

/// The test PKI's root, as the README's CA file.
const CA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/certs/root-ca.pem");

/// The README's changes for each program: (README text, text here). Each occurs
/// exactly once in its program.
const SUBSTITUTIONS: [(&str, &[(&str, &str)]); 2] = [
    (
        "blocking",
        &[
            (r#"fn main()"#, r#"pub fn main()"#),
            (r#"std::fs::read("ca.pem")"#, r#"std::fs::read(CA_FILE)"#),
            (
                r#"Connector::new("smtp.example.com""#,
                r#"Connector::new("localhost""#,
            ),
            (
                r#"FromStdTcp::connect(("smtp.example.com", 465)"#,
                r#"FromStdTcp::connect(("127.0.0.1", port())"#,
            ),
        ],
    ),
    (
        "tokio",
        &[
            (r#"fn main()"#, r#"pub fn main()"#),
            (
                r#"Verifier::with_webpki_roots(TimeSource::Now(now))"#,
                r#"Verifier::with_anchors(&ANCHORS, TimeSource::Now(now))"#,
            ),
            (
                r#"Connector::new("smtp.example.com""#,
                r#"Connector::new("localhost""#,
            ),
            (
                r#"TcpStream::connect(("smtp.example.com", 465))"#,
                r#"TcpStream::connect(("127.0.0.1", port()))"#,
            ),
        ],
    ),
];

#[rustfmt::skip]
mod blocking {
#![allow(clippy::all)]
use super::{CA_FILE, port};
// README begin
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use embedded_smtp::blocking::FromStdTcp;
use embedded_smtp::message::{DateTime, Message};
use embedded_smtp::tls::{self, Buffers, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox, Security};
use rand_core::{OsRng, RngCore};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The clock: certificates are checked at this time (Unix seconds).
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();

    // The trust anchors: a CA file (PEM, one or more certificates, or DER)...
    let pem = std::fs::read(CA_FILE)?;
    let mut der = vec![0u8; pem.len()];
    let certs = tls::decode_certificates::<16>(&pem, &mut der)?;
    let anchors = certs
        .iter()
        .map(|c| anchor_from_der(c))
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = Verifier::with_anchors(&anchors, TimeSource::Now(now));
    // ...or Mozilla's roots (feature `webpki-roots`):
    // let verifier = Verifier::with_webpki_roots(TimeSource::Now(now));

    // The server name is checked against the certificate; OsRng implements
    // `embedded_smtp::CryptoRngCore`.
    let connector = Connector::new("localhost", verifier, OsRng);
    let socket = FromStdTcp::connect(("127.0.0.1", port()), Duration::from_secs(30))?;

    let config = Config::new(Domain::try_new("desktop.example.com")?)
        .with_security(Security::Implicit) // port 465; Security::StartTls on 587
        .with_credentials(Credentials::try_new("me@example.com", "app-password")?);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 4096]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let buffers = Buffers { rx: &mut rx, tx: &mut tx, tls_read: &mut tls_read, tls_write: &mut tls_write };
    let mut client = tls::blocking::client(socket, connector, config, buffers)?;
    client.connect()?; // the TLS handshake, greeting, EHLO, AUTH: each wait bounded

    let from = Mailbox::parse("Me <me@example.com>")?;
    let to = [Mailbox::parse("you@example.org")?];
    let mut message: Message<'_> = Message::new(from, HeaderText::try_new("Hello")?)
        .to(&to)
        .date(DateTime { unix_seconds: now, offset_minutes: 0 })
        .message_id(random_id())
        .text("Sent from a desktop with embedded-smtp.\n");
    let report = client.send_and_quit(&mut message)?; // QUIT rides with the end of data
    println!("accepted: {}", report.accepted());
    Ok(())
}

/// 16 random bytes for the Message-ID.
fn random_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    id
}
// README end
}

#[cfg(feature = "tokio")]
#[rustfmt::skip]
mod tokio_program {
#![allow(clippy::all)]
use super::{ANCHORS, port};
// README begin
use std::time::{SystemTime, UNIX_EPOCH};

use embedded_io_adapters::tokio_1::FromTokio;
use embedded_smtp::asynch::TokioTimer;
use embedded_smtp::message::{DateTime, Message};
use embedded_smtp::tls::{self, Buffers, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::{TimeSource, Verifier};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox, Security};
use rand_core::{OsRng, RngCore};

pub fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(send())
}

async fn send() -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let verifier = Verifier::with_anchors(&ANCHORS, TimeSource::Now(now));
    let connector = Connector::new("localhost", verifier, OsRng);
    let socket = FromTokio::new(tokio::net::TcpStream::connect(("127.0.0.1", port())).await?);

    let config = Config::new(Domain::try_new("desktop.example.com")?)
        .with_security(Security::Implicit)
        .with_credentials(Credentials::try_new("me@example.com", "app-password")?);
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 4096]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let buffers = Buffers { rx: &mut rx, tx: &mut tx, tls_read: &mut tls_read, tls_write: &mut tls_write };
    let mut client = tls::asynch::client(socket, connector, TokioTimer::new(), config, buffers)?;
    client.connect().await?; // the TLS handshake, greeting, EHLO, AUTH

    let mut id = [0u8; 16];
    OsRng.fill_bytes(&mut id);
    let from = Mailbox::parse("me@example.com")?;
    let to = [Mailbox::parse("you@example.org")?];
    let mut message: Message<'_> = Message::new(from, HeaderText::try_new("Hello")?)
        .to(&to)
        .date(DateTime { unix_seconds: now, offset_minutes: 0 })
        .message_id(id)
        .text("Sent from tokio with embedded-smtp.\n");
    let report = client.send_and_quit(&mut message).await?;
    println!("accepted: {}", report.accepted());
    Ok(())
}
// README end
}

/// The test PKI's root, as the tokio program's trust anchors (the README's uses
/// Mozilla's roots).
#[cfg(feature = "tokio")]
static ANCHORS: std::sync::LazyLock<Vec<embedded_smtp::verify::TrustAnchor<'static>>> =
    std::sync::LazyLock::new(|| {
        let der = include_bytes!("data/certs/root-ca.der");
        vec![embedded_smtp::verify::anchor_from_der(der).unwrap()]
    });

/// The programs here are the README's, but for [`SUBSTITUTIONS`].
#[test]
fn programs_are_the_readme_s() {
    let readme = include_str!("../README.md");
    let here = include_str!("quickstart.rs");
    let blocks: Vec<&str> = readme
        .split("```rust,no_run\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    let ours: Vec<&str> = here
        .split("// README begin\n")
        .skip(1)
        .map(|b| b.split("// README end").next().unwrap())
        .collect();
    assert_eq!(ours.len(), 2);
    for ((name, subs), (block, ours)) in SUBSTITUTIONS.iter().zip(blocks.iter().zip(&ours)) {
        // The README's text without its hidden lines.
        let mut text: String = block
            .lines()
            .filter(|l| !(l.starts_with("# ") || *l == "#"))
            .map(|l| format!("{l}\n"))
            .collect();
        for (from, to) in *subs {
            assert_eq!(text.matches(from).count(), 1, "{name}: {from}");
            text = text.replace(from, to);
        }
        assert_eq!(&text, ours, "the {name} program differs from the README's");
    }
}

/// The peer the programs send to: implicit TLS with the test PKI's P-256 leaf, AUTH
/// with the README's credentials.
fn peer() -> common::peer::Server {
    let server = start_tls(
        "implicit",
        "leaf-ecdsa",
        &["--auth", "me@example.com:app-password"],
    );
    PORT.store(server.port, Ordering::SeqCst);
    server
}

/// What the server stored: one message from me@example.com to you@example.org after
/// AUTH, with the README's subject and text.
fn check(server: &common::peer::Server, text: &str) {
    let (eml, json) = stored(server, 1);
    assert!(json.contains(r#""mail_from": "me@example.com""#), "{json}");
    assert!(
        json.contains(r#""rcpt_tos": ["you@example.org"]"#),
        "{json}"
    );
    assert!(json.contains(r#""auth_user": "me@example.com""#), "{json}");
    let eml = String::from_utf8(eml).unwrap();
    assert!(eml.contains("\r\nSubject: Hello\r\n"), "{eml}");
    assert!(eml.contains("\r\nTo: you@example.org\r\n"), "{eml}");
    assert!(eml.contains("\r\nMessage-ID: <"), "{eml}");
    assert!(eml.contains(text), "{eml}");
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn blocking_program_delivers() {
    let server = peer();
    blocking::main().unwrap();
    check(&server, "Sent from a desktop with embedded-smtp.");
}

#[cfg(feature = "tokio")]
#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn tokio_program_delivers() {
    let server = peer();
    tokio_program::main().unwrap();
    check(&server, "Sent from tokio with embedded-smtp.");
}
