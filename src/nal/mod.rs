//! Network adapters for the `embedded-nal` 0.9 family of TCP/IP stacks.
//!
//! - Feature `nal`: [`FromNal`] turns a connected socket of any blocking
//!   [`TcpClientStack`] (w5500, smoltcp-nal, std-embedded-nal, …) into an
//!   `embedded_io::{Read, Write}` stream for [`blocking::Client`](crate::blocking::Client),
//!   and [`connect`] resolves a host name and opens that socket.
//! - Feature `nal-async`: [`connect_async`] resolves and connects over
//!   `embedded-nal-async` [`TcpConnect`](embedded_nal_async::TcpConnect) +
//!   [`Dns`](embedded_nal_async::Dns) (embassy-net's `TcpClient` and `DnsSocket`)
//!   and hands back the connection, which already is an `embedded_io_async` stream.
//!
//! # Waiting without spinning
//!
//! An `embedded-nal` stack is non-blocking: `receive` and `send` answer
//! `nb::Error::WouldBlock` until the stack has data or room. [`FromNal`] never
//! retries in a tight loop; after each `WouldBlock` it calls a caller-supplied
//! [`Wait`] hook, which is where the right way to wait for *this* system goes:
//!
//! | system | what the hook does |
//! |---|---|
//! | smoltcp-nal | `stack.poll()`, then sleep until the next interrupt (`cortex_m::asm::wfi()`) or the stack's next poll time |
//! | w5500 | wait for the chip's interrupt pin, or sleep a tick |
//! | RTOS | block on the network task's event flag or semaphore |
//! | std (std-embedded-nal) | [`Backoff`] (feature `std`): sleep with exponential back-off |
//!
//! The hook also measures time: it returns how long it waited, by its own clock
//! (a timer, an RTC, `std::time::Instant`), and [`FromNal`] charges that against
//! the limit of the current operation. The crate itself never reads a clock.
//!
//! **Why std gets a back-off and not `poll(2)`.** std-embedded-nal's socket gives
//! out its raw file descriptor (`TcpSocket::as_raw_fd`), but waiting on a raw
//! descriptor needs `libc` and `unsafe` (or a borrowed descriptor, whose
//! constructor is `unsafe`), and this crate is `forbid(unsafe_code)`. [`Backoff`]
//! yields the CPU for the first 200 µs of a wait, then sleeps from 20 µs doubling
//! up to 2 ms: replies from a nearby server are seen within microseconds, as
//! with `poll(2)`, and a slow one costs at most one sleep of latency. A program
//! that wants `poll(2)` can implement [`Wait`] with the descriptor itself.
//!
//! # Small writes
//!
//! [`FromNal`] hands each `write` straight to the stack. The client writes a
//! command group, then the message with the end of data (`.`): in one write
//! when the dot-stuffed message fits in the client's transmit buffer, else in
//! one write per buffer, with no read between them. A stack with Nagle's
//! algorithm on (std-embedded-nal: its socket has no `set_nodelay`) holds such a
//! second small write until the server acknowledges the first, and the server,
//! with nothing to answer before the end of data, does so only when its
//! delayed-ACK timer fires: about 40 ms per message on Linux. Measured against
//! Postfix's smtp-sink on loopback: a 1 KB message with a 1 024-byte transmit
//! buffer, or a 20 KB one with 8 192 bytes, goes at 23 messages a second; with
//! one write per message, thousands. Size the transmit buffer for the messages
//! you send, or hold the writes above this adapter until the client reads;
//! the `send` example does (its `Socket` holds every write until the next read,
//! below TLS too, so a message leaves in one write).
//!
//! # Time limits
//!
//! [`FromNal`] is a [`Deadline`](crate::blocking::Deadline): the blocking client
//! starts each wait with its limit (RFC 5321 §4.5.3.2), and the reads and writes of
//! that wait together may wait at most that long, as the hook's clock counts: a
//! server that drips a reply byte by byte runs out of time as a silent one does.
//! When the limit runs out the stream fails with [`Error::TimedOut`], whose kind
//! is [`ErrorKind::TimedOut`], which the client reports as
//! [`crate::Error::TimedOut`] with the stage it was waiting in. A hook without a
//! clock (one that returns [`Duration::ZERO`]) never runs out.
//!
//! ```no_run
//! # #[cfg(feature = "std")]
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use embedded_smtp::blocking::Client;
//! use embedded_smtp::nal::{self, Backoff};
//! use embedded_smtp::{Config, Domain};
//! use core::time::Duration;
//!
//! let mut dns = std_embedded_nal::Stack;
//! let stream = nal::connect(
//!     std_embedded_nal::Stack, &mut dns, "127.0.0.1", 2525,
//!     Backoff::default(), Some(Duration::from_secs(30)),
//! )?;
//! let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
//! let config = Config::new(Domain::try_new("sensor-7.local")?);
//! let mut client: Client<'_, _> = Client::new(stream, config, &mut rx, &mut tx)?;
//! client.connect()?; // every wait bounded by its limit
//! client.quit()?;
//! # Ok(()) }
//! ```

