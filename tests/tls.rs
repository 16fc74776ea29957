//! `embedded_smtp::tls` without any outside server: canned TLS records, and rustls
//! servers in threads on 127.0.0.1 (one speaks just enough SMTP for a STARTTLS and
//! an implicit-TLS session). The test PKI is `tests/data/certs/`. Every socket has
//! a time limit, so a stuck handshake fails instead of hanging.
#![cfg(feature = "tls")]

#[path = "common/rustls_server.rs"]
#[allow(dead_code)]
mod rustls_server;
use rustls_server::ecdsa_server;

use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use embedded_io::{ErrorType, Read, Write};
use embedded_io_adapters::std::FromStd;
use embedded_smtp::blocking::Client;
use embedded_smtp::blocking::Untimed;
use embedded_smtp::message::RawMessage;
use embedded_smtp::tls::blocking::{TlsStream, client};
use embedded_smtp::tls::{
    Connector, MAX_TLS_WRITE_BUFFER, RecordError, StreamError, TLS_READ_BUFFER, TLS_WRITE_BUFFER,
    TlsFailure,
};
use embedded_smtp::verify::{
    Provider, TimeSource, TrustAnchor, Verifier, VerifyError, anchor_from_der, tls_config,
};
use embedded_smtp::{Address, Config, Credentials, Domain, Error, Security};
use embedded_tls::Aes128GcmSha256;
use rand_core::OsRng;

macro_rules! der {
    ($name:literal) => {
        include_bytes!(concat!("data/certs/", $name, ".der")).as_slice()
    };
}

const LIMIT: Duration = Duration::from_secs(20);
/// Inside every good certificate's validity period.
const NOW: u64 = 1_780_000_000;

/// A connector for "localhost" that trusts `anchors` at `NOW`.
fn connector<'a>(anchors: &'a [TrustAnchor<'static>]) -> Connector<'a, OsRng> {
    Connector::new(
        "localhost",
        Verifier::with_anchors(anchors, TimeSource::Now(NOW)),
        OsRng,
    )
}

fn root() -> [TrustAnchor<'static>; 1] {
    [anchor_from_der(der!("root-ca")).unwrap()]
}

// ---------------------------------------------------------------- canned --

/// A socket that answers with fixed bytes and keeps what the client wrote.
struct Canned {
    input: &'static [u8],
    written: Vec<u8>,
}

/// A test double: it answers at once, so there is no wait to bound.
impl embedded_smtp::blocking::Deadline for Canned {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl ErrorType for Canned {
    type Error = Infallible;
}

impl Read for Canned {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Canned {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

fn open_canned(input: &'static [u8]) -> (Result<(), Error<StreamError<Infallible>>>, Vec<u8>) {
    let anchors = root();
    let mut connector = connector(&anchors);
    let mut socket = Canned {
        input,
        written: Vec::new(),
    };
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let result = TlsStream::open(&mut socket, &mut read, &mut write, &mut connector).map(drop);
    (result, socket.written)
}

#[test]
fn tls12_only_server_says_tls13_only() {
    // What a server without TLS 1.3 answers a TLS 1.3-only ClientHello with
    // (OpenSSL, rustls): a fatal protocol_version alert in a plaintext record.
    let (result, written) = open_canned(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]);
    let e = result.unwrap_err();
    assert_eq!(e, Error::Tls(TlsFailure::ProtocolVersion));
    assert!(!e.is_transient());
    assert!(e.to_string().contains("TLS 1.3 only"), "{e}");
    // The ClientHello went out: a handshake record offering TLS 1.3 (0x0304).
    assert_eq!(&written[..1], &[0x16]);
    assert!(written.windows(3).any(|w| w == [0x02, 0x03, 0x04]));
}

#[test]
fn handshake_failure_alert_says_tls13_only() {
    // An older server that ignores supported_versions finds no common cipher suite.
    let (result, _) = open_canned(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 40]);
    let e = result.unwrap_err();
    assert_eq!(e, Error::Tls(TlsFailure::Alert(40)));
    assert!(e.to_string().contains("TLS 1.3 only"), "{e}");
}

#[test]
fn implicit_tls_to_a_plaintext_server_says_so() {
    // Port 587 answers a ClientHello with its SMTP greeting.
    let (result, _) = open_canned(b"220 smtp.example.com ESMTP ready\r\n");
    let e = result.unwrap_err();
    assert_eq!(e, Error::Tls(TlsFailure::NotTls));
    assert!(!e.is_transient());
    assert!(e.to_string().contains("port 465"), "{e}");
}

#[test]
fn server_closing_during_the_handshake_is_transient() {
    let (result, _) = open_canned(&[]);
    let e = result.unwrap_err();
    assert_eq!(e, Error::Tls(TlsFailure::Closed));
    assert!(e.is_transient());
}

#[test]
fn small_buffers_are_refused_before_any_byte_is_sent() {
    let pins = [[0u8; 32]];
    let mut connector = Connector::new("localhost", Verifier::with_pins(&pins), OsRng);
    let mut socket = Canned {
        input: b"",
        written: Vec::new(),
    };
    let (mut read, mut write) = (vec![0u8; 767], vec![0u8; TLS_WRITE_BUFFER]);
    let e = TlsStream::open(&mut socket, &mut read, &mut write, &mut connector)
        .map(drop)
        .unwrap_err();
    assert_eq!(
        e,
        Error::Capacity {
            buffer: embedded_smtp::Buffer::TlsRead,
            required: 768
        }
    );
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; 511]);
    let mut stream = TlsStream::new(&mut socket, &mut read, &mut write);
    assert_eq!(
        stream.start_tls(&mut connector),
        Err(Error::Capacity {
            buffer: embedded_smtp::Buffer::TlsWrite,
            required: 512
        })
    );
    // Still plain and usable.
    assert!(!stream.is_encrypted());
    assert_eq!(stream.write(b"NOOP\r\n"), Ok(6));
    assert_eq!(socket.written, b"NOOP\r\n");
}

