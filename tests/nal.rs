//! The `nal` adapter: a fake embedded-nal stack (scripted server, `WouldBlock`
//! answers, partial reads and writes, a simulated clock) under the real blocking
//! client, and std-embedded-nal against a `TcpListener` on 127.0.0.1.
#![cfg(feature = "nal")]

mod common;

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use common::{MODES, Mode, Scripted, script};
use embedded_io::{ErrorKind, Read, Write};
use embedded_nal::{AddrType, TcpClientStack, TcpErrorKind, nb};
use embedded_smtp::blocking::Client;
use embedded_smtp::engine::{Config, Stage};
use embedded_smtp::message::RawMessage;
use embedded_smtp::nal::{
    self, ConnectError, FromNal, Interest, TimedOut, Wait, Waiting, ZeroRead,
};
use embedded_smtp::{Address, Credentials, Domain, Error};

// ---------------------------------------------------------------- the fake --

/// The fake stack's error.
#[derive(Debug, Clone, Copy, PartialEq)]
struct FakeError(TcpErrorKind);

impl embedded_nal::TcpError for FakeError {
    fn kind(&self) -> TcpErrorKind {
        self.0
    }
}

/// What the fake stack does with `Ok(0)`-worthy situations and end of script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quirk {
    /// Standard: `WouldBlock` when nothing is there, `Ok(0)` at end of stream.
    Standard,
    /// smoltcp-nal style: `Ok(0)` when nothing is there, `PipeClosed` at end of stream.
    ZeroForNothing,
}

/// An embedded-nal stack whose one socket plays a transcript. Before every
/// successful `send`/`receive`/`connect` it answers `WouldBlock` a number of
/// times taken in turn from `blocks`. Once the script is played to the end
/// (without a `CLOSE`) the server goes silent: every `receive` blocks.
struct FakeStack {
    server: Scripted,
    blocks: Vec<u32>,
    next: usize,
    pending: Option<u32>,
    quirk: Quirk,
    /// `WouldBlock` (or "nothing yet") answers given.
    would_blocks: usize,
    /// The most bytes one `send` takes.
    max_send: usize,
    sockets_open: usize,
}

impl FakeStack {
    fn new(server: Scripted, blocks: &[u32]) -> Self {
        FakeStack {
            server,
            blocks: blocks.to_vec(),
            next: 0,
            pending: None,
            quirk: Quirk::Standard,
            would_blocks: 0,
            max_send: usize::MAX,
            sockets_open: 0,
        }
    }

