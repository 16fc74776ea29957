//! Round trips per alert: how often the client must stop and wait for the server,
//! for each combination of the extensions that save waits (PIPELINING, CHUNKING)
//! and of the AUTH mechanism. On a radio link each wait costs 0.3–2 s of airtime.
//!
//! A wait is counted each time the client reads after having written (plus one for
//! the greeting, which it waits for before writing anything). TLS handshakes come
//! on top and are the same for every row.

mod common;

use common::{MODES, Scripted, Step};

type C<'a> = common::AnyClient<'a>;
use embedded_smtp::message::{BodySource, DateTime, Message};
use embedded_smtp::{Config, Credentials, Domain, HeaderText, Mailbox, Mechanism};

fn message_bytes() -> Vec<u8> {
    let mut m = message_parts();
    let mut w = m.writer();
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = w.fill(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

static FROM: &str = "Sensor 7 <sensor7@example.com>";
static TO: &str = "ops@example.com";

fn message_parts() -> Message<'static> {
    let to: &'static [Mailbox<'static>] = Box::leak(Box::new([Mailbox::parse(TO).unwrap()]));
    Message::new(
        Mailbox::parse(FROM).unwrap(),
        HeaderText::try_new("Door 3 opened").unwrap(),
    )
    .to(to)
    .date(DateTime {
        unix_seconds: 1_795_874_400,
        offset_minutes: 0,
    })
    .message_id([7; 16])
    .text("Door 3 opened at 15:02 UTC.\n")
}

fn s(b: &[u8]) -> Step {
    Step::Server(b.to_vec())
}

fn c(b: &[u8]) -> Step {
    Step::Client(b.to_vec())
}

/// Whether the client sends `BDAT` to a server that offers CHUNKING: only a build
/// with feature `chunking`; without it the same server gets `DATA`.
const BDAT: bool = cfg!(feature = "chunking");

/// The transcript of one alert, sent with `send_and_quit`, to a server that offers
/// PIPELINING and CHUNKING as told.
fn transcript(pipelining: bool, chunking: bool, login: bool) -> Vec<Step> {
    let body = message_bytes();
    assert!(
        body.ends_with(b"\r\n") && !body.windows(3).any(|w| w == b"\n.\r" || w == b"\n.."),
        "the body needs no stuffing"
    );
    let mut steps = vec![
        s(b"220 mx.example.net ESMTP\r\n"),
        c(b"EHLO sensor-7.local\r\n"),
    ];
    let mut caps = b"250-mx.example.net\r\n".to_vec();
    if pipelining {
        caps.extend_from_slice(b"250-PIPELINING\r\n");
    }
    if chunking {
        caps.extend_from_slice(b"250-CHUNKING\r\n");
    }
    caps.extend_from_slice(b"250 AUTH LOGIN PLAIN\r\n");
    steps.push(s(&caps));
    if login {
        steps.extend([
            c(b"AUTH LOGIN\r\n"),
            s(b"334 VXNlcm5hbWU6\r\n"),
            c(b"c2Vuc29yN0BleGFtcGxlLmNvbQ==\r\n"),
            s(b"334 UGFzc3dvcmQ6\r\n"),
            c(b"Y29kZQ==\r\n"),
            s(b"235 2.7.0 ok\r\n"),
        ]);
    } else {
        steps.extend([
            c(b"AUTH PLAIN AHNlbnNvcjdAZXhhbXBsZS5jb20AY29kZQ==\r\n"),
            s(b"235 2.7.0 ok\r\n"),
        ]);
    }
    let mail = b"MAIL FROM:<sensor7@example.com>\r\n".to_vec();
    let rcpt = b"RCPT TO:<ops@example.com>\r\n".to_vec();
    let bdat = [
        format!("BDAT {} LAST\r\n", body.len()).into_bytes(),
        body.clone(),
    ]
    .concat();
    let data_end = [body.clone(), b".\r\n".to_vec()].concat();
    match (pipelining, chunking && BDAT) {
        (true, true) => steps.extend([
            c(&[mail, rcpt, bdat, b"QUIT\r\n".to_vec()].concat()),
            s(b"250 ok\r\n250 ok\r\n250 queued\r\n221 bye\r\n"),
        ]),
        (true, false) => steps.extend([
            c(&[mail, rcpt, b"DATA\r\n".to_vec()].concat()),
            s(b"250 ok\r\n250 ok\r\n354 go\r\n"),
            c(&[data_end, b"QUIT\r\n".to_vec()].concat()),
            s(b"250 queued\r\n221 bye\r\n"),
        ]),
        (false, true) => steps.extend([
            c(&mail),
            s(b"250 ok\r\n"),
            c(&rcpt),
            s(b"250 ok\r\n"),
            c(&bdat),
            s(b"250 queued\r\n"),
            c(b"QUIT\r\n"),
            s(b"221 bye\r\n"),
        ]),
        (false, false) => steps.extend([
            c(&mail),
            s(b"250 ok\r\n"),
            c(&rcpt),
            s(b"250 ok\r\n"),
            c(b"DATA\r\n"),
            s(b"354 go\r\n"),
            c(&data_end),
            s(b"250 queued\r\n"),
            c(b"QUIT\r\n"),
            s(b"221 bye\r\n"),
        ]),
    }
    steps
}

