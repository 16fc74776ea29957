//! Delivery with retries: the policy and the decisions ([`Retry`], no I/O here),
//! and the loops that run them, [`blocking::deliver`](crate::blocking::deliver)
//! and `asynch::deliver` (feature `async`). A program whose attempt is
//! more than connect-and-send (a firmware that also joins the network and makes
//! the TLS connection in each attempt) drives [`Retry`] itself:
//!
//! ```
//! # use core::time::Duration;
//! # use embedded_smtp::retry::{Delivery, Next, Policy, Retry};
//! # let mut now = Duration::ZERO;
//! # let mut attempt = || -> Result<u32, embedded_smtp::Error> {
//! #     Err(embedded_smtp::Error::Closed { stage: embedded_smtp::engine::Stage::Greeting })
//! # };
//! let mut retry = Retry::new(Policy::new(3));
//! let delivery = loop {
//!     retry.begin(now);
//!     match retry.after(attempt(), now, 0x8000_0000) {
//!         Next::Retry(pause) => now += pause, // sleep(pause)
//!         Next::Done(delivery) => break delivery,
//!     }
//! };
//! assert!(matches!(delivery, Delivery::GaveUp { attempts: 3, .. }));
//! ```
//!
//! Each attempt makes a **new connection** (the caller's `connect` closure), sends
//! the message with `send_and_quit`, and ends the session. A failure that
//! [`Error::is_transient`] calls transient (a `4yz` reply, a time-out, a lost
//! connection, a TLS handshake cut short) is tried again after a pause; a
//! permanent one (a `5yz`, a certificate that does not verify, invalid input)
//! ends the delivery at once. The pauses grow exponentially from
//! [`Policy::with_backoff`]'s first pause up to its largest, each with random
//! jitter from the caller's RNG (so that devices that lost the server together do
//! not come back together), and the whole delivery stays within
//! [`Policy::with_total`] by the caller's clock.
//!
//! **At least once.** The message goes out again whole, byte for byte and with the
//! same Message-ID (its attachments start again: see
//! [`Attachment`](crate::message::Attachment)). If the connection is lost after the
//! end of data reached the server but before its `250` reached the client, the
//! server may have queued the message, and the retry delivers it a second time:
//! the recipient sees two copies with one Message-ID, which mail clients show as
//! one. Nothing is ever delivered shorter, and a message reported
//! [`Delivery::Delivered`] was accepted.

use core::time::Duration;

use crate::error::Error;

/// How often and how long to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    attempts: u32,
    first: Duration,
    max: Duration,
    total: Option<Duration>,
}

impl Policy {
    /// At most `attempts` attempts (at least one), with pauses from 5 s doubling up
    /// to 5 minutes, and no total limit.
    pub const fn new(attempts: u32) -> Self {
        Policy {
            attempts: if attempts == 0 { 1 } else { attempts },
            first: Duration::from_secs(5),
            max: Duration::from_secs(300),
            total: None,
        }
    }

    /// Pauses that start at `first` and double after each attempt, up to `max`.
    pub const fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.first = first;
        self.max = max;
        self
    }

    /// Gives up rather than start a pause that would end more than `total` after
    /// the first attempt began.
    pub const fn with_total(mut self, total: Duration) -> Self {
        self.total = Some(total);
        self
    }

    /// The most attempts.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The pause after attempt `n` (from 1): `first · 2^(n-1)`, at most `max`, of
    /// which the second half is scaled by `random` (uniform over `u32`): between
    /// half the pause and the whole of it.
    pub fn pause(&self, n: u32, random: u32) -> Duration {
        let base = self
            .first
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(self.max);
        let half = base / 2;
        let jitter = Duration::from_nanos(
            ((half.as_nanos() * u128::from(random)) >> 32).min(u128::from(u64::MAX)) as u64,
        );
        half + jitter
    }
}

/// How a delivery ended; `T` is what a successful attempt returns (the
/// [`Report`](crate::engine::Report) for the clients' `deliver`), `E` its error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery<T, E> {
    /// The server accepted the message.
    Delivered {
        /// The attempt that delivered it (from 1).
        attempts: u32,
        /// What the attempt returned: each recipient's reply.
        report: T,
    },
    /// A permanent failure: trying again would not help.
    Refused {
        /// How many attempts were made.
        attempts: u32,
        /// The refusal.
        error: E,
    },
    /// Every attempt failed with a transient error, or the time ran out.
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        last: E,
    },
}

impl<T, E> Delivery<T, E> {
    /// Whether the message was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Delivery::Delivered { .. })
    }

    /// How many attempts were made.
    pub fn attempts(&self) -> u32 {
        match self {
            Delivery::Delivered { attempts, .. }
            | Delivery::Refused { attempts, .. }
            | Delivery::GaveUp { attempts, .. } => *attempts,
        }
    }
}

/// Whether an error is worth another attempt on a new connection.
pub trait Transient {
    /// `true` for a failure that trying again later can cure.
    fn is_transient(&self) -> bool;
}

impl<E> Transient for Error<E> {
    fn is_transient(&self) -> bool {
        Error::is_transient(self)
    }
}

/// The retry loop's state, without I/O: tell it when each attempt begins and how
/// it ended, and it says what to do next.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Policy,
    attempt: u32,
    started: Option<Duration>,
}

/// What follows an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<T, E> {
    /// Pause this long, then try again on a new connection.
    Retry(Duration),
    /// The delivery is over.
    Done(Delivery<T, E>),
}

