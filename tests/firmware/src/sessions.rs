//! The session both clients run: EHLO, AUTH PLAIN, a message with an attachment
//! to two recipients (one refused when the responder is told so), QUIT.

use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::{Config, Credentials, Domain, Error, HeaderText, InputError, Mailbox};

/// The subject and text of the alert over TCP. The subject is ASCII in the default
/// build, as in the README's firmware example; with feature `encodings` (the
/// crate's encoders) it needs RFC 2047. The text is UTF-8: base64 in the default
/// build, quoted-printable with `encodings`.
#[cfg(not(feature = "encodings"))]
pub const ALERT: (&str, &str) = (ASCII_ALERT.0, "Cold room 2 is at 81.5 °C (limit 75 °C).\n");
/// The subject and text of the alert over TCP. The subject is ASCII in the default
/// build, as in the README's firmware example; with feature `encodings` (the
/// crate's encoders) it needs RFC 2047. The text is UTF-8: base64 in the default
/// build, quoted-printable with `encodings`.
#[cfg(feature = "encodings")]
pub const ALERT: (&str, &str) = (
    "Kühlraum 2: 81,5 °C",
    "Cold room 2 is at 81.5 °C (limit 75 °C).\n",
);
/// The alert over TLS: ASCII, so that it is the same bytes in every build and the
/// recorded server (`data/`) fits it.
pub const ASCII_ALERT: (&str, &str) = (
    "Cold room 2: 81.5 C",
    "Cold room 2 is at 81.5 C (limit 75 C).\n",
);

/// The attachment.
pub const CSV: &[u8] = b"time,celsius\n15:00,74.9\n15:01,78.2\n15:02,81.5\n";

fn config() -> Result<Config<'static>, InputError> {
    Ok(Config::new(Domain::try_new("sensor-7.qemu")?)
        .with_credentials(Credentials::try_new("sensor", "code")?)
        .allow_plaintext_auth())
}

/// Builds the alert: from the sensor to two recipients, with the CSV attached.
macro_rules! alert {
    ($message:ident, $alert:expr) => {
        let from = Mailbox::parse("Sensor 7 <sensor7@qemu.test>")?;
        let to = [
            Mailbox::parse("ops@qemu.test")?,
            Mailbox::parse("Night shift <night@qemu.test>")?,
        ];
        let mut attachments = [Attachment::new("readings.csv", "text/csv", CSV)?];
        let mut $message = Message::new(from, HeaderText::try_new($alert.0)?)
            .to(&to)
            .date(DateTime {
                unix_seconds: 1_795_874_400,
                offset_minutes: 60,
            })
            .message_id([0x5a; 16])
            .text($alert.1)
            .attachments(&mut attachments);
    };
}

/// The session with the blocking client; returns the number of accepted
/// recipients and the stream.
pub fn blocking<S: embedded_io::Read + embedded_io::Write>(
    stream: S,
) -> Result<(usize, S), Error<S::Error>> {
    use embedded_smtp::blocking::{Client, Untimed};
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    // The in-image peers answer at once: no clock to bound the waits with.
    let mut client: Client<'_, Untimed<S>> =
        Client::new(Untimed(stream), config()?, &mut rx, &mut tx)?;
    client.connect()?;
    alert!(message, ALERT);
    let accepted = client.send(&mut message)?.accepted();
    client.quit()?;
    Ok((accepted, client.into_inner().into_inner()))
}

/// The same session with the async client.
pub async fn asynch<S: embedded_io_async::Read + embedded_io_async::Write>(
    stream: S,
) -> Result<(usize, S), Error<S::Error>> {
    use embedded_smtp::asynch::{Client, NoTimer};
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut client: Client<'_, S> = Client::new(stream, NoTimer, config()?, &mut rx, &mut tx)?;
    client.connect().await?;
    alert!(message, ALERT);
    let accepted = client.send(&mut message).await?.accepted();
    client.quit().await?;
    Ok((accepted, client.into_inner()))
}

/// A seeded RNG (xorshift64*) for the TLS sessions replayed from a recording:
/// the same seed gives the same ClientHello and key share, so the recorded
/// server's answers fit. Never use a seeded RNG for real TLS.
#[cfg(feature = "tls")]
pub struct Seeded(pub u64);

/// The seed the recording in `data/implicit-tls.bin` was made with.
#[cfg(feature = "tls")]
pub const SEED: u64 = 0x5EED_0FC0_FFEE;

#[cfg(feature = "tls")]
impl rand_core::RngCore for Seeded {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(feature = "tls")]
impl rand_core::CryptoRng for Seeded {}

/// The session over implicit TLS to "localhost" with the blocking client: the
/// TLS record buffers are the caller's. Returns the number of accepted recipients.
///
/// Written for a small stack: the handshake is the first step of `connect`, so it
/// runs on top of this frame. The frame keeps the connector and the stream, and
/// the client holds only references to them (`Client::with_upgrade` with
/// `&mut`), so neither is copied into it; `tls::blocking::client` (which moves
/// both into the client) costs about 2.7 KB more stack here. The message is built in
/// [`tls_send`]'s frame, after the handshake.
#[cfg(feature = "tls")]
pub fn tls_blocking<'v, S: embedded_io::Read + embedded_io::Write>(
    socket: S,
    verifier: impl FnOnce() -> embedded_smtp::verify::Verifier<'v>,
    tls_read: &mut [u8],
    tls_write: &mut [u8],
) -> Result<usize, Error<embedded_smtp::tls::StreamError<S::Error>>> {
    use embedded_smtp::Security;
    use embedded_smtp::blocking::{Client, Untimed};
    use embedded_smtp::tls::{Connector, blocking::TlsStream};
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let config = config()?.with_security(Security::Implicit);
    // The verifier is built here, straight into the connector: built by the
    // caller and moved in, it would be on the stack twice (960 B each with RSA).
    let mut connector = Connector::new("localhost", verifier(), Seeded(SEED));
    // The recorded server answers at once: no clock to bound the waits with.
    let mut stream = TlsStream::new(Untimed(socket), tls_read, tls_write);
    // Room for the alert's two recipients: the report is in this frame, under
    // the handshake.
    let mut client: Client<'_, _, 2, _> =
        Client::with_upgrade(&mut stream, &mut connector, config, &mut rx, &mut tx)?;
    client.connect()?; // the handshake, the greeting, EHLO, AUTH
    tls_send(&mut client)
}

/// The message of [`tls_blocking`] and QUIT, in a frame of its own (not on the
/// stack during the handshake).
#[cfg(feature = "tls")]
#[inline(never)]
fn tls_send<S: embedded_io::Read + embedded_io::Write>(
    client: &mut embedded_smtp::blocking::Client<
        '_,
        &mut embedded_smtp::tls::blocking::TlsStream<'_, embedded_smtp::blocking::Untimed<S>>,
        2,
        &mut embedded_smtp::tls::Connector<'_, Seeded>,
    >,
) -> Result<usize, Error<embedded_smtp::tls::StreamError<S::Error>>> {
    alert!(message, ASCII_ALERT);
    let accepted = client.send(&mut message)?.accepted();
    client.quit()?;
    Ok(accepted)
}

/// A time inside the test certificates' validity (2026-05-28), for verifying the
/// recorded chain.
#[cfg(feature = "tls")]
pub const RECORDING_TIME: u64 = 1_780_000_000;
