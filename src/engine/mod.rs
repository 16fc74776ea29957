//! The sans-I/O SMTP engine.

mod action;

pub use action::Stage;
