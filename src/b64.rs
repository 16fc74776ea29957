//! The standard base64 encoder (RFC 4648 §4, with padding) of the message bodies,
//! the RFC 2047 encoded words and AUTH.
//!
//! The core decodes no base64 (AUTH LOGIN prompts are told by their first
//! characters, `auth::login_prompt`); the TLS pins are decoded by the `base64`
//! crate and PEM files by `pem-rfc7468`. Encoding is kept here because the
//! crate's encoder is built for throughput: measured in the footprint binary of
//! row (a) (thumbv7em-none-eabihf, opt-level z, LTO), its `encode_slice` is 1 612
//! bytes of flash where this one is 104. Encoding only turns the crate's own bytes
//! into text (nothing from the network is parsed here), and the tests check it
//! against the `base64` crate for every length up to 80 and four offsets.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Characters produced for `n` input bytes (with padding).
#[cfg(any(test, feature = "encoded-words"))]
pub(crate) const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the base64 of `input` to the start of `out`; returns the number of
/// characters, or 0 (writing nothing) when `out` is shorter than
/// [`encoded_len`]`(input.len())`.
pub(crate) fn encode(input: &[u8], out: &mut [u8]) -> usize {
    // `encoded_len(n) <= len` is `n <= len / 4 * 3`: no division.
    if input.len() > out.len() / 4 * 3 {
        return 0;
    }
    let bits = 8 * input.len();
    // One character per 6 bits of input, read from the two bytes that hold them
    // (missing bytes are zero), then padding to a multiple of 4.
    let mut j = 0;
    while 6 * j < bits || j % 4 != 0 {
        let at = 6 * j;
        let byte = |i: usize| u32::from(input.get(i).copied().unwrap_or(0));
        let pair = byte(at / 8) << 8 | byte(at / 8 + 1);
        let c = if at < bits {
            ALPHABET[(pair >> (10 - at % 8)) as usize & 63]
        } else {
            b'='
        };
        if let Some(slot) = out.get_mut(j) {
            *slot = c;
        }
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn matches_the_base64_crate() {
        let data: std::vec::Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for len in 0..80 {
            for start in [0, 1, 100, 250] {
                let input = &data[start..start + len];
                let want = STANDARD.encode(input);
                let mut out = [0u8; 120];
                let n = encode(input, &mut out);
                assert_eq!(&out[..n], want.as_bytes());
                let mut back = [0u8; 90];
                let m = STANDARD.decode_slice(&out[..n], &mut back).unwrap();
                assert_eq!(&back[..m], input);
            }
        }
    }

    #[test]
    fn short_output() {
        assert_eq!(encode(b"abcd", &mut [0u8; 7]), 0);
        assert_eq!(encode(b"", &mut []), 0);
        let mut out = [0u8; 8];
        assert_eq!(encode(b"abcd", &mut out), 8);
        assert_eq!(&out, b"YWJjZA==");
    }
}
