#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

#[macro_use]
mod fmt;

pub mod address;
pub mod engine;
pub mod error;
pub mod limits;
pub mod message;
pub mod reply;
#[cfg(feature = "tls")]
pub mod verify;

pub use address::{Address, Domain, HeaderText, Mailbox};
pub use error::{Error, InputError, ProtocolError, Refusal, Text, Unsupported};
