//! Time limits reach the transport: the blocking client starts each wait's deadline
//! on its transport (`Deadline`) and turns a transport time-out into
//! `Error::TimedOut` naming the stage; the async client bounds each wait with its
//! `Timer`. A limit holds for the whole wait, not for each read: a server that drips
//! a reply one byte at a time times out like a silent one (`drip` below).

mod common;

#[cfg(any(feature = "async", feature = "tls"))]
use std::cell::RefCell;
use std::time::Duration;

use embedded_smtp::blocking::Client;
use embedded_smtp::engine::Stage;
use embedded_smtp::{Config, Domain, Error, Failure, limits};

/// A stream that never answers: reads time out (blocking) or stay pending (async).
struct Silent {
    limits: Vec<Option<Duration>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimedOutIo;

impl core::fmt::Display for TimedOutIo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("timed out")
    }
}

impl core::error::Error for TimedOutIo {}

impl embedded_io::Error for TimedOutIo {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::TimedOut
    }
}

impl embedded_smtp::blocking::Deadline for Silent {
    fn start_wait(&mut self, limit: Option<Duration>) {
        self.limits.push(limit);
    }
}

impl embedded_io::ErrorType for Silent {
    type Error = TimedOutIo;
}

impl embedded_io::Read for Silent {
    fn read(&mut self, _: &mut [u8]) -> Result<usize, TimedOutIo> {
        Err(TimedOutIo)
    }
}

impl embedded_io::Write for Silent {
    fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
        Ok(b.len())
    }

    fn flush(&mut self) -> Result<(), TimedOutIo> {
        Ok(())
    }
}

fn config() -> Config<'static> {
    Config::new(Domain::try_new("client.example").unwrap())
}

#[test]
fn blocking_hook_gets_each_limit_and_a_timeout_names_the_stage() {
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut client: Client<'_, Silent> =
        Client::new(Silent { limits: vec![] }, config(), &mut rx, &mut tx).unwrap();
    assert_eq!(
        client.connect(),
        Err(Error::TimedOut {
            stage: Stage::Greeting
        })
    );
    assert_eq!(
        client.stream_mut().limits,
        vec![Some(limits::TIMEOUT_GREETING)]
    );
    // The engine heard the time-out: the session is over, and says why.
    assert!(!client.engine().is_usable());
    assert_eq!(
        client.connect(),
        Err(Error::Unusable {
            stage: Stage::Greeting,
            failure: Failure::TimedOut
        })
    );

    // One override for every wait.
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut client: Client<'_, Silent> = Client::new(
        Silent { limits: vec![] },
        config().with_timeout(Duration::from_secs(9)),
        &mut rx,
        &mut tx,
    )
    .unwrap();
    let _ = client.connect();
    assert_eq!(
        client.stream_mut().limits,
        vec![Some(Duration::from_secs(9))]
    );
}

#[cfg(feature = "async")]
mod asynch {
    use super::*;
    use core::future::Future;
    use embedded_smtp::asynch::{self, TimedOut, Timer};

    impl embedded_io_async::Read for Silent {
        async fn read(&mut self, _: &mut [u8]) -> Result<usize, TimedOutIo> {
            core::future::pending().await
        }
    }

    impl embedded_io_async::Write for Silent {
        async fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
            Ok(b.len())
        }

