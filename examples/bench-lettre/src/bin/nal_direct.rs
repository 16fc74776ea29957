//! embedded-smtp's blocking client straight on the crate's `nal` adapter
//! (`FromNal` over std-embedded-nal, `Backoff` waits), with nothing between them:
//! no write buffering of the kind `examples/send/net.rs` adds in its `Socket`. It
//! sends COUNT copies of the message `send` sends (same headers, same body) over
//! one connection and prints messages per second.
//!
//! ```text
//! nal-direct HOST PORT COUNT SIZE [TX [WAIT]]
//! ```
//!
//! TX is the client's transmit buffer (default 8192, as in `send`). When a
//! message does not fit in one buffer the client writes it in several pieces
//! without reading in between, and the adapter hands each piece to the socket
//! at once: this is where Nagle's algorithm can hold the last piece back.
//!
//! WAIT is the adapter's wait hook:
//! - `backoff` (default): the crate's `Backoff::default()`, which sleeps from
//!   20 µs doubling to 2 ms. On loopback a reply comes back in tens of
//!   microseconds, while the shortest sleep Linux gives a normal thread is about
//!   60-80 µs (20 µs asked plus the 50 µs default timer slack), once per reply.
//! - `spin` or `spin:MICROS`: yields the CPU (`std::thread::yield_now`) for the
//!   first MICROS (default 200) of each operation, then sleeps like `backoff`.
//!   Needs nothing the crate lacks: a candidate default for `Backoff`.
//! - `poll`: blocks in poll(2) on the socket's descriptor until it is readable
//!   (or writable), as smtp-source does: the lower bound for any wait hook.
//!   (`unsafe` FFI, which the library forbids and this bench may use.)

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench_lettre::{FROM, SUBJECT, TO, body};
use embedded_nal::TcpClientStack;
use embedded_smtp::blocking::Client;
use embedded_smtp::message::{DateTime, Message};
use embedded_smtp::nal::{self, Backoff, Interest, TimedOut, Wait, Waiting};
use embedded_smtp::{Config, Domain, HeaderText, Mailbox, Security};

const USAGE: &str = "usage: nal-direct HOST PORT COUNT SIZE [TX [backoff|spin[:MICROS]|poll]]";

/// How long the `spin` hook yields before it sleeps, per operation, by default.
const SPIN: Duration = Duration::from_micros(200);

type Stack = std_embedded_nal::Stack;
type Socket = <Stack as TcpClientStack>::TcpSocket;

/// The `spin` wait hook: yields the CPU during the first `spin` of an
/// operation, then waits like the crate's [`Backoff`]. Each yield returns at once
/// when nothing else wants the core, so this is a bounded busy wait.
struct SpinThenSleep {
    spin: Duration,
    /// When the current operation first waited.
    since: Instant,
    /// Sleeps in the current operation so far (the back-off's attempt).
    sleeps: u32,
    backoff: Backoff,
}

impl<T: TcpClientStack> Wait<T> for SpinThenSleep {
    fn wait(
        &mut self,
        stack: &mut T,
        socket: Option<&T::TcpSocket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut> {
        let t0 = Instant::now();
        if waiting.attempt == 0 {
            self.since = t0;
            self.sleeps = 0;
        }
        if t0.duration_since(self.since) < self.spin {
            std::thread::yield_now();
            return Ok(t0.elapsed());
        }
        self.sleeps += 1;
        let sleep = Waiting::new(waiting.interest, self.sleeps - 1, waiting.remaining);
        self.backoff.wait(stack, socket, sleep)
    }
}

/// The `poll` wait hook: poll(2) on the socket until it is ready or the
/// operation's time is up (a resolve, which has no socket, sleeps 100 µs).
fn poll_wait(socket: Option<&Socket>, waiting: Waiting) -> Duration {
    let t0 = Instant::now();
    let Some(fd) = socket.and_then(Socket::as_raw_fd) else {
        std::thread::sleep(Duration::from_micros(100));
        return t0.elapsed();
    };
    let events = match waiting.interest {
        Interest::Write | Interest::Connect => libc::POLLOUT,
        _ => libc::POLLIN,
    };
    let ms = waiting.remaining.map_or(-1, |r| {
        i32::try_from(r.as_millis().max(1)).unwrap_or(i32::MAX)
    });
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `p` is one valid `pollfd` that lives through the call, and `fd` is
    // the descriptor of the socket borrowed for the call, so it stays open.
    let _ = unsafe { libc::poll(&mut p, 1, ms) };
    t0.elapsed()
}

/// The wait hook chosen on the command line.
enum Hook {
    Backoff(Backoff),
    Spin(SpinThenSleep),
    Poll,
}

impl Wait<Stack> for Hook {
    fn wait(
        &mut self,
        stack: &mut Stack,
        socket: Option<&Socket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut> {
        match self {
            Hook::Backoff(b) => b.wait(stack, socket, waiting),
            Hook::Spin(s) => s.wait(stack, socket, waiting),
            Hook::Poll => Ok(poll_wait(socket, waiting)),
        }
    }
}
const MAX_COUNT: u32 = 1_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nal-direct: error: {e}\n{USAGE}");
            ExitCode::from(1)
        }
    }
}

