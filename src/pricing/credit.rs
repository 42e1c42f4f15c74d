//! Credit limit (encours): is there room for this order in the client's
//! authorised outstanding?
//!
//! The client's `credit_limit` and current `outstanding` come from
//! `clients.toml` (the outstanding is typically refreshed from the ERP and
//! reloaded). An order whose grand total would take the outstanding over
//! the limit is held for review, with the figures in the reason.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use super::fixed::push_decimal;

/// The figures of a credit check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CreditCheck {
    #[schemars(with = "String")]
    pub limit: Decimal,
    #[schemars(with = "String")]
    pub outstanding: Decimal,
    #[schemars(with = "String")]
    pub order_total: Decimal,
    /// Outstanding once this order is added.
    #[schemars(with = "String")]
    pub projected: Decimal,
    pub exceeded: bool,
}

/// Checks an order of `order_total` against `limit` given `outstanding`.
pub fn check(limit: Decimal, outstanding: Decimal, order_total: Decimal) -> CreditCheck {
    let projected = outstanding + order_total;
    CreditCheck {
        limit,
        outstanding,
        order_total,
        projected,
        exceeded: projected > limit,
    }
}

impl CreditCheck {
    /// The hold reason, with the figures, when the limit is exceeded.
    pub fn reason(&self, currency: &str) -> Option<String> {
        // "credit limit exceeded: outstanding {} + this order {} = {}
        // {currency} > authorised {} {currency} (over by {})", written
        // piece by piece (`fixed::push_decimal`): formatting five decimals
        // with `format!` cost more than the rest of pricing an order.
        self.exceeded.then(|| {
            let mut s = String::with_capacity(160);
            s.push_str("credit limit exceeded: outstanding ");
            push_decimal(&mut s, self.outstanding);
            s.push_str(" + this order ");
            push_decimal(&mut s, self.order_total);
            s.push_str(" = ");
            push_decimal(&mut s, self.projected);
            s.push(' ');
            s.push_str(currency);
            s.push_str(" > authorised ");
            push_decimal(&mut s, self.limit);
            s.push(' ');
            s.push_str(currency);
            s.push_str(" (over by ");
            push_decimal(&mut s, self.projected - self.limit);
            s.push(')');
            s
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_in_reason() {
        let c = check(
            Decimal::new(5000000, 2),
            Decimal::new(4800000, 2),
            Decimal::new(312000, 2),
        );
        assert!(c.exceeded);
        let r = c.reason("EUR").unwrap();
        assert!(
            r.contains("48000.00 + this order 3120.00 = 51120.00 EUR"),
            "{r}"
        );
        assert!(r.contains("over by 1120.00"), "{r}");
        assert_eq!(
            r,
            format!(
                "credit limit exceeded: outstanding {} + this order {} = {} EUR > authorised {} EUR (over by {})",
                c.outstanding, c.order_total, c.projected, c.limit, c.projected - c.limit
            )
        );
        assert!(
            check(Decimal::from(100), Decimal::from(50), Decimal::from(50))
                .reason("EUR")
                .is_none()
        );
    }
}
