//! A full TLS session (implicit TLS and STARTTLS, with AUTH, a message and QUIT)
//! cut after every byte offset, in each direction, through both drivers.
//!
//! The session is first recorded against a rustls server run in memory, in the
//! same thread, with a client whose RNG is seeded: the client then sends the same
//! ClientHello every time, so the server's recorded bytes are a valid answer to
//! every replay, and each replay can stop at any byte. What is checked for each cut:
//! no panic; every failure is a typed, transient error (a cut connection is worth
//! retrying); and the message is reported sent exactly when the server's final
//! `250` reached the client whole (a server cut at or after the end of its record,
//! or a client cut after the whole end of data reached the server).
//!
//! The same machinery records the TLS session that the firmware footprint binary
//! replays under QEMU (`tests/firmware/data/implicit-tls.bin`, see
//! `firmware_recording::firmware_recording_still_replays`).
#![cfg(all(feature = "tls", feature = "async"))]

#[path = "common/rustls_server.rs"]
#[allow(dead_code)]
mod rustls_server;

/// The firmware's sessions (`tests/firmware/src/sessions.rs`), also run here.
#[path = "firmware/src/sessions.rs"]
#[allow(dead_code)]
mod fw;

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use embedded_io::{ErrorKind, ErrorType};
use embedded_smtp::message::RawMessage;
use embedded_smtp::tls::{Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::Verifier;
use embedded_smtp::{Address, Config, Credentials, Domain, Error, Security};

/// SHA-256 of leaf-ecdsa's SubjectPublicKeyInfo (`data/certs/spki-sha256.txt`).
const PIN: [u8; 32] = [
    0x36, 0xa3, 0x73, 0x4d, 0x88, 0x07, 0x45, 0x97, 0x31, 0x1f, 0xce, 0xb8, 0x5e, 0x21, 0xb4, 0x4a,
    0x37, 0xe4, 0xd0, 0x9d, 0x1d, 0xac, 0x9a, 0x10, 0xe8, 0x0b, 0xce, 0xcc, 0x56, 0x75, 0xb7, 0x17,
];

const MESSAGE: &[u8] = b"From: <alert@example.com>\r\nTo: <ops@example.com>\r\n\
Subject: door 3 opened\r\n\r\nDoor 3 opened at 02:14.\r\n.hidden dot line\r\n";

// ------------------------------------------------------ the recorded server --

/// What the server sent, in the pieces it sent them, each with the number of
/// client bytes it had received before sending it.
#[derive(Default, Clone)]
struct Recording {
    chunks: Vec<(usize, Vec<u8>)>,
    /// Everything the client sent.
    client: Vec<u8>,
    /// Server offset at which the record carrying the final `250` ends.
    final_250_end: usize,
    /// Client offset after which the server has the whole end of data.
    end_of_data_received: usize,
}

impl Recording {
    fn server_len(&self) -> usize {
        self.chunks.iter().map(|(_, c)| c.len()).sum()
    }
}

/// A tiny SMTP server over rustls in memory: it answers each client write at once.
struct Live {
    implicit: bool,
    tls: Option<rustls::ServerConnection>,
    config: Arc<rustls::ServerConfig>,
    lines: Vec<u8>,
    in_data: bool,
    rec: Recording,
    /// Every byte the server produced.
    out: Vec<u8>,
    /// How many of them the client has read.
    read: usize,
}

impl Live {
    fn new(implicit: bool) -> Self {
        Self::with_config(implicit, rustls_server::ecdsa_server())
    }

    fn with_config(implicit: bool, config: Arc<rustls::ServerConfig>) -> Self {
        let mut live = Live {
            implicit,
            tls: None,
            config,
            lines: vec![],
            in_data: false,
            rec: Recording::default(),
            out: vec![],
            read: 0,
        };
        if implicit {
            live.start_tls();
            live.say(b"220 mx ESMTP over TLS\r\n");
        } else {
            live.say(b"220 mx ESMTP\r\n");
        }
        live.ship();
        live
    }

    fn start_tls(&mut self) {
        self.tls = Some(rustls::ServerConnection::new(self.config.clone()).unwrap());
    }

    /// Queues a reply (encrypted when TLS is up).
    fn say(&mut self, text: &[u8]) {
        match &mut self.tls {
            Some(tls) => tls.writer().write_all(text).unwrap(),
            None => self.out.extend_from_slice(text),
        }
    }

    /// Records everything the server produced since the last chunk as one chunk.
    fn ship(&mut self) {
        if let Some(tls) = &mut self.tls {
            while tls.wants_write() {
                tls.write_tls(&mut self.out).unwrap();
            }
        }
        let shipped = self.rec.server_len();
        if self.out.len() > shipped {
            let fresh = self.out[shipped..].to_vec();
            self.rec.chunks.push((self.rec.client.len(), fresh));
        }
    }

    fn received(&mut self, bytes: &[u8]) {
        self.rec.client.extend_from_slice(bytes);
        let plain = match &mut self.tls {
            Some(tls) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    tls.read_tls(&mut rest).unwrap();
                    tls.process_new_packets().unwrap();
                }
                let mut plain = vec![];
                match tls.reader().read_to_end(&mut plain) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
                plain
            }
            None => bytes.to_vec(),
        };
        self.lines.extend_from_slice(&plain);
        while let Some(end) = self.lines.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.lines.drain(..end + 2).collect();
            self.line(&line[..end]);
        }
        self.ship();
    }

    fn line(&mut self, line: &[u8]) {
        if self.in_data {
            if line == b"." {
                self.in_data = false;
                self.rec.end_of_data_received = self.rec.client.len();
                self.say(b"250 2.0.0 queued as 7F3A\r\n");
                self.ship();
                self.rec.final_250_end = self.rec.server_len();
            }
            return;
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with(b"EHLO") {
            if self.tls.is_some() {
                self.say(b"250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n");
            } else {
                self.say(b"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
            }
        } else if upper == b"STARTTLS" && !self.implicit && self.tls.is_none() {
            self.say(b"220 2.0.0 go ahead\r\n");
            self.ship();
            self.start_tls();
        } else if upper.starts_with(b"AUTH PLAIN") {
            self.say(b"235 2.7.0 ok\r\n");
        } else if upper.starts_with(b"MAIL") || upper.starts_with(b"RCPT") {
            self.say(b"250 ok\r\n");
        } else if upper == b"DATA" {
            self.in_data = true;
            self.say(b"354 go\r\n");
        } else if upper == b"QUIT" {
            self.say(b"221 bye\r\n");
            if let Some(tls) = &mut self.tls {
                tls.send_close_notify();
            }
        } else {
            self.say(b"502 no\r\n");
        }
    }
}

// ------------------------------------------------------------ the streams --

/// The connection is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut;

impl core::fmt::Display for Cut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("connection cut")
    }
}

