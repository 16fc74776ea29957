//! Decimal numbers without 64-bit division: on 32-bit cores a `u64` divided by a
//! constant becomes a call to a 64-bit division routine of about 1 KB of flash;
//! these do the same with 32-bit divisions.

/// `(x / d, x % d)` for a divisor below 2¹⁶, by long division in 16-bit digits.
pub(crate) fn div_rem_small(x: u64, d: u16) -> (u64, u32) {
    let d = u32::from(d.max(1));
    let (mut q, mut r) = (0u64, 0u32);
    for shift in [48, 32, 16, 0] {
        // r < d < 2^16, so this fits a u32.
        let cur = (r << 16) | ((x >> shift) as u32 & 0xFFFF);
        q |= u64::from(cur / d) << shift;
        r = cur % d;
    }
    (q, r)
}

/// The decimal digits of `v`, zero-padded to at least `width` (at most 20), into
/// `buf`; returns where they start.
pub(crate) fn decimal(buf: &mut [u8; 20], mut v: u64, width: usize) -> usize {
    // Every position gets a digit (the leading ones '0'), rather than a `fill`
    // first: no `memset` in the image for it.
    let mut i = buf.len();
    for (at, slot) in buf.iter_mut().enumerate().rev() {
        if v > 0 {
            i = at;
        }
        let (q, r) = div_rem_small(v, 10);
        *slot = b'0' + r as u8;
        v = q;
    }
    i.min(buf.len().saturating_sub(width.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_matches() {
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
            u64::MAX,
            u64::MAX - 1,
        ];
        for &x in &xs {
            for d in [1u16, 7, 10, 675, 60_000, u16::MAX] {
                assert_eq!(
                    div_rem_small(x, d),
                    (x / u64::from(d), (x % u64::from(d)) as u32)
                );
            }
        }
        let mut buf = [0u8; 20];
        let at = decimal(&mut buf, u64::MAX, 1);
        assert_eq!(&buf[at..], b"18446744073709551615");
        let at = decimal(&mut buf, 7, 3);
        assert_eq!(&buf[at..], b"007");
        let at = decimal(&mut buf, 0, 1);
        assert_eq!(&buf[at..], b"0");
    }
}
