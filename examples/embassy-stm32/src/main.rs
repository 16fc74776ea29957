//! An STM32F429ZI Nucleo-144 sends an alert email over its Ethernet port.
//!
//! The board gets an address by DHCP (embassy-net), resolves the mail server,
//! connects to port 465, runs implicit TLS 1.3 (embedded-tls through
//! `embedded_smtp::tls::asynch`) and authenticates the server by the SHA-256 pin
//! of its public key (the board has no clock, so certificate validity periods
//! cannot be checked), seeds TLS from the STM32 hardware RNG, logs in with AUTH,
//! sends one short alert, says QUIT and logs the outcome with defmt. A transient
//! failure (network, time-out, `4yz`) is tried again a few times; a permanent one
//! (refused credentials, wrong pin, `5yz`) is not.
//!
//! Configuration comes from the environment at build time (see `README.md`):
//! `SMTP_SERVER`, `SMTP_PORT`, `SMTP_USER`, `SMTP_PASSWORD`, `SMTP_FROM`,
//! `SMTP_TO`, `SMTP_PIN`, `SMTP_PIN_BACKUP`, `SMTP_HELO`.

#![no_std]
#![no_main]

use core::fmt::Write as _;

use defmt::{Display2Format, error, info, unwrap, warn};
use embassy_executor::Spawner;
use embassy_net::dns::DnsSocket;
use embassy_net::tcp::client::{TcpClient, TcpClientState};
use embassy_net::{Stack, StackResources};
use embassy_stm32::eth::{Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::Rng;
use embassy_stm32::{bind_interrupts, eth, rng};
use embassy_time::{Duration, Timer, with_timeout};
use embedded_smtp::asynch::EmbassyTimer;
use embedded_smtp::message::Message;
use embedded_smtp::nal::{self, ConnectError};
use embedded_smtp::retry::{Delivery, Next, Policy, Retry, Transient};
use embedded_smtp::tls::{self, Connector, SessionError, TLS_READ_BUFFER, TLS_WRITE_BUFFER};
use embedded_smtp::verify::Verifier;
use embedded_smtp::{Config, Credentials, Domain, Error, HeaderText, Mailbox, Security};
use heapless::String;
use static_cell::{ConstStaticCell, StaticCell};
use {defmt_rtt as _, panic_probe as _};

// ------------------------------------------------------------ configuration --

/// `value`, or `default` when the variable was not set at build time.
const fn or(value: Option<&'static str>, default: &'static str) -> &'static str {
    match value {
        Some(v) => v,
        None => default,
    }
}

/// A decimal port number, checked when the firmware is built.
const fn port(text: &str) -> u16 {
    let bytes = text.as_bytes();
    assert!(
        !bytes.is_empty() && bytes.len() <= 5,
        "SMTP_PORT: 1 to 5 digits"
    );
    let mut value: u32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "SMTP_PORT: digits only");
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    assert!(value >= 1 && value <= 65_535, "SMTP_PORT: 1..=65535");
    value as u16
}

/// The mail server: its DNS name is also the TLS server name (SNI).
const SERVER: &str = or(option_env!("SMTP_SERVER"), "smtp.example.com");
/// Implicit TLS (RFC 8314).
const PORT: u16 = port(or(option_env!("SMTP_PORT"), "465"));
const USER: &str = or(option_env!("SMTP_USER"), "sensor7@example.com");
/// Kept in flash as plain text: see README.md.
const PASSWORD: &str = or(option_env!("SMTP_PASSWORD"), "app-password");
const FROM: &str = or(option_env!("SMTP_FROM"), "Sensor 7 <sensor7@example.com>");
const TO: &str = or(option_env!("SMTP_TO"), "ops@example.com");
const HELO: &str = or(option_env!("SMTP_HELO"), "nucleo-f429zi.local");
/// SHA-256 of the server's SubjectPublicKeyInfo, base64 or hex. The default
/// (all zeros) matches no key: the firmware refuses every server until it is set.
const PIN: &str = or(
    option_env!("SMTP_PIN"),
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
);
/// A second pin (the server's next key), so the device survives a key change.
const PIN_BACKUP: Option<&str> = option_env!("SMTP_PIN_BACKUP");

