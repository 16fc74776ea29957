//! A scripted SMTP server as an `embedded_io` stream: `S:` lines are what the server
//! sends, `C:` lines what the client must send, byte for byte. Any deviation panics
//! with both sides shown, so a transcript test fails on the first wrong byte.
//!
//! Each script runs in three delivery modes: whole (reads get as much as fits),
//! bytewise (one byte per read, one byte per write) and fragmented (random read and
//! write sizes from a seeded generator).

#![allow(dead_code)]

#[cfg(feature = "std")]
pub mod peer;
pub mod responder;

use std::fmt::Write as _;
use std::vec::Vec;

/// One step of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Bytes the server sends.
    Server(Vec<u8>),
    /// Bytes the client must send.
    Client(Vec<u8>),
    /// The server closes the connection.
    Close,
    /// The transport fails: this read, and every later read and write, returns an
    /// error (a reset connection).
    Fail,
}

/// How reads and writes are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads return as much as the script and the buffer allow; writes take everything.
    Whole,
    /// One byte per read and per write.
    Bytewise,
    /// Random sizes from a xorshift generator with this seed.
    Fragmented(u64),
}

/// Every mode a transcript is run in.
pub const MODES: [Mode; 5] = [
    Mode::Whole,
    Mode::Bytewise,
    Mode::Fragmented(1),
    Mode::Fragmented(0x5eed),
    Mode::Fragmented(0xdead_beef),
];

/// Parses a transcript: lines `S: text` and `C: text` get CRLF appended; `S! text`
/// and `C! text` are sent without CRLF; `\xNN`, `\r`, `\n`, `\\` escapes are
/// decoded; a line `CLOSE` closes the connection, `FAIL` breaks it (reads and writes fail); blank lines and lines starting
/// with `#` are ignored. Consecutive lines of one side merge into one step.
pub fn script(text: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "CLOSE" {
            steps.push(Step::Close);
            continue;
        }
        if line == "FAIL" {
            steps.push(Step::Fail);
            continue;
        }
        let (side, crlf) = match &line[..2] {
            "S:" => ('S', true),
            "C:" => ('C', true),
            "S!" => ('S', false),
            "C!" => ('C', false),
            _ => panic!("bad script line: {raw:?}"),
        };
        let body = line[2..].strip_prefix(' ').unwrap_or(&line[2..]);
        let mut bytes = unescape(body);
        if crlf {
            bytes.extend_from_slice(b"\r\n");
        }
        match (side, steps.last_mut()) {
            ('S', Some(Step::Server(b))) | ('C', Some(Step::Client(b))) => {
                b.extend_from_slice(&bytes)
            }
            ('S', _) => steps.push(Step::Server(bytes)),
            _ => steps.push(Step::Client(bytes)),
        }
    }
    steps
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).expect("bad \\x escape"));
                    i += 2;
                }
                c => panic!("bad escape \\{}", c as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Shows bytes readably in failure messages.
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n\n"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s
}

/// The server side of a transcript as a stream.
pub struct Scripted {
    steps: Vec<Step>,
    step: usize,
    offset: usize,
    mode: Mode,
    rng: u64,
    /// Everything the client wrote, in order.
    pub written: Vec<u8>,
    /// Number of `read` calls that returned data.
    pub reads: usize,
    /// Number of times the client turned from writing to reading (round trips).
    pub waits: usize,
    /// Every deadline the blocking client started, in order.
    pub deadlines: Vec<Option<core::time::Duration>>,
    last_was_write: bool,
}

/// Errors of the scripted stream (only used after a `Close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("broken pipe")
    }
}

impl core::error::Error for Broken {}

impl embedded_io::Error for Broken {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::BrokenPipe
    }
}

impl Scripted {
    /// A stream playing `steps` in `mode`.
    pub fn new(steps: Vec<Step>, mode: Mode) -> Self {
        let rng = match mode {
            Mode::Fragmented(seed) => seed | 1,
            _ => 1,
        };
        Scripted {
            steps,
            step: 0,
            offset: 0,
            mode,
            rng,
            written: Vec::new(),
            reads: 0,
            waits: 0,
            deadlines: Vec::new(),
            last_was_write: false,
        }
    }

