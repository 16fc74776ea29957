//! The retry helpers (`blocking::deliver`, `asynch::deliver`) against servers in
//! memory (`common/responder.rs`): a server that refuses with `421`, one that cuts
//! the connection in the middle of the body, then one that accepts; a permanent
//! refusal; and a server that never accepts. The clock is fake: the pauses only
//! move it.

mod common;

use core::time::Duration;
use std::cell::RefCell;

#[cfg(feature = "async")]
use common::block_on;
use common::responder::{Cut, Responder};
use common::{DRIVERS, Driver};
use embedded_smtp::engine::Report;
use embedded_smtp::message::{Attachment, DateTime, Message};
use embedded_smtp::retry::{Delivery, Pause, Policy};
use embedded_smtp::{Config, Domain, Error, HeaderText, Mailbox};

/// A fake clock that only the pauses move; remembers them.
#[derive(Default)]
struct FakePause {
    now: Duration,
    pauses: Vec<Duration>,
}

impl Pause for FakePause {
    fn now(&mut self) -> Duration {
        self.now
    }

    fn sleep(&mut self, d: Duration) {
        self.pauses.push(d);
        self.now += d;
    }
}

#[cfg(feature = "async")]
impl embedded_smtp::retry::AsyncPause for FakePause {
    fn now(&mut self) -> Duration {
        self.now
    }

    async fn sleep(&mut self, d: Duration) {
        Pause::sleep(self, d);
    }
}

fn config() -> Config<'static> {
    Config::new(Domain::try_new("client.test").unwrap())
}

const CSV: &[u8] = b"t,temp\n0,81.5\n60,81.9\n120,82.4\n";

/// Runs `deliver` with `driver` against `servers`, one per attempt, in turn.
fn deliver(
    driver: Driver,
    servers: &RefCell<Vec<Responder>>,
    policy: Policy,
    pause: &mut FakePause,
) -> Delivery<Report<4>, Error<Cut>> {
    let from = Mailbox::parse("sensor7@example.com").unwrap();
    let to = [Mailbox::parse("ops@example.com").unwrap()];
    let mut atts = [Attachment::from_bytes("log.csv", "text/csv", CSV).unwrap()];
    let mut message: Message<'_, _> = Message::new(from, HeaderText::try_new("Door 3").unwrap())
        .to(&to)
        .date(DateTime {
            unix_seconds: 1_780_000_000,
            offset_minutes: 0,
        })
        .message_id([7; 16])
        .text("Door 3 opened.\n")
        .attachments(&mut atts);
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut next = 0usize;
    let mut random = || 0x8000_0000u32;
    match driver {
        Driver::Blocking => embedded_smtp::blocking::deliver(
            policy,
            &mut message,
            &mut rx,
            &mut tx,
            |rx, tx| {
                let server = servers.borrow_mut().remove(0);
                next += 1;
                embedded_smtp::blocking::Client::new(server, config(), rx, tx)
            },
            pause,
            &mut random,
        ),
        #[cfg(feature = "async")]
        Driver::Async => block_on(embedded_smtp::asynch::deliver(
            policy,
            &mut message,
            &mut rx,
            &mut tx,
            async |rx, tx| {
                let server = servers.borrow_mut().remove(0);
                next += 1;
                embedded_smtp::asynch::Client::new(
                    server,
                    embedded_smtp::asynch::NoTimer,
                    config(),
                    rx,
                    tx,
                )
            },
            pause,
            &mut random,
        )),
    }
}

#[test]
fn two_transient_failures_then_delivered() {
    for &driver in DRIVERS {
        let servers = RefCell::new(vec![
            Responder::refusing(b"421 4.3.2 busy, try later\r\n"),
            Responder::new(Some(40)),
            Responder::new(None),
        ]);
        let mut pause = FakePause::default();
        let policy = Policy::new(5).with_backoff(Duration::from_secs(10), Duration::from_secs(60));
        let d = deliver(driver, &servers, policy, &mut pause);
        let Delivery::Delivered { attempts, report } = d else {
            panic!("{driver:?}: {d:?}");
        };
        assert_eq!(attempts, 3);
        assert_eq!(report.accepted(), 1);
        // Pauses of 10 s and 20 s, each between half and the whole (jitter 1/2).
        assert_eq!(
            pause.pauses,
            [Duration::from_millis(7_500), Duration::from_secs(15)]
        );
        assert!(servers.borrow().is_empty());
    }
}

