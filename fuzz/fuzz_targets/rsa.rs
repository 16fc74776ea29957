#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedded_smtp_fuzz::rsa_checks::rsa(data);
});