    /// Whether this call must block first (counting down the current quota).
    fn block(&mut self) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let left = self.pending.get_or_insert_with(|| {
            let b = self.blocks[self.next % self.blocks.len()];
            self.next += 1;
            b
        });
        if *left == 0 {
            self.pending = None;
            false
        } else {
            *left -= 1;
            self.would_blocks += 1;
            true
        }
    }

    fn nothing<T>(&mut self) -> nb::Result<T, FakeError>
    where
        T: Default,
    {
        self.would_blocks += 1;
        match self.quirk {
            Quirk::Standard => Err(nb::Error::WouldBlock),
            Quirk::ZeroForNothing => Ok(T::default()),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct FakeSocket(u32);

impl TcpClientStack for FakeStack {
    type TcpSocket = FakeSocket;
    type Error = FakeError;

    fn socket(&mut self) -> Result<FakeSocket, FakeError> {
        self.sockets_open += 1;
        Ok(FakeSocket(7))
    }

    fn connect(&mut self, _: &mut FakeSocket, remote: SocketAddr) -> nb::Result<(), FakeError> {
        if remote.port() == 1 {
            return Err(nb::Error::Other(FakeError(TcpErrorKind::Other)));
        }
        if remote.port() == 2 || self.block() {
            self.would_blocks += usize::from(remote.port() == 2);
            return Err(nb::Error::WouldBlock);
        }
        Ok(())
    }

    fn send(&mut self, _: &mut FakeSocket, buffer: &[u8]) -> nb::Result<usize, FakeError> {
        if self.block() {
            return Err(nb::Error::WouldBlock);
        }
        let n = buffer.len().min(self.max_send);
        self.server
            .write(&buffer[..n])
            .map_err(|_| nb::Error::Other(FakeError(TcpErrorKind::PipeClosed)))
    }

    fn receive(&mut self, _: &mut FakeSocket, buffer: &mut [u8]) -> nb::Result<usize, FakeError> {
        if self.server.finished() {
            return self.nothing();
        }
        if self.block() {
            return Err(nb::Error::WouldBlock);
        }
        match self.server.read(buffer) {
            Ok(0) if self.quirk == Quirk::ZeroForNothing => {
                Err(nb::Error::Other(FakeError(TcpErrorKind::PipeClosed)))
            }
            Ok(n) => Ok(n),
            Err(_) => Err(nb::Error::Other(FakeError(TcpErrorKind::Other))),
        }
    }

    fn close(&mut self, socket: FakeSocket) -> Result<(), FakeError> {
        assert_eq!(socket, FakeSocket(7));
        self.sockets_open -= 1;
        Ok(())
    }
}

/// A resolver that blocks `blocks` times, then answers 192.0.2.25 for
/// `mail.example` and fails for anything else.
struct FakeDns {
    blocks: u32,
    asked: Vec<String>,
}

impl embedded_nal::Dns for FakeDns {
    type Error = &'static str;

    fn get_host_by_name(&mut self, host: &str, t: AddrType) -> nb::Result<IpAddr, &'static str> {
        assert_eq!(t, AddrType::Either);
        self.asked.push(host.to_string());
        if self.blocks > 0 {
            self.blocks -= 1;
            return Err(nb::Error::WouldBlock);
        }
        match host {
            "mail.example" => Ok(IpAddr::from([192, 0, 2, 25])),
            _ => Err(nb::Error::Other("NXDOMAIN")),
        }
    }

    fn get_host_by_address(&mut self, _: IpAddr, _: &mut [u8]) -> nb::Result<usize, &'static str> {
        Err(nb::Error::Other("unsupported"))
    }
}

/// A wait hook on a simulated clock: every wait "takes" `step`; every call is
/// recorded. No real time passes.
#[derive(Clone)]
struct Clock {
    step: Duration,
    log: Rc<RefCell<Vec<Waiting>>>,
    give_up_after: Option<usize>,
}

impl Clock {
    fn new(step: Duration) -> Self {
        Clock {
            step,
            log: Rc::default(),
            give_up_after: None,
        }
    }

    fn waits(&self) -> Vec<Waiting> {
        self.log.borrow().clone()
    }
}

impl Wait<FakeStack> for Clock {
    fn wait(
        &mut self,
        _: &mut FakeStack,
        socket: Option<&FakeSocket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut> {
        assert_eq!(socket.is_none(), waiting.interest == Interest::Resolve);
        assert_ne!(waiting.remaining, Some(Duration::ZERO));
        self.log.borrow_mut().push(waiting);
        if self.give_up_after == Some(self.log.borrow().len()) {
            return Err(TimedOut);
        }
        Ok(self.step)
    }
}

type Stream = FromNal<FakeStack, Clock>;
type E = Error<nal::Error<FakeError>>;

fn stream(text: &str, mode: Mode, blocks: &[u32], clock: &Clock) -> Stream {
    let mut stack = FakeStack::new(Scripted::new(script(text), mode), blocks);
    stack.sockets_open = 1;
    FromNal::new(stack, FakeSocket(7), clock.clone())
}

fn config() -> Config<'static> {
    Config::new(Domain::try_new("client.example").unwrap())
}

fn addr(s: &str) -> Address<'_> {
    Address::try_new(s).unwrap()
}