#[test]
fn the_delivered_message_is_whole() {
    // What the accepting server got after a cut in the body is what one attempt
    // sends: the same bytes, the same Message-ID.
    let mut got = vec![];
    for mut servers in [
        vec![Responder::new(None)],
        vec![Responder::new(Some(300)), Responder::new(None)],
    ] {
        let from = Mailbox::parse("sensor7@example.com").unwrap();
        let to = [Mailbox::parse("ops@example.com").unwrap()];
        let mut atts = [Attachment::from_bytes("log.csv", "text/csv", CSV).unwrap()];
        let mut message: Message<'_, _> = Message::new(from, HeaderText::try_new("x").unwrap())
            .to(&to)
            .without_date()
            .message_id([7; 16])
            .text("y\n")
            .attachments(&mut atts);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let mut each = servers.iter_mut();
        let d = embedded_smtp::blocking::deliver(
            Policy::new(3),
            &mut message,
            &mut rx,
            &mut tx,
            |rx, tx| {
                embedded_smtp::blocking::Client::<'_, _, 4>::new(
                    each.next().unwrap(),
                    config(),
                    rx,
                    tx,
                )
            },
            &mut FakePause::default(),
            || 0,
        );
        assert_eq!(d.attempts(), servers.len() as u32, "{d:?}");
        assert!(d.is_delivered());
        got.push(servers.pop().unwrap().messages.pop().unwrap());
    }
    assert!(got[0].len() > 300);
    assert_eq!(got[0], got[1]);
}

#[test]
fn a_permanent_refusal_is_not_tried_again() {
    for &driver in DRIVERS {
        let servers = RefCell::new(vec![
            Responder::refusing(b"554 5.7.1 no mail from you\r\n"),
            Responder::new(None),
        ]);
        let mut pause = FakePause::default();
        let d = deliver(driver, &servers, Policy::new(5), &mut pause);
        let Delivery::Refused { attempts, error } = d else {
            panic!("{driver:?}: {d:?}");
        };
        assert_eq!(attempts, 1);
        assert!(
            matches!(error, Error::Rejected { ref response, .. } if response.code.get() == 554)
        );
        assert!(pause.pauses.is_empty());
        assert_eq!(servers.borrow().len(), 1);
    }
}

#[test]
fn it_gives_up_after_its_attempts_or_its_total_time() {
    for &driver in DRIVERS {
        let busy = || Responder::refusing(b"421 4.3.2 busy\r\n");
        let servers = RefCell::new(vec![busy(), busy(), busy()]);
        let mut pause = FakePause::default();
        let d = deliver(driver, &servers, Policy::new(3), &mut pause);
        let Delivery::GaveUp { attempts, last } = d else {
            panic!("{driver:?}: {d:?}");
        };
        assert_eq!(attempts, 3);
        assert!(last.is_transient());
        assert_eq!(pause.pauses.len(), 2);

        // The total limit: pauses of 3.75 s (5 s with the jitter at one half), at
        // most 6 s in all, so one pause only.
        let servers = RefCell::new(vec![busy(), busy(), busy()]);
        let mut pause = FakePause::default();
        let policy = Policy::new(9)
            .with_backoff(Duration::from_secs(5), Duration::from_secs(5))
            .with_total(Duration::from_secs(6));
        let d = deliver(driver, &servers, policy, &mut pause);
        assert!(matches!(d, Delivery::GaveUp { attempts: 2, .. }), "{d:?}");
        assert_eq!(pause.pauses.len(), 1);
    }
}