fn number<T: std::str::FromStr>(what: &str, s: Option<&String>) -> Result<T, String> {
    let s = s.ok_or_else(|| format!("{what} missing"))?;
    s.parse().map_err(|_| format!("{what} {s:?}: not a number"))
}

fn run(args: &[String]) -> Result<(), String> {
    if !(4..=6).contains(&args.len()) {
        return Err("expected four to six arguments".into());
    }
    let host = &args[0];
    let port: u16 = number("PORT", args.get(1))?;
    let count: u32 = number("COUNT", args.get(2))?;
    let size: usize = number("SIZE", args.get(3))?;
    let tx_len: usize = match args.get(4) {
        Some(_) => number("TX", args.get(4))?,
        None => 8192,
    };
    let hook = match args.get(5).map(String::as_str) {
        None | Some("backoff") => Hook::Backoff(Backoff::default()),
        Some("poll") => Hook::Poll,
        Some(w) if w == "spin" || w.starts_with("spin:") => {
            let spin = match w.strip_prefix("spin:") {
                Some(us) => Duration::from_micros(
                    us.parse().map_err(|_| format!("WAIT {w:?}: bad MICROS"))?,
                ),
                None => SPIN,
            };
            Hook::Spin(SpinThenSleep {
                spin,
                since: Instant::now(),
                sleeps: 0,
                backoff: Backoff::default(),
            })
        }
        Some(other) => return Err(format!("WAIT {other:?}: expected backoff, spin or poll")),
    };
    let wait_name = args.get(5).map_or("backoff", String::as_str);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(format!("COUNT must be 1..={MAX_COUNT}"));
    }
    let text = body(size);
    let from = Mailbox::parse(FROM).map_err(|e| e.to_string())?;
    let to = [Mailbox::parse(TO).map_err(|e| e.to_string())?];
    let subject = HeaderText::try_new(SUBJECT).map_err(|e| e.to_string())?;

    let mut dns = std_embedded_nal::Stack;
    let stream = nal::connect(
        std_embedded_nal::Stack,
        &mut dns,
        host,
        port,
        hook,
        Some(Duration::from_secs(30)),
    )
    .map_err(|e| format!("connect to {host}:{port}: {e:?}"))?;
    let (mut rx, mut tx) = (vec![0u8; 1024], vec![0u8; tx_len]);
    let config = Config::new(Domain::try_new("bench.example").map_err(|e| e.to_string())?)
        .with_security(Security::None);
    let mut client: Client<'_, _> =
        Client::new(stream, config, &mut rx, &mut tx).map_err(|e| format!("{e:?}"))?;
    client.connect().map_err(|e| format!("{e:?}"))?;

    let start = Instant::now();
    for i in 0..count {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&i.to_be_bytes());
        let mut message: Message<'_> = Message::new(from, subject)
            .to(&to)
            .date(DateTime {
                unix_seconds: now,
                offset_minutes: 0,
            })
            .message_id(id)
            .text(&text);
        client
            .send(&mut message)
            .map_err(|e| format!("message {}: {e:?}", i + 1))?;
    }
    let secs = start.elapsed().as_secs_f64();
    client.quit().map_err(|e| format!("QUIT: {e:?}"))?;
    println!(
        "nal-direct: {count} message(s) in {secs:.3} s: {:.1} messages/s (tx {tx_len} bytes, wait {wait_name})",
        f64::from(count) / secs.max(1e-9)
    );
    Ok(())
}
