//! Opening the connection: resolve a host name (or take an IP literal) and
//! connect, blocking over `embedded-nal` ([`connect`]) or async over
//! `embedded-nal-async` ([`connect_async`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// Why [`connect`] or [`connect_async`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError<E, D> {
    /// The host name could not be resolved.
    Resolve(D),
    /// The stack could not open or connect the socket.
    Connect(E),
    /// Resolving or connecting took longer than the limit.
    TimedOut,
}

impl<E: fmt::Debug, D: fmt::Debug> fmt::Display for ConnectError<E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Resolve(e) => write!(f, "cannot resolve the host name: {e:?}"),
            ConnectError::Connect(e) => write!(f, "cannot connect: {e:?}"),
            ConnectError::TimedOut => f.write_str("connecting timed out"),
        }
    }
}

impl<E: fmt::Debug, D: fmt::Debug> core::error::Error for ConnectError<E, D> {}

#[cfg(feature = "defmt")]
impl<E, D> defmt::Format for ConnectError<E, D> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            ConnectError::Resolve(_) => defmt::write!(f, "cannot resolve the host name"),
            ConnectError::Connect(_) => defmt::write!(f, "cannot connect"),
            ConnectError::TimedOut => defmt::write!(f, "connecting timed out"),
        }
    }
}

/// `host` as an IP address, if it is one (`[v6]` brackets allowed).
fn literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Resolves `host` with `dns` (unless it is an IP address), opens a socket on
/// `stack` and connects it to port `port`, waiting through `wait`; `limit`
/// bounds the whole of it (`None`: no limit). Returns the stream, with no time
/// limit set yet (the client starts one for each wait, [`Deadline`](crate::blocking::Deadline)).
///
/// `dns` may be the stack itself when it implements both traits and is cheap
/// to clone (std-embedded-nal's `Stack`), or a separate resolver.
///
/// # Errors
/// [`ConnectError`]; a socket that was opened is closed again.
#[cfg(feature = "nal")]
pub fn connect<T, D, W>(
    mut stack: T,
    dns: &mut D,
    host: &str,
    port: u16,
    mut wait: W,
    limit: Option<Duration>,
) -> Result<FromNal<T, W>, ConnectError<T::Error, D::Error>>
where
    T: TcpClientStack,
    D: embedded_nal::Dns + ?Sized,
    W: Wait<T>,
{
    let (mut attempt, mut remaining) = (0, limit);
    let ip = match literal(host) {
        Some(ip) => ip,
        None => loop {
            match dns.get_host_by_name(host, embedded_nal::AddrType::Either) {
                Ok(ip) => break ip,
                Err(embedded_nal::nb::Error::WouldBlock) => {}
                Err(embedded_nal::nb::Error::Other(e)) => return Err(ConnectError::Resolve(e)),
            }
            pause(
                &mut wait,
                &mut stack,
                None,
                Interest::Resolve,
                &mut attempt,
                &mut remaining,
            )
            .map_err(|TimedOut| ConnectError::TimedOut)?;
        },
    };
    let remote = SocketAddr::new(ip, port);
    let mut socket = stack.socket().map_err(ConnectError::Connect)?;
    attempt = 0;
    let failed = loop {
        match stack.connect(&mut socket, remote) {
            Ok(()) => return Ok(FromNal::new(stack, socket, wait)),
            Err(embedded_nal::nb::Error::WouldBlock) => {}
            Err(embedded_nal::nb::Error::Other(e)) => break ConnectError::Connect(e),
        }
        if pause(
            &mut wait,
            &mut stack,
            Some(&socket),
            Interest::Connect,
            &mut attempt,
            &mut remaining,
        )
        .is_err()
        {
            break ConnectError::TimedOut;
        }
    };
    let _ = stack.close(socket);
    Err(failed)
}

/// Resolves `host` with `dns` (unless it is an IP address) and connects to port
/// `port` with `tcp`, returning the connection: an
/// `embedded_io_async::{Read, Write}` stream for the async client, or for TLS.
///
/// With embassy-net, `tcp` is an `embassy_net::tcp::client::TcpClient` (its
/// socket buffers live in a `TcpClientState` you own, e.g.
/// `TcpClientState::<1, 1024, 1024>::new()`) and `dns` an
/// `embassy_net::dns::DnsSocket`, both made from the same `Stack`:
///
/// ```no_run
/// use embedded_nal_async::{Dns, TcpConnect};
/// use embedded_smtp::nal::{self, ConnectError};
///
/// // tcp = TcpClient::new(stack, &state), dns = DnsSocket::new(stack)
/// async fn open<T: TcpConnect, D: Dns>(tcp: &T, dns: &D) -> Result<(), ConnectError<T::Error, D::Error>> {
///     let conn = nal::connect_async(tcp, dns, "smtp.example.com", 465).await?;
///     // `conn` is an embedded_io_async stream: run TLS and the client on it.
///     # let _ = conn;
///     Ok(())
/// }
/// ```
///
/// The crate has no timer of its own: bound the call with your executor's
/// time-out, e.g. `embassy_time::with_timeout(Duration::from_secs(30), …)`.
///
/// # Errors
/// [`ConnectError::Resolve`] or [`ConnectError::Connect`] with the stack's error.
#[cfg(feature = "nal-async")]
pub async fn connect_async<'t, T, D>(
    tcp: &'t T,
    dns: &D,
    host: &str,
    port: u16,
) -> Result<T::Connection<'t>, ConnectError<T::Error, D::Error>>
where
    T: embedded_nal_async::TcpConnect,
    D: embedded_nal_async::Dns + ?Sized,
{
    let ip = match literal(host) {
        Some(ip) => ip,
        None => dns
            .get_host_by_name(host, embedded_nal_async::AddrType::Either)
            .await
            .map_err(ConnectError::Resolve)?,
    };
    tcp.connect(SocketAddr::new(ip, port))
        .await
        .map_err(ConnectError::Connect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(literal("127.0.0.1"), Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(literal("[::1]"), Some("::1".parse().unwrap()));
        assert_eq!(literal("::1"), Some("::1".parse().unwrap()));
        assert_eq!(literal("smtp.qq.com"), None);
        assert_eq!(literal("[smtp.qq.com]"), None);
    }
}