// ---------------------------------------------------------------- rustls --

fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

fn accept(listener: &TcpListener) -> TcpStream {
    let (tcp, _) = listener.accept().unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    tcp.set_write_timeout(Some(LIMIT)).unwrap();
    tcp
}

/// The socket with its own time-outs (`LIMIT`): the tests bound their waits there.
fn dial(port: u16) -> Untimed<FromStd<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(LIMIT)).unwrap();
    tcp.set_write_timeout(Some(LIMIT)).unwrap();
    Untimed(FromStd::new(tcp))
}

/// A TLS server that reads `expect` bytes, answers `got N\n` and sends close_notify.
/// Returns what it read, or rustls's error.
fn counting_server(expect: usize) -> (u16, thread::JoinHandle<Result<usize, String>>) {
    let (listener, port) = listen();
    let config = ecdsa_server();
    let handle = thread::spawn(move || {
        let tcp = accept(&listener);
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut data = vec![0u8; expect];
        tls.read_exact(&mut data).map_err(|e| e.to_string())?;
        assert!(data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        writeln!(tls, "got {expect}").map_err(|e| e.to_string())?;
        tls.conn.send_close_notify();
        tls.flush().map_err(|e| e.to_string())?;
        Ok(expect)
    });
    (port, handle)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn read_to_eof<S: Read>(stream: &mut S) -> Result<Vec<u8>, S::Error> {
    let mut out = Vec::new();
    let mut buf = [0u8; 100];
    for _ in 0..1000 {
        match stream.read(&mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
    panic!("no end of stream after 1000 reads");
}

#[test]
fn full_size_write_buffer_is_cut_to_one_record_and_close_notify_ends_the_stream() {
    const LEN: usize = 40_000;
    let (port, server) = counting_server(LEN);
    let anchors = root();
    let mut connector = connector(&anchors);
    // The mistake this module makes harmless: a write buffer as large as the read one.
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_READ_BUFFER]);
    let mut stream = TlsStream::open(dial(port), &mut read, &mut write, &mut connector).unwrap();
    assert!(stream.is_encrypted());
    let data = pattern(LEN);
    let mut sent = 0;
    let mut writes = 0;
    while sent < LEN {
        let n = stream.write(&data[sent..]).unwrap();
        assert!(n <= MAX_TLS_WRITE_BUFFER - 133, "{n}");
        sent += n;
        writes += 1;
    }
    stream.flush().unwrap();
    assert_eq!(writes, LEN.div_ceil(16_384));
    // The server's close_notify is the end of the stream, and stays so.
    assert_eq!(read_to_eof(&mut stream).unwrap(), b"got 40000\n");
    assert!(matches!(stream.read(&mut [0u8; 8]), Ok(0)));
    assert_eq!(server.join().unwrap(), Ok(LEN));
}

#[test]
fn embedded_tls_with_a_16640_byte_write_buffer_is_refused_by_the_server() {
    // Why MAX_TLS_WRITE_BUFFER exists: embedded-tls alone fills a record with
    // 16 640 - 133 = 16 507 bytes, more than the 2^14 a peer accepts.
    const LEN: usize = 20_000;
    let (port, server) = counting_server(LEN);
    let anchors = root();
    let config = tls_config("localhost");
    let mut provider = Provider::<Aes128GcmSha256, _>::new(
        OsRng,
        Verifier::with_anchors(&anchors, TimeSource::Now(NOW)),
    );
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_READ_BUFFER]);
    let mut tls: embedded_tls::blocking::TlsConnection<'_, _, Aes128GcmSha256> =
        embedded_tls::blocking::TlsConnection::new(dial(port), &mut read, &mut write);
    tls.open(embedded_tls::blocking::TlsContext::new(
        &config,
        &mut provider,
    ))
    .unwrap();
    provider.check_verified().unwrap();
    let _ = tls.write_all(&pattern(LEN)).and_then(|()| tls.flush());
    let refused = server.join().unwrap().unwrap_err();
    // rustls's Error::PeerSentOversizedRecord.
    assert_eq!(refused, "peer sent excess record size");
}

