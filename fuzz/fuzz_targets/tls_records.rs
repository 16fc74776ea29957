//! The recorded TLS session with records injected, split and corrupted, reads cut
//! and socket calls failed or cancelled (input format and properties:
//! `src/tls_checks.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| embedded_smtp_fuzz::tls_checks::tls_records(data));
