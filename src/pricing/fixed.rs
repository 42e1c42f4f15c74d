//! Integer fast paths for the `Decimal` operations of the engine's hot
//! loop: rounding half away from zero, multiplying then rounding,
//! comparing an amount with a bound, the overall discount percentage of a
//! line, and sums of amounts ([`DecimalSum`]); plus short-string equality
//! and GTIN parsing helpers.
//!
//! Each function gives exactly what the `rust_decimal` operation it
//! replaces gives — same value, same scale, same sign — and falls back to
//! that operation whenever its operands leave the range where the integer
//! path is exact (mantissas beyond 64 bits, scales beyond 19 digits,
//! zero products). The unit tests compare both on random operands.

use rust_decimal::{Decimal, RoundingStrategy};

/// 10^0 ..= 10^19.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// The mantissa's magnitude when it fits in 64 bits.
#[inline]
fn small_mantissa(d: Decimal) -> Option<u64> {
    u64::try_from(d.mantissa().unsigned_abs()).ok()
}

/// Builds a decimal from a magnitude below 2^96, a sign and a scale ≤ 28.
#[inline]
fn from_magnitude(m: u128, negative: bool, scale: u32) -> Decimal {
    Decimal::from_parts(
        m as u32,
        (m >> 32) as u32,
        (m >> 64) as u32,
        negative,
        scale,
    )
}

/// `d.round_dp_with_strategy(dp, MidpointAwayFromZero)`.
#[inline]
pub(crate) fn round_half_up(d: Decimal, dp: u32) -> Decimal {
    let scale = d.scale();
    if scale <= dp {
        return d;
    }
    let diff = scale - dp;
    match small_mantissa(d) {
        Some(m) if diff < 20 => {
            let p = POW10[diff as usize];
            let (q, r) = (m / p, m % p);
            let q = if r >= p - r { q + 1 } else { q };
            from_magnitude(u128::from(q), d.is_sign_negative(), dp)
        }
        _ => d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero),
    }
}

/// `round_half_up(a * b, dp)`, `a * b` being the exact product (as
/// `rust_decimal` computes it when it fits, with scale `a.scale() +
/// b.scale()`).
#[inline]
pub(crate) fn mul_round(a: Decimal, b: Decimal, dp: u32) -> Decimal {
    match mul_exact(a, b) {
        Some(p) => round_half_up(p, dp),
        None => round_half_up(a * b, dp),
    }
}

/// `a * b` when the integer path is exact and non-zero; `None` otherwise.
#[inline]
fn mul_exact(a: Decimal, b: Decimal) -> Option<Decimal> {
    let (ma, mb) = (small_mantissa(a)?, small_mantissa(b)?);
    let m = u128::from(ma) * u128::from(mb);
    let scale = a.scale() + b.scale();
    if m == 0 || m >> 96 != 0 || scale > 28 {
        return None;
    }
    Some(from_magnitude(
        m,
        a.is_sign_negative() != b.is_sign_negative(),
        scale,
    ))
}

/// `a.checked_mul(b).filter(|p| p.abs() <= max)`, rounded half up to `dp`
/// decimals.
#[inline]
pub(crate) fn checked_mul_round(a: Decimal, b: Decimal, max: u64, dp: u32) -> Option<Decimal> {
    let p = match mul_exact(a, b) {
        // |p| ≤ its mantissa (the scale is ≥ 0): small ones need no comparison.
        Some(p) if p.mantissa().unsigned_abs() <= u128::from(max) => {
            return Some(round_half_up(p, dp))
        }
        Some(p) => p,
        None => a.checked_mul(b)?,
    };
    (p.abs() <= Decimal::from(max)).then(|| round_half_up(p, dp))
}