// The module docs link items of all three features (`nal`, `std`, `nal-async`);
// built with only some of them, those links have no target.
#![cfg_attr(
    not(all(feature = "nal", feature = "std", feature = "nal-async")),
    allow(rustdoc::broken_intra_doc_links)
)]

use core::fmt;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

#[cfg(feature = "nal")]
use embedded_io::{ErrorKind, ErrorType, Read, Write};
#[cfg(feature = "nal")]
use embedded_nal::{TcpClientStack, TcpError, TcpErrorKind};

/// What an operation waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Interest {
    /// A host name to resolve (no socket exists yet).
    Resolve,
    /// The TCP connection to be established.
    Connect,
    /// Data to read.
    Read,
    /// Room to write.
    Write,
}

/// The wait hook's answer when the time is up before the stack was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl core::error::Error for TimedOut {}

/// One pending wait, as passed to a [`Wait`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Waiting {
    /// What the operation waits for.
    pub interest: Interest,
    /// How many times this operation has already waited (0 on the first wait): a
    /// hook can back off on it without keeping state.
    pub attempt: u32,
    /// What is left of the operation's time limit; `None` for no limit. Never zero:
    /// once it runs out the operation fails with a time-out instead of waiting.
    pub remaining: Option<Duration>,
}

impl Waiting {
    /// A wait description, for calling a [`Wait`] hook outside the adapter (in its
    /// tests, say).
    pub fn new(interest: Interest, attempt: u32, remaining: Option<Duration>) -> Self {
        Waiting {
            interest,
            attempt,
            remaining,
        }
    }
}

/// How a [`FromNal`] stream (or [`connect`]) waits when the stack answers
/// `WouldBlock`. See the [module docs](self) for what to do on each system.
///
/// Closures `FnMut(&mut T, Option<&T::TcpSocket>, Waiting) -> Result<Duration, TimedOut>`
/// implement it.
#[cfg(feature = "nal")]
pub trait Wait<T: TcpClientStack + ?Sized> {
    /// Blocks until the stack may have made progress on `waiting.interest` (or a
    /// short while has passed), but not much past `waiting.remaining`. Drive the
    /// stack here if it needs driving (`stack.poll()`).
    ///
    /// Returns how long it waited by the hook's own clock; the operation's limit
    /// is reduced by that much. A hook without a clock returns
    /// [`Duration::ZERO`], and then no limit ever runs out. Returning
    /// [`Err(TimedOut)`](TimedOut) ends the operation at once with a time-out.
    ///
    /// `socket` is `None` while resolving a host name.
    ///
    /// # Errors
    /// [`TimedOut`] to give up.
    fn wait(
        &mut self,
        stack: &mut T,
        socket: Option<&T::TcpSocket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut>;
}

#[cfg(feature = "nal")]
impl<T, F> Wait<T> for F
where
    T: TcpClientStack + ?Sized,
    F: FnMut(&mut T, Option<&T::TcpSocket>, Waiting) -> Result<Duration, TimedOut>,
{
    fn wait(
        &mut self,
        stack: &mut T,
        socket: Option<&T::TcpSocket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut> {
        self(stack, socket, waiting)
    }
}

/// A [`Wait`] hook for std: first yields the CPU for up to `spin` of each
/// operation, then sleeps `min · 2^n` (n counting its sleeps), at most `max` and
/// at most the time left, and measures the time with `std::time::Instant`.
///
/// For std-embedded-nal on a desktop (see the [module docs](self) for why not
/// `poll(2)`). The spin is there because the shortest sleep Linux gives a
/// normal thread is about 70 µs (the 50 µs default timer slack), longer than a
/// round trip on loopback or a LAN: sleeping on each reply would cap a local
/// session at a few thousand messages a second.
#[cfg(all(feature = "nal", feature = "std"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    spin: Duration,
    /// When the current operation first waited.
    since: Option<std::time::Instant>,
    /// Sleeps in the current operation so far.
    sleeps: u32,
}

#[cfg(all(feature = "nal", feature = "std"))]
impl Backoff {
    /// Sleeps from `min`, doubling on each wait of one operation, up to `max`;
    /// no spin.
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            spin: Duration::ZERO,
            since: None,
            sleeps: 0,
        }
    }

    /// Yields the CPU (`std::thread::yield_now`) instead of sleeping until an
    /// operation has waited `spin`: a bounded busy wait that answers within
    /// microseconds when the peer is close.
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }
}