#[test]
fn a_refused_server_leaves_the_stream_unusable() {
    let (listener, port) = listen();
    let config = ecdsa_server();
    let server = thread::spawn(move || {
        let tcp = accept(&listener);
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        // The client gives up inside the handshake: no application data arrives.
        let mut buf = [0u8; 16];
        tls.read(&mut buf).map_err(|e| e.to_string())
    });
    let anchors = [anchor_from_der(der!("other-root-ca")).unwrap()];
    let mut connector = connector(&anchors);
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let mut stream = TlsStream::new(dial(port), &mut read, &mut write);
    let e = stream.start_tls(&mut connector).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Tls(TlsFailure::Verify(VerifyError::UnknownIssuer))
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert_eq!(
        e.to_string(),
        "TLS: the server was not authenticated: the server's certificate is not from a trusted CA"
    );
    assert_eq!(
        connector.verifier().last_error(),
        Some(VerifyError::UnknownIssuer)
    );
    assert!(!stream.is_encrypted());
    assert!(matches!(
        stream.write(b"EHLO x\r\n"),
        Err(StreamError::Tls(TlsFailure::Verify(
            VerifyError::UnknownIssuer
        )))
    ));
    assert!(matches!(
        stream.read(&mut [0u8; 8]),
        Err(StreamError::Tls(TlsFailure::Verify(
            VerifyError::UnknownIssuer
        )))
    ));
    // The socket went with the failed handshake: the server saw the end, no data.
    drop(stream);
    assert!(matches!(server.join().unwrap(), Ok(0) | Err(_)));
}

// ------------------------------------------------------ SMTP over rustls --

/// Lines the small SMTP server received, each with whether it came over TLS.
type Transcript = Vec<(bool, String)>;

