//! Decimal numbers without 64-bit division: on 32-bit cores a `u64` divided by a
//! constant becomes a call to a 64-bit division routine of about 1 KB of flash;
//! these do the same with 32-bit divisions.

/// The decimal digits of `v`, zero-padded to at least `width` (at most 20), into
/// `buf`; returns where they start.
pub(crate) fn decimal(buf: &mut [u8; 20], v: u64, width: usize) -> usize {
    // `v` in four 16-bit limbs, most significant first; each digit is one pass of
    // long division by ten over them, a 32-bit division per limb (the remainder
    // times 2^16 plus a limb stays below 2^20). Shifts by constants only: a
    // variable 64-bit shift is a library call on a 32-bit core.
    let (hi, lo) = ((v >> 32) as u32, v as u32);
    let mut limbs = [hi >> 16, hi & 0xFFFF, lo >> 16, lo & 0xFFFF];
    // Every position gets a digit (the leading ones '0'), rather than a `fill`
    // first: no `memset` in the image for it.
    let mut i = buf.len();
    for (at, slot) in buf.iter_mut().enumerate().rev() {
        let (mut r, mut left) = (0, 0);
        for limb in &mut limbs {
            left |= *limb;
            let cur = (r << 16) | *limb;
            *limb = cur / 10;
            r = cur % 10;
        }
        if left != 0 {
            i = at;
        }
        *slot = b'0' + r as u8;
    }
    i.min(buf.len().saturating_sub(width.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_match() {
        let xs = [
            0,
            1,
            9,
            10,
            65_535,
            65_536,
            86_399,
            86_400,
            1 << 40,
            10_000_000_000_000_000_000,
            u64::MAX,
            u64::MAX - 1,
        ];
        let mut buf = [0u8; 20];
        for &x in &xs {
            for width in [0, 1, 3, 20] {
                let at = decimal(&mut buf, x, width);
                let want = std::format!("{x:0width$}");
                assert_eq!(&buf[at..], want.as_bytes(), "{x} {width}");
            }
        }
        let at = decimal(&mut buf, u64::MAX, 1);
        assert_eq!(&buf[at..], b"18446744073709551615");
        let at = decimal(&mut buf, 7, 3);
        assert_eq!(&buf[at..], b"007");
        let at = decimal(&mut buf, 0, 1);
        assert_eq!(&buf[at..], b"0");
    }
}