impl Retry {
    /// A delivery by `policy`, before its first attempt.
    pub fn new(policy: Policy) -> Self {
        Retry {
            policy,
            attempt: 0,
            started: None,
        }
    }

    /// An attempt begins at `now` (the caller's monotonic clock).
    pub fn begin(&mut self, now: Duration) {
        self.attempt += 1;
        if self.started.is_none() {
            self.started = Some(now);
        }
    }

    /// What to do after the attempt ended at `now` with `result`; `random` (from
    /// the caller's RNG, uniform over `u32`) sets the pause's jitter.
    pub fn after<T, E: Transient>(
        &self,
        result: Result<T, E>,
        now: Duration,
        random: u32,
    ) -> Next<T, E> {
        let attempts = self.attempt;
        let e = match result {
            Ok(report) => return Next::Done(Delivery::Delivered { attempts, report }),
            Err(e) if !e.is_transient() => {
                return Next::Done(Delivery::Refused { attempts, error: e });
            }
            Err(e) => e,
        };
        if attempts >= self.policy.attempts {
            return Next::Done(Delivery::GaveUp { attempts, last: e });
        }
        let pause = self.policy.pause(attempts, random);
        if let (Some(total), Some(started)) = (self.policy.total, self.started)
            && now.saturating_sub(started).saturating_add(pause) > total
        {
            return Next::Done(Delivery::GaveUp { attempts, last: e });
        }
        debug!("attempt failed with a transient error: trying again");
        Next::Retry(pause)
    }
}

/// The clock and the sleep of [`blocking::deliver`](crate::blocking::deliver).
pub trait Pause {
    /// The time since any fixed moment, from a monotonic clock.
    fn now(&mut self) -> Duration;
    /// Blocks for `d`.
    fn sleep(&mut self, d: Duration);
}

/// [`Pause`] on `std::time::Instant` and `std::thread::sleep` (feature `std`).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdPause {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl Default for StdPause {
    fn default() -> Self {
        StdPause {
            origin: std::time::Instant::now(),
        }
    }
}

#[cfg(feature = "std")]
impl Pause for StdPause {
    fn now(&mut self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// The clock and the sleep of [`asynch::deliver`](crate::asynch::deliver);
/// `EmbassyTimer` (feature `embassy-time`) and `TokioTimer` (feature `tokio`)
/// are ones.
#[cfg(feature = "async")]
#[allow(async_fn_in_trait)]
pub trait AsyncPause {
    /// The time since any fixed moment, from a monotonic clock.
    fn now(&mut self) -> Duration;
    /// Waits for `d`.
    async fn sleep(&mut self, d: Duration);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stage;

    #[test]
    fn pauses_double_with_jitter_up_to_the_cap() {
        let p = Policy::new(5).with_backoff(Duration::from_secs(2), Duration::from_secs(10));
        assert_eq!(p.pause(1, 0), Duration::from_secs(1));
        assert_eq!(
            p.pause(1, u32::MAX),
            Duration::from_secs(2) - Duration::from_nanos(1)
        );
        assert_eq!(p.pause(2, 0), Duration::from_secs(2));
        assert_eq!(p.pause(3, 1 << 31), Duration::from_secs(6));
        assert_eq!(p.pause(4, 0), Duration::from_secs(5));
        assert_eq!(p.pause(40, 0), Duration::from_secs(5));
        assert_eq!(Policy::new(0).attempts(), 1);
    }

    fn closed() -> Error<()> {
        Error::Closed { stage: Stage::Data }
    }

    #[test]
    fn transient_failures_are_retried_until_the_attempts_run_out() {
        let mut s =
            Retry::new(Policy::new(3).with_backoff(Duration::from_secs(1), Duration::from_secs(1)));
        s.begin(Duration::ZERO);
        assert!(
            matches!(s.after::<(), Error<()>>(Err(closed()), Duration::ZERO, 0), Next::Retry(d) if d == Duration::from_millis(500))
        );
        s.begin(Duration::from_secs(1));
        assert!(matches!(
            s.after::<(), Error<()>>(Err(closed()), Duration::from_secs(1), 0),
            Next::Retry(_)
        ));
        s.begin(Duration::from_secs(2));
        assert!(matches!(
            s.after::<(), Error<()>>(Err(closed()), Duration::from_secs(2), 0),
            Next::Done(Delivery::GaveUp { attempts: 3, .. })
        ));
    }

    #[test]
    fn permanent_failures_and_the_total_limit_end_at_once() {
        let mut s = Retry::new(Policy::new(9).with_total(Duration::from_secs(10)));
        s.begin(Duration::ZERO);
        let refused = Error::<()>::Input(crate::error::InputError::new(
            crate::error::Field::Recipients,
            crate::error::InputErrorKind::NoRecipients,
        ));
        assert!(matches!(
            s.after::<(), Error<()>>(Err(refused), Duration::ZERO, 0),
            Next::Done(Delivery::Refused { attempts: 1, .. })
        ));
        // The first pause (2.5 s at least) would end past 10 s.
        assert!(matches!(
            s.after::<(), Error<()>>(Err(closed()), Duration::from_secs(8), 0),
            Next::Done(Delivery::GaveUp { attempts: 1, .. })
        ));
        assert!(matches!(
            s.after::<(), Error<()>>(Err(closed()), Duration::from_secs(7), 0),
            Next::Retry(_)
        ));
    }
}
