//! Payment terms: due dates and the French legal caps.
//!
//! Terms are "N days" from the invoice date, or "N days end of month" in
//! one of its two accepted readings: add the days then go to the end of
//! that month (`days_then_eom`, the default), or go to the end of the
//! invoice month then add the days (`eom_then_days`).
//!
//! French law (Code de commerce L441-10) caps B2B terms at 60 days from the
//! invoice date or 45 days end of month; [`legal_cap_problem`] says when
//! terms go beyond, and the loader warns or refuses per `legal_payment_cap`.

use chrono::{Datelike, Days, NaiveDate};

use super::catalog::PaymentTermsSpec;

/// The last day of the month of `d`.
pub fn end_of_month(d: NaiveDate) -> NaiveDate {
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|first| first.pred_opt())
        .unwrap_or(d)
}

/// The due date of an invoice dated `invoice_date` under `terms`; `None`
/// only when the date would leave the calendar range.
pub fn due_date(terms: &PaymentTermsSpec, invoice_date: NaiveDate) -> Option<NaiveDate> {
    let days = Days::new(u64::from(terms.days));
    if !terms.end_of_month {
        return invoice_date.checked_add_days(days);
    }
    if terms.eom_first {
        end_of_month(invoice_date).checked_add_days(days)
    } else {
        invoice_date.checked_add_days(days).map(end_of_month)
    }
}

/// Why `terms` exceed the French legal caps, if they do.
pub fn legal_cap_problem(terms: &PaymentTermsSpec) -> Option<String> {
    if terms.end_of_month && terms.days > 45 {
        Some(format!(
            "{} days end of month exceeds the legal cap of 45 days end of month",
            terms.days
        ))
    } else if !terms.end_of_month && terms.days > 60 {
        Some(format!(
            "{} days exceeds the legal cap of 60 days from the invoice date",
            terms.days
        ))
    } else {
        None
    }
}

/// Human description of terms, e.g. `30 days end of month`.
pub fn describe(terms: &PaymentTermsSpec) -> String {
    match (terms.end_of_month, terms.eom_first) {
        (false, _) => format!("{} days from invoice date", terms.days),
        (true, false) => format!("{} days end of month", terms.days),
        (true, true) => format!("end of month + {} days", terms.days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(days: u32, eom: bool, first: bool) -> PaymentTermsSpec {
        PaymentTermsSpec {
            days,
            end_of_month: eom,
            eom_first: first,
        }
    }

    #[test]
    fn due_dates() {
        assert_eq!(
            due_date(&t(30, false, false), d(2024, 1, 15)),
            Some(d(2024, 2, 14))
        );
        assert_eq!(
            due_date(&t(30, true, false), d(2024, 1, 15)),
            Some(d(2024, 2, 29))
        );
        assert_eq!(
            due_date(&t(45, true, false), d(2024, 1, 20)),
            Some(d(2024, 3, 31))
        );
        assert_eq!(
            due_date(&t(45, true, true), d(2024, 1, 20)),
            Some(d(2024, 3, 16))
        );
        assert_eq!(
            due_date(&t(60, false, false), d(2024, 12, 31)),
            Some(d(2025, 3, 1))
        );
        assert_eq!(end_of_month(d(2023, 12, 5)), d(2023, 12, 31));
    }

    #[test]
    fn caps() {
        assert!(legal_cap_problem(&t(60, false, false)).is_none());
        assert!(legal_cap_problem(&t(61, false, false)).is_some());
        assert!(legal_cap_problem(&t(45, true, false)).is_none());
        assert!(legal_cap_problem(&t(50, true, false)).is_some());
    }
}