const SESSION: &str = "
    S: 220 mx.example.net ESMTP ready
    C: EHLO client.example
    S: 250-mx.example.net
    S: 250-PIPELINING
    S: 250 AUTH LOGIN PLAIN
    C: AUTH PLAIN AGFsZXJ0QGV4YW1wbGUuY29tAHMzY3JldC1jb2Rl
    S: 235 2.7.0 Authentication successful
    C: MAIL FROM:<alert@example.com>
    C: RCPT TO:<ops@example.com>
    C: DATA
    S: 250 2.1.0 Ok
    S: 250 2.1.5 Ok
    S: 354 go ahead
    C: Subject: alarm
    C:
    C: Door 3 opened.
    C: .
    S: 250 2.0.0 Ok: queued as 4F2A
    C: QUIT
    S: 221 2.0.0 Bye";

/// Connect, send one message, quit, through the adapter.
fn session(client: &mut Client<'_, Stream>) -> Result<(usize, u16), E> {
    client.connect()?;
    let report = client.send_raw(
        addr("alert@example.com"),
        [addr("ops@example.com")],
        &mut RawMessage::new(b"Subject: alarm\r\n\r\nDoor 3 opened.\r\n"),
    )?;
    let seen = (report.accepted(), report.reply().unwrap().code.get());
    client.quit()?;
    Ok(seen)
}

// ---------------------------------------------------------------- the tests --

#[test]
fn whole_session_through_would_blocks_and_partial_io() {
    let creds = Credentials::try_new("alert@example.com", "s3cret-code").unwrap();
    let cfg = config().with_credentials(creds).allow_plaintext_auth();
    for mode in MODES {
        for blocks in [&[][..], &[1], &[3, 0, 1], &[0, 0, 5]] {
            let clock = Clock::new(Duration::from_millis(1));
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let s = stream(SESSION, mode, blocks, &clock);
            let mut client: Client<'_, Stream> = Client::new(s, cfg, &mut rx, &mut tx).unwrap();
            assert_eq!(session(&mut client), Ok((1, 250)), "{mode:?} {blocks:?}");
            let stack = client.into_inner().close().unwrap();
            stack.server.assert_finished();
            assert_eq!(stack.sockets_open, 0);
            // Every WouldBlock was answered by exactly one wait, none by spinning.
            let waits = clock.waits();
            assert_eq!(waits.len(), stack.would_blocks, "{mode:?} {blocks:?}");
            if blocks.iter().any(|&b| b > 0) {
                assert!(!waits.is_empty());
            }
            // Each wait is charged 1 ms against the limit of its stage (RFC 5321
            // §4.5.3.2: 2, 3, 5 or 10 minutes), which the reads and writes of one
            // wait share: what is left is a whole limit less a few milliseconds.
            for w in &waits {
                assert!(matches!(w.interest, Interest::Read | Interest::Write));
                let left = w.remaining.unwrap();
                assert!(
                    [120, 180, 300, 600].iter().any(|&l| {
                        let l = Duration::from_secs(l);
                        l >= left && l - left < Duration::from_secs(1)
                    }),
                    "{w:?}"
                );
            }
        }
    }
}

#[test]
fn partial_reads_and_writes_pass_through() {
    let clock = Clock::new(Duration::from_millis(1));
    let mut s = stream("C: HELLO WORLD\n S: 250 ok", Mode::Whole, &[2], &clock);
    s.inner_mut().max_send = 4;
    // A write blocks twice, then the stack takes 4 bytes: write reports 4.
    assert_eq!(s.write(b"HELLO WORLD\r\n"), Ok(4));
    assert_eq!(s.write(b"O WORLD\r\n"), Ok(4));
    assert_eq!(s.write(b"RLD\r\n"), Ok(4));
    assert_eq!(s.write(b"\n"), Ok(1));
    s.flush().unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.read(&mut buf), Ok(4));
    assert_eq!(&buf, b"250 ");
    let mut rest = [0u8; 16];
    assert_eq!(s.read(&mut rest), Ok(4));
    assert_eq!(&rest[..4], b"ok\r\n");
    // Empty buffers return at once without touching the stack.
    assert_eq!(s.read(&mut []), Ok(0));
    assert_eq!(s.write(&[]), Ok(0));
    let waits = clock.waits();
    assert_eq!(waits.len(), 12);
    assert_eq!(
        waits
            .iter()
            .map(|w| (w.interest, w.attempt))
            .collect::<Vec<_>>(),
        [
            (Interest::Write, 0),
            (Interest::Write, 1),
            (Interest::Write, 0),
            (Interest::Write, 1),
            (Interest::Write, 0),
            (Interest::Write, 1),
            (Interest::Write, 0),
            (Interest::Write, 1),
            (Interest::Read, 0),
            (Interest::Read, 1),
            (Interest::Read, 0),
            (Interest::Read, 1),
        ]
    );
    assert!(waits.iter().all(|w| w.remaining.is_none()));
    let (stack, socket, _) = s.into_inner();
    assert_eq!(socket, FakeSocket(7));
    stack.server.assert_finished();
}

