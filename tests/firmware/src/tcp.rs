//! Real TCP/IP inside the image: a smoltcp 0.13 interface on 127.0.0.1 over an
//! in-memory loopback device (a fixed ring of packets, no heap), with a listening
//! server socket fed to the [`Responder`] and a client socket that the unchanged
//! SMTP client reads and writes as an `embedded_io` stream.
//!
//! Time is a counter that moves 1 ms per step, so smoltcp's timers (delayed ACK,
//! retransmission) work without a clock. Every wait is bounded by [`MAX_STEPS`].

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, ChecksumCapabilities, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

use crate::responder::Responder;

/// The loopback's MTU: TCP segments of up to 260 bytes (small, for the 16 KB of
/// RAM of the Cortex-M0 board).
const MTU: usize = 300;
/// Packets in flight on the loopback.
const SLOTS: usize = 4;
/// Steps (1 ms each) any one read, write or flush may take.
pub const MAX_STEPS: u32 = 20_000;
const SMTP_PORT: u16 = 25;

/// An in-memory loopback device: what is transmitted is received, in order.
pub struct Loopback {
    slots: [[u8; MTU]; SLOTS],
    lens: [usize; SLOTS],
    head: usize,
    count: usize,
}

impl Loopback {
    /// An empty loopback.
    pub const fn new() -> Self {
        Loopback {
            slots: [[0; MTU]; SLOTS],
            lens: [0; SLOTS],
            head: 0,
            count: 0,
        }
    }
}

impl Default for Loopback {
    fn default() -> Self {
        Self::new()
    }
}

/// A received packet, copied out of the ring.
pub struct Rx {
    buf: [u8; MTU],
    len: usize,
}

/// A slot to transmit into.
pub struct Tx<'a> {
    wire: &'a mut Loopback,
}

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.buf[..self.len])
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let w = self.wire;
        if w.count == SLOTS || len > MTU {
            // The ring is full: the packet is lost, as on a real link; TCP resends.
            let mut scratch = [0u8; MTU];
            return f(&mut scratch[..len.min(MTU)]);
        }
        let i = (w.head + w.count) % SLOTS;
        let r = f(&mut w.slots[i][..len]);
        w.lens[i] = len;
        w.count += 1;
        r
    }
}

impl Device for Loopback {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.max_transmission_unit = MTU;
        caps.medium = Medium::Ip;
        caps.checksum = ChecksumCapabilities::ignored();
        caps
    }

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        if self.count == 0 {
            return None;
        }
        let mut rx = Rx {
            buf: [0; MTU],
            len: self.lens[self.head],
        };
        rx.buf[..rx.len].copy_from_slice(&self.slots[self.head][..rx.len]);
        self.head = (self.head + 1) % SLOTS;
        self.count -= 1;
        Some((rx, Tx { wire: self }))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx { wire: self })
    }
}

/// Why the TCP stream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// The connection is closed or was reset.
    Closed,
    /// Nothing moved for [`MAX_STEPS`] steps.
    Stalled,
}

impl core::fmt::Display for LinkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            LinkError::Closed => "connection closed",
            LinkError::Stalled => "connection stalled",
        })
    }
}

impl core::error::Error for LinkError {}

impl embedded_io::Error for LinkError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self {
            LinkError::Closed => embedded_io::ErrorKind::ConnectionReset,
            LinkError::Stalled => embedded_io::ErrorKind::TimedOut,
        }
    }
}

/// The socket buffers, owned by the caller (statics, so the stack stays small).
pub struct Buffers {
    /// Client receive buffer.
    pub client_rx: [u8; 512],
    /// Client transmit buffer.
    pub client_tx: [u8; 512],
    /// Server receive buffer.
    pub server_rx: [u8; 512],
    /// Server transmit buffer.
    pub server_tx: [u8; 256],
}

impl Buffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            client_rx: [0; 512],
            client_tx: [0; 512],
            server_rx: [0; 512],
            server_tx: [0; 256],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// The client's end of a TCP connection to the responder, over the loopback.
pub struct Link<'a> {
    iface: Interface,
    wire: &'a mut Loopback,
    sockets: SocketSet<'a>,
    client: SocketHandle,
    server: SocketHandle,
    /// The SMTP responder behind the server socket.
    pub responder: Responder,
    now: i64,
    /// Steps taken in all.
    pub steps: u32,
    /// TCP segments the server received with payload (a rough count of writes).
    pub server_reads: u32,
}

