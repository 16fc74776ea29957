//! The lettre side of the throughput benchmark: lettre 0.11's synchronous
//! `SmtpTransport` over plain TCP, sending COUNT copies of one message over one
//! connection, then printing messages per second.
//!
//! ```text
//! bench-lettre HOST PORT COUNT SIZE   send COUNT messages with a SIZE-byte body
//! bench-lettre --body SIZE            print that body (the other clients send it too)
//! ```
//!
//! The message is what a lettre user writes: `Message::builder()` with From, To,
//! Subject, Date and Message-ID, `ContentType::TEXT_PLAIN` and the body from
//! [`bench_lettre::body`] (lettre picks 7bit for it). The pool (feature `pool`)
//! is limited to one connection, which `test_connection` opens before the clock
//! starts; each `send` then takes it from the pool (lettre checks it with `NOOP`)
//! and runs `MAIL`, `RCPT`, `DATA` and the body, one round trip each.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use bench_lettre::{FROM, SUBJECT, TO, body};
use lettre::message::header::ContentType;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

const USAGE: &str = "usage: bench-lettre HOST PORT COUNT SIZE | bench-lettre --body SIZE";

/// Most messages one run may send (keeps every loop bounded).
const MAX_COUNT: u32 = 1_000_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-lettre: error: {e}\n{USAGE}");
            ExitCode::from(1)
        }
    }
}

fn number<T: std::str::FromStr>(what: &str, s: Option<&String>) -> Result<T, String> {
    let s = s.ok_or_else(|| format!("{what} missing"))?;
    s.parse().map_err(|_| format!("{what} {s:?}: not a number"))
}

fn run(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("--body") {
        let size: usize = number("SIZE", args.get(1))?;
        print!("{}", body(size));
        return Ok(());
    }
    if args.len() != 4 {
        return Err("expected four arguments".into());
    }
    let host = &args[0];
    let port: u16 = number("PORT", args.get(1))?;
    let count: u32 = number("COUNT", args.get(2))?;
    let size: usize = number("SIZE", args.get(3))?;
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(format!("COUNT must be 1..={MAX_COUNT}"));
    }

    let email = Message::builder()
        .from(FROM.parse().map_err(|e| format!("from: {e}"))?)
        .to(TO.parse().map_err(|e| format!("to: {e}"))?)
        .subject(SUBJECT)
        .date(SystemTime::now())
        .message_id(Some("<3f2a9107c45e18b2@bench.example>".into()))
        .header(ContentType::TEXT_PLAIN)
        .body(body(size))
        .map_err(|e| format!("building the message: {e}"))?;

    let mailer = SmtpTransport::builder_dangerous(host.as_str())
        .port(port)
        .hello_name(ClientId::Domain("bench.example".into()))
        .timeout(Some(Duration::from_secs(30)))
        .pool_config(PoolConfig::new().max_size(1).min_idle(0))
        .build();
    // Opens the one connection (greeting, EHLO) and parks it in the pool.
    if !mailer
        .test_connection()
        .map_err(|e| format!("connect to {host}:{port}: {e}"))?
    {
        return Err(format!("connect to {host}:{port}: NOOP failed"));
    }

    let start = Instant::now();
    for i in 0..count {
        mailer
            .send(&email)
            .map_err(|e| format!("message {}: {e}", i + 1))?;
    }
    let secs = start.elapsed().as_secs_f64();
    mailer.shutdown();
    println!(
        "bench-lettre: {count} message(s) in {secs:.3} s: {:.1} messages/s",
        f64::from(count) / secs.max(1e-9)
    );
    Ok(())
}