/// The server goes silent at `text`'s end: the adapter must fail after `limit`
/// of simulated waiting, and the client must say which stage timed out.
fn stall(text: &str, cfg: Config<'static>, step: Duration) -> (E, Vec<Waiting>) {
    let clock = Clock::new(step);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let s = stream(text, Mode::Whole, &[], &clock);
    let mut client: Client<'_, Stream> = Client::new(s, cfg, &mut rx, &mut tx).unwrap();
    let err = match client.connect() {
        Err(e) => e,
        Ok(()) => client
            .send_raw(
                addr("alert@example.com"),
                [addr("ops@example.com")],
                &mut RawMessage::new(b"Subject: x\r\n\r\ny\r\n"),
            )
            .unwrap_err(),
    };
    client.into_inner().inner().server.assert_finished();
    (err, clock.waits())
}

#[test]
fn silent_greeting_times_out_after_the_rfc_limit() {
    // RFC 5321 §4.5.3.2.1: 5 minutes for the greeting; each simulated wait is 1 min.
    let (err, waits) = stall("", config(), Duration::from_secs(60));
    assert_eq!(
        err,
        Error::TimedOut {
            stage: Stage::Greeting
        }
    );
    assert_eq!(
        err.to_string(),
        "greeting: the server did not answer in time"
    );
    assert!(err.is_transient());
    let remaining: Vec<_> = waits
        .iter()
        .map(|w| w.remaining.unwrap().as_secs())
        .collect();
    assert_eq!(remaining, [300, 240, 180, 120, 60]);
    assert!(waits.iter().all(|w| w.interest == Interest::Read));
    assert_eq!(
        waits.iter().map(|w| w.attempt).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
}

#[test]
fn silent_rcpt_times_out_with_its_stage_and_the_configured_limit() {
    let text = "
        S: 220 mx ready
        C: EHLO client.example
        S: 250 mx
        C: MAIL FROM:<alert@example.com>
        S: 250 ok
        C: RCPT TO:<ops@example.com>";
    let cfg = config().with_timeout(Duration::from_secs(10));
    let (err, waits) = stall(text, cfg, Duration::from_secs(3));
    assert_eq!(err, Error::TimedOut { stage: Stage::Rcpt });
    // 10 s in waits of 3 s: 10, 7, 4, 1 left; the fourth wait uses it up.
    let remaining: Vec<_> = waits
        .iter()
        .map(|w| w.remaining.unwrap().as_secs())
        .collect();
    assert_eq!(remaining, [10, 7, 4, 1]);
}

#[test]
fn silent_end_of_data_times_out_pipelined() {
    let text = "
        S: 220 mx ready
        C: EHLO client.example
        S: 250-mx
        S: 250 PIPELINING
        C: MAIL FROM:<alert@example.com>
        C: RCPT TO:<ops@example.com>
        C: DATA
        S: 250 ok
        S: 250 ok
        S: 354 go
        C: Subject: x
        C:
        C: y
        C: .";
    let cfg = config().with_timeout(Duration::from_secs(2));
    let (err, waits) = stall(text, cfg, Duration::from_secs(1));
    assert_eq!(
        err,
        Error::TimedOut {
            stage: Stage::EndOfData
        }
    );
    assert_eq!(waits.len(), 2);
}

#[test]
fn a_hook_that_gives_up_is_a_time_out() {
    let mut clock = Clock::new(Duration::ZERO);
    clock.give_up_after = Some(3);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let s = stream("", Mode::Whole, &[], &clock);
    // A clock that charges nothing: the greeting's limit never runs out, so only
    // the hook can end the wait.
    let mut client: Client<'_, Stream> = Client::new(s, config(), &mut rx, &mut tx).unwrap();
    assert_eq!(
        client.connect(),
        Err(Error::TimedOut {
            stage: Stage::Greeting
        })
    );
    assert_eq!(clock.waits().len(), 3);
    assert!(
        clock
            .waits()
            .iter()
            .all(|w| w.remaining == Some(embedded_smtp::limits::TIMEOUT_GREETING))
    );
}

#[test]
fn end_of_stream_and_zero_reads() {
    // Standard stack: Ok(0) is the end of the stream; the client reports Closed.
    let clock = Clock::new(Duration::from_millis(1));
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let s = stream("S! 220 mx\n CLOSE", Mode::Whole, &[1], &clock);
    let mut client: Client<'_, Stream> = Client::new(s, config(), &mut rx, &mut tx).unwrap();
    assert_eq!(
        client.connect(),
        Err(Error::Closed {
            stage: Stage::Greeting
        })
    );

    // smoltcp-nal style: Ok(0) means "nothing yet" and the end comes as PipeClosed,
    // which the adapter turns into the end of the stream.
    for zero in [ZeroRead::WouldBlock, ZeroRead::EndOfStream] {
        let clock = Clock::new(Duration::from_millis(1));
        let mut s = stream("S: 220 mx\n CLOSE", Mode::Bytewise, &[], &clock).with_zero_read(zero);
        s.inner_mut().quirk = Quirk::ZeroForNothing;
        let mut buf = [0u8; 16];
        let mut got = Vec::new();
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, b"220 mx\r\n");
        assert!(clock.waits().is_empty());
    }

    // With ZeroRead::WouldBlock, a silent smoltcp-style stack is waited on, not
    // taken for the end of the stream.
    let mut clock = Clock::new(Duration::from_secs(1));
    clock.give_up_after = None;
    let mut s = stream("", Mode::Whole, &[], &clock).with_zero_read(ZeroRead::WouldBlock);
    s.inner_mut().quirk = Quirk::ZeroForNothing;
    embedded_smtp::blocking::Deadline::start_wait(&mut s, Some(Duration::from_secs(4)));
    assert_eq!(s.timeout(), Some(Duration::from_secs(4)));
    let err = s.read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err, nal::Error::TimedOut);
    assert_eq!(embedded_io::Error::kind(&err), ErrorKind::TimedOut);
    assert_eq!(clock.waits().len(), 4);
}