#[cfg(all(feature = "nal", feature = "std"))]
impl Default for Backoff {
    /// Yields for 200 µs, then sleeps from 20 µs doubling up to 2 ms.
    fn default() -> Self {
        Backoff::new(Duration::from_micros(20), Duration::from_millis(2))
            .with_spin(Duration::from_micros(200))
    }
}

#[cfg(all(feature = "nal", feature = "std"))]
impl<T: TcpClientStack + ?Sized> Wait<T> for Backoff {
    fn wait(
        &mut self,
        _: &mut T,
        _: Option<&T::TcpSocket>,
        waiting: Waiting,
    ) -> Result<Duration, TimedOut> {
        let t0 = std::time::Instant::now();
        if waiting.attempt == 0 {
            self.since = Some(t0);
            self.sleeps = 0;
        }
        let waited = self.since.map_or(Duration::MAX, |s| t0.duration_since(s));
        if waited < self.spin {
            std::thread::yield_now();
            return Ok(t0.elapsed());
        }
        let mut d = self
            .min
            .saturating_mul(1u32 << self.sleeps.min(20))
            .min(self.max);
        self.sleeps = self.sleeps.saturating_add(1);
        if let Some(r) = waiting.remaining {
            d = d.min(r);
        }
        std::thread::sleep(d);
        Ok(t0.elapsed())
    }
}

/// What a stack's `Ok(0)` from `receive` (or `send`) means.
///
/// embedded-nal says a stack with nothing to give answers `WouldBlock`, which
/// leaves `Ok(0)` for the end of the stream, as std-embedded-nal does. Some
/// stacks (smoltcp-nal) answer `Ok(0)` when no data is there yet and report the
/// end of the stream as an error instead: use [`ZeroRead::WouldBlock`] for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ZeroRead {
    /// `Ok(0)` is the end of the stream (the peer closed): passed on as `Ok(0)`.
    #[default]
    EndOfStream,
    /// `Ok(0)` means "nothing yet": wait and try again.
    WouldBlock,
}

/// The error of a [`FromNal`] stream: the stack's own error, or the time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error<E> {
    /// The stack failed.
    Stack(E),
    /// The current wait's time limit ([`Deadline`](crate::blocking::Deadline))
    /// ran out, or the wait hook gave up.
    TimedOut,
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stack(e) => write!(f, "network stack error: {e:?}"),
            Error::TimedOut => f.write_str("timed out"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

#[cfg(feature = "defmt")]
impl<E> defmt::Format for Error<E> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Stack(_) => defmt::write!(f, "network stack error"),
            Error::TimedOut => defmt::write!(f, "timed out"),
        }
    }
}

#[cfg(feature = "nal")]
impl<E: TcpError> embedded_io::Error for Error<E> {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Stack(e) => match e.kind() {
                TcpErrorKind::PipeClosed => ErrorKind::BrokenPipe,
                _ => ErrorKind::Other,
            },
            Error::TimedOut => ErrorKind::TimedOut,
        }
    }
}

/// A connected socket of an embedded-nal [`TcpClientStack`] as an
/// `embedded_io::{Read, Write}` stream that waits through a [`Wait`] hook.
///
/// `T` may be the stack itself or `&mut` it (embedded-nal implements the trait
/// for both). `read` returns as soon as the stack has any bytes; `write` as soon
/// as it took any; `flush` does nothing (the stack sends on its own).
#[cfg(feature = "nal")]
pub struct FromNal<T: TcpClientStack, W> {
    stack: T,
    socket: T::TcpSocket,
    wait: W,
    /// What is left of the current wait's limit.
    remaining: Option<Duration>,
    zero: ZeroRead,
}

#[cfg(feature = "nal")]
impl<T: TcpClientStack, W: Wait<T>> FromNal<T, W> {
    /// A stream over `socket`, which must be connected, waiting with `wait` and
    /// no time limit.
    pub fn new(stack: T, socket: T::TcpSocket, wait: W) -> Self {
        FromNal {
            stack,
            socket,
            wait,
            remaining: None,
            zero: ZeroRead::EndOfStream,
        }
    }