/// DNS + TCP connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(30);
/// The TLS handshake, certificate check included (a P-256 signature check takes
/// tens of milliseconds at 168 MHz; the rest is the network).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);
/// Waiting for the Ethernet link and a DHCP lease.
const DHCP_LIMIT: Duration = Duration::from_secs(60);
/// Tries for one alert: three at most, the pauses from 10 s doubling up to a
/// minute (with jitter from the RNG), all within ten minutes.
const RETRY: Policy = Policy::new(3)
    .with_backoff(
        core::time::Duration::from_secs(10),
        core::time::Duration::from_secs(60),
    )
    .with_total(core::time::Duration::from_secs(600));

// ---------------------------------------------------------------- hardware --

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    HASH_RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// 168 MHz from the ST-LINK's 8 MHz clock (HSE bypass); PLL Q gives the 48 MHz
/// the RNG needs.
fn clocks() -> embassy_stm32::Config {
    use embassy_stm32::rcc::*;
    use embassy_stm32::time::Hertz;

    let mut config = embassy_stm32::Config::default();
    config.rcc.hse = Some(Hse {
        freq: Hertz(8_000_000),
        mode: HseMode::Bypass,
    });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL168,
        divp: Some(PllPDiv::DIV2), // 336 / 2 = 168 MHz
        divq: Some(PllQDiv::DIV7), // 336 / 7 = 48 MHz
        divr: None,
    });
    config.rcc.sys = Sysclk::PLL1_P;
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config
}

/// A locally administered MAC address from the chip's unique ID (wafer
/// coordinates and wafer number), so two boards on one network differ.
fn mac_address() -> [u8; 6] {
    let id = embassy_stm32::uid::uid();
    [0x02, id[0], id[1], id[2], id[3], id[4]]
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

// ------------------------------------------------------------------ memory --

/// Every buffer of one SMTP session, in `.bss`.
struct Buffers {
    /// One whole TLS record (RFC 8446 §5.2).
    tls_read: [u8; TLS_READ_BUFFER],
    tls_write: [u8; TLS_WRITE_BUFFER],
    /// One reply line (RFC 5321 §4.5.3.1.5).
    rx: [u8; 512],
    /// Commands and the message, written in pieces of this size.
    tx: [u8; 1024],
}

static BUFFERS: ConstStaticCell<Buffers> = ConstStaticCell::new(Buffers {
    tls_read: [0; TLS_READ_BUFFER],
    tls_write: [0; TLS_WRITE_BUFFER],
    rx: [0; 512],
    tx: [0; 1024],
});

/// One TCP connection at a time, with embassy-net's socket buffers.
type Tcp = TcpClientState<1, 1024, 1024>;
static TCP: ConstStaticCell<Tcp> = ConstStaticCell::new(TcpClientState::new());
static PACKETS: ConstStaticCell<PacketQueue<4, 4>> = ConstStaticCell::new(PacketQueue::new());
/// DHCP, DNS and the TCP socket.
static RESOURCES: StaticCell<StackResources<3>> = StaticCell::new();

// ------------------------------------------------------------------- alert --

/// A sensor reading in tenths of a degree (integers keep float formatting out
/// of the image).
#[derive(Clone, Copy)]
struct Reading {
    tenths: i32,
    limit_tenths: i32,
}

/// Stands in for a real sensor: replace with your ADC or I2C reading.
fn read_sensor() -> Reading {
    Reading {
        tenths: 815,
        limit_tenths: 750,
    }
}

/// `12.3` (or `-0.5`) into `out`.
fn tenths(out: &mut impl core::fmt::Write, value: i32) -> core::fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let value = value.unsigned_abs();
    write!(out, "{sign}{}.{}", value / 10, value % 10)
}