#[test]
fn write_to_a_closed_pipe_is_broken_pipe() {
    let clock = Clock::new(Duration::from_millis(1));
    let mut s = stream("CLOSE", Mode::Whole, &[], &clock);
    let err = s.write(b"QUIT\r\n").unwrap_err();
    assert_eq!(err, nal::Error::Stack(FakeError(TcpErrorKind::PipeClosed)));
    assert_eq!(embedded_io::Error::kind(&err), ErrorKind::BrokenPipe);
    assert_eq!(
        err.to_string(),
        "network stack error: FakeError(PipeClosed)"
    );
}

fn fake_stack(blocks: &[u32]) -> FakeStack {
    FakeStack::new(Scripted::new(script("S: 220 mx"), Mode::Whole), blocks)
}

#[test]
fn connect_resolves_and_waits() {
    let clock = Clock::new(Duration::from_secs(1));
    let mut dns = FakeDns {
        blocks: 2,
        asked: vec![],
    };
    let s = nal::connect(
        fake_stack(&[3]),
        &mut dns,
        "mail.example",
        25,
        clock.clone(),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dns.asked, ["mail.example"; 3]);
    let kinds: Vec<_> = clock
        .waits()
        .iter()
        .map(|w| (w.interest, w.attempt))
        .collect();
    assert_eq!(
        kinds,
        [
            (Interest::Resolve, 0),
            (Interest::Resolve, 1),
            (Interest::Connect, 0),
            (Interest::Connect, 1),
            (Interest::Connect, 2),
        ]
    );
    assert_eq!(s.timeout(), None);
    assert_eq!(s.inner().sockets_open, 1);
}

