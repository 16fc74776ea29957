//! The standard base64 encoder (RFC 4648 §4, with padding) of the message bodies,
//! the RFC 2047 encoded words and AUTH.
//!
//! Every base64 *decoding* in the crate uses the `base64` crate (AUTH challenges,
//! SPKI pins) or `pem-rfc7468` (PEM files). Encoding is kept here because
//! the crate's encoder is built for throughput: measured in the footprint binary
//! of row (a) (thumbv7em-none-eabihf, opt-level z, LTO), its `encode_slice` is
//! 1 612 bytes of flash where this one is 280, and with it row (a) measured
//! 25 708 bytes against 23 456 with this one. Encoding only turns the crate's own
//! bytes into text (nothing from the network is parsed here), and the tests check
//! it against the `base64` crate for every length up to 80 and four offsets.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Characters produced for `n` input bytes (with padding).
pub(crate) const fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Writes the base64 of `input` to the start of `out`; returns the number of
/// characters, or 0 (writing nothing) when `out` is shorter than
/// [`encoded_len`]`(input.len())`.
pub(crate) fn encode(input: &[u8], out: &mut [u8]) -> usize {
    let need = encoded_len(input.len());
    let Some(out) = out.get_mut(..need) else {
        return 0;
    };
    let full = input.len() / 3;
    for (group, chars) in input.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        let v = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        chars[0] = ALPHABET[(v >> 18) as usize & 63];
        chars[1] = ALPHABET[(v >> 12) as usize & 63];
        chars[2] = ALPHABET[(v >> 6) as usize & 63];
        chars[3] = ALPHABET[v as usize & 63];
    }
    let rest = input.get(full * 3..).unwrap_or_default();
    if let (Some(&first), Some(chars)) = (rest.first(), out.get_mut(full * 4..full * 4 + 4)) {
        let v = u32::from(first) << 16 | u32::from(*rest.get(1).unwrap_or(&0)) << 8;
        let third = if rest.len() == 2 {
            ALPHABET[(v >> 6) as usize & 63]
        } else {
            b'='
        };
        let quad = [
            ALPHABET[(v >> 18) as usize & 63],
            ALPHABET[(v >> 12) as usize & 63],
            third,
            b'=',
        ];
        crate::bytes::copy(chars, &quad);
    }
    need
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