/// A tiny SMTP server: STARTTLS (plaintext greeting, upgrade on request) or
/// implicit TLS, AUTH PLAIN, one message, QUIT, then close_notify.
fn smtp_server(implicit: bool) -> (u16, thread::JoinHandle<Transcript>) {
    let (listener, port) = listen();
    let config = ecdsa_server();
    let handle = thread::spawn(move || {
        let tcp = accept(&listener);
        let mut seen = Transcript::new();
        let tcp = if implicit {
            tcp
        } else {
            let mut plain = BufReader::new(tcp);
            plain
                .get_mut()
                .write_all(b"220 test ESMTP plaintext\r\n")
                .unwrap();
            // AUTH is offered before TLS too: the client must not use it there.
            let caps: &[u8] = b"250-test\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n";
            for answer in [caps, b"220 2.0.0 go ahead\r\n"] {
                let line = read_line(&mut plain).unwrap();
                seen.push((false, line));
                plain.get_mut().write_all(answer).unwrap();
            }
            assert!(plain.buffer().is_empty());
            plain.into_inner()
        };
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        let say = |tls: &mut BufReader<rustls::StreamOwned<_, _>>, text: &[u8]| {
            tls.get_mut().write_all(text).unwrap();
            tls.get_mut().flush().unwrap();
        };
        if implicit {
            say(&mut tls, b"220 test ESMTP over TLS\r\n");
        }
        loop {
            let Some(line) = read_line(&mut tls) else {
                return seen;
            };
            seen.push((true, line.clone()));
            let upper = line.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                say(
                    &mut tls,
                    b"250-test\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n",
                );
            } else if upper.starts_with("AUTH PLAIN") {
                say(&mut tls, b"235 2.7.0 ok\r\n");
            } else if upper.starts_with("MAIL") || upper.starts_with("RCPT") {
                say(&mut tls, b"250 ok\r\n");
            } else if upper == "DATA" {
                say(&mut tls, b"354 go\r\n");
                while let Some(data) = read_line(&mut tls) {
                    seen.push((true, data.clone()));
                    if data == "." {
                        break;
                    }
                }
                say(&mut tls, b"250 queued\r\n");
            } else if upper == "QUIT" {
                say(&mut tls, b"221 bye\r\n");
                tls.get_mut().conn.send_close_notify();
                tls.get_mut().flush().unwrap();
                return seen;
            } else {
                say(&mut tls, b"502 no\r\n");
            }
        }
    });
    (port, handle)
}

/// One CRLF line without its CRLF; `None` at the end of the stream or on an error.
fn read_line(from: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    match from.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches("\r\n").to_string()),
    }
}

fn run_session(security: Security, port: u16) -> Result<(), Error<StreamError<std::io::Error>>> {
    let anchors = root();
    let connector = connector(&anchors);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let config = Config::new(Domain::try_new("client.test").unwrap())
        .with_security(security)
        .with_credentials(Credentials::try_new("alice", "s3cret").unwrap());
    let mut client: Client<'_, _, 4, _> = client(
        dial(port),
        connector,
        config,
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    )?;
    client.connect()?;
    assert!(client.engine().is_encrypted());
    let report = client.send_raw(
        Address::try_new("alice@example.org").unwrap(),
        [Address::try_new("bob@example.org").unwrap()],
        &mut RawMessage::new(b"Subject: hi\r\n\r\n.dot\r\nbody\r\n"),
    )?;
    assert_eq!(report.accepted(), 1);
    client.quit()?;
    // The server's close_notify after 221 is the end of the stream.
    let mut stream = client.into_inner();
    assert!(stream.is_encrypted());
    assert_eq!(stream.read(&mut [0u8; 8]).unwrap(), 0);
    Ok(())
}

/// "alice\0alice\0s3cret" has no authzid: "\0alice\0s3cret".
const AUTH: &str = "AUTH PLAIN AGFsaWNlAHMzY3JldA==";

fn tls_lines(after: &[&str]) -> Vec<(bool, String)> {
    after.iter().map(|l| (true, l.to_string())).collect()
}

const SESSION: [&str; 9] = [
    "EHLO client.test",
    AUTH,
    "MAIL FROM:<alice@example.org>",
    "RCPT TO:<bob@example.org>",
    "DATA",
    "Subject: hi",
    "",
    "..dot",
    "body",
];