/// Runs one alert in every delivery mode; returns the waits (the same in all modes).
fn waits(pipelining: bool, chunking: bool, login: bool) -> usize {
    let steps = transcript(pipelining, chunking, login);
    let mut counts = vec![];
    for (driver, mode) in common::matrix(&MODES) {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 2048]);
        let mech = if login {
            Mechanism::Login
        } else {
            Mechanism::Auto
        };
        let cfg = Config::new(Domain::try_new("sensor-7.local").unwrap())
            .with_credentials(
                Credentials::try_new("sensor7@example.com", "code")
                    .unwrap()
                    .with_mechanism(mech),
            )
            .allow_plaintext_auth();
        let mut client: C<'_> = C::new(
            driver,
            Scripted::new(steps.clone(), mode),
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
        client.connect().unwrap();
        let report = client.send_and_quit(&mut message_parts()).unwrap();
        assert_eq!(report.accepted(), 1);
        assert_eq!(report.reply().unwrap().text_lossy(), "queued");
        assert!(!client.engine().is_usable());
        client.stream_mut().assert_finished();
        counts.push(client.stream_mut().waits + 1);
    }
    assert!(counts.iter().all(|&n| n == counts[0]), "{counts:?}");
    counts[0]
}

#[test]
fn round_trips_per_alert() {
    // (PIPELINING, CHUNKING, AUTH LOGIN instead of PLAIN) -> waits
    // Without feature `chunking` a server's CHUNKING saves nothing.
    let (with_chunking, saved) = (true, usize::from(BDAT));
    let table = [
        ((true, with_chunking, false), 5 - saved),
        ((true, false, false), 5),
        ((false, with_chunking, false), 8 - saved),
        ((false, false, false), 8),
        // The classic script's flow: no extensions used, AUTH LOGIN.
        ((false, false, true), 10),
        ((true, with_chunking, true), 7 - saved),
    ];
    for ((p, ch, login), expected) in table {
        assert_eq!(
            waits(p, ch, login),
            expected,
            "PIPELINING {p}, CHUNKING {ch}, LOGIN {login}"
        );
    }
}

/// With QUIT pipelined behind the message, a refused message still reads the QUIT
/// reply and then reports the refusal; a refused MAIL is followed by QUIT, not RSET.
#[test]
fn send_and_quit_reports_refusals() {
    use embedded_smtp::Error;
    use embedded_smtp::engine::Stage;
    for chunking in [false, true] {
        let mut steps = transcript(true, chunking, false);
        let last = steps.len() - 1;
        steps[last] = if chunking && BDAT {
            s(b"250 ok\r\n250 ok\r\n554 5.7.1 spam\r\n221 bye\r\n")
        } else {
            s(b"554 5.7.1 spam\r\n221 bye\r\n")
        };
        for (driver, mode) in common::matrix(&MODES) {
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 2048]);
            let cfg = Config::new(Domain::try_new("sensor-7.local").unwrap())
                .with_credentials(Credentials::try_new("sensor7@example.com", "code").unwrap())
                .allow_plaintext_auth()
                .with_chunking(chunking);
            let mut client: C<'_> = C::new(
                driver,
                Scripted::new(steps.clone(), mode),
                cfg,
                &mut rx,
                &mut tx,
            )
            .unwrap();
            client.connect().unwrap();
            let e = client.send_and_quit(&mut message_parts()).unwrap_err();
            assert!(
                matches!(e, Error::Rejected { stage: Stage::EndOfData, response } if response.code.get() == 554),
                "{e:?}"
            );
            assert!(!client.engine().is_usable());
            client.stream_mut().assert_finished();
        }
    }
    // MAIL refused without pipelining: QUIT instead of RSET.
    let mut steps = transcript(false, false, false);
    steps.truncate(steps.len() - 10);
    steps.extend([
        c(b"MAIL FROM:<sensor7@example.com>\r\n"),
        s(b"550 5.7.1 sender denied\r\n"),
        c(b"QUIT\r\n"),
        s(b"221 bye\r\n"),
    ]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 2048]);
    let cfg = Config::new(Domain::try_new("sensor-7.local").unwrap())
        .with_credentials(Credentials::try_new("sensor7@example.com", "code").unwrap())
        .allow_plaintext_auth();
    let mut client: C<'_> = C::new(
        common::Driver::Blocking,
        Scripted::new(steps, MODES[0]),
        cfg,
        &mut rx,
        &mut tx,
    )
    .unwrap();
    client.connect().unwrap();
    let e = client.send_and_quit(&mut message_parts()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Rejected {
                stage: Stage::Mail,
                ..
            }
        ),
        "{e:?}"
    );
    client.stream_mut().assert_finished();
}
