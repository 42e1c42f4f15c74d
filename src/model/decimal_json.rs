//! Serialization of [`Decimal`] money, prices and quantities as JSON
//! strings, byte for byte what `rust_decimal`'s own `serde-with-str`
//! serialization writes (`"12.50"`, `"-0.0100"`, `"0"`), but about five
//! times cheaper: `rust_decimal` divides its 96-bit mantissa by ten once per
//! digit and goes through `core::fmt`, which made decimals ≈ 10 % of the
//! daemon's CPU time per priced order (a 20-line priced order carries ≈ 370
//! of them). Used with `#[serde(serialize_with = …)]` on the model's and the
//! pricing result's decimal fields; reading still goes through
//! `rust_decimal`'s own `Deserialize`.

use rust_decimal::Decimal;
use serde::Serializer;

/// Longest text: sign, leading `0`, point, 29 digits.
pub const MAX_LEN: usize = 1 + 1 + 1 + 29;

/// Writes `d` into `out`, returning the text (also `d`'s `Display` text).
pub fn format<'a>(d: &Decimal, out: &'a mut [u8; MAX_LEN]) -> &'a str {
    let scale = d.scale() as usize;
    // Digits of the mantissa's magnitude, least significant first; at
    // least `scale` of them (leading zeros of the fraction).
    let mut digits = [b'0'; 29];
    let mut len = 0usize;
    let mut m = d.mantissa().unsigned_abs();
    while m > u64::MAX as u128 {
        digits[len] = b'0' + (m % 10) as u8;
        m /= 10;
        len += 1;
    }
    let mut m = m as u64;
    while m != 0 {
        digits[len] = b'0' + (m % 10) as u8;
        m /= 10;
        len += 1;
    }
    let len = len.max(scale);
    let mut n = 0usize;
    let mut put = |b: u8| {
        out[n] = b;
        n += 1;
    };
    if d.is_sign_negative() {
        put(b'-');
    }
    if len == scale {
        // "0" before the point, or the whole text of a zero.
        put(b'0');
    }
    for i in (0..len).rev() {
        if i + 1 == scale {
            put(b'.');
        }
        put(digits[i]);
    }
    // Only ASCII digits, '-' and '.' were written.
    std::str::from_utf8(&out[..n]).unwrap_or("0")
}

/// `#[serde(serialize_with = "crate::model::decimal_json::serialize")]`.
pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; MAX_LEN];
    s.serialize_str(format(d, &mut buf))
}

/// The same for `Option<Decimal>` (`null` for `None`, as serde does).
pub fn serialize_option<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_rust_decimal(d: Decimal) {
        let mut buf = [0u8; MAX_LEN];
        let ours = format(&d, &mut buf).to_string();
        let theirs = serde_json::to_value(d).unwrap();
        assert_eq!(
            theirs.as_str(),
            Some(ours.as_str()),
            "mantissa {} scale {}",
            d.mantissa(),
            d.scale()
        );
    }

    #[test]
    fn edge_cases_match_rust_decimal() {
        for (m, scale) in [
            (0i128, 0u32),
            (0, 2),
            (0, 28),
            (1, 0),
            (1, 28),
            (-1, 28),
            (5, 1),
            (-5, 1),
            (1250, 2),
            (-100, 4),
            (i64::MAX as i128, 3),
            (u64::MAX as i128, 0),
            (u64::MAX as i128 + 1, 5),
            (79_228_162_514_264_337_593_543_950_335, 0),
            (79_228_162_514_264_337_593_543_950_335, 28),
            (-79_228_162_514_264_337_593_543_950_335, 28),
            (-79_228_162_514_264_337_593_543_950_335, 14),
        ] {
            same_as_rust_decimal(Decimal::from_i128_with_scale(m, scale));
        }
        // Negative zero keeps its sign, as in rust_decimal.
        let mut z = Decimal::ZERO;
        z.set_sign_negative(true);
        same_as_rust_decimal(z);
        let mut z = Decimal::new(0, 3);
        z.set_sign_negative(true);
        same_as_rust_decimal(z);
    }

    #[test]
    fn random_values_match_rust_decimal() {
        // xorshift: deterministic, no dependency.
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let hi = next() as u128;
            let lo = next() as u128;
            let bits = next() % 97;
            let m = ((hi << 64) | lo) >> (128 - bits.max(1));
            let m = (m % 79_228_162_514_264_337_593_543_950_336) as i128;
            let m = if next() % 2 == 0 { m } else { -m };
            let scale = (next() % 29) as u32;
            same_as_rust_decimal(Decimal::from_i128_with_scale(m, scale));
        }
    }

    #[test]
    fn options_serialize_like_serde() {
        #[derive(serde::Serialize)]
        struct T {
            #[serde(serialize_with = "serialize_option")]
            a: Option<Decimal>,
            #[serde(serialize_with = "serialize_option")]
            b: Option<Decimal>,
        }
        let v = serde_json::to_string(&T {
            a: Some(Decimal::new(-1205, 2)),
            b: None,
        })
        .unwrap();
        assert_eq!(v, r#"{"a":"-12.05","b":null}"#);
    }
}
