//! `cargo run --example demo`: sends an alert email with an attachment through the
//! real blocking client, over real TCP on 127.0.0.1, to a small SMTP receiver that
//! runs in this same process. Needs no network and no credentials.
//!
//! It prints the SMTP dialogue as the receiver saw it (AUTH redacted) and the
//! message exactly as it arrived.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use embedded_io_adapters::std::FromStd;
use embedded_smtp::blocking::Client;
use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox};

const USER: &str = "sensor7@demo.local";
const PASSWORD: &str = "demo-authorization-code";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let server = std::thread::spawn(move || receive_one(listener));

    // ---- the device side: what firmware would run ----
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_nodelay(true)?;
    let (mut rx, mut tx) = ([0u8; 1024], [0u8; 2048]);
    let config = Config::new(Domain::try_new("sensor-7.demo.local")?)
        .with_credentials(Credentials::try_new(USER, PASSWORD)?)
        // The receiver is on loopback in this process; never do this over a network.
        .allow_plaintext_auth();
    let mut client: Client<'_, _> = Client::new(FromStd::new(tcp), config, &mut rx, &mut tx)?;
    client.connect()?;

    let from = Mailbox::parse("Sensor 7 <sensor7@demo.local>")?;
    let to = [Mailbox::parse("Operations <ops@demo.local>")?];
    let csv = b"time,celsius\n2026-11-28T15:00:00Z,74.9\n2026-11-28T15:01:00Z,78.2\n2026-11-28T15:02:00Z,81.5\n";
    let mut attachments = [Attachment::new("readings.csv", "text/csv", &csv[..])?];
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut message = Message::new(from, HeaderText::try_new("Temperature alarm: 81.5 °C in cold room 2")?)
        .to(&to)
        .date(DateTime { unix_seconds: now, offset_minutes: 0 })
        .message_id(random_bytes())
        .text("Cold room 2 is at 81.5 °C (limit 75 °C) since 15:02 UTC.\nThe last readings are attached.\n")
        .attachments(&mut attachments);
    let report = client.send(&mut message)?;
    client.quit()?;
    drop(client);

    let received = server.join().expect("receiver thread")?;
    println!(
        "\n--- message as received ({} bytes) ---\n{}",
        received.len(),
        String::from_utf8_lossy(&received)
    );
    if let Some(reply) = report.reply() {
        println!(
            "--- accepted: {} recipient(s); server said: {reply}",
            report.accepted()
        );
    }
    Ok(())
}

/// Random bytes for the Message-ID without an RNG crate: std's hasher keys are random.
fn random_bytes() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    for half in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(1);
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// A minimal SMTP receiver for one session: enough ESMTP for the demo, printing the
/// dialogue. Returns the message content (dot-unstuffed).
fn receive_one(listener: TcpListener) -> std::io::Result<Vec<u8>> {
    let (stream, _) = listener.accept()?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let say = |out: &mut TcpStream, text: &str| -> std::io::Result<()> {
        for line in text.split("\r\n").filter(|l| !l.is_empty()) {
            println!("S: {line}");
        }
        out.write_all(text.as_bytes())
    };
    say(
        &mut out,
        "220 demo.local ESMTP embedded-smtp demo receiver\r\n",
    )?;
    let mut message = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(message);
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("AUTH ") {
            println!("C: AUTH PLAIN <redacted>");
        } else {
            println!("C: {cmd}");
        }
        if upper.starts_with("EHLO") {
            say(
                &mut out,
                "250-demo.local\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n",
            )?;
        } else if let Some(b64) = upper.strip_prefix("AUTH PLAIN ").map(|_| &cmd[11..]) {
            let decoded = STANDARD.decode(b64).unwrap_or_default();
            let expected = [
                b"\0".as_slice(),
                USER.as_bytes(),
                b"\0",
                PASSWORD.as_bytes(),
            ]
            .concat();
            if decoded == expected {
                say(&mut out, "235 2.7.0 Authentication successful\r\n")?;
            } else {
                say(&mut out, "535 5.7.8 Authentication credentials invalid\r\n")?;
            }
        } else if upper.starts_with("MAIL FROM:") {
            say(&mut out, "250 2.1.0 Ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            say(&mut out, "250 2.1.5 Ok\r\n")?;
        } else if upper == "DATA" {
            say(&mut out, "354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut body_lines = 0;
            loop {
                let mut l = Vec::new();
                if reader.read_until(b'\n', &mut l)? == 0 {
                    return Ok(message);
                }
                if l == b".\r\n" {
                    break;
                }
                body_lines += 1;
                // RFC 5321 §4.5.2: remove the stuffed dot.
                message.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
            }
            println!("C: <{body_lines} lines of message data>\nC: .");
            say(&mut out, "250 2.0.0 Ok: queued as DEMO1\r\n")?;
        } else if upper == "QUIT" {
            say(&mut out, "221 2.0.0 Bye\r\n")?;
            return Ok(message);
        } else {
            say(&mut out, "502 5.5.2 Command not recognized\r\n")?;
        }
    }
}