impl core::error::Error for Cut {}

impl embedded_io::Error for Cut {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ConnectionReset
    }
}

/// A recorded session played back, closed after `server_cut` bytes from the
/// server or `client_cut` bytes from the client.
struct Replay<'r> {
    rec: &'r Recording,
    server_cut: usize,
    client_cut: usize,
    read: usize,
    written: usize,
    /// The client saw the end of the stream before the recording ended.
    saw_cut: bool,
}

/// The stream under the client: the live server (recording) or a replay.
enum Wire<'r> {
    Live(Box<Live>),
    Replay(Replay<'r>),
}

impl Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        match self {
            Wire::Live(live) => {
                let n = (live.out.len() - live.read).min(buf.len());
                assert!(
                    n > 0 || live.rec.chunks.is_empty() || live.closed(),
                    "live server has nothing to say"
                );
                buf[..n].copy_from_slice(&live.out[live.read..live.read + n]);
                live.read += n;
                Ok(n)
            }
            Wire::Replay(r) => {
                // The server has what the client managed to send before any cut.
                let delivered = r.written.min(r.client_cut);
                let mut end = 0;
                let mut all = true;
                for (threshold, chunk) in &r.rec.chunks {
                    if *threshold > delivered {
                        all = false;
                        break;
                    }
                    end += chunk.len();
                }
                let end = end.min(r.server_cut);
                if r.read < end {
                    let n = (end - r.read).min(buf.len());
                    let start = r.read;
                    let mut copied = 0;
                    let mut at = 0;
                    for (_, chunk) in &r.rec.chunks {
                        for &b in chunk {
                            if at >= start && copied < n {
                                buf[copied] = b;
                                copied += 1;
                            }
                            at += 1;
                        }
                        if copied == n {
                            break;
                        }
                    }
                    r.read += n;
                    return Ok(n);
                }
                let cut = r.read >= r.server_cut || r.written >= r.client_cut;
                assert!(
                    cut || all,
                    "replay diverged: the client waits for an answer the server never gave"
                );
                r.saw_cut |= cut;
                Ok(0)
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        match self {
            Wire::Live(live) => {
                live.received(buf);
                Ok(buf.len())
            }
            Wire::Replay(r) => {
                if r.written >= r.client_cut {
                    return Err(Cut);
                }
                let n = buf.len().min(r.client_cut - r.written);
                // Until a cut, the client says exactly what it said when recorded.
                if !r.saw_cut {
                    let recorded = r.rec.client.get(r.written..r.written + n);
                    assert_eq!(
                        recorded,
                        Some(&buf[..n]),
                        "replay diverged at client byte {}",
                        r.written
                    );
                }
                r.written += n;
                Ok(n)
            }
        }
    }
}