        async fn flush(&mut self) -> Result<(), TimedOutIo> {
            Ok(())
        }
    }

    /// Polls `f` once; the limit "passes" if it is not ready then. Records the
    /// limit of every wait started.
    pub(super) struct OnePoll<'r>(pub(super) &'r RefCell<Vec<Duration>>);

    impl Timer for OnePoll<'_> {
        fn start_wait(&mut self, limit: Option<Duration>) {
            if let Some(limit) = limit {
                self.0.borrow_mut().push(limit);
            }
        }

        async fn with_timeout<F: Future>(&mut self, f: F) -> Result<F::Output, TimedOut> {
            let mut f = core::pin::pin!(f);
            let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
            match f.as_mut().poll(&mut cx) {
                core::task::Poll::Ready(v) => Ok(v),
                core::task::Poll::Pending => Err(TimedOut),
            }
        }
    }

    /// Runs a future to completion on this thread, parking between polls.
    pub(super) fn block_on<F: Future>(f: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
        let mut cx = core::task::Context::from_waker(&waker);
        let mut f = core::pin::pin!(f);
        loop {
            if let core::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    #[test]
    fn async_timer_bounds_the_wait() {
        let seen = RefCell::new(vec![]);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let mut client = asynch::Client::<'_, Silent, 4, _, _>::new(
            Silent { limits: vec![] },
            OnePoll(&seen),
            config(),
            &mut rx,
            &mut tx,
        )
        .unwrap();
        let r = block_on(client.connect());
        assert_eq!(
            r,
            Err(Error::TimedOut {
                stage: Stage::Greeting
            })
        );
        assert_eq!(*seen.borrow(), vec![limits::TIMEOUT_GREETING]);
        // The engine heard the time-out.
        assert!(!client.engine().is_usable());
        assert_eq!(
            block_on(client.connect()),
            Err(Error::Unusable {
                stage: Stage::Greeting,
                failure: Failure::TimedOut
            })
        );
    }

    #[cfg(feature = "embassy-time")]
    #[test]
    fn embassy_timer_fires() {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let cfg = config().with_timeout(Duration::from_millis(30));
        let mut client = asynch::Client::<'_, Silent, 4, _, _>::new(
            Silent { limits: vec![] },
            asynch::EmbassyTimer::new(),
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
        let r = block_on(client.connect());
        assert_eq!(
            r,
            Err(Error::TimedOut {
                stage: Stage::Greeting
            })
        );
    }

    /// `Duration::MAX` means "no limit": no overflow panic, the wait just goes on
    /// (here the stream ends, so the result is a closed connection, not a time-out).
    #[cfg(feature = "embassy-time")]
    #[test]
    fn embassy_timer_with_an_endless_limit() {
        struct Ends;
        impl embedded_io::ErrorType for Ends {
            type Error = TimedOutIo;
        }
        impl embedded_io_async::Read for Ends {
            async fn read(&mut self, _: &mut [u8]) -> Result<usize, TimedOutIo> {
                Ok(0)
            }
        }
        impl embedded_io_async::Write for Ends {
            async fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
                Ok(b.len())
            }
            async fn flush(&mut self) -> Result<(), TimedOutIo> {
                Ok(())
            }
        }
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let cfg = config().with_timeout(Duration::MAX);
        let mut client = asynch::Client::<'_, Ends, 4, _, _>::new(
            Ends,
            asynch::EmbassyTimer::new(),
            cfg,
            &mut rx,
            &mut tx,
        )
        .unwrap();
        assert_eq!(
            block_on(client.connect()),
            Err(Error::Closed {
                stage: Stage::Greeting
            })
        );
    }
}

/// The TLS handshake has its own limit, in both drivers, for implicit TLS and for
/// STARTTLS, and a stalled handshake is a time-out at `Stage::TlsHandshake`.
#[cfg(feature = "tls")]
mod tls {
    use super::*;
    use embedded_smtp::Security;
    use embedded_smtp::tls::{Connector, TLS_READ_BUFFER, TLS_WRITE_BUFFER, blocking};
    use embedded_smtp::verify::Verifier;
    use rand_core::OsRng;

    /// Up to STARTTLS's `220`, then silence (blocking: a time-out; async: pending).
    const TO_STARTTLS: &[u8] = b"220 mx ESMTP\r\n250-mx\r\n250 STARTTLS\r\n220 go ahead\r\n";

    /// Serves `canned`, then stalls; takes whatever the client writes.
    struct Stalls {
        canned: &'static [u8],
    }

    impl Stalls {
        fn new(canned: &'static [u8]) -> Self {
            Stalls { canned }
        }

