//! The recorded TLS session with records injected, split and corrupted, reads cut
//! and socket calls failed or cancelled, through both TLS clients. Input format,
//! properties and what is not generated (the documented residual: an encrypted
//! handshake message that embedded-tls parses, other than NewSessionTicket, after
//! the handshake) are in `src/tls_checks.rs`; the scripted server is
//! `src/tls_script.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| embedded_smtp_fuzz::tls_checks::tls_records(data));