/// Why one try failed.
enum AlertError {
    /// A bad value in the build-time configuration; retrying cannot help.
    Config(&'static str),
    /// DNS or TCP.
    Connect(ConnectError<embassy_net::tcp::Error, embassy_net::dns::Error>),
    /// DNS + TCP connect, or the TLS handshake, took too long.
    TimedOut(&'static str),
    /// TLS or SMTP: the client's typed error.
    Session(SessionError<embassy_net::tcp::Error>),
}

impl Transient for AlertError {
    fn is_transient(&self) -> bool {
        match self {
            AlertError::Config(_) => false,
            // A name that does not resolve may be a DNS outage as well as a typo.
            AlertError::Connect(_) | AlertError::TimedOut(_) => true,
            AlertError::Session(e) => e.is_transient(),
        }
    }
}

impl AlertError {
    fn log(&self, attempt: u32) {
        let transient = self.is_transient();
        match self {
            AlertError::Config(what) => {
                error!(
                    "try {}: bad configuration: {} (transient: {})",
                    attempt, what, transient
                )
            }
            AlertError::Connect(e) => {
                error!(
                    "try {}: {} {} (transient: {})",
                    attempt,
                    e,
                    Display2Format(e),
                    transient
                )
            }
            AlertError::TimedOut(what) => {
                error!(
                    "try {}: {} timed out (transient: {})",
                    attempt, what, transient
                )
            }
            // `{}` is the typed error (stage, code, ...); Display2Format gives the
            // whole sentence with the server's text and hints.
            AlertError::Session(e) => error!(
                "try {}: {} (transient: {}, code: {}): {}",
                attempt,
                e,
                transient,
                e.code().map(|c| c.get()),
                Display2Format(e)
            ),
        }
    }
}

impl From<SessionError<embassy_net::tcp::Error>> for AlertError {
    fn from(e: SessionError<embassy_net::tcp::Error>) -> Self {
        AlertError::Session(e)
    }
}

impl From<embedded_smtp::InputError> for AlertError {
    fn from(e: embedded_smtp::InputError) -> Self {
        AlertError::Session(Error::Input(e))
    }
}

/// One try: connect, TLS, AUTH, send, QUIT. Returns how many recipients the
/// server accepted.
async fn send_alert(
    stack: Stack<'static>,
    tcp_state: &'static Tcp,
    rng: &mut Rng<'static, RNG>,
    pins: &[[u8; 32]],
    bufs: &mut Buffers,
    reading: Reading,
    message_id: [u8; 16],
) -> Result<usize, AlertError> {
    // Everything that can be refused before a byte is sent.
    let config = Config::new(Domain::try_new(HELO)?)
        .with_security(Security::Implicit)
        .with_credentials(Credentials::try_new(USER, PASSWORD)?);
    let from = Mailbox::parse(FROM)?;
    let to = [Mailbox::parse(TO)?];
    let mut subject: String<64> = String::new();
    let mut body: String<256> = String::new();
    let text = (|| {
        subject.write_str("Sensor over threshold: ")?;
        tenths(&mut subject, reading.tenths)?;
        subject.write_str(" C")?;
        body.write_str("The sensor reads ")?;
        tenths(&mut body, reading.tenths)?;
        body.write_str(" C, over the limit of ")?;
        tenths(&mut body, reading.limit_tenths)?;
        write!(
            body,
            " C.\nSent by {HELO} after {} s of uptime.\n",
            embassy_time::Instant::now().as_secs()
        )
    })();
    if text.is_err() {
        return Err(AlertError::Config("the alert text does not fit its buffer"));
    }
    // No wall clock on the board: the submission server adds the Date.
    let mut message: Message<'_> = Message::new(from, HeaderText::try_new(&subject)?)
        .to(&to)
        .without_date()
        .message_id(message_id)
        .text(&body);

    // DNS and TCP through the crate's embedded-nal-async helper.
    let mut tcp = TcpClient::new(stack, tcp_state);
    // The socket gives up when the server is silent this long (the client's own
    // per-wait limits are shorter for most waits).
    tcp.set_timeout(Some(Duration::from_secs(120)));
    let dns = DnsSocket::new(stack);
    info!("connecting to {}:{}", SERVER, PORT);
    let connection = with_timeout(CONNECT_LIMIT, nal::connect_async(&tcp, &dns, SERVER, PORT))
        .await
        .map_err(|_| AlertError::TimedOut("DNS and TCP connect"))?
        .map_err(AlertError::Connect)?;

    // TLS 1.3, the server authenticated by its key's pin, the RNG the STM32's.
    let connector = Connector::new(SERVER, Verifier::with_pins(pins), &mut *rng);
    // The timer bounds every wait of the client (RFC 5321's limits through
    // embassy-time); HANDSHAKE_LIMIT, shorter than the crate's 2 minutes, bounds
    // the handshake.
    let handshake = tls::asynch::client::<_, _, _, _, 1>(
        connection,
        connector,
        config,
        &mut bufs.rx,
        &mut bufs.tx,
        &mut bufs.tls_read,
        &mut bufs.tls_write,
        EmbassyTimer::new(),
    );
    let mut client = with_timeout(HANDSHAKE_LIMIT, handshake)
        .await
        .map_err(|_| AlertError::TimedOut("TLS handshake"))??;
    info!("TLS up, server key matches the pin");

    // Greeting, EHLO, AUTH; then MAIL, RCPT, DATA (pipelined when offered) and
    // QUIT, each wait bounded by RFC 5321's limit through embassy-time.
    client.connect().await?;
    info!("logged in as {}", USER);
    let report = client.send_and_quit(&mut message).await?;
    Ok(report.accepted())
}

#[embassy_executor::main]
async fn main(spawner: Spawner) -> ! {
    let p = embassy_stm32::init(clocks());
    info!("embedded-smtp alert on the Nucleo-F429ZI");

    let mut rng = Rng::new(p.RNG, Irqs);
    let seed = rng.next_u64();

    let device = Ethernet::new(
        PACKETS.take(),
        p.ETH,
        Irqs,
        p.PA1,  // REF_CLK
        p.PA7,  // CRS_DV
        p.PC4,  // RXD0
        p.PC5,  // RXD1
        p.PG13, // TXD0
        p.PB13, // TXD1
        p.PG11, // TX_EN
        mac_address(),
        p.ETH_SMA,
        p.PA2, // MDIO
        p.PC1, // MDC
    );
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        seed,
    );
    spawner.spawn(unwrap!(net_task(runner)));

    info!("waiting for the link and a DHCP lease");
    if with_timeout(DHCP_LIMIT, stack.wait_config_up())
        .await
        .is_err()
    {
        error!(
            "no DHCP lease within {} s: is the cable in?",
            DHCP_LIMIT.as_secs()
        );
        park().await;
    }
    if let Some(v4) = stack.config_v4() {
        info!(
            "address {}, gateway {}, DNS {}",
            v4.address,
            v4.gateway,
            v4.dns_servers.as_slice()
        );
    }

    // Pins are parsed once; a bad one stops here instead of at each try.
    let mut pins = [[0u8; 32]; 2];
    let mut pin_count = 0;
    for text in [Some(PIN), PIN_BACKUP].into_iter().flatten() {
        match tls::parse_pin(text) {
            Ok(pin) => {
                pins[pin_count] = pin;
                pin_count += 1;
            }
            Err(e) => {
                error!("SMTP_PIN or SMTP_PIN_BACKUP is not a SHA-256 pin: {}", e);
                park().await;
            }
        }
    }
    if pins[0] == [0; 32] {
        warn!("SMTP_PIN was not set at build time: every server will be refused");
    }

    let bufs = BUFFERS.take();
    let tcp_state = TCP.take();
    let reading = read_sensor();
    // One Message-ID for every attempt: if a lost `250` makes a retry deliver the
    // alert twice, the copies carry the same ID.
    let mut message_id = [0u8; 16];
    rng.fill_bytes(&mut message_id);
    let mut retry = Retry::new(RETRY);
    let mut attempt = 0;
    let delivery = loop {
        attempt += 1;
        retry.begin(uptime());
        let result = send_alert(
            stack,
            tcp_state,
            &mut rng,
            &pins[..pin_count],
            bufs,
            reading,
            message_id,
        )
        .await;
        if let Err(e) = &result {
            e.log(attempt);
        }
        match retry.after(result, uptime(), rng.next_u32()) {
            Next::Retry(pause) => {
                info!("trying again in {} s", pause.as_secs());
                Timer::after(Duration::from_millis(pause.as_millis() as u64)).await;
            }
            Next::Done(delivery) => break delivery,
        }
    };
    match delivery {
        Delivery::Delivered { attempts, report } => info!(
            "alert sent after {} attempt(s): {} recipient(s) accepted",
            attempts, report
        ),
        Delivery::Refused { attempts, .. } => {
            error!("refused for good after {} attempt(s)", attempts)
        }
        _ => error!("giving up on this alert after {} attempts", attempt),
    }
    park().await
}

/// Time since boot, for the retry policy's clock.
fn uptime() -> core::time::Duration {
    core::time::Duration::from_micros(embassy_time::Instant::now().as_micros())
}

/// Nothing more to do: the network task keeps the DHCP lease.
async fn park() -> ! {
    loop {
        Timer::after_secs(3600).await;
    }
}
