//! Load against a real server on 127.0.0.1: many messages over one connection and
//! many connections one after another, each message counted by the server exactly
//! once. Ignored like the other loopback tests unless run with `-- --include-ignored`.
//!
//! CI runs a short form; `EMBEDDED_SMTP_LOAD=full` runs the full one (10 000
//! messages over one connection, 1 000 sequential connections). Every loop is
//! bounded in count and by the server's idle time-out and the sockets' time-outs.
#![cfg(feature = "std")]

mod common;

use common::peer::{connect, sink_count, start};
use embedded_smtp::blocking::Client;
use embedded_smtp::message::RawMessage;
use embedded_smtp::{Address, Config, Domain};

fn sizes() -> (usize, usize) {
    if std::env::var("EMBEDDED_SMTP_LOAD").as_deref() == Ok("full") {
        (10_000, 1_000)
    } else {
        (1_000, 100)
    }
}

fn message(i: usize) -> Vec<u8> {
    let mut m = format!("Subject: load {i}\r\nMessage-ID: <{i}@load.test>\r\n\r\n").into_bytes();
    while m.len() < 1024 {
        m.extend_from_slice(b"0123456789 abcdefghijklmnopqrstuvwxyz .dot line follows\r\n.\r\n");
    }
    m
}

fn config() -> Config<'static> {
    Config::new(Domain::try_new("load.test").unwrap())
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn many_messages_over_one_connection() {
    let (messages, _) = sizes();
    let server = start(&["--mode", "plain", "--sink"]);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 2048]);
    let mut client: Client<'_, _> =
        Client::new(connect(server.port), config(), &mut rx, &mut tx).unwrap();
    client.connect().unwrap();
    let a = Address::try_new("load@load.test").unwrap();
    for i in 0..messages {
        let body = message(i);
        let r = client
            .send_raw(a, [a], &mut RawMessage::new(&body))
            .unwrap();
        assert_eq!(r.accepted(), 1);
    }
    client.quit().unwrap();
    drop(client);
    assert_eq!(sink_count(&server), messages);
}

#[test]
#[ignore = "needs the loopback SMTP peer (python3 with aiosmtpd 1.4.6): cargo test --all-features -- --include-ignored, as .ci/run does"]
fn many_connections_one_after_another() {
    let (_, connections) = sizes();
    let server = start(&["--mode", "plain", "--sink"]);
    let a = Address::try_new("load@load.test").unwrap();
    for i in 0..connections {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 2048]);
        let mut client: Client<'_, _> =
            Client::new(connect(server.port), config(), &mut rx, &mut tx).unwrap();
        client.connect().unwrap();
        let body = message(i);
        let r = client
            .send_raw(a, [a], &mut RawMessage::new(&body))
            .unwrap();
        assert_eq!(r.accepted(), 1);
        client.quit().unwrap();
    }
    assert_eq!(sink_count(&server), connections);
}
