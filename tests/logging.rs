//! The dialogue through `log` (feature `log`): every command and reply line at
//! trace level, through both drivers, with AUTH payloads redacted by the secret
//! spans of the engine's `Action::Send`.

#![cfg(feature = "log")]

mod common;

use std::sync::Mutex;

use common::{BODY, DRIVERS, Mode, Scripted, addr, config, script};
use embedded_smtp::Credentials;
use embedded_smtp::auth::Mechanism;
use embedded_smtp::message::RawMessage;

/// Every record of this crate, as `LEVEL text`.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("embedded_smtp") {
            LINES
                .lock()
                .unwrap()
                .push(format!("{} {}", record.level(), record.args()));
        }
    }

    fn flush(&self) {}
}

const PASSWORD: &str = "s3cret-code";

/// Runs `text` with AUTH `mechanism` through `driver`, and returns the trace lines.
fn dialogue(driver: common::Driver, text: &str, mechanism: Mechanism) -> Vec<String> {
    LINES.lock().unwrap().clear();
    let cfg = config()
        .with_credentials(
            Credentials::try_new("alert@example.com", PASSWORD)
                .unwrap()
                .with_mechanism(mechanism),
        )
        .allow_plaintext_auth();
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
    let mut c = common::AnyClient::new(
        driver,
        Scripted::new(script(text), Mode::Bytewise),
        cfg,
        &mut rx,
        &mut tx,
    )
    .unwrap();
    c.connect().unwrap();
    c.send_raw(
        addr("alert@example.com"),
        [addr("ops@example.com")],
        &mut RawMessage::new(BODY),
    )
    .unwrap();
    c.quit().unwrap();
    c.stream_mut().assert_finished();
    let lines = LINES.lock().unwrap().clone();
    lines
        .into_iter()
        .filter_map(|l| l.strip_prefix("TRACE ").map(str::to_owned))
        .collect()
}

/// The password never appears: neither as it is nor in any base64 form that
/// carries it (the PLAIN payload, the LOGIN password line).
fn assert_no_secret(lines: &[String]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = [
        PASSWORD.to_string(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0alert@example.com\0{PASSWORD}")),
    ];
    for line in lines {
        for f in &forms {
            assert!(!line.contains(f.as_str()), "{line:?} shows the secret");
        }
    }
}

#[test]
fn the_dialogue_is_logged_line_by_line_without_the_secret() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let plain = "S: 220 mx.example.net ESMTP ready
         C: EHLO client.example
         S: 250-mx.example.net
         S: 250-PIPELINING
         S: 250 AUTH PLAIN LOGIN
         C: AUTH PLAIN AGFsZXJ0QGV4YW1wbGUuY29tAHMzY3JldC1jb2Rl
         S: 235 2.7.0 Authentication successful
         C: MAIL FROM:<alert@example.com>
         C: RCPT TO:<ops@example.com>
         C: DATA
         S: 250 2.1.0 Ok
         S: 250 2.1.5 Ok
         S: 354 go ahead
         C: Subject: alarm
         C:
         C: Door 3 opened.
         C: .
         S: 250 2.0.0 Ok: queued as 4F2A
         C: QUIT
         S: 221 2.0.0 Bye";
    let login = "S: 220 mx.example.net ESMTP ready
         C: EHLO client.example
         S: 250-mx.example.net
         S: 250 AUTH LOGIN
         C: AUTH LOGIN
         S: 334 VXNlcm5hbWU6
         C: YWxlcnRAZXhhbXBsZS5jb20=
         S: 334 UGFzc3dvcmQ6
         C: czNjcmV0LWNvZGU=
         S: 235 2.7.0 Authentication successful
         C: MAIL FROM:<alert@example.com>
         S: 250 2.1.0 Ok
         C: RCPT TO:<ops@example.com>
         S: 250 2.1.5 Ok
         C: DATA
         S: 354 go ahead
         C: Subject: alarm
         C:
         C: Door 3 opened.
         C: .
         S: 250 2.0.0 Ok: queued as 4F2A
         C: QUIT
         S: 221 2.0.0 Bye";
    for &driver in DRIVERS {
        let lines = dialogue(driver, plain, Mechanism::Plain);
        assert_eq!(
            lines,
            [
                "S: 220 mx.example.net ESMTP ready",
                "C: EHLO client.example",
                "S: 250-mx.example.net",
                "S: 250-PIPELINING",
                "S: 250 AUTH PLAIN LOGIN",
                "C: AUTH PLAIN [secret]",
                "S: 235 2.7.0 Authentication successful",
                "C: MAIL FROM:<alert@example.com>",
                "C: RCPT TO:<ops@example.com>",
                "C: DATA",
                "S: 250 2.1.0 Ok",
                "S: 250 2.1.5 Ok",
                "S: 354 go ahead",
                "C: (34 octets of the message)",
                "C: .",
                "S: 250 2.0.0 Ok: queued as 4F2A",
                "C: QUIT",
                "S: 221 2.0.0 Bye",
            ],
            "{driver:?}"
        );
        assert_no_secret(&lines);

        let lines = dialogue(driver, login, Mechanism::Login);
        assert_eq!(
            lines,
            [
                "S: 220 mx.example.net ESMTP ready",
                "C: EHLO client.example",
                "S: 250-mx.example.net",
                "S: 250 AUTH LOGIN",
                "C: AUTH LOGIN",
                "S: 334 VXNlcm5hbWU6",
                "C: [secret]",
                "S: 334 UGFzc3dvcmQ6",
                "C: [secret]",
                "S: 235 2.7.0 Authentication successful",
                "C: MAIL FROM:<alert@example.com>",
                "S: 250 2.1.0 Ok",
                "C: RCPT TO:<ops@example.com>",
                "S: 250 2.1.5 Ok",
                "C: DATA",
                "S: 354 go ahead",
                "C: (34 octets of the message)",
                "C: .",
                "S: 250 2.0.0 Ok: queued as 4F2A",
                "C: QUIT",
                "S: 221 2.0.0 Bye",
            ],
            "{driver:?}"
        );
        assert_no_secret(&lines);
    }
}