#[test]
fn starttls_session_sends_nothing_but_ehlo_and_starttls_in_the_clear() {
    let (port, server) = smtp_server(false);
    run_session(Security::StartTls, port).unwrap();
    let seen = server.join().unwrap();
    let mut expected = vec![
        (false, "EHLO client.test".to_string()),
        (false, "STARTTLS".to_string()),
    ];
    // A fresh EHLO after the upgrade, then AUTH: only over TLS.
    expected.extend(tls_lines(&SESSION));
    expected.extend(tls_lines(&[".", "QUIT"]));
    assert_eq!(seen, expected);
}

#[test]
fn implicit_tls_session_is_encrypted_from_the_first_byte() {
    let (port, server) = smtp_server(true);
    run_session(Security::Implicit, port).unwrap();
    let seen = server.join().unwrap();
    let mut expected = tls_lines(&SESSION);
    expected.extend(tls_lines(&[".", "QUIT"]));
    assert_eq!(seen, expected);
}

// ------------------------------------------- the record guard, on the wire --

/// What a rustls server does after its encrypted `220` greeting.
#[derive(Clone, Copy)]
enum After {
    /// Writes these bytes on the TCP stream, outside TLS (anyone on the path can).
    Inject(&'static [u8]),
    /// Sends a TLS 1.3 KeyUpdate (RFC 8446 §4.6.3), then an encrypted `250`.
    KeyUpdate,
    /// Sends the first half of the next record, then nothing: the client's read
    /// times out in the middle of a record.
    HalfRecord,
}

/// A rustls server on 127.0.0.1 that greets over TLS, then does `after`, then
/// waits for the client to go away.
fn guard_server(after: After) -> (u16, thread::JoinHandle<()>) {
    let (listener, port) = listen();
    let config = ecdsa_server();
    let handle = thread::spawn(move || {
        let tcp = accept(&listener);
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        tls.write_all(b"220 test ESMTP\r\n").unwrap();
        tls.flush().unwrap();
        match after {
            After::Inject(bytes) => tls.sock.write_all(bytes).unwrap(),
            After::KeyUpdate => {
                tls.conn.refresh_traffic_keys().unwrap();
                tls.write_all(b"250 after the key update\r\n").unwrap();
                tls.flush().unwrap();
            }
            After::HalfRecord => {
                tls.conn.writer().write_all(b"250 never whole\r\n").unwrap();
                let mut record = Vec::new();
                tls.conn.write_tls(&mut record).unwrap();
                tls.sock.write_all(&record[..record.len() / 2]).unwrap();
            }
        }
        // Until the client closes (or gives up).
        let _ = tls.sock.read(&mut [0u8; 64]);
    });
    (port, handle)
}

/// The TLS failure of a call that must fail.
fn failure_of<T: std::fmt::Debug, E: std::fmt::Debug>(r: Result<T, StreamError<E>>) -> TlsFailure {
    match r {
        Err(StreamError::Tls(f)) => f,
        other => panic!("expected a TLS failure, got {other:?}"),
    }
}

/// Reads the greeting, then the next read fails: returns that failure and checks
/// that every later call of the stream fails with the same one.
fn failure_after_greeting(after: After) -> TlsFailure {
    let (port, server) = guard_server(after);
    let anchors = root();
    let mut connector = connector(&anchors);
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let socket = dial(port);
    let control = socket.0.inner().try_clone().unwrap();
    let mut stream = TlsStream::open(socket, &mut read, &mut write, &mut connector).unwrap();
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"220 test ESMTP\r\n");
    // What follows arrives at once, or (HalfRecord) never whole.
    control
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let Err(StreamError::Tls(failure)) = stream.read(&mut buf) else {
        panic!("the stream went on");
    };
    for _ in 0..3 {
        assert_eq!(failure_of(stream.read(&mut buf)), failure);
        assert_eq!(failure_of(stream.write(b"QUIT\r\n")), failure);
        assert_eq!(failure_of(stream.flush()), failure);
    }
    assert_eq!(stream.close(), Err(failure));
    drop(control);
    server.join().unwrap();
    failure
}