    /// Says what the stack's `Ok(0)` means (default [`ZeroRead::EndOfStream`]).
    pub fn with_zero_read(mut self, zero: ZeroRead) -> Self {
        self.zero = zero;
        self
    }

    /// What is left of the current wait's limit (`None`: no limit).
    pub fn timeout(&self) -> Option<Duration> {
        self.remaining
    }

    /// The stack.
    pub fn inner(&self) -> &T {
        &self.stack
    }

    /// The stack, mutably (to poll it, say).
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.stack
    }

    /// The socket.
    pub fn socket(&self) -> &T::TcpSocket {
        &self.socket
    }

    /// The wait hook.
    pub fn wait_mut(&mut self) -> &mut W {
        &mut self.wait
    }

    /// Gives back the stack, the socket (still open) and the hook.
    pub fn into_inner(self) -> (T, T::TcpSocket, W) {
        (self.stack, self.socket, self.wait)
    }

    /// Closes the socket and gives back the stack.
    ///
    /// # Errors
    /// The stack's error from closing; the socket is gone either way.
    pub fn close(mut self) -> Result<T, T::Error> {
        self.stack.close(self.socket)?;
        Ok(self.stack)
    }

    /// Waits once after a `WouldBlock`, charging the time against the wait's limit.
    fn pause(&mut self, interest: Interest, attempt: &mut u32) -> Result<(), Error<T::Error>> {
        pause(
            &mut self.wait,
            &mut self.stack,
            Some(&self.socket),
            interest,
            attempt,
            &mut self.remaining,
        )
        .map_err(|TimedOut| Error::TimedOut)
    }
}

/// One wait of an operation: fails once the time is used up, else calls the hook.
#[cfg(feature = "nal")]
fn pause<T: TcpClientStack, W: Wait<T>>(
    wait: &mut W,
    stack: &mut T,
    socket: Option<&T::TcpSocket>,
    interest: Interest,
    attempt: &mut u32,
    remaining: &mut Option<Duration>,
) -> Result<(), TimedOut> {
    if *remaining == Some(Duration::ZERO) {
        return Err(TimedOut);
    }
    let waited = wait.wait(
        stack,
        socket,
        Waiting {
            interest,
            attempt: *attempt,
            remaining: *remaining,
        },
    )?;
    *attempt = attempt.saturating_add(1);
    if let Some(r) = remaining {
        *r = r.saturating_sub(waited);
    }
    Ok(())
}

/// The client's deadline: the reads and writes of one wait share its limit.
#[cfg(feature = "nal")]
impl<T: TcpClientStack, W> crate::blocking::Deadline for FromNal<T, W> {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.remaining = limit;
    }
}

#[cfg(feature = "nal")]
impl<T: TcpClientStack, W> ErrorType for FromNal<T, W> {
    type Error = Error<T::Error>;
}

#[cfg(feature = "nal")]
impl<T: TcpClientStack, W: Wait<T>> Read for FromNal<T, W> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == Some(Duration::ZERO) {
            return Err(Error::TimedOut);
        }
        let mut attempt = 0;
        loop {
            match self.stack.receive(&mut self.socket, buf) {
                Ok(0) if self.zero == ZeroRead::WouldBlock => {}
                Ok(n) => return Ok(n),
                Err(embedded_nal::nb::Error::WouldBlock) => {}
                // Closed in the reading direction: the end of the stream.
                Err(embedded_nal::nb::Error::Other(e)) if e.kind() == TcpErrorKind::PipeClosed => {
                    return Ok(0);
                }
                Err(embedded_nal::nb::Error::Other(e)) => return Err(Error::Stack(e)),
            }
            self.pause(Interest::Read, &mut attempt)?;
        }
    }
}

#[cfg(feature = "nal")]
impl<T: TcpClientStack, W: Wait<T>> Write for FromNal<T, W> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == Some(Duration::ZERO) {
            return Err(Error::TimedOut);
        }
        let mut attempt = 0;
        loop {
            match self.stack.send(&mut self.socket, buf) {
                Ok(0) if self.zero == ZeroRead::WouldBlock => {}
                Ok(n) => return Ok(n),
                Err(embedded_nal::nb::Error::WouldBlock) => {}
                Err(embedded_nal::nb::Error::Other(e)) => return Err(Error::Stack(e)),
            }
            self.pause(Interest::Write, &mut attempt)?;
        }
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

mod connection;
pub use connection::*;
