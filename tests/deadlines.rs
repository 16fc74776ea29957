//! Deadlines on real sockets: a server on 127.0.0.1 drips a reply one byte every
//! 100 ms, for ever; the client's wait for that reply ends at the configured limit,
//! with a time-out naming the stage, in the blocking client over
//! `blocking::FromStdTcp` and in the async client over tokio with
//! `asynch::TokioTimer`. (Each read alone would finish in time: only a deadline
//! that spans the whole wait ends it.)
#![cfg(feature = "std")]

#[path = "common/drip.rs"]
mod drip;

use std::time::{Duration, Instant};

use drip::Drip;
use embedded_smtp::blocking::{Client, FromStdTcp};
use embedded_smtp::engine::Stage;
use embedded_smtp::message::RawMessage;
use embedded_smtp::{Address, Config, Domain, Error};

const LIMIT: Duration = Duration::from_secs(1);
/// How much later than the limit the client may give up: a dripped byte, and a
/// loaded machine's scheduling.
const SLACK: Duration = Duration::from_millis(1500);

const CASES: [(Drip, Stage); 3] = [
    (Drip::Greeting, Stage::Greeting),
    (Drip::Ehlo, Stage::Ehlo),
    (Drip::EndOfData, Stage::EndOfData),
];

fn config() -> Config<'static> {
    Config::new(Domain::try_new("client.test").unwrap()).with_timeout(LIMIT)
}

fn addr(a: &str) -> Address<'_> {
    Address::try_new(a).unwrap()
}

#[test]
fn blocking_client_over_std_tcp_times_out_a_dripping_reply() {
    for (drip, stage) in CASES {
        let (port, server) = drip::start(drip);
        let tcp = FromStdTcp::connect(("127.0.0.1", port), LIMIT).unwrap();
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
        let mut client: Client<'_, _> = Client::new(tcp, config(), &mut rx, &mut tx).unwrap();
        let started = Instant::now();
        let r = client.connect().and_then(|()| {
            client
                .send_raw(
                    addr("a@example.org"),
                    [addr("b@example.org")],
                    &mut RawMessage::new(b"Subject: x\r\n\r\ny\r\n"),
                )
                .map(drop)
        });
        let took = started.elapsed();
        let e = r.unwrap_err();
        assert!(
            matches!(e, Error::TimedOut { stage: s } if s == stage),
            "{drip:?}: {e:?}"
        );
        assert!(e.is_transient());
        assert!(took < LIMIT + SLACK, "{drip:?}: {took:?}");
        drop(client);
        server.join().unwrap();
    }
}

#[cfg(feature = "tokio")]
#[test]
fn async_client_with_the_tokio_timer_times_out_a_dripping_reply() {
    use embedded_io_adapters::tokio_1::FromTokio;
    use embedded_smtp::asynch::{self, TokioTimer};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (drip, stage) in CASES {
        let (port, server) = drip::start(drip);
        let r = rt.block_on(async {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let mut client = asynch::Client::<'_, _, 4, _, _>::new(
                FromTokio::new(tcp),
                TokioTimer::new(),
                config(),
                &mut rx,
                &mut tx,
            )
            .unwrap();
            let started = Instant::now();
            let mut r = client.connect().await;
            if r.is_ok() {
                r = client
                    .send_raw(
                        addr("a@example.org"),
                        [addr("b@example.org")],
                        &mut RawMessage::new(b"Subject: x\r\n\r\ny\r\n"),
                    )
                    .await
                    .map(drop);
            }
            (r.map_err(|e| e.to_string()), started.elapsed())
        });
        let (r, took) = r;
        assert_eq!(
            r,
            Err(Error::<std::io::Error>::TimedOut { stage }.to_string()),
            "{drip:?}"
        );
        assert!(took < LIMIT + SLACK, "{drip:?}: {took:?}");
        server.join().unwrap();
    }
}