impl Live {
    /// Whether the server ended the session (after QUIT).
    fn closed(&self) -> bool {
        self.read == self.out.len() && self.tls.as_ref().is_some_and(|t| !t.wants_write())
    }
}

/// A test double: the cut decides when it ends, not a clock.
impl embedded_smtp::blocking::Deadline for Wire<'_> {
    fn start_wait(&mut self, _: Option<core::time::Duration>) {}
}

impl ErrorType for Wire<'_> {
    type Error = Cut;
}

impl embedded_io::Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        Wire::read(self, buf)
    }
}

impl embedded_io::Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        Wire::write(self, buf)
    }

    fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}

impl embedded_io_async::Read for Wire<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Cut> {
        Wire::read(self, buf)
    }
}

impl embedded_io_async::Write for Wire<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Cut> {
        Wire::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Cut> {
        Ok(())
    }
}

// ------------------------------------------------------------ the session --

type SessionError = Error<embedded_smtp::tls::StreamError<Cut>>;

/// What one session gave: the result of sending the message, and of the rest.
struct Outcome {
    sent: Result<usize, SessionError>,
    quit: Result<(), SessionError>,
}

fn config(implicit: bool) -> Config<'static> {
    Config::new(Domain::try_new("sensor-7.example").unwrap())
        .with_security(if implicit {
            Security::Implicit
        } else {
            Security::StartTls
        })
        .with_credentials(Credentials::try_new("alert@example.com", "s3cret-code").unwrap())
}

fn addresses() -> (Address<'static>, [Address<'static>; 1]) {
    (
        Address::try_new("alert@example.com").unwrap(),
        [Address::try_new("ops@example.com").unwrap()],
    )
}

use fw::{SEED, Seeded};
static PINS: [[u8; 32]; 1] = [PIN];

fn connector() -> Connector<'static, Seeded> {
    Connector::new("localhost", Verifier::with_pins(&PINS), Seeded(SEED))
}