#[test]
fn a_plaintext_handshake_message_after_the_handshake_is_refused() {
    // The 11 bytes of an EncryptedExtensions in plaintext: embedded-tls alone
    // reaches `unimplemented!()` with them.
    let failure = failure_after_greeting(After::Inject(&[
        0x16, 0x03, 0x03, 0x00, 0x06, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00,
    ]));
    assert_eq!(
        failure,
        TlsFailure::Record(RecordError::UnexpectedType {
            content_type: 22,
            after_server_hello: true
        })
    );
    assert!(failure.is_transient());
    assert_eq!(
        failure.to_string(),
        "a TLS record was refused: a record of type 22 after the ServerHello"
    );
}

#[test]
fn a_plaintext_close_notify_or_ticket_after_the_handshake_is_refused() {
    let close_notify = failure_after_greeting(After::Inject(&[21, 3, 3, 0, 2, 1, 0]));
    assert_eq!(
        close_notify,
        TlsFailure::Record(RecordError::UnexpectedType {
            content_type: 21,
            after_server_hello: true
        })
    );
    let ticket = failure_after_greeting(After::Inject(&[22, 3, 3, 0, 4, 4, 0, 0, 0]));
    assert_eq!(
        ticket,
        TlsFailure::Record(RecordError::UnexpectedType {
            content_type: 22,
            after_server_hello: true
        })
    );
}

#[test]
fn an_empty_or_oversized_encrypted_record_is_refused() {
    // Only the 16-byte tag: embedded-tls alone panics on its empty plaintext.
    let mut empty = vec![23, 3, 3, 0, 16];
    empty.extend_from_slice(&[0u8; 16]);
    let empty: &'static [u8] = empty.leak();
    assert_eq!(
        failure_after_greeting(After::Inject(empty)),
        TlsFailure::Record(RecordError::Length {
            content_type: 23,
            len: 16
        })
    );
    assert_eq!(
        failure_after_greeting(After::Inject(&[23, 3, 3, 0xff, 0xff])),
        TlsFailure::Record(RecordError::Length {
            content_type: 23,
            len: 65_535
        })
    );
}

#[test]
fn a_read_that_fails_in_the_middle_of_a_record_fails_the_stream_for_good() {
    // embedded-tls alone would read the next "header" from the middle of the
    // record and panic on a slice range; the stream never calls it again.
    let failure = failure_after_greeting(After::HalfRecord);
    assert!(
        // A std socket's read time-out: `WouldBlock` on Linux, which the
        // adapter passes on as `Other`.
        matches!(failure, TlsFailure::Tls(embedded_tls::TlsError::Io(_))),
        "{failure:?}"
    );
    assert!(failure.is_transient());
}

#[test]
fn a_key_update_is_a_typed_transient_failure() {
    let failure = failure_after_greeting(After::KeyUpdate);
    assert_eq!(failure, TlsFailure::KeyUpdate);
    assert!(failure.is_transient());
    // Through the client: the session ends with a transient error, no panic.
    let (port, server) = guard_server(After::KeyUpdate);
    let anchors = root();
    let connector = connector(&anchors);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let config =
        Config::new(Domain::try_new("client.test").unwrap()).with_security(Security::Implicit);
    let mut client: Client<'_, _, 4, _> = client(
        dial(port),
        connector,
        config,
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    )
    .unwrap();
    let e = client.connect().unwrap_err();
    assert!(
        matches!(e, Error::Io(StreamError::Tls(TlsFailure::KeyUpdate))),
        "{e:?}"
    );
    assert!(e.is_transient());
    drop(client);
    server.join().unwrap();
}

/// The async stream over a blocking std socket (each call completes at once).
#[cfg(feature = "async")]
struct AsyncStd(Untimed<FromStd<TcpStream>>);

