//! Integer fast paths for the `Decimal` operations of the engine's hot
//! loop: rounding half away from zero, multiplying then rounding, and
//! comparing an amount with a bound.
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
}
