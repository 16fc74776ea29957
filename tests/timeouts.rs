//! Time limits reach the transport: the blocking client hands each wait's limit to
//! its hook and turns a transport time-out into `Error::TimedOut` naming the stage;
//! the async client bounds each wait with its `Timer`.

use std::cell::RefCell;
use std::time::Duration;

use embedded_smtp::blocking::Client;
use embedded_smtp::engine::Stage;
use embedded_smtp::{Config, Domain, Error, limits};

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
        Client::new(Silent { limits: vec![] }, config(), &mut rx, &mut tx)
            .unwrap()
            .with_timeout_hook(|s, limit| s.limits.push(limit));
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
    assert!(client.connect().unwrap_err().is_transient());

    // One override for every wait.
    let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
    let mut client: Client<'_, Silent> = Client::new(
        Silent { limits: vec![] },
        config().with_timeout(Duration::from_secs(9)),
        &mut rx,
        &mut tx,
    )
    .unwrap()
    .with_timeout_hook(|s, limit| s.limits.push(limit));
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

    /// Polls `f` once; the limit "passes" if it is not ready then. Records limits.
    struct OnePoll<'r>(&'r RefCell<Vec<Duration>>);

    impl Timer for OnePoll<'_> {
        async fn with_timeout<F: Future>(
            &mut self,
            limit: Duration,
            f: F,
        ) -> Result<F::Output, TimedOut> {
            self.0.borrow_mut().push(limit);
            let mut f = core::pin::pin!(f);
            let mut cx = core::task::Context::from_waker(core::task::Waker::noop());
            match f.as_mut().poll(&mut cx) {
                core::task::Poll::Ready(v) => Ok(v),
                core::task::Poll::Pending => Err(TimedOut),
            }
        }
    }

    /// Runs a future to completion on this thread, parking between polls.
    fn block_on<F: Future>(f: F) -> F::Output {
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
        let mut client = asynch::Client::<'_, Silent>::new(
            Silent { limits: vec![] },
            config(),
            &mut rx,
            &mut tx,
        )
        .unwrap()
        .with_timer(OnePoll(&seen));
        let r = block_on(client.connect());
        assert_eq!(
            r,
            Err(Error::TimedOut {
                stage: Stage::Greeting
            })
        );
        assert_eq!(*seen.borrow(), vec![limits::TIMEOUT_GREETING]);
    }

    #[cfg(feature = "embassy-time")]
    #[test]
    fn embassy_timer_fires() {
        let (mut rx, mut tx) = ([0u8; 512], [0u8; 512]);
        let cfg = config().with_timeout(Duration::from_millis(30));
        let mut client =
            asynch::Client::<'_, Silent>::new(Silent { limits: vec![] }, cfg, &mut rx, &mut tx)
                .unwrap()
                .with_timer(asynch::EmbassyTimer);
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
        let mut client = asynch::Client::<'_, Ends>::new(Ends, cfg, &mut rx, &mut tx)
            .unwrap()
            .with_timer(asynch::EmbassyTimer);
        assert_eq!(
            block_on(client.connect()),
            Err(Error::Closed {
                stage: Stage::Greeting
            })
        );
    }
}