/// `&str::trim`, without the Unicode scan when both ends are printable
/// ASCII (the usual case for codes and units).
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `round_half_up((list - net) * 100 / list, 4).normalize()`: the overall
/// discount of a line off its list price, in percent, as `rust_decimal`
/// computes it; `None` when `list` is zero (the division fails).
///
/// The integer path rounds the exact quotient. It gives the same result as
/// rounding `rust_decimal`'s 28-digit quotient because, with a list
/// mantissa below 10^12 and a result below 10^8, an inexact quotient lies
/// at least 1 / (2·10^16) away from any rounding midpoint while
/// `rust_decimal` carries it to 10^-19 or better; an exact midpoint is a
/// finite decimal that `rust_decimal` divides exactly. Other operands take
/// the `rust_decimal` path.
#[inline]
pub(crate) fn discount_percent(list: Decimal, net: Decimal) -> Option<Decimal> {
    if let Some(p) = discount_percent_int(list, net) {
        return Some(p);
    }
    ((list - net) * Decimal::ONE_HUNDRED)
        .checked_div(list)
        .map(|p| round_half_up(p, 4).normalize())
}

#[inline]
fn discount_percent_int(list: Decimal, net: Decimal) -> Option<Decimal> {
    if list.is_sign_negative() || list.is_zero() {
        return None;
    }
    let (ml, mn) = (small_mantissa(list)?, small_mantissa(net)?);
    let (sl, sn) = (list.scale(), net.scale());
    if sl > 8 || sn > 8 {
        return None;
    }
    let s = sl.max(sn);
    let l = ml.checked_mul(POW10[(s - sl) as usize])?;
    let n = mn.checked_mul(POW10[(s - sn) as usize])?;
    // Bounds of the exactness argument above; they also keep
    // `diff * 10^6` below 1.1·10^19 < 2^64.
    if l > 1_000_000_000_000 || n > 10_000_000_000_000 {
        return None;
    }
    // |list - net| and its sign, net being negative or not.
    let (diff, negative) = if net.is_sign_negative() {
        (l + n, false)
    } else if n > l {
        (n - l, true)
    } else {
        (l - n, false)
    };
    // Percent with 4 decimals: diff * 100 * 10^4 / l, rounded half up.
    let d = diff * 1_000_000;
    let (mut q, r) = (d / l, d % l);
    if r >= l - r {
        q += 1;
    }
    if q >= 1_000_000_000_000 {
        return None;
    }
    if q == 0 {
        return Some(Decimal::ZERO);
    }
    let mut scale = 4;
    while scale > 0 && q % 10 == 0 {
        q /= 10;
        scale -= 1;
    }
    Some(from_magnitude(u128::from(q), negative, scale))
}

/// An exact running sum of decimals: the same value, scale and sign as
/// adding them one by one with `rust_decimal`, kept as an integer mantissa
/// while it stays within 96 bits (beyond, and whenever a sum is zero, it
/// takes the `rust_decimal` addition). Like `rust_decimal`, adding zero
/// leaves a non-zero sum as it is. The default is the empty sum (zero).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DecimalSum {
    /// Integer mantissa and scale, or `None` when `slow` holds the sum.
    int: Option<(i128, u32)>,
    slow: Decimal,
}

/// 2^96: the mantissas of `Decimal` stay below it.
const MANTISSA_LIMIT: i128 = 1 << 96;

impl DecimalSum {
    /// A sum starting at `d` (`Decimal::ZERO` for `Iterator::sum`).
    #[inline]
    pub(crate) fn new(d: Decimal) -> DecimalSum {
        if d.is_zero() {
            DecimalSum { int: None, slow: d }
        } else {
            DecimalSum {
                int: Some((d.mantissa(), d.scale())),
                slow: Decimal::ZERO,
            }
        }
    }

    /// Adds `d`, as `sum += d` would.
    #[inline]
    pub(crate) fn add(&mut self, d: Decimal) {
        // The usual case: amounts of the same scale.
        if let Some((m, s)) = &mut self.int {
            if d.scale() == *s {
                let v = *m + d.mantissa();
                if v != 0 && v.unsigned_abs() < MANTISSA_LIMIT as u128 {
                    *m = v;
                    return;
                }
            }
        }
        self.add_any(d);
    }