        fn serve(&mut self, buf: &mut [u8]) -> Option<usize> {
            if self.canned.is_empty() {
                return None;
            }
            // One line at a time, as a server would answer each command.
            let line = self.canned.iter().position(|&b| b == b'\n').unwrap() + 1;
            let n = line.min(buf.len());
            buf[..n].copy_from_slice(&self.canned[..n]);
            self.canned = &self.canned[n..];
            Some(n)
        }
    }

    impl embedded_smtp::blocking::Deadline for Stalls {
        fn start_wait(&mut self, limit: Option<Duration>) {
            LIMITS.with(|l| l.borrow_mut().push(limit));
        }
    }

    impl embedded_io::ErrorType for Stalls {
        type Error = TimedOutIo;
    }

    impl embedded_io::Read for Stalls {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOutIo> {
            self.serve(buf).ok_or(TimedOutIo)
        }
    }

    impl embedded_io::Write for Stalls {
        fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
            Ok(b.len())
        }

        fn flush(&mut self) -> Result<(), TimedOutIo> {
            Ok(())
        }
    }

    fn connector() -> Connector<'static, OsRng> {
        Connector::new("localhost", Verifier::danger_no_verify(), OsRng)
    }

    thread_local! {
        static LIMITS: RefCell<Vec<Option<Duration>>> = const { RefCell::new(vec![]) };
    }

    #[test]
    fn blocking_implicit_client_starts_the_handshake_deadline_first() {
        LIMITS.with(|l| l.borrow_mut().clear());
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let mut c = blocking::client(
            Stalls::new(b""),
            connector(),
            config()
                .with_security(Security::Implicit)
                .with_timeout(Duration::from_secs(7)),
            embedded_smtp::tls::Buffers {
                rx: &mut rx,
                tx: &mut tx,
                tls_read: &mut tls_read,
                tls_write: &mut tls_write,
            },
        )
        .unwrap();
        // Nothing happens before connect: the handshake is the session's first wait.
        assert!(LIMITS.with(|l| l.borrow().is_empty()));
        assert_eq!(
            c.connect(),
            Err(Error::TimedOut {
                stage: Stage::TlsHandshake
            })
        );
        assert_eq!(
            LIMITS.with(|l| l.borrow().clone()),
            vec![Some(Duration::from_secs(7))]
        );
        assert!(
            !c.engine().is_usable(),
            "a timed-out handshake leaves the session unusable"
        );
    }

    #[test]
    fn blocking_implicit_handshake_that_stalls_times_out_at_the_handshake() {
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        let r = blocking::TlsStream::open(
            Stalls::new(b""),
            &mut tls_read,
            &mut tls_write,
            &mut connector(),
        );
        let e = r.err().unwrap();
        assert_eq!(
            e,
            Error::TimedOut {
                stage: Stage::TlsHandshake
            }
        );
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "TLS handshake: the server did not answer in time"
        );
    }

    #[test]
    fn blocking_starttls_handshake_gets_its_own_limit() {
        LIMITS.with(|l| l.borrow_mut().clear());
        let (mut tls_read, mut tls_write) =
            (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let stream =
            blocking::TlsStream::new(Stalls::new(TO_STARTTLS), &mut tls_read, &mut tls_write);
        let mut client = embedded_smtp::blocking::Client::<'_, _, 4, _>::with_upgrade(
            stream,
            connector(),
            config().with_security(Security::StartTls),
            &mut rx,
            &mut tx,
        )
        .unwrap();
        assert_eq!(
            client.connect(),
            Err(Error::TimedOut {
                stage: Stage::TlsHandshake
            })
        );
        // A deadline for every wait: the greeting's, then EHLO's and STARTTLS's
        // (their writes and their replies), then the handshake's.
        let limits = LIMITS.with(|l| l.borrow().clone());
        assert_eq!(limits.first(), Some(&Some(limits::TIMEOUT_GREETING)));
        assert_eq!(limits.last(), Some(&Some(limits::TIMEOUT_TLS_HANDSHAKE)));
        assert!(
            limits[1..limits.len() - 1]
                .iter()
                .all(|l| *l == Some(limits::TIMEOUT_OTHER)),
            "{limits:?}"
        );
    }

    #[cfg(feature = "async")]
    mod asynch {
        use super::super::asynch::{OnePoll, block_on};
        use super::*;
        use embedded_smtp::asynch::NoTimer;
        use embedded_smtp::tls::asynch::client;

        impl embedded_io_async::Read for Stalls {
            async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOutIo> {
                match self.serve(buf) {
                    Some(n) => Ok(n),
                    None => core::future::pending().await,
                }
            }
        }

        impl embedded_io_async::Write for Stalls {
            async fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
                Ok(b.len())
            }

            async fn flush(&mut self) -> Result<(), TimedOutIo> {
                Ok(())
            }
        }

        #[test]
        fn async_implicit_handshake_is_bounded_by_the_timer() {
            let seen = RefCell::new(vec![]);
            let (mut tls_read, mut tls_write) =
                (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c = client(
                Stalls::new(b""),
                connector(),
                OnePoll(&seen),
                config().with_security(Security::Implicit),
                embedded_smtp::tls::Buffers {
                    rx: &mut rx,
                    tx: &mut tx,
                    tls_read: &mut tls_read,
                    tls_write: &mut tls_write,
                },
            )
            .unwrap();
            assert!(seen.borrow().is_empty());
            assert_eq!(
                block_on(c.connect()),
                Err(Error::TimedOut {
                    stage: Stage::TlsHandshake
                })
            );
            assert_eq!(*seen.borrow(), vec![limits::TIMEOUT_TLS_HANDSHAKE]);

            // The config's single override applies to the handshake too.
            let seen = RefCell::new(vec![]);
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c = client(
                Stalls::new(b""),
                connector(),
                OnePoll(&seen),
                config()
                    .with_security(Security::Implicit)
                    .with_timeout(Duration::from_secs(7)),
                embedded_smtp::tls::Buffers {
                    rx: &mut rx,
                    tx: &mut tx,
                    tls_read: &mut tls_read,
                    tls_write: &mut tls_write,
                },
            )
            .unwrap();
            assert!(block_on(c.connect()).is_err());
            assert_eq!(*seen.borrow(), vec![Duration::from_secs(7)]);
        }

        #[test]
        fn async_starttls_handshake_is_bounded_by_the_timer() {
            let seen = RefCell::new(vec![]);
            let (mut tls_read, mut tls_write) =
                (vec![0u8; TLS_READ_BUFFER], vec![0u8; TLS_WRITE_BUFFER]);
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c = client(
                Stalls::new(TO_STARTTLS),
                connector(),
                OnePoll(&seen),
                config().with_security(Security::StartTls),
                embedded_smtp::tls::Buffers {
                    rx: &mut rx,
                    tx: &mut tx,
                    tls_read: &mut tls_read,
                    tls_write: &mut tls_write,
                },
            )
            .unwrap();
            assert_eq!(
                block_on(c.connect()),
                Err(Error::TimedOut {
                    stage: Stage::TlsHandshake
                })
            );
            assert_eq!(seen.borrow().last(), Some(&limits::TIMEOUT_TLS_HANDSHAKE));

            // Without a timer the same handshake just waits (here: is still
            // pending after the ClientHello went out).
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
            let mut c = client(
                Stalls::new(TO_STARTTLS),
                connector(),
                NoTimer,
                config().with_security(Security::StartTls),
                embedded_smtp::tls::Buffers {
                    rx: &mut rx,
                    tx: &mut tx,
                    tls_read: &mut tls_read,
                    tls_write: &mut tls_write,
                },
            )
            .unwrap();
            let mut connect = core::pin::pin!(c.connect());
            let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
            assert!(connect.as_mut().poll(&mut cx).is_pending());
        }
    }
}