impl<'a> Link<'a> {
    /// Opens a TCP connection from 127.0.0.1:49152 to the responder on
    /// 127.0.0.1:25 and waits until it is established. `storage` holds the two
    /// sockets.
    pub fn connect(
        wire: &'a mut Loopback,
        buffers: &'a mut Buffers,
        storage: &'a mut [SocketStorage<'a>; 2],
        responder: Responder,
    ) -> Result<Self, LinkError> {
        wire.head = 0;
        wire.count = 0;
        let mut iface = Interface::new(
            Config::new(HardwareAddress::Ip),
            &mut *wire,
            Instant::from_millis(0),
        );
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::v4(127, 0, 0, 1), 8));
        });
        let Buffers {
            client_rx,
            client_tx,
            server_rx,
            server_tx,
        } = buffers;
        let mut sockets = SocketSet::new(&mut storage[..]);
        let mut server = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut server_rx[..]),
            tcp::SocketBuffer::new(&mut server_tx[..]),
        );
        server.listen(SMTP_PORT).map_err(|_| LinkError::Closed)?;
        let client = tcp::Socket::new(
            tcp::SocketBuffer::new(&mut client_rx[..]),
            tcp::SocketBuffer::new(&mut client_tx[..]),
        );
        let server = sockets.add(server);
        let client = sockets.add(client);
        let mut link = Link {
            iface,
            wire,
            sockets,
            client,
            server,
            responder,
            now: 0,
            steps: 0,
            server_reads: 0,
        };
        let cx = link.iface.context();
        link.sockets
            .get_mut::<tcp::Socket>(link.client)
            .connect(cx, (IpAddress::v4(127, 0, 0, 1), SMTP_PORT), 49152)
            .map_err(|_| LinkError::Closed)?;
        link.until(|l| l.client().may_send())?;
        Ok(link)
    }

    fn client(&mut self) -> &mut tcp::Socket<'a> {
        self.sockets.get_mut::<tcp::Socket>(self.client)
    }

    /// One millisecond: the interface moves packets, the server side feeds the
    /// responder and sends its answers.
    fn step(&mut self) {
        self.now += 1;
        self.steps += 1;
        let now = Instant::from_millis(self.now);
        self.iface.poll(now, &mut *self.wire, &mut self.sockets);
        let server = self.sockets.get_mut::<tcp::Socket>(self.server);
        let responder = &mut self.responder;
        if server.can_recv() {
            let _ = server.recv(|data| {
                responder.take(data);
                (data.len(), ())
            });
            self.server_reads += 1;
        }
        while responder.pending() > 0 && server.can_send() {
            let sent = server.send(|buf| {
                let n = responder.give(buf);
                (n, n)
            });
            if !matches!(sent, Ok(n) if n > 0) {
                break;
            }
        }
        if responder.quit && responder.pending() == 0 {
            server.close();
        }
        self.iface.poll(now, &mut *self.wire, &mut self.sockets);
    }

    /// Steps until `done` holds, at most [`MAX_STEPS`] times.
    fn until(&mut self, mut done: impl FnMut(&mut Self) -> bool) -> Result<(), LinkError> {
        for _ in 0..MAX_STEPS {
            if done(self) {
                return Ok(());
            }
            self.step();
        }
        Err(LinkError::Stalled)
    }

    fn read_now(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        let mut got = Ok(0);
        self.until(|l| {
            let c = l.client();
            if c.can_recv() {
                got = c.recv_slice(buf).map_err(|_| LinkError::Closed);
                !matches!(got, Ok(0))
            } else {
                // The server closed: the end of the stream.
                !c.may_recv()
            }
        })?;
        got
    }

    fn write_now(&mut self, buf: &[u8]) -> Result<usize, LinkError> {
        let mut sent = Ok(0);
        self.until(|l| {
            let c = l.client();
            if !c.may_send() {
                sent = Err(LinkError::Closed);
                return true;
            }
            if c.can_send() {
                sent = c.send_slice(buf).map_err(|_| LinkError::Closed);
                return !matches!(sent, Ok(0));
            }
            false
        })?;
        sent
    }

    fn flush_now(&mut self) -> Result<(), LinkError> {
        self.until(|l| l.client().send_queue() == 0)
    }
}

impl embedded_io::ErrorType for Link<'_> {
    type Error = LinkError;
}

impl embedded_io::Read for Link<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        self.read_now(buf)
    }
}

impl embedded_io::Write for Link<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, LinkError> {
        self.write_now(buf)
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        self.flush_now()
    }
}

impl embedded_io_async::Read for Link<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        self.read_now(buf)
    }
}

impl embedded_io_async::Write for Link<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, LinkError> {
        self.write_now(buf)
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        self.flush_now()
    }
}