    /// [`DecimalSum::add`], any scale.
    #[inline(never)]
    fn add_any(&mut self, d: Decimal) {
        if let Some((m, s)) = self.int {
            // `rust_decimal` returns the other operand as is when one is
            // zero (its scale and sign included).
            if d.is_zero() {
                return;
            }
            let (dm, ds) = (d.mantissa(), d.scale());
            let sum = if ds > s {
                POW10
                    .get((ds - s) as usize)
                    .and_then(|&p| m.checked_mul(i128::from(p)))
                    .and_then(|a| a.checked_add(dm))
                    .map(|v| (v, ds))
            } else {
                POW10
                    .get((s - ds) as usize)
                    .and_then(|&p| dm.checked_mul(i128::from(p)))
                    .and_then(|b| b.checked_add(m))
                    .map(|v| (v, s))
            };
            match sum {
                Some((v, scale)) if v != 0 && v.unsigned_abs() < MANTISSA_LIMIT as u128 => {
                    self.int = Some((v, scale));
                }
                _ => {
                    self.int = None;
                    self.slow = Decimal::from_i128_with_scale(m, s) + d;
                }
            }
        } else {
            *self = DecimalSum::new(self.slow + d);
        }
    }

    /// The sum.
    #[inline]
    pub(crate) fn value(&self) -> Decimal {
        match self.int {
            Some((m, s)) => Decimal::from_i128_with_scale(m, s),
            None => self.slow,
        }
    }
}

/// Appends `d` to `s` exactly as `write!(s, "{d}")` does, without the
/// formatting machinery ([`crate::model::decimal_json::format`], the text
/// the JSON output uses too).
pub(crate) fn push_decimal(s: &mut String, d: Decimal) {
    let mut buf = [0u8; crate::model::decimal_json::MAX_LEN];
    s.push_str(crate::model::decimal_json::format(&d, &mut buf));
}

/// `a == b` for short ASCII codes (units, currencies) without a call to
/// `memcmp`.
#[inline]
pub(crate) fn short_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        // The first, middle and last bytes cover every byte.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        // The first and last four bytes (overlapping) cover every byte.
        4..=8 => four(a, 0) == four(b, 0) && four(a, n - 4) == four(b, n - 4),
        _ => a == b,
    }
}

/// The four bytes of `s` from `at` as an integer (`at + 4 <= s.len()`).
#[inline]
fn four(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_le_bytes(w)
}