/// A server that drips one reply a byte at a time, each byte taking `PER_BYTE`
/// of a fake clock: every read returns within its own limit, so only a deadline
/// that spans the whole wait can stop it.
mod drip {
    use super::*;
    use std::rc::Rc;

    use crate::common::{self, Mode, Scripted, script};

    const PER_BYTE: Duration = Duration::from_millis(500);
    const LIMIT: Duration = Duration::from_secs(2);

    /// The scripted server, dripping its bytes from server byte `from` on.
    struct Drip {
        inner: Scripted,
        from: usize,
        served: usize,
        now: Rc<core::cell::Cell<Duration>>,
        /// When the current wait ends (blocking: the stream enforces it).
        deadline: Option<Duration>,
        /// When the current wait began.
        started: Duration,
        enforce: bool,
    }

    impl Drip {
        fn new(text: &str, from: usize, enforce: bool) -> Self {
            Drip {
                inner: Scripted::new(script(text), Mode::Whole),
                from,
                served: 0,
                now: Rc::default(),
                deadline: None,
                started: Duration::ZERO,
                enforce,
            }
        }
    }

    impl embedded_smtp::blocking::Deadline for Drip {
        fn start_wait(&mut self, limit: Option<Duration>) {
            self.started = self.now.get();
            self.deadline = limit.map(|l| self.now.get() + l);
        }
    }