    fn next_rand(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    fn cut(&mut self, available: usize) -> usize {
        match self.mode {
            Mode::Whole => available,
            Mode::Bytewise => available.min(1),
            Mode::Fragmented(_) => 1 + (self.next_rand() as usize) % available.max(1),
        }
        .min(available)
    }

    /// Whether every step was played.
    pub fn finished(&self) -> bool {
        self.step >= self.steps.len()
    }

    /// Panics unless every step was played, up to a last `Close` or `Fail` (which
    /// never pass: the connection is over).
    pub fn assert_finished(&self) {
        let ended = matches!(self.steps.get(self.step), Some(Step::Close | Step::Fail))
            && self.step + 1 == self.steps.len();
        if !self.finished() && !ended {
            panic!(
                "script not finished: stopped at step {} ({:?}); client wrote:\n{}",
                self.step,
                self.steps.get(self.step).map(|s| match s {
                    Step::Server(b) | Step::Client(b) => show(&b[self.offset..]),
                    Step::Close => "CLOSE".into(),
                    Step::Fail => "FAIL".into(),
                }),
                show(&self.written)
            );
        }
    }

    fn advance(&mut self, n: usize, len: usize) {
        self.offset += n;
        if self.offset == len {
            self.step += 1;
            self.offset = 0;
        }
    }
}

impl embedded_smtp::blocking::Deadline for Scripted {
    fn start_wait(&mut self, limit: Option<core::time::Duration>) {
        self.deadlines.push(limit);
    }
}

impl embedded_io::ErrorType for Scripted {
    type Error = Broken;
}

impl embedded_io::Read for Scripted {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        if self.last_was_write {
            self.waits += 1;
            self.last_was_write = false;
        }
        match self.steps.get(self.step).cloned() {
            None | Some(Step::Close) => Ok(0),
            Some(Step::Fail) => Err(Broken),
            Some(Step::Client(expected)) => panic!(
                "client reads, but the script expects it to send:\n{}\nclient wrote so far:\n{}",
                show(&expected[self.offset..]),
                show(&self.written)
            ),
            Some(Step::Server(bytes)) => {
                if buf.is_empty() {
                    return Ok(0);
                }
                let rest = &bytes[self.offset..];
                let n = self.cut(rest.len().min(buf.len()));
                buf[..n].copy_from_slice(&rest[..n]);
                self.reads += 1;
                self.advance(n, bytes.len());
                Ok(n)
            }
        }
    }
}

impl embedded_io::Write for Scripted {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.last_was_write = true;
        match self.steps.get(self.step).cloned() {
            None => panic!("client sent after the end of the script:\n{}", show(buf)),
            Some(Step::Close | Step::Fail) => Err(Broken),
            Some(Step::Server(bytes)) => panic!(
                "client sent\n{}\nwhile the server was to send\n{}\nclient wrote so far:\n{}",
                show(buf),
                show(&bytes[self.offset..]),
                show(&self.written)
            ),
            Some(Step::Client(expected)) => {
                let rest = &expected[self.offset..];
                let n = self.cut(buf.len().min(rest.len()));
                if buf[..n] != rest[..n] {
                    panic!(
                        "client sent the wrong bytes.\nexpected:\n{}\ngot:\n{}\nclient wrote so far:\n{}",
                        show(rest),
                        show(&buf[..buf.len().min(rest.len() + 16)]),
                        show(&self.written)
                    );
                }
                self.written.extend_from_slice(&buf[..n]);
                self.advance(n, expected.len());
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Read for Scripted {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Broken> {
        embedded_io::Read::read(self, buf)
    }
}

#[cfg(feature = "async")]
impl embedded_io_async::Write for Scripted {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Broken> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Broken> {
        Ok(())
    }
}

/// Runs a future that never waits on anything outside itself (the scripted
/// stream is always ready) to completion.
pub fn block_on<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
    for _ in 0..1_000_000 {
        if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future did not complete: it waits on something the test does not drive");
}

/// Which client drives a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `blocking::Client`.
    Blocking,
    /// `asynch::Client` (feature `async`).
    #[cfg(feature = "async")]
    Async,
}

/// Every driver a transcript runs through.
pub const DRIVERS: &[Driver] = &[
    Driver::Blocking,
    #[cfg(feature = "async")]
    Driver::Async,
];

use embedded_smtp::engine::{Config, Engine, MailParams, Report};
use embedded_smtp::message::{BodySource, Message, RawMessage};
use embedded_smtp::{Address, Error};

/// The blocking or the async client over a scripted stream, with the same calls,
/// so one transcript test exercises both drivers.
pub enum AnyClient<'a> {
    /// The blocking client.
    Blocking(embedded_smtp::blocking::Client<'a, Scripted, 4>),
    /// The async client, run with [`block_on`].
    #[cfg(feature = "async")]
    Async(embedded_smtp::asynch::Client<'a, Scripted, 4>),
}

macro_rules! both {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            AnyClient::Blocking($c) => $e,
            #[cfg(feature = "async")]
            AnyClient::Async($c) => block_on(async { $e.await }),
        }
    };
}

impl<'a> AnyClient<'a> {
    /// A client of `driver` over `stream`.
    pub fn new(
        driver: Driver,
        stream: Scripted,
        cfg: Config<'a>,
        rx: &'a mut [u8],
        tx: &'a mut [u8],
    ) -> Result<Self, E> {
        Ok(match driver {
            Driver::Blocking => {
                AnyClient::Blocking(embedded_smtp::blocking::Client::new(stream, cfg, rx, tx)?)
            }
            #[cfg(feature = "async")]
            Driver::Async => AnyClient::Async(embedded_smtp::asynch::Client::new(
                stream,
                embedded_smtp::asynch::NoTimer,
                cfg,
                rx,
                tx,
            )?),
        })
    }

