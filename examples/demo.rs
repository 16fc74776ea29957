//! `cargo run --example demo --features std,tls,encodings`: sends an alert email with an
//! attachment through the real blocking client, over implicit TLS 1.3 (port-465
//! style) on 127.0.0.1, to a small SMTP receiver that runs in this same process.
//! Needs no network and no credentials.
//!
//! The client verifies the receiver's certificate as it would a real server's:
//! the chain `localhost` ← test intermediate ← test root from `tests/data/certs/`,
//! checked against the test root at the current time (`SystemTime`). The receiver
//! is rustls. It prints the SMTP dialogue as the receiver saw it (AUTH redacted)
//! and the message exactly as it arrived.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use embedded_smtp::blocking::Client;
use embedded_smtp::blocking::FromStdTcp;
use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::tls::{self, Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::{TimeSource, Verifier, anchor_from_der};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox, Security};
use rand_core::{OsRng, RngCore};

const USER: &str = "sensor7@demo.local";
const PASSWORD: &str = "demo-authorization-code";

// The test PKI (test keys, published on purpose: never trust them elsewhere).
const ROOT_CA: &[u8] = include_bytes!("../tests/data/certs/root-ca.der");
const INTERMEDIATE_CA: &[u8] = include_bytes!("../tests/data/certs/intermediate-ca.der");
const SERVER_CERT: &[u8] = include_bytes!("../tests/data/certs/leaf-ecdsa.der");
const SERVER_KEY: &[u8] = include_bytes!("../tests/data/certs/leaf-ecdsa.key.der");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || receive_one(listener));

    // ---- the device side: what firmware would run ----
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    // Trust exactly the test root, at the current time, for the name "localhost".
    let anchors = [anchor_from_der(ROOT_CA)?];
    let verifier = Verifier::with_anchors(&anchors, TimeSource::Now(now));
    let connector = Connector::new("localhost", verifier, OsRng);
    // TLS record buffers (16 640 + 4 096 bytes) beside the client's own.
    let mut tls_read = vec![0u8; TLS_READ_BUFFER];
    let mut tls_write = vec![0u8; TLS_WRITE_BUFFER];
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 2048]);
    let config = Config::new(Domain::try_new("sensor-7.demo.local")?)
        .with_security(Security::Implicit)
        .with_credentials(Credentials::try_new(USER, PASSWORD)?);
    // Implicit TLS: the handshake (and the certificate check) happens here.
    let mut client: Client<'_, _, 4, _> = tls::blocking::client(
        FromStdTcp::new(tcp),
        connector,
        config,
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    )?;
    println!("client: TLS 1.3 up; certificate of \"localhost\" verified against the test root CA");
    client.connect()?;

    let from = Mailbox::parse("Sensor 7 <sensor7@demo.local>")?;
    let to = [Mailbox::parse("Operations <ops@demo.local>")?];
    let csv = b"time,celsius\n2026-11-28T15:00:00Z,74.9\n2026-11-28T15:01:00Z,78.2\n2026-11-28T15:02:00Z,81.5\n";
    let mut attachments = [Attachment::new("readings.csv", "text/csv", &csv[..])?];
    let mut message = Message::new(from, HeaderText::try_new("Temperature alarm: 81.5 °C in cold room 2")?)
        .to(&to)
        .date(DateTime { unix_seconds: now, offset_minutes: 0 })
        .message_id(random_bytes())
        .text("Cold room 2 is at 81.5 °C (limit 75 °C) since 15:02 UTC.\nThe last readings are attached.\n")
        .attachments(&mut attachments);
    let report = client.send(&mut message)?.clone(); // kept past quit()
    client.quit()?;
    drop(client);

    let received = server.join().expect("receiver thread")?;
    println!(
        "\n--- message as received ({} bytes) ---\n{}",
        received.len(),
        String::from_utf8_lossy(&received)
    );
    if let Some(reply) = report.reply() {
        println!(
            "--- accepted: {} recipient(s); server said: {reply}",
            report.accepted()
        );
    }
    Ok(())
}

/// Random bytes for the Message-ID, from the same RNG the TLS handshake uses.
fn random_bytes() -> [u8; 16] {
    let mut out = [0u8; 16];
    OsRng.fill_bytes(&mut out);
    out
}

type TlsServer = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// A minimal SMTP receiver for one session over implicit TLS 1.3 (rustls): enough
/// ESMTP for the demo, printing the dialogue. Returns the message content
/// (dot-unstuffed).
fn receive_one(listener: TcpListener) -> std::io::Result<Vec<u8>> {
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .and_then(|b| {
        b.with_no_client_auth().with_single_cert(
            vec![SERVER_CERT.into(), INTERMEDIATE_CA.into()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(SERVER_KEY).into(),
        )
    })
    .map_err(std::io::Error::other)?;
    let (tcp, _) = listener.accept()?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let conn = rustls::ServerConnection::new(Arc::new(tls)).map_err(std::io::Error::other)?;
    let mut reader = BufReader::new(TlsServer::new(conn, tcp));
    let say = |out: &mut TlsServer, text: &str| -> std::io::Result<()> {
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            println!("S: {line}");
        }
        out.write_all(text.as_bytes())?;
        out.flush()
    };
    let out = reader.get_mut();
    while out.conn.is_handshaking() {
        out.conn.complete_io(&mut out.sock)?;
    }
    if let (Some(version), Some(suite)) = (
        out.conn.protocol_version(),
        out.conn.negotiated_cipher_suite(),
    ) {
        println!("receiver: {version:?} with {:?}", suite.suite());
    }
    say(out, "220 demo.local ESMTP embedded-smtp demo receiver\r\n")?;
    let mut message = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(message);
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("AUTH ") {
            println!("C: AUTH PLAIN <redacted>");
        } else {
            println!("C: {cmd}");
        }
        if upper.starts_with("EHLO") {
            say(
                reader.get_mut(),
                "250-demo.local\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n",
            )?;
        } else if let Some(b64) = upper.strip_prefix("AUTH PLAIN ").map(|_| &cmd[11..]) {
            let decoded = STANDARD.decode(b64).unwrap_or_default();
            let expected = [
                b"\0".as_slice(),
                USER.as_bytes(),
                b"\0",
                PASSWORD.as_bytes(),
            ]
            .concat();
            if decoded == expected {
                say(reader.get_mut(), "235 2.7.0 Authentication successful\r\n")?;
            } else {
                say(
                    reader.get_mut(),
                    "535 5.7.8 Authentication credentials invalid\r\n",
                )?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            say(reader.get_mut(), "250 2.1.0 Ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            say(reader.get_mut(), "250 2.1.5 Ok\r\n")?;
        } else if upper == "DATA" {
            say(reader.get_mut(), "354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut body_lines = 0;
            loop {
                let mut l = Vec::new();
                if reader.read_until(b'\n', &mut l)? == 0 {
                    return Ok(message);
                }
                if l == b".\r\n" {
                    break;
                }
                body_lines += 1;
                // RFC 5321 §4.5.2: remove the stuffed dot.
                message.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
            }
            println!("C: <{body_lines} lines of message data>\nC: .");
            say(reader.get_mut(), "250 2.0.0 Ok: queued as DEMO1\r\n")?;
        } else if upper == "QUIT" {
            say(reader.get_mut(), "221 2.0.0 Bye\r\n")?;
            let out = reader.get_mut();
            out.conn.send_close_notify();
            out.flush()?;
            return Ok(message);
        } else {
            say(reader.get_mut(), "502 5.5.2 Command not recognized\r\n")?;
        }
    }
}