/// The value of 8 ASCII digits (first digit in the lowest byte, as read
/// little-endian), or `None` when a byte is not a digit.
#[inline]
pub(crate) fn eight_digits(chunk: u64) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    // Each byte in 0x30..=0x39: high nibble 3, and still 3 after adding 6.
    if chunk & HIGH != ZEROS || chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let d = chunk - ZEROS;
    // Pairs of digits in 16-bit lanes, then groups of 4 in 32-bit lanes,
    // then the 8 digits.
    let d = (d * 10 + (d >> 8)) & 0x00FF_00FF_00FF_00FF;
    let d = (d * 100 + (d >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((d * 10_000 + (d >> 32)) & 0xFFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        /// A decimal with a random mantissa (sometimes beyond 64 bits),
        /// scale and sign.
        fn decimal(&mut self) -> Decimal {
            let bits = [8, 16, 24, 40, 64, 90][(self.next() % 6) as usize];
            let mut m = i128::from(self.next()) | (i128::from(self.next()) << 64);
            m &= (1i128 << bits) - 1;
            if self.next() % 8 == 0 {
                m = 0;
            }
            if self.next() % 4 == 0 {
                m = -m;
            }
            Decimal::from_i128_with_scale(m, (self.next() % 14) as u32)
        }
    }

    fn same(a: Decimal, b: Decimal) -> bool {
        a.serialize() == b.serialize()
    }

    #[test]
    fn rounding_is_rust_decimal_rounding() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for _ in 0..200_000 {
            let d = rng.decimal();
            let dp = (rng.next() % 8) as u32;
            let want = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
            assert!(same(round_half_up(d, dp), want), "{d} to {dp}");
        }
        for (d, dp, want) in [
            ("2.45", 1, "2.5"),
            ("-2.45", 1, "-2.5"),
            ("2.4499", 2, "2.45"),
            ("0.00004", 4, "0.0000"),
            ("1.5", 4, "1.5"),
        ] {
            let got = round_half_up(d.parse().unwrap(), dp);
            assert_eq!(got.to_string(), want);
        }
    }

    #[test]
    fn multiplying_is_rust_decimal_multiplying() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let max = 1_000_000_000_000_000u64;
        for _ in 0..200_000 {
            let (a, b) = (rng.decimal(), rng.decimal());
            let dp = (rng.next() % 6) as u32;
            let Some(p) = a.checked_mul(b) else {
                continue;
            };
            let want = p.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
            assert!(same(mul_round(a, b, dp), want), "{a} × {b} to {dp}");
            let want = (p.abs() <= Decimal::from(max)).then_some(want);
            let got = checked_mul_round(a, b, max, dp);
            assert_eq!(got.map(|d| d.serialize()), want.map(|d| d.serialize()));
        }
    }

    #[test]
    fn trimming_is_str_trim() {
        for s in [
            "", " ", "PCE", " PCE", "PCE\t", "\u{a0}KG", "KG\u{a0}", "a", "é",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }
    #[test]
    fn discount_percent_is_rust_decimal_division() {
        let reference = |l: Decimal, n: Decimal| {
            ((l - n) * Decimal::ONE_HUNDRED)
                .checked_div(l)
                .map(|p| p.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero))
                .map(|p| p.normalize())
        };
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        for i in 0..300_000u32 {
            let (l, n) = if i % 3 == 0 {
                (rng.decimal(), rng.decimal())
            } else {
                // Prices as the engine sees them: up to 4 decimals, the net
                // price often a discount of the list price.
                let l = Decimal::new(
                    (rng.next() % 10_000_000_000) as i64,
                    (rng.next() % 5) as u32,
                );
                let n = if i % 3 == 1 {
                    let f = Decimal::new((rng.next() % 10_001) as i64, 4);
                    round_half_up(l * f, 4)
                } else {
                    Decimal::new(
                        (rng.next() % 10_000_000_000) as i64,
                        (rng.next() % 5) as u32,
                    )
                };
                (l, n)
            };
            let Some(_) = (l - n).checked_mul(Decimal::ONE_HUNDRED) else {
                continue;
            };
            let want = reference(l, n);
            let got = discount_percent(l, n);
            assert_eq!(
                got.map(|d| d.serialize()),
                want.map(|d| d.serialize()),
                "{l} {n}"
            );
        }
        // Midpoints and near-midpoints.
        for (l, n) in [
            ("3", "2.99997"),
            ("8", "7.99999"),
            ("100", "85.5"),
            ("20", "19.99999"),
            ("3", "1"),
            ("7", "0"),
            ("5", "5"),
            ("5", "6.5"),
            ("0.0003", "0.0001"),
        ] {
            let (l, n): (Decimal, Decimal) = (l.parse().unwrap(), n.parse().unwrap());
            let want = reference(l, n);
            assert_eq!(
                discount_percent(l, n).map(|d| d.serialize()),
                want.map(|d| d.serialize()),
                "{l} {n}"
            );
        }
    }

    #[test]
    fn sums_are_rust_decimal_sums() {
        let mut rng = XorShift(0x6A09_E667_F3BC_C908);
        for _ in 0..20_000 {
            let n = (rng.next() % 12) as usize;
            let start = if rng.next() % 2 == 0 {
                Decimal::ZERO
            } else {
                rng.decimal()
            };
            let mut want = start;
            let mut sum = DecimalSum::new(start);
            for _ in 0..n {
                let d = match rng.next() % 4 {
                    0 => -want,
                    1 => Decimal::new((rng.next() % 100_000) as i64, (rng.next() % 4) as u32),
                    _ => rng.decimal(),
                };
                let Some(w) = want.checked_add(d) else {
                    break;
                };
                want = w;
                sum.add(d);
                assert!(same(sum.value(), want), "{} vs {want}", sum.value());
            }
        }
    }

    #[test]
    fn pushed_decimals_are_displayed_decimals() {
        let mut rng = XorShift(0x3C6E_F372_FE94_F82B);
        let mut cases: Vec<Decimal> = vec![
            Decimal::ZERO,
            Decimal::new(0, 2),
            Decimal::new(-0, 3),
            Decimal::from_parts(0, 0, 0, true, 2),
            Decimal::new(5, 2),
            Decimal::new(-5, 2),
            Decimal::new(123_456, 0),
            Decimal::new(100, 2),
            Decimal::new(i64::MAX, 28),
            Decimal::new(i64::MIN + 1, 5),
            Decimal::MAX,
            Decimal::MIN,
            Decimal::from_parts(u32::MAX, u32::MAX, 0, false, 28),
            Decimal::from_parts(0, 0, 1, false, 3),
        ];
        for _ in 0..200_000 {
            cases.push(rng.decimal());
            let m = rng.next() >> (rng.next() % 64);
            let scale = (rng.next() % 29) as u32;
            let neg = rng.next() % 3 == 0;
            cases.push(Decimal::from_parts(
                m as u32,
                (m >> 32) as u32,
                0,
                neg,
                scale,
            ));
        }
        let mut s = String::new();
        for d in cases {
            s.clear();
            s.push_str("x ");
            push_decimal(&mut s, d);
            assert_eq!(s, format!("x {d}"), "{:?}", d.serialize());
        }
    }

    #[test]
    fn short_strings_compare_as_strings() {
        for (a, b) in [
            ("PCE", "PCE"),
            ("PCE", "PCF"),
            ("KG", "KGM"),
            ("", ""),
            ("EUR", "eur"),
            ("ABCDEFGHIJ", "ABCDEFGHIJ"),
            ("ABCDEFGHIJ", "ABCDEFGHIK"),
        ] {
            assert_eq!(short_eq(a, b), a == b, "{a} {b}");
        }
        // Every length up to 12, equal and differing in one byte.
        let mut rng = XorShift(0x510E_527F_ADE6_82D1);
        for _ in 0..50_000 {
            let n = (rng.next() % 13) as usize;
            let a: String = (0..n)
                .map(|_| char::from(b'A' + (rng.next() % 4) as u8))
                .collect();
            let mut b = a.clone().into_bytes();
            if n > 0 && rng.next() % 2 == 0 {
                let i = (rng.next() % n as u64) as usize;
                b[i] = b'A' + (rng.next() % 4) as u8;
            }
            let b = String::from_utf8(b).unwrap_or_default();
            assert_eq!(short_eq(&a, &b), a == b, "{a} {b}");
            let shorter = &b[..n.saturating_sub(1)];
            assert_eq!(short_eq(&a, shorter), a == shorter, "{a} {shorter}");
        }
    }

    #[test]
    fn eight_digits_parses_digits() {
        let mut rng = XorShift(0xBB67_AE85_84CA_A73B);
        for _ in 0..100_000 {
            let mut b = [0u8; 8];
            for x in &mut b {
                *x = if rng.next() % 16 == 0 {
                    (rng.next() % 256) as u8
                } else {
                    b'0' + (rng.next() % 10) as u8
                };
            }
            let want = b
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| b.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')));
            assert_eq!(eight_digits(u64::from_le_bytes(b)), want, "{b:?}");
        }
        assert_eq!(
            eight_digits(u64::from_le_bytes(*b"99999999")),
            Some(99_999_999)
        );
        assert_eq!(eight_digits(u64::from_le_bytes(*b"00000000")), Some(0));
        assert_eq!(eight_digits(u64::from_le_bytes(*b"0000000:")), None);
        assert_eq!(eight_digits(u64::from_le_bytes(*b"/0000000")), None);
    }
}
