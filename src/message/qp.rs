//! Quoted-printable (RFC 2045 §6.7) for text bodies, one output line at a time.
//!
//! Line breaks of the text (CR LF, bare LF or bare CR) become hard CRLF breaks; every
//! other byte outside `!`..`~` (and `=` itself) is written as `=XX`; space and tab
//! are written as is except at the end of a line, where they become `=20`/`=09`.
//! Lines are soft-wrapped with `=` CRLF so that none is longer than 76 characters;
//! neither an `=XX` triplet nor the octets of one UTF-8 character are split. The output never holds `=_` (after `=` comes a hex
//! digit or a line break), which the multipart boundary relies on.

use super::Sink;

/// Longest encoded line, soft break included (RFC 2045 §6.7 rule 5).
pub(crate) const MAX_LINE: usize = 76;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn is_break(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Writes the encoded line that starts at `pos` in `text`, ending with a hard or soft
/// line break, and returns the offset where the next line starts (`text.len()` when
/// the text is done). Call only while `pos < text.len()`.
#[inline(never)]
pub(crate) fn line(sink: &mut Sink<'_>, text: &[u8], pos: usize) -> usize {
    let mut col = 0;
    let mut i = pos;
    while let Some(&b) = text.get(i) {
        if is_break(b) {
            sink.put(b"\r\n");
            let skip = if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            return i + skip;
        }
        // A UTF-8 character is kept whole on one line (decoders join the octets
        // anyway, but readers that decode line by line show it intact).
        let unit = if b >= 0xc0 {
            1 + text
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .take(3)
                .take_while(|&&c| (0x80..0xc0).contains(&c))
                .count()
        } else {
            1
        };
        // Nothing but a line break or the end may follow without a soft break.
        let ends_line = text.get(i + unit).is_none_or(|&c| is_break(c));
        let literal = unit == 1
            && match b {
                b' ' | b'\t' => !ends_line,
                b'=' => false,
                33..=126 => true,
                _ => false,
            };
        let width = if literal { 1 } else { 3 * unit };
        let limit = if ends_line { MAX_LINE } else { MAX_LINE - 1 };
        if col + width > limit {
            sink.put(b"=\r\n");
            return i;
        }
        for &c in text.get(i..i + unit).unwrap_or_default() {
            if literal {
                sink.put(&[c]);
            } else {
                sink.put(&[b'=', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]);
            }
        }
        col += width;
        i += unit;
    }
    sink.put(b"\r\n");
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn encode(text: &[u8]) -> Vec<u8> {
        let mut all = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let mut out = [0u8; 128];
            let mut sink = Sink::new(&mut out, 0);
            let next = line(&mut sink, text, pos);
            assert!(next > pos);
            assert!(!sink.overflowed());
            let n = sink.written();
            assert!(n - 2 <= MAX_LINE, "{:?}", &out[..n]);
            all.extend_from_slice(&out[..n]);
            pos = next;
        }
        all
    }

    /// A strict RFC 2045 decoder for the tests (hard breaks decode as CRLF).
    fn decode(enc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let mut i = 0;
        while i < enc.len() {
            match enc[i] {
                b'=' if enc[i + 1] == b'\r' => i += 3,
                b'=' => {
                    let h = |c: u8| HEX.iter().position(|&x| x == c).unwrap() as u8;
                    v.push(h(enc[i + 1]) << 4 | h(enc[i + 2]));
                    i += 3;
                }
                c => {
                    assert!(matches!(c, b'\r' | b'\n' | b'\t' | 32..=126));
                    v.push(c);
                    i += 1;
                }
            }
        }
        v
    }

    #[test]
    fn vectors() {
        assert_eq!(encode(b"a=b"), b"a=3Db\r\n");
        assert_eq!(encode(b"a \nb\t"), b"a=20\r\nb=09\r\n");
        assert_eq!(encode(b"a b"), b"a b\r\n");
        assert_eq!(encode(b"\r\n\r\n"), b"\r\n\r\n");
        assert_eq!(encode(b"x\ry\n"), b"x\r\ny\r\n");
        assert_eq!(encode("é".as_bytes()), b"=C3=A9\r\n");
        assert_eq!(encode(b"\x00\x7f"), b"=00=7F\r\n");
        assert_eq!(encode(b""), b"");
    }

    #[test]
    fn soft_breaks() {
        // 76 characters fit on a last line, 77 do not.
        let t = [b'a'; 76];
        assert_eq!(encode(&t), [&t[..], b"\r\n"].concat());
        let t = [b'a'; 77];
        let want = [&t[..75], b"=\r\naa\r\n"].concat();
        assert_eq!(encode(&t), want);
        // A triplet is never split; trailing space before a soft break stays literal.
        let mut t = [b'a'; 80];
        t[74] = b'=';
        let enc = encode(&t);
        assert!(enc.starts_with(&[&[b'a'; 74][..], b"=\r\n=3D"].concat()));
        let mut t = [b'a'; 80];
        t[74] = b' ';
        let enc = encode(&t);
        assert!(enc.starts_with(&[&[b'a'; 74][..], b" =\r\naaaa"].concat()));
    }

    #[test]
    fn characters_stay_whole() {
        // 73 letters leave room for one triplet before the soft break, not for the
        // two of "é": it moves to the next line whole.
        let t = ["a".repeat(73), "éz".into()].concat();
        let want = [&"a".repeat(73), "=\r\n=C3=A9z\r\n"].concat();
        assert_eq!(encode(t.as_bytes()), want.as_bytes());
        // A stray continuation byte or a truncated sequence is still encoded.
        assert_eq!(encode(b"\x80\xc3"), b"=80=C3\r\n");
        let t = "€".repeat(40);
        let enc = encode(t.as_bytes());
        for line in enc.split(|&c| c == b'\n') {
            assert!(line.is_empty() || line.starts_with(b"=E2"), "{line:?}");
        }
        assert_eq!(decode(&enc), [t.as_bytes(), b"\r\n"].concat());
    }

    #[test]
    fn round_trip_and_no_boundary_marker() {
        let text = "Température 21,5 °C = normal. \nLigne =_ suivante\twith tab \n\n".repeat(9)
            + &"x".repeat(300);
        let enc = encode(text.as_bytes());
        assert!(!enc.windows(2).any(|w| w == b"=_"));
        let want = text.replace('\n', "\r\n") + "\r\n";
        assert_eq!(decode(&enc), want.as_bytes());
    }
}