    impl embedded_io::ErrorType for Drip {
        type Error = TimedOutIo;
    }

    impl embedded_io::Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOutIo> {
            let buf = if self.served >= self.from {
                let now = self.now.get() + PER_BYTE;
                if let Some(d) = self.deadline.filter(|_| self.enforce)
                    && now > d
                {
                    // The socket's time-out (what is left of the wait) ends first.
                    self.now.set(d);
                    return Err(TimedOutIo);
                }
                self.now.set(now);
                &mut buf[..1]
            } else {
                let n = buf.len().min(self.from - self.served);
                &mut buf[..n]
            };
            let n = embedded_io::Read::read(&mut self.inner, buf).unwrap();
            self.served += n;
            Ok(n)
        }
    }

    impl embedded_io::Write for Drip {
        fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
            Ok(embedded_io::Write::write(&mut self.inner, b).unwrap())
        }

        fn flush(&mut self) -> Result<(), TimedOutIo> {
            Ok(())
        }
    }

    /// A multi-line reply of `code`, long enough to drip for longer than `LIMIT`.
    fn long(code: u16) -> String {
        let mut r = String::new();
        for i in 0..12 {
            r.push_str(&format!("S: {code}-line {i}\n"));
        }
        r.push_str(&format!("S: {code} ok\n"));
        r
    }

    /// The dialogue with the reply of `stage` dripped: the script and the number
    /// of server bytes before that reply.
    fn dialogue(stage: Stage) -> (String, usize) {
        let steps: [(Stage, String, &str); 6] = [
            (
                Stage::Greeting,
                "S: 220 mx ESMTP\n".into(),
                "C: EHLO client.example\n",
            ),
            (
                Stage::Ehlo,
                "S: 250-mx\nS: 250 PIPELINING\n".into(),
                "C: MAIL FROM:<a@example.com>\nC: RCPT TO:<b@example.com>\nC: DATA\n",
            ),
            (Stage::Mail, "S: 250 ok\n".into(), ""),
            (Stage::Rcpt, "S: 250 ok\n".into(), ""),
            (
                Stage::Data,
                "S: 354 go\n".into(),
                "C: Subject: x\nC:\nC: body\nC: .\n",
            ),
            (Stage::EndOfData, "S: 250 queued\n".into(), ""),
        ];
        let (mut text, mut before, mut seen) = (String::new(), 0, false);
        for (s, reply, next) in steps {
            let reply = if s == stage {
                seen = true;
                let code = &reply[3..6];
                long(code.parse().unwrap())
            } else {
                reply
            };
            if !seen {
                before += script(&reply)
                    .iter()
                    .map(|st| match st {
                        common::Step::Server(b) => b.len(),
                        _ => 0,
                    })
                    .sum::<usize>();
            }
            text.push_str(&reply);
            text.push_str(next);
        }
        (text, before)
    }

    const STAGES: [Stage; 6] = [
        Stage::Greeting,
        Stage::Ehlo,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Data,
        Stage::EndOfData,
    ];

    fn send<S: embedded_io::Read + embedded_io::Write + embedded_smtp::blocking::Deadline>(
        client: &mut Client<'_, S>,
    ) -> Result<(), Error<S::Error>> {
        client.connect()?;
        let a = embedded_smtp::Address::try_new("a@example.com").unwrap();
        let b = embedded_smtp::Address::try_new("b@example.com").unwrap();
        client.send_raw(
            a,
            [b],
            &mut embedded_smtp::message::RawMessage::new(b"Subject: x\r\n\r\nbody\r\n"),
        )?;
        Ok(())
    }

    #[test]
    fn a_dripping_reply_times_out_at_its_stage_in_the_blocking_client() {
        for stage in STAGES {
            let (text, from) = dialogue(stage);
            let drip = Drip::new(&text, from, true);
            let now = drip.now.clone();
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let mut client: Client<'_, Drip> =
                Client::new(drip, config().with_timeout(LIMIT), &mut rx, &mut tx).unwrap();
            assert_eq!(send(&mut client), Err(Error::TimedOut { stage }), "{stage}");
            let waited = now.get() - client.stream_mut().started;
            // The wait ended at its limit, within one byte's time.
            assert!(waited <= LIMIT + PER_BYTE, "{stage}: {waited:?}");
            assert!(waited >= LIMIT - PER_BYTE, "{stage}: {waited:?}");
            assert!(!client.engine().is_usable());
        }
    }

    /// The async client's deadline from the fake clock: a wait that the clock
    /// has passed when its I/O returns timed out.
    #[cfg(feature = "async")]
    struct FakeTimer {
        now: Rc<core::cell::Cell<Duration>>,
        deadline: Option<Duration>,
    }

    #[cfg(feature = "async")]
    impl embedded_smtp::asynch::Timer for FakeTimer {
        fn start_wait(&mut self, limit: Option<Duration>) {
            self.deadline = limit.map(|l| self.now.get() + l);
        }

        async fn with_timeout<F: core::future::Future>(
            &mut self,
            f: F,
        ) -> Result<F::Output, embedded_smtp::asynch::TimedOut> {
            let out = f.await;
            match self.deadline {
                Some(d) if self.now.get() > d => Err(embedded_smtp::asynch::TimedOut),
                _ => Ok(out),
            }
        }
    }

    #[cfg(feature = "async")]
    impl embedded_io_async::Read for Drip {
        async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TimedOutIo> {
            embedded_io::Read::read(self, buf)
        }
    }

    #[cfg(feature = "async")]
    impl embedded_io_async::Write for Drip {
        async fn write(&mut self, b: &[u8]) -> Result<usize, TimedOutIo> {
            embedded_io::Write::write(self, b)
        }

        async fn flush(&mut self) -> Result<(), TimedOutIo> {
            Ok(())
        }
    }

    #[cfg(feature = "async")]
    #[test]
    fn a_dripping_reply_times_out_at_its_stage_in_the_async_client() {
        use super::asynch::block_on;
        for stage in STAGES {
            let (text, from) = dialogue(stage);
            let drip = Drip::new(&text, from, false);
            let now = drip.now.clone();
            let timer = FakeTimer {
                now: now.clone(),
                deadline: None,
            };
            let (mut rx, mut tx) = ([0u8; 512], [0u8; 1024]);
            let mut client = embedded_smtp::asynch::Client::<'_, Drip, 4, _, _>::new(
                drip,
                timer,
                config().with_timeout(LIMIT),
                &mut rx,
                &mut tx,
            )
            .unwrap();
            let a = embedded_smtp::Address::try_new("a@example.com").unwrap();
            let b = embedded_smtp::Address::try_new("b@example.com").unwrap();
            let r = block_on(async {
                client.connect().await?;
                client
                    .send_raw(
                        a,
                        [b],
                        &mut embedded_smtp::message::RawMessage::new(b"Subject: x\r\n\r\nbody\r\n"),
                    )
                    .await
                    .map(drop)
            });
            assert_eq!(r, Err(Error::TimedOut { stage }), "{stage}");
            // Each byte costs PER_BYTE, so the deadline was passed by at most one.
            assert!(!client.engine().is_usable());
        }
    }
}