    /// `connect`.
    pub fn connect(&mut self) -> Result<(), E> {
        both!(self, c => c.connect())
    }

    /// `send`.
    pub fn send<R: embedded_io::Read>(&mut self, m: &mut Message<'_, R>) -> Result<Report<4>, E> {
        both!(self, c => c.send(m)).cloned()
    }

    /// `send_and_quit`.
    pub fn send_and_quit<R: embedded_io::Read>(
        &mut self,
        m: &mut Message<'_, R>,
    ) -> Result<Report<4>, E> {
        both!(self, c => c.send_and_quit(m)).cloned()
    }

    /// `send_raw`.
    pub fn send_raw<'r, I>(
        &mut self,
        from: Address<'_>,
        to: I,
        m: &mut RawMessage<'_>,
    ) -> Result<Report<4>, E>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
    {
        both!(self, c => c.send_raw(from, to, m)).cloned()
    }

    /// `send_with`.
    pub fn send_with<'r, I, B>(
        &mut self,
        from: Option<Address<'_>>,
        to: I,
        p: MailParams,
        body: &mut B,
    ) -> Result<Report<4>, E>
    where
        I: IntoIterator<Item = Address<'r>>,
        I::IntoIter: Clone,
        B: BodySource + ?Sized,
    {
        both!(self, c => c.send_with(from, to, p, body)).cloned()
    }

    /// `quit`.
    pub fn quit(&mut self) -> Result<(), E> {
        both!(self, c => c.quit())
    }

    /// `engine`.
    pub fn engine(&self) -> &Engine<'a, 4> {
        match self {
            AnyClient::Blocking(c) => c.engine(),
            #[cfg(feature = "async")]
            AnyClient::Async(c) => c.engine(),
        }
    }

    /// `stream_mut`.
    pub fn stream_mut(&mut self) -> &mut Scripted {
        match self {
            AnyClient::Blocking(c) => c.stream_mut(),
            #[cfg(feature = "async")]
            AnyClient::Async(c) => c.stream_mut(),
        }
    }
}

/// Every (driver, mode) pair for `modes`.
pub fn matrix(modes: &[Mode]) -> Vec<(Driver, Mode)> {
    DRIVERS
        .iter()
        .flat_map(|&d| modes.iter().map(move |&m| (d, m)))
        .collect()
}

// ------------------------------------------- what the transcript tests share --

/// The session error over a scripted stream.
pub type E = Error<Broken>;

/// The greeting and the client's EHLO, as every transcript starts.
pub const GREETING: &str = "S: 220 mx.example.net ESMTP ready\n C: EHLO client.example";
/// A small message as the caller gives it to `send_raw`.
pub const BODY: &[u8] = b"Subject: alarm\r\n\r\nDoor 3 opened.\r\n";
/// [`BODY`] as it goes over the wire, dot included.
pub const BODY_WIRE: &str = "C: Subject: alarm\n C:\n C: Door 3 opened.\n C: .";

/// The configuration the transcripts use (client name `client.example`).
pub fn config() -> Config<'static> {
    Config::new(embedded_smtp::Domain::try_new("client.example").unwrap())
}

/// An address that must be valid.
pub fn addr(s: &str) -> Address<'_> {
    Address::try_new(s).unwrap()
}
