//! The message: what is sent after `DATA`.

pub mod dot;

pub use dot::DotStuffer;