fn blocking_session(wire: &mut Wire<'_>, implicit: bool) -> Outcome {
    use embedded_smtp::tls::blocking::client;
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    let mut c = match client(
        wire,
        connector(),
        config(implicit),
        embedded_smtp::tls::Buffers {
            rx: &mut rx,
            tx: &mut tx,
            tls_read: &mut tls_read,
            tls_write: &mut tls_write,
        },
    ) {
        Ok(c) => c,
        Err(e) => return Outcome::failed(e),
    };
    let (from, to) = addresses();
    let sent = c
        .connect()
        .and_then(|()| c.send_raw(from, to, &mut RawMessage::new(MESSAGE)))
        .map(|report| report.accepted());
    let quit = match &sent {
        Ok(_) => c.quit(),
        Err(e) => Err(e.clone()),
    };
    Outcome { sent, quit }
}

fn async_session(wire: &mut Wire<'_>, implicit: bool) -> Outcome {
    use embedded_smtp::asynch::NoTimer;
    use embedded_smtp::tls::asynch::client;
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let (mut tls_read, mut tls_write) = (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
    block_on(async {
        let mut c = match client(
            wire,
            connector(),
            NoTimer,
            config(implicit),
            embedded_smtp::tls::Buffers {
                rx: &mut rx,
                tx: &mut tx,
                tls_read: &mut tls_read,
                tls_write: &mut tls_write,
            },
        ) {
            Ok(c) => c,
            Err(e) => return Outcome::failed(e),
        };
        let (from, to) = addresses();
        let sent = match c.connect().await {
            Ok(()) => c
                .send_raw(from, to, &mut RawMessage::new(MESSAGE))
                .await
                .map(|report| report.accepted()),
            Err(e) => Err(e),
        };
        let quit = match &sent {
            Ok(_) => c.quit().await,
            Err(e) => Err(e.clone()),
        };
        Outcome { sent, quit }
    })
}

impl Outcome {
    fn failed(e: SessionError) -> Self {
        Outcome {
            sent: Err(e.clone()),
            quit: Err(e),
        }
    }
}

/// Polls a future that never waits (every stream call here is ready at once).
fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        core::task::Poll::Ready(v) => v,
        core::task::Poll::Pending => panic!("a stream call was not ready"),
    }
}

