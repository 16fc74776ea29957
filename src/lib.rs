#![doc = include_str!("../README.md")]
//!
//! # Design
//!
//! ```text
//!  your code ──► blocking::Client ──► engine::Engine (sans-I/O) ──► Action::Send(bytes) ──► stream
//!                     ▲                   ▲       │
//!                     │                   │       └──► Action::Body: pulls message::BodySource,
//!                stream bytes ──► Action::Recv ──► reply::parse_line (nom, line by line)
//! ```
//!
//! - [`engine`]: the protocol as a state machine that never touches I/O, a clock or
//!   an RNG; it says what to do next ([`engine::Action`]) and is told what happened.
//! - [`blocking`]: one small loop over the engine on an `embedded_io` stream.
//! - `tls` and `verify` (feature `tls`): implicit TLS and STARTTLS on embedded-tls,
//!   and the server certificate verifier.
//! - [`reply`]: the streaming reply parser and EHLO capabilities (the only `nom` user).
//! - [`command`], [`address`], [`auth`]: validated values and the command lines they make.
//! - [`message`]: the RFC 5322 message writer and the dot-stuffer, pull-based.
//! - [`error`]: one [`Error<E>`] generic over the transport's error.
//! - `nal` (features `nal`, `nal-async`): embedded-nal TCP stacks as streams, and
//!   connect helpers.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

#[macro_use]
mod fmt;

pub mod address;
#[cfg(feature = "async")]
#[cfg_attr(docsrs, doc(cfg(feature = "async")))]
pub mod asynch;
pub mod auth;
mod b64;
pub mod blocking;
mod bytes;
pub mod command;
mod driver;
pub mod engine;
pub mod error;
pub mod limits;
pub mod message;
#[cfg(any(feature = "nal", feature = "nal-async"))]
pub mod nal;
mod num;
pub mod reply;
pub mod retry;
mod stage;
#[cfg(feature = "std")]
mod std_tcp;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
#[cfg(feature = "tls")]
pub mod verify;

pub use address::{Address, Domain, HeaderText, Mailbox};
pub use auth::{Credentials, Mechanism};
// The guides in docs/ hold code too: it is compiled (and run unless `no_run`) as
// doctests, like the README's.
#[cfg(doctest)]
#[doc = include_str!("../docs/tls.md")]
mod tls_guide {}
#[cfg(doctest)]
#[doc = include_str!("../docs/reliability.md")]
mod reliability_guide {}
#[cfg(doctest)]
#[doc = include_str!("../docs/microcontroller.md")]
mod microcontroller_guide {}
#[cfg(doctest)]
#[doc = include_str!("../docs/performance.md")]
mod performance_guide {}

/// The random-number traits of `rand_core` 0.6 that the TLS connector takes
/// ([`tls::Connector::new`]), re-exported from embedded-tls so that a program
/// names them without depending on it: `rand_core::OsRng` (feature `getrandom`)
/// on a desktop, a hardware TRNG or a seeded DRBG on a device.
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use embedded_tls::{CryptoRng, CryptoRngCore};
pub use engine::{Config, Security};
pub use error::{
    Buffer, Contract, Error, Failure, InputError, InputErrorKind, Invariant, Misuse, ProtocolError,
    Response, Text, Unsupported,
};

/// The TLS upgrader of a client that cannot do TLS: a session that needs STARTTLS
/// fails with [`Unsupported::TlsUnavailable`]. Streams that are already encrypted
/// (implicit TLS) need no upgrader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoTls;