#[cfg(feature = "async")]
impl ErrorType for AsyncStd {
    type Error = std::io::Error;
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for AsyncStd {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        self.0.read(buf)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for AsyncStd {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        self.0.write(buf)
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        self.0.flush()
    }
}

#[cfg(feature = "async")]
fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..1_000_000 {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the future never finished");
}

#[cfg(feature = "async")]
#[test]
fn the_async_stream_refuses_the_same_records_and_stays_failed() {
    use embedded_io_async::{Read as _, Write as _};
    use embedded_smtp::tls::asynch::TlsStream as AsyncTlsStream;
    let cases: [(After, TlsFailure); 3] = [
        (
            After::Inject(&[
                0x16, 0x03, 0x03, 0x00, 0x06, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00,
            ]),
            TlsFailure::Record(RecordError::UnexpectedType {
                content_type: 22,
                after_server_hello: true,
            }),
        ),
        (
            After::Inject(&[23, 3, 3, 0xff, 0xff]),
            TlsFailure::Record(RecordError::Length {
                content_type: 23,
                len: 65_535,
            }),
        ),
        (After::KeyUpdate, TlsFailure::KeyUpdate),
    ];
    for (after, expected) in cases {
        let (port, server) = guard_server(after);
        let anchors = root();
        let mut connector = connector(&anchors);
        let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        block_on(async {
            let mut stream =
                AsyncTlsStream::open(AsyncStd(dial(port)), &mut read, &mut write, &mut connector)
                    .await
                    .unwrap();
            let mut buf = [0u8; 64];
            let n = stream.read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"220 test ESMTP\r\n");
            assert_eq!(failure_of(stream.read(&mut buf).await), expected);
            assert_eq!(failure_of(stream.read(&mut buf).await), expected);
            assert_eq!(failure_of(stream.write(b"QUIT\r\n").await), expected);
            assert_eq!(stream.close().await, Err(expected));
        });
        server.join().unwrap();
    }
}

/// An async socket whose reads hang (stay pending for ever) once `stall` is set.
#[cfg(feature = "async")]
struct Stalling<'s> {
    inner: AsyncStd,
    stall: &'s std::cell::Cell<bool>,
}

#[cfg(feature = "async")]
impl ErrorType for Stalling<'_> {
    type Error = std::io::Error;
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Stalling<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, std::io::Error> {
        if self.stall.get() {
            core::future::pending::<()>().await;
        }
        embedded_io_async::Read::read(&mut self.inner, buf).await
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Stalling<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, std::io::Error> {
        embedded_io_async::Write::write(&mut self.inner, buf).await
    }

    async fn flush(&mut self) -> Result<(), std::io::Error> {
        embedded_io_async::Write::flush(&mut self.inner).await
    }
}

#[cfg(feature = "async")]
#[test]
fn a_cancelled_async_read_fails_the_stream_for_good() {
    use core::future::Future as _;
    use embedded_io_async::{Read as _, Write as _};
    use embedded_smtp::tls::asynch::TlsStream as AsyncTlsStream;
    let (port, server) = guard_server(After::KeyUpdate);
    let anchors = root();
    let mut connector = connector(&anchors);
    let (mut read, mut write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let stall = std::cell::Cell::new(false);
    let socket = Stalling {
        inner: AsyncStd(dial(port)),
        stall: &stall,
    };
    let mut stream = block_on(AsyncTlsStream::open(
        socket,
        &mut read,
        &mut write,
        &mut connector,
    ))
    .unwrap();
    let mut buf = [0u8; 64];
    let n = block_on(stream.read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"220 test ESMTP\r\n");
    // A time limit drops the read while it waits for the socket.
    stall.set(true);
    {
        let mut read = std::pin::pin!(stream.read(&mut buf));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(read.as_mut().poll(&mut cx).is_pending());
    }
    stall.set(false);
    for _ in 0..2 {
        assert_eq!(
            failure_of(block_on(stream.read(&mut buf))),
            TlsFailure::Interrupted
        );
        assert_eq!(
            failure_of(block_on(stream.write(b"QUIT\r\n"))),
            TlsFailure::Interrupted
        );
    }
    assert_eq!(block_on(stream.close()), Err(TlsFailure::Interrupted));
    server.join().unwrap();
}
