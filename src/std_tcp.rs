//! [`FromStdTcp`]: a `std::net::TcpStream` as the blocking client's transport
//! (feature `std`), with each wait's deadline enforced.

use core::time::Duration;
use std::io::{self, Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use embedded_io::{ErrorType, Read, Write};

use crate::blocking::Deadline;

/// A `std::net::TcpStream` as an `embedded_io` stream whose waits end at the
/// client's deadline ([`Deadline`]): before each read or write the socket's time-out
/// is set to the time left (or to the time-out the socket had when it was wrapped,
/// if that is shorter or there is no deadline), and a wait that runs out fails with an error of kind
/// [`io::ErrorKind::TimedOut`] (Linux itself says `WouldBlock`; it is reported as
/// `TimedOut`), which the client reports as
/// [`Error::TimedOut`](crate::Error::TimedOut) with the stage.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use core::time::Duration;
/// use embedded_smtp::blocking::{Client, FromStdTcp};
/// use embedded_smtp::{Config, Domain};
///
/// let tcp = FromStdTcp::connect("127.0.0.1:2525", Duration::from_secs(30))?;
/// let (mut rx, mut tx) = ([0u8; 1024], [0u8; 1024]);
/// let config = Config::new(Domain::try_new("sensor-7.local")?);
/// let mut client: Client<'_, _> = Client::new(tcp, config, &mut rx, &mut tx)?;
/// client.connect()?; // every wait bounded by its RFC 5321 limit
/// client.quit()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FromStdTcp {
    stream: TcpStream,
    deadline: Option<Instant>,
    /// The socket's own read and write time-outs when it was wrapped.
    own: (Option<Duration>, Option<Duration>),
}

impl FromStdTcp {
    /// Wraps a connected socket; no deadline until the client starts a wait. The
    /// socket's own time-outs stay in force as an upper bound of every wait.
    pub fn new(stream: TcpStream) -> Self {
        let own = (
            stream.read_timeout().ok().flatten(),
            stream.write_timeout().ok().flatten(),
        );
        FromStdTcp {
            stream,
            deadline: None,
            own,
        }
    }

    /// Connects to the first address of `addr` that answers within `limit`, with
    /// Nagle's algorithm off (the client writes whole command groups and holds
    /// nothing back).
    ///
    /// # Errors
    /// The resolver's or the last connection attempt's error.
    pub fn connect(addr: impl ToSocketAddrs, limit: Duration) -> io::Result<Self> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, limit) {
                Ok(s) => {
                    s.set_nodelay(true)?;
                    return Ok(FromStdTcp::new(s));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The socket.
    pub fn inner(&self) -> &TcpStream {
        &self.stream
    }

    /// The socket, mutably.
    pub fn inner_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// The socket back.
    pub fn into_inner(self) -> TcpStream {
        self.stream
    }

    /// The time-out for the next call: the time left of the current wait, or the
    /// socket's own time-out `own` if shorter; `None` for no limit.
    ///
    /// # Errors
    /// [`io::ErrorKind::TimedOut`] once the wait ran out.
    fn left(&self, own: Option<Duration>) -> io::Result<Option<Duration>> {
        let left = match self.deadline {
            None => return Ok(own),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left,
                _ => return Err(io::ErrorKind::TimedOut.into()),
            },
        };
        Ok(Some(own.map_or(left, |o| o.min(left))))
    }
}

/// A socket time-out reads as `WouldBlock` on Unix and `TimedOut` on Windows.
fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::ErrorKind::TimedOut.into(),
        _ => e,
    }
}

impl Deadline for FromStdTcp {
    fn start_wait(&mut self, limit: Option<Duration>) {
        // A limit beyond what `Instant` can hold is no limit.
        self.deadline = limit.and_then(|l| Instant::now().checked_add(l));
    }
}

impl ErrorType for FromStdTcp {
    type Error = io::Error;
}

impl Read for FromStdTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left(self.own.0)?;
        self.stream.set_read_timeout(left)?;
        self.stream.read(buf).map_err(timed_out)
    }
}

impl Write for FromStdTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left(self.own.1)?;
        self.stream.set_write_timeout(left)?;
        self.stream.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush().map_err(timed_out)
    }
}