type Driver = fn(&mut Wire<'_>, bool) -> Outcome;

/// Runs the session once against the live server and keeps what went over the wire.
fn record(implicit: bool) -> Recording {
    let mut wire = Wire::Live(Box::new(Live::new(implicit)));
    let outcome = blocking_session(&mut wire, implicit);
    assert_eq!(outcome.sent, Ok(1));
    assert_eq!(outcome.quit, Ok(()));
    let Wire::Live(live) = wire else {
        unreachable!()
    };
    assert!(live.rec.final_250_end > 0 && live.rec.end_of_data_received > 0);
    live.rec
}

/// Replays `rec` through `driver` cut at every server offset, then at every client
/// offset, checking each outcome; returns the number of runs.
fn cut_everywhere(rec: &Recording, implicit: bool, driver: Driver) -> usize {
    let (server_len, client_len) = (rec.server_len(), rec.client.len());
    // Uncut, the replay is the recorded session.
    let mut whole = Wire::Replay(Replay::new(rec, usize::MAX, usize::MAX));
    let outcome = driver(&mut whole, implicit);
    assert_eq!(outcome.sent, Ok(1));
    assert_eq!(outcome.quit, Ok(()));
    let Wire::Replay(r) = &whole else {
        unreachable!()
    };
    assert_eq!(r.written, client_len, "the replay says all the client said");

    let mut runs = 0;
    let cuts = (0..server_len)
        .map(|k| (k, usize::MAX))
        .chain((0..client_len).map(|k| (usize::MAX, k)));
    for (server_cut, client_cut) in cuts {
        let mut wire = Wire::Replay(Replay::new(rec, server_cut, client_cut));
        let outcome = driver(&mut wire, implicit);
        let at = if client_cut == usize::MAX {
            format!("server byte {server_cut} of {server_len}")
        } else {
            format!("client byte {client_cut} of {client_len}")
        };
        let complete = server_cut >= rec.final_250_end && client_cut >= rec.end_of_data_received;
        match &outcome.sent {
            Ok(accepted) => {
                assert!(complete, "reported sent, cut at {at}");
                assert_eq!(*accepted, 1);
            }
            Err(e) => {
                assert!(
                    !complete,
                    "not sent although the 250 arrived, cut at {at}: {e:?}"
                );
                assert!(e.is_transient(), "cut at {at}: not transient: {e:?} ({e})");
            }
        }
        if let Err(e) = &outcome.quit {
            assert!(e.is_transient(), "cut at {at}: QUIT: {e:?} ({e})");
        }
        runs += 1;
    }
    runs
}

impl<'r> Replay<'r> {
    fn new(rec: &'r Recording, server_cut: usize, client_cut: usize) -> Self {
        Replay {
            rec,
            server_cut,
            client_cut,
            read: 0,
            written: 0,
            saw_cut: false,
        }
    }
}

/// Records a session and replays it cut everywhere through `driver`.
fn cut_test(implicit: bool, driver: Driver) {
    let rec = record(implicit);
    let runs = cut_everywhere(&rec, implicit, driver);
    assert!(runs > 1000, "{runs}");
}

#[test]
fn implicit_tls_cut_at_every_byte_blocking() {
    cut_test(true, blocking_session);
}

#[test]
fn starttls_cut_at_every_byte_blocking() {
    cut_test(false, blocking_session);
}

#[test]
fn implicit_tls_cut_at_every_byte_async() {
    cut_test(true, async_session);
}

#[test]
fn starttls_cut_at_every_byte_async() {
    cut_test(false, async_session);
}

// ------------------------------------------------ the firmware's recording --
//
// The ClientHello is the same in every build (every signature scheme is offered,
// see `verify::tls_config`), so these run with any features: `tests/firmware/ci`
// runs them with the firmware's (`tls` only), `cargo test --all-features` with RSA.
mod firmware_recording {
    use super::*;

    /// Where the firmware footprint binary finds its recorded TLS server.
    const FIRMWARE_RECORDING: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/firmware/data/implicit-tls.bin"
    );

    /// The client's bytes (`u32` LE length, bytes), then the server's chunks, each
    /// as `u32` LE client-bytes threshold, `u32` LE length, bytes.
    fn encode(rec: &Recording) -> Vec<u8> {
        let mut out = vec![];
        out.extend_from_slice(&(rec.client.len() as u32).to_le_bytes());
        out.extend_from_slice(&rec.client);
        for (threshold, chunk) in &rec.chunks {
            out.extend_from_slice(&(*threshold as u32).to_le_bytes());
            out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        out
    }

    fn decode(mut bytes: &[u8]) -> Recording {
        let mut rec = Recording::default();
        let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        rec.client = bytes[4..4 + len].to_vec();
        bytes = &bytes[4 + len..];
        while !bytes.is_empty() {
            let threshold = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
            let len = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
            rec.chunks.push((threshold, bytes[8..8 + len].to_vec()));
            bytes = &bytes[8 + len..];
        }
        rec
    }

    /// Where the firmware finds its recorded RSA server (RSA-2048 leaf under an
    /// RSA-4096 intermediate, `rustls_server::rsa_server`).
    const FIRMWARE_RSA_RECORDING: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/firmware/data/implicit-tls-rsa.bin"
    );

    /// The firmware's TLS session against the in-memory rustls server, recorded.
    fn record_firmware_session(config: Arc<rustls::ServerConfig>) -> Recording {
        let mut wire = Wire::Live(Box::new(Live::with_config(true, config)));
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        let accepted = fw::tls_blocking(
            &mut wire,
            Verifier::danger_no_verify,
            &mut tls_read,
            &mut tls_write,
        );
        assert_eq!(accepted, Ok(2));
        let Wire::Live(live) = wire else {
            unreachable!()
        };
        live.rec
    }

    /// The recording the firmware replays still fits the client: the firmware's own
    /// session code, run here over the committed recording, completes with the chain
    /// verified (as `fp-tls-p256` does) and without (as `fp-tls` does). When the
    /// client's bytes change (any change in what it sends), this fails; make the
    /// recording again with
    /// `EMBEDDED_SMTP_RECORD=1 cargo test --features tls,async --test tls_cuts firmware_recording`.
    ///
    #[test]
    fn firmware_recording_still_replays() {
        if std::env::var_os("EMBEDDED_SMTP_RECORD").is_some() {
            let rec = record_firmware_session(rustls_server::ecdsa_server());
            std::fs::write(FIRMWARE_RECORDING, encode(&rec)).unwrap();
            let rec = record_firmware_session(rustls_server::rsa_server());
            std::fs::write(FIRMWARE_RSA_RECORDING, encode(&rec)).unwrap();
        }
        let bytes = std::fs::read(FIRMWARE_RECORDING).unwrap();
        let rec = decode(&bytes);
        assert_eq!(encode(&rec), bytes);
        let root =
            [
                embedded_smtp::verify::anchor_from_der(include_bytes!("data/certs/root-ca.der"))
                    .unwrap(),
            ];
        let verifiers = [
            Verifier::danger_no_verify(),
            Verifier::with_anchors(
                &root,
                embedded_smtp::verify::TimeSource::Now(fw::RECORDING_TIME),
            ),
        ];
        for verifier in verifiers {
            let mut wire = Wire::Replay(Replay::new(&rec, usize::MAX, usize::MAX));
            let (mut tls_read, mut tls_write) =
                (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
            let accepted = fw::tls_blocking(&mut wire, || verifier, &mut tls_read, &mut tls_write);
            assert_eq!(
                accepted,
                Ok(2),
                "the firmware's TLS recording no longer fits the client: make it again (see this test's docs)"
            );
        }
        check_rsa_recording();
        // A byte flipped in the server's first flight (its Finished) makes it fail.
        let mut broken = rec.clone();
        let chunk = &mut broken.chunks[0].1;
        let at = chunk.len() - 3;
        chunk[at] ^= 1;
        let mut wire = Wire::Replay(Replay::new(&broken, usize::MAX, usize::MAX));
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        assert!(
            fw::tls_blocking(
                &mut wire,
                Verifier::danger_no_verify,
                &mut tls_read,
                &mut tls_write
            )
            .is_err()
        );
    }

    /// The RSA recording replays with the chain verified when the build has
    /// `tls-rsa` (as the firmware's `fp-tls-rsa` does), and ends in the error that
    /// names the feature when it has not (as the firmware's `tls`-only session test
    /// checks); without verification it replays in every build.
    fn check_rsa_recording() {
        let bytes = std::fs::read(FIRMWARE_RSA_RECORDING).unwrap();
        let rec = decode(&bytes);
        assert_eq!(encode(&rec), bytes);
        let root =
            [
                embedded_smtp::verify::anchor_from_der(include_bytes!("data/certs/root-ca.der"))
                    .unwrap(),
            ];
        let run = |verifier| {
            let mut wire = Wire::Replay(Replay::new(&rec, usize::MAX, usize::MAX));
            let (mut tls_read, mut tls_write) =
                (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
            fw::tls_blocking(&mut wire, || verifier, &mut tls_read, &mut tls_write)
        };
        assert_eq!(run(Verifier::danger_no_verify()), Ok(2));
        let verified = run(Verifier::with_anchors(
            &root,
            embedded_smtp::verify::TimeSource::Now(fw::RECORDING_TIME),
        ));
        if cfg!(feature = "tls-rsa") {
            assert_eq!(
                verified,
                Ok(2),
                "the firmware's RSA recording no longer fits the client: make it again (see firmware_recording_still_replays)"
            );
        } else {
            use embedded_smtp::verify::{Algorithm, VerifyError};
            let Err(embedded_smtp::Error::Tls(embedded_smtp::tls::TlsFailure::Verify(e))) =
                verified
            else {
                panic!("{verified:?}");
            };
            assert_eq!(e, VerifyError::AlgorithmNotBuilt(Algorithm::Rsa));
        }
    }
}
