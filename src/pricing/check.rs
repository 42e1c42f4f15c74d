//! Price check: the buyer's expected price against ours.
//!
//! An incoming order may state the net unit price the buyer expects
//! (EDIFACT PRI+AAA, `Line.net_unit_price`). The engine compares it with
//! the computed net price using the partner's tolerance (absolute, in the
//! currency, and/or a percentage of our price: either one being met is
//! enough; with none set, prices must be equal). Beyond tolerance the
//! partner's policy decides: accept the buyer's price, override it with
//! ours, hold the order for review, or reject the line. The outcome is kept
//! on each priced line so that the pipeline can answer with ORDRSP/APERAK.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use super::catalog::{CheckPolicy, PriceCheckPolicy};

/// What the price check concluded for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The buyer stated no price.
    NotChecked,
    /// Equal, or within tolerance: our price stands.
    WithinTolerance,
    /// Beyond tolerance; the buyer's price was accepted.
    AcceptedBuyerPrice,
    /// Beyond tolerance; our price replaces the buyer's.
    Overridden,
    /// Beyond tolerance; the order is held for review.
    Held,
    /// Beyond tolerance; the line is rejected.
    Rejected,
}

/// The price check of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PriceCheck {
    pub outcome: CheckOutcome,
    /// The buyer's unit price (per one unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub buyer_price: Option<Decimal>,
    /// Our computed net unit price.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub our_price: Option<Decimal>,
    /// Buyer's price minus ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub difference: Option<Decimal>,
}

impl PriceCheck {
    /// No buyer price to check.
    pub const NOT_CHECKED: PriceCheck = PriceCheck {
        outcome: CheckOutcome::NotChecked,
        buyer_price: None,
        our_price: None,
        difference: None,
    };
}

/// True when `buyer` is within the tolerance of `ours`.
pub fn within_tolerance(policy: &PriceCheckPolicy, buyer: Decimal, ours: Decimal) -> bool {
    let Some(diff) = buyer.checked_sub(ours).map(|d| d.abs()) else {
        return false;
    };
    if diff.is_zero() {
        return true;
    }
    let abs_ok = policy.tolerance_abs.is_some_and(|t| diff <= t);
    let pct_ok = policy.tolerance_pct.is_some_and(|t| {
        !ours.is_zero()
            && match (
                diff.checked_mul(Decimal::ONE_HUNDRED),
                t.checked_mul(ours.abs()),
            ) {
                (Some(a), Some(b)) => a <= b,
                _ => false,
            }
    });
    abs_ok || pct_ok
}

/// Checks the buyer's price against ours under the partner's policy.
pub fn check(policy: &PriceCheckPolicy, buyer: Option<Decimal>, ours: Decimal) -> PriceCheck {
    let Some(buyer) = buyer else {
        return PriceCheck::NOT_CHECKED;
    };
    let outcome = if within_tolerance(policy, buyer, ours) {
        CheckOutcome::WithinTolerance
    } else {
        match policy.policy {
            CheckPolicy::AcceptBuyer => CheckOutcome::AcceptedBuyerPrice,
            CheckPolicy::Override => CheckOutcome::Overridden,
            CheckPolicy::Hold => CheckOutcome::Held,
            CheckPolicy::Reject => CheckOutcome::Rejected,
        }
    };
    PriceCheck {
        outcome,
        buyer_price: Some(buyer),
        our_price: Some(ours),
        difference: buyer.checked_sub(ours),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(p: CheckPolicy, abs: Option<&str>, pct: Option<&str>) -> PriceCheckPolicy {
        PriceCheckPolicy {
            policy: p,
            tolerance_abs: abs.map(|s| s.parse().unwrap()),
            tolerance_pct: pct.map(|s| s.parse().unwrap()),
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn tolerances() {
        let p = pol(CheckPolicy::Hold, Some("0.05"), None);
        assert_eq!(
            check(&p, Some(d("9.96")), d("10")).outcome,
            CheckOutcome::WithinTolerance
        );
        assert_eq!(
            check(&p, Some(d("9.90")), d("10")).outcome,
            CheckOutcome::Held
        );
        let p = pol(CheckPolicy::Reject, None, Some("1"));
        assert_eq!(
            check(&p, Some(d("9.90")), d("10")).outcome,
            CheckOutcome::WithinTolerance
        );
        assert_eq!(
            check(&p, Some(d("9.89")), d("10")).outcome,
            CheckOutcome::Rejected
        );
        let p = pol(CheckPolicy::AcceptBuyer, None, None);
        assert_eq!(
            check(&p, Some(d("10.00")), d("10")).outcome,
            CheckOutcome::WithinTolerance
        );
        assert_eq!(
            check(&p, Some(d("10.01")), d("10")).outcome,
            CheckOutcome::AcceptedBuyerPrice
        );
        assert_eq!(check(&p, None, d("10")).outcome, CheckOutcome::NotChecked);
    }
}