#[test]
fn connect_to_an_address_literal_skips_the_resolver() {
    let clock = Clock::new(Duration::from_secs(1));
    let mut dns = FakeDns {
        blocks: 0,
        asked: vec![],
    };
    for host in ["192.0.2.1", "[2001:db8::1]", "2001:db8::1"] {
        nal::connect(fake_stack(&[]), &mut dns, host, 25, clock.clone(), None).unwrap();
    }
    assert!(dns.asked.is_empty());
    assert!(clock.waits().is_empty());
}

#[test]
fn connect_failures() {
    let clock = Clock::new(Duration::from_secs(1));
    let mut dns = FakeDns {
        blocks: 0,
        asked: vec![],
    };
    let lim = Some(Duration::from_secs(5));
    let e = nal::connect(
        fake_stack(&[]),
        &mut dns,
        "nx.example",
        25,
        clock.clone(),
        lim,
    )
    .err()
    .unwrap();
    assert_eq!(e, ConnectError::Resolve("NXDOMAIN"));
    assert_eq!(e.to_string(), "cannot resolve the host name: \"NXDOMAIN\"");

    // Port 1: the fake stack refuses; the socket is closed again.
    let e = nal::connect(
        fake_stack(&[]),
        &mut dns,
        "192.0.2.1",
        1,
        clock.clone(),
        lim,
    )
    .err()
    .unwrap();
    assert_eq!(e, ConnectError::Connect(FakeError(TcpErrorKind::Other)));

    // Port 2: never connects; 5 s in waits of 1 s.
    let e = nal::connect(
        fake_stack(&[]),
        &mut dns,
        "192.0.2.1",
        2,
        clock.clone(),
        lim,
    )
    .err()
    .unwrap();
    assert_eq!(e, ConnectError::TimedOut);
    assert_eq!(e.to_string(), "connecting timed out");
    let left: Vec<_> = clock
        .waits()
        .iter()
        .map(|w| w.remaining.unwrap().as_secs())
        .collect();
    assert_eq!(left, [5, 4, 3, 2, 1]);

    // The resolver's wait counts against the same limit.
    let clock = Clock::new(Duration::from_secs(2));
    let mut slow = FakeDns {
        blocks: 10,
        asked: vec![],
    };
    let e = nal::connect(
        fake_stack(&[]),
        &mut slow,
        "mail.example",
        25,
        clock.clone(),
        lim,
    )
    .err()
    .unwrap();
    assert_eq!(e, ConnectError::TimedOut);
    assert_eq!(slow.asked.len(), 4);
}

// ---------------------------------------------------- std-embedded-nal, real TCP --

#[cfg(feature = "std")]
mod std_stack {
    use std::io::{BufRead, BufReader, Write as _};
    use std::net::TcpListener;
    use std::time::Duration;

    use embedded_smtp::blocking::Client;
    use embedded_smtp::engine::Stage;
    use embedded_smtp::message::RawMessage;
    use embedded_smtp::nal::{self, Backoff};
    use embedded_smtp::{Error, Mailbox};

    use super::{addr, config};

