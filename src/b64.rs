//! Standard base64 (RFC 4648 §4, with padding), written out here instead of taken
//! from a general-purpose crate: an encoder and a strict decoder in a few hundred
//! bytes of code, where a generic engine costs about 1.6 KB of flash on a
//! Cortex-M (see the footprint report).

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

fn value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decodes padded base64 (no whitespace) into the start of `out`; returns the
/// number of bytes. `None` when the length is not a multiple of 4, a character
/// is outside the alphabet, padding is anywhere but at the end, or `out` is too
/// short.
pub(crate) fn decode(input: &[u8], out: &mut [u8]) -> Option<usize> {
    if !input.len().is_multiple_of(4) {
        return None;
    }
    let groups = input.len() / 4;
    let mut n = 0;
    for (g, chars) in input.chunks_exact(4).enumerate() {
        let pad = chars.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && g + 1 != groups) {
            return None;
        }
        let mut v = 0u32;
        for (i, &c) in chars.iter().take(4 - pad).enumerate() {
            v |= value(c)? << (18 - 6 * i);
        }
        for i in 0..3 - pad {
            *out.get_mut(n)? = (v >> (16 - 8 * i)) as u8;
            n += 1;
        }
    }
    Some(n)
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
                let m = decode(&out[..n], &mut back).unwrap();
                assert_eq!(&back[..m], input);
            }
        }
    }

    #[test]
    fn short_output_and_bad_input() {
        assert_eq!(encode(b"abcd", &mut [0u8; 7]), 0);
        assert_eq!(encode(b"", &mut []), 0);
        let mut out = [0u8; 8];
        assert_eq!(decode(b"YWJj", &mut out), Some(3));
        assert_eq!(decode(b"YWJj", &mut out[..2]), None);
        assert_eq!(decode(b"YWJ", &mut out), None);
        assert_eq!(decode(b"YW=j", &mut out), None);
        assert_eq!(decode(b"Y===", &mut out), None);
        assert_eq!(decode(b"YQ==YWJj", &mut out), None);
        assert_eq!(decode(b"YW J", &mut out), None);
        assert_eq!(decode(b"YQ==", &mut out), Some(1));
        assert_eq!(decode(b"", &mut out), Some(0));
    }
}