    /// A one-connection SMTP peer on 127.0.0.1 that answers a fixed dialogue and
    /// returns every line the client sent.
    fn peer(replies: &'static [&'static str]) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut w = sock.try_clone().unwrap();
            let mut r = BufReader::new(sock);
            let mut lines = Vec::new();
            let mut replies = replies.iter();
            w.write_all(b"220 loopback ready\r\n").unwrap();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                lines.push(line.clone());
                if in_data && line != ".\r\n" {
                    continue;
                }
                let reply = replies.next().expect("no reply left");
                in_data = reply.starts_with("354");
                w.write_all(reply.as_bytes()).unwrap();
                w.write_all(b"\r\n").unwrap();
                if reply.starts_with("221") {
                    break;
                }
            }
            lines
        });
        (port, h)
    }

    #[test]
    fn sends_over_loopback_tcp() {
        let (port, server) = peer(&[
            "250-loopback\r\n250 8BITMIME",
            "250 sender ok",
            "250 rcpt ok",
            "354 go",
            "250 queued as 1",
            "221 bye",
        ]);
        let mut dns = std_embedded_nal::Stack;
        let stream = nal::connect(
            std_embedded_nal::Stack,
            &mut dns,
            "127.0.0.1",
            port,
            Backoff::default(),
            Some(Duration::from_secs(20)),
        )
        .unwrap();
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let mut client: Client<'_, _> = Client::new(stream, config(), &mut rx, &mut tx).unwrap();
        client.connect().unwrap();
        let from = Mailbox::parse("a@example.com").unwrap();
        let body = b"Subject: over nal\r\n\r\n.leading dot\r\nend\r\n";
        let r = client
            .send_raw(
                from.address(),
                [addr("b@example.com")],
                &mut RawMessage::new(body),
            )
            .unwrap();
        assert_eq!(r.accepted(), 1);
        assert_eq!(r.reply().unwrap().text_lossy(), "queued as 1");
        client.quit().unwrap();
        client.into_inner().close().unwrap();
        assert_eq!(
            server.join().unwrap(),
            [
                "EHLO client.example\r\n",
                "MAIL FROM:<a@example.com>\r\n",
                "RCPT TO:<b@example.com>\r\n",
                "DATA\r\n",
                "Subject: over nal\r\n",
                "\r\n",
                "..leading dot\r\n",
                "end\r\n",
                ".\r\n",
                "QUIT\r\n",
            ]
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_never_past_the_limit() {
        use embedded_smtp::nal::{Interest, Wait, Waiting};
        let mut b = Backoff::new(Duration::from_micros(100), Duration::from_micros(400));
        let mut stack = super::fake_stack(&[]);
        let ms = |us| Duration::from_micros(us);
        // (attempt, remaining) -> the sleep asked for (std sleeps at least that long).
        for (attempt, remaining, asked) in [
            (0, None, ms(100)),
            (1, None, ms(200)),
            (2, None, ms(400)),
            (30, None, ms(400)),
            (2, Some(ms(150)), ms(150)),
        ] {
            let w = Waiting::new(Interest::Read, attempt, remaining);
            let waited = b.wait(&mut stack, None, w).unwrap();
            assert!(
                waited >= asked,
                "{attempt} {remaining:?}: {waited:?} < {asked:?}"
            );
        }
    }

    #[test]
    fn backoff_yields_before_it_sleeps() {
        use embedded_smtp::nal::{Interest, Wait, Waiting};
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(50), ms(50)).with_spin(ms(2));
        let mut stack = super::fake_stack(&[]);
        let read = |attempt| Waiting::new(Interest::Read, attempt, None);
        // Within the spin a wait only yields: far shorter than the 50 ms sleep.
        assert!(b.wait(&mut stack, None, read(0)).unwrap() < ms(50));
        std::thread::sleep(ms(3));
        // Past the spin it sleeps.
        assert!(b.wait(&mut stack, None, read(1)).unwrap() >= ms(50));
        // A new operation (attempt 0) spins again.
        assert!(b.wait(&mut stack, None, read(0)).unwrap() < ms(50));
    }

    #[test]
    fn silent_server_times_out_over_loopback_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut dns = std_embedded_nal::Stack;
        let stream = nal::connect(
            std_embedded_nal::Stack,
            &mut dns,
            "127.0.0.1",
            port,
            Backoff::default(),
            None,
        )
        .unwrap();
        // Accepted by the kernel's backlog; nobody ever writes a greeting.
        let cfg = config().with_timeout(Duration::from_millis(200));
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let mut client: Client<'_, _> = Client::new(stream, cfg, &mut rx, &mut tx).unwrap();
        let err = client.connect().unwrap_err();
        assert!(
            matches!(
                err,
                Error::TimedOut {
                    stage: Stage::Greeting
                }
            ),
            "{err:?}"
        );
        drop(listener);
    }
}
