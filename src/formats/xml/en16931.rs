//! EN 16931 business rules that need no PDF, on a canonical invoice.
//!
//! [`check_en16931`] returns every violation it finds, each named by its
//! rule (`BR-CO-10` …) and located by the canonical field it concerns
//! (`totals.line_total`, `lines[3].quantity` — 1-based) with the business
//! term (`BT-106`). Covered: the mandatory fields of the core invoice
//! (BR-01 … BR-16, BR-21 … BR-27), the totals arithmetic (BR-CO-10 …
//! BR-CO-16) and the VAT breakdown per category (BR-CO-18, BR-S-01,
//! BR-S-08/09 and their Z/E/AE/K/G/O counterparts, BR-E-10 …).
//! Amounts are compared at two decimals; VAT amounts with a tolerance of
//! one cent.

use rust_decimal::Decimal;

use crate::diagnostics::{Diagnostic, Location};
use crate::model::{AllowanceChargeKind, Document, DocumentType, PartyRole};

/// One broken business rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Rule id, e.g. `BR-CO-10`.
    pub rule: &'static str,
    /// Canonical field and business term: `totals.line_total (BT-106)`.
    pub path: String,
    pub message: String,
}

impl Violation {
    /// As an error diagnostic; the path goes into `Location::tag`.
    pub fn diagnostic(&self, file: Option<String>) -> Diagnostic {
        Diagnostic::error(
            self.rule,
            Location {
                file,
                tag: Some(self.path.clone()),
                ..Location::default()
            },
            self.message.clone(),
        )
    }
}

fn r2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

struct Checker {
    out: Vec<Violation>,
}

impl Checker {
    fn push(&mut self, rule: &'static str, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Violation {
            rule,
            path: path.into(),
            message: message.into(),
        });
    }

    fn require<T>(&mut self, v: &Option<T>, rule: &'static str, path: &str, what: &str) {
        if v.is_none() {
            self.push(rule, path, format!("{what} is mandatory"));
        }
    }

    fn equal(
        &mut self,
        rule: &'static str,
        path: &str,
        stated: Option<Decimal>,
        expected: Decimal,
        how: &str,
    ) {
        if let Some(s) = stated {
            if r2(s) != r2(expected) {
                self.push(
                    rule,
                    path,
                    format!("{s} stated, but {how} gives {}", r2(expected)),
                );
            }
        }
    }
}

/// Checks an invoice or credit note against the EN 16931 rules listed in
/// the module documentation. An empty result means no violation.
pub fn check_en16931(doc: &Document) -> Vec<Violation> {
    let mut c = Checker { out: Vec::new() };
    if !matches!(
        doc.document_type,
        DocumentType::Invoice | DocumentType::CreditNote
    ) {
        c.push(
            "BR-04",
            "document_type (BT-3)",
            format!("a {} is not an invoice or credit note", doc.document_type),
        );
        return c.out;
    }
    if doc.number.trim().is_empty() {
        c.push("BR-02", "number (BT-1)", "the invoice number is mandatory");
    }
    if doc.date("document").is_none() {
        c.push(
            "BR-03",
            "dates[document] (BT-2)",
            "the issue date is mandatory",
        );
    }
    c.require(
        &doc.currency,
        "BR-05",
        "currency (BT-5)",
        "the invoice currency code",
    );
    match doc.party(&PartyRole::Supplier) {
        None => c.push(
            "BR-06",
            "parties[supplier] (BG-4)",
            "the seller is mandatory",
        ),
        Some(p) => {
            c.require(
                &p.name,
                "BR-06",
                "parties[supplier].name (BT-27)",
                "the seller name",
            );
            c.require(
                &p.address.country,
                "BR-09",
                "parties[supplier].address.country (BT-40)",
                "the seller country code",
            );
        }
    }
    match doc.party(&PartyRole::Buyer) {
        None => c.push("BR-07", "parties[buyer] (BG-7)", "the buyer is mandatory"),
        Some(p) => {
            c.require(
                &p.name,
                "BR-07",
                "parties[buyer].name (BT-44)",
                "the buyer name",
            );
            c.require(
                &p.address.country,
                "BR-11",
                "parties[buyer].address.country (BT-55)",
                "the buyer country code",
            );
        }
    }
    let t = &doc.totals;
    c.require(
        &t.line_total,
        "BR-12",
        "totals.line_total (BT-106)",
        "the sum of line net amounts",
    );
    c.require(
        &t.tax_exclusive,
        "BR-13",
        "totals.tax_exclusive (BT-109)",
        "the total without VAT",
    );
    c.require(
        &t.tax_inclusive,
        "BR-14",
        "totals.tax_inclusive (BT-112)",
        "the total with VAT",
    );
    c.require(
        &t.payable,
        "BR-15",
        "totals.payable (BT-115)",
        "the amount due for payment",
    );
    if doc.lines.is_empty() {
        c.push("BR-16", "lines (BG-25)", "an invoice has at least one line");
    }
    let mut line_sum = Decimal::ZERO;
    for (i, l) in doc.lines.iter().enumerate() {
        let at = |f: &str, bt: &str| format!("lines[{}].{f} ({bt})", i + 1);
        c.require(
            &l.line_number,
            "BR-21",
            &at("line_number", "BT-126"),
            "the line identifier",
        );
        match &l.quantity {
            None => c.push(
                "BR-22",
                at("quantity", "BT-129"),
                "the invoiced quantity is mandatory",
            ),
            Some(q) => c.require(
                &q.unit,
                "BR-23",
                &at("quantity.unit", "BT-130"),
                "the quantity unit",
            ),
        }
        match l.line_amount {
            None => c.push(
                "BR-24",
                at("line_amount", "BT-131"),
                "the line net amount is mandatory",
            ),
            Some(a) => line_sum += a,
        }
        c.require(
            &l.description,
            "BR-25",
            &at("description", "BT-153"),
            "the item name",
        );
        match l.net_unit_price {
            None => c.push(
                "BR-26",
                at("net_unit_price", "BT-146"),
                "the item net price is mandatory",
            ),
            Some(p) if p < Decimal::ZERO => c.push(
                "BR-27",
                at("net_unit_price", "BT-146"),
                "the item net price must not be negative",
            ),
            _ => {}
        }
        c.require(
            &l.tax_category,
            "BR-CO-04",
            &at("tax_category", "BT-151"),
            "the line VAT category",
        );
    }
    // Totals arithmetic.
    c.equal(
        "BR-CO-10",
        "totals.line_total (BT-106)",
        t.line_total,
        line_sum,
        "the sum of line net amounts",
    );
    let (mut allowances, mut charges) = (Decimal::ZERO, Decimal::ZERO);
    for a in &doc.allowances_charges {
        let v = a.amount.unwrap_or_default();
        match a.kind {
            AllowanceChargeKind::Allowance => allowances += v,
            AllowanceChargeKind::Charge => charges += v,
        }
    }
    c.equal(
        "BR-CO-11",
        "totals.allowance_total (BT-107)",
        t.allowance_total,
        allowances,
        "the sum of document allowances",
    );
    c.equal(
        "BR-CO-12",
        "totals.charge_total (BT-108)",
        t.charge_total,
        charges,
        "the sum of document charges",
    );
    if t.allowance_total.is_none() && allowances != Decimal::ZERO {
        c.push(
            "BR-CO-11",
            "totals.allowance_total (BT-107)",
            "document allowances exist but their total is missing",
        );
    }
    if t.charge_total.is_none() && charges != Decimal::ZERO {
        c.push(
            "BR-CO-12",
            "totals.charge_total (BT-108)",
            "document charges exist but their total is missing",
        );
    }
    if let Some(lt) = t.line_total {
        let expected =
            lt - t.allowance_total.unwrap_or_default() + t.charge_total.unwrap_or_default();
        c.equal(
            "BR-CO-13",
            "totals.tax_exclusive (BT-109)",
            t.tax_exclusive,
            expected,
            "line total - allowances + charges",
        );
    }
    let tax_sum: Decimal = doc.tax_subtotals.iter().filter_map(|s| s.tax_amount).sum();
    c.equal(
        "BR-CO-14",
        "totals.tax_total (BT-110)",
        t.tax_total,
        tax_sum,
        "the sum of VAT breakdown amounts",
    );
    if let Some(te) = t.tax_exclusive {
        let expected = te + t.tax_total.unwrap_or_default();
        c.equal(
            "BR-CO-15",
            "totals.tax_inclusive (BT-112)",
            t.tax_inclusive,
            expected,
            "total without VAT + VAT",
        );
    }
    if let Some(ti) = t.tax_inclusive {
        let expected = ti - t.prepaid.unwrap_or_default();
        c.equal(
            "BR-CO-16",
            "totals.payable (BT-115)",
            t.payable,
            expected,
            "total with VAT - paid amount",
        );
    }
    // VAT breakdown.
    if doc.tax_subtotals.is_empty() && !doc.lines.is_empty() {
        c.push(
            "BR-CO-18",
            "tax_subtotals (BG-23)",
            "at least one VAT breakdown is mandatory",
        );
    }
    let key = |cat: Option<&str>, rate: Option<Decimal>| {
        (
            cat.unwrap_or("").to_string(),
            rate.unwrap_or_default().normalize(),
        )
    };
    for l in &doc.lines {
        let k = key(l.tax_category.as_deref(), l.tax_rate);
        if !k.0.is_empty()
            && !doc
                .tax_subtotals
                .iter()
                .any(|s| key(s.category.as_deref(), s.rate) == k)
        {
            c.push(
                "BR-CO-18",
                "tax_subtotals (BG-23)",
                format!(
                    "no VAT breakdown for category {} at {} % used by a line",
                    k.0, k.1
                ),
            );
        }
    }
    for (i, s) in doc.tax_subtotals.iter().enumerate() {
        let at = |f: &str, bt: &str| format!("tax_subtotals[{}].{f} ({bt})", i + 1);
        let k = key(s.category.as_deref(), s.rate);
        let cat = k.0.as_str();
        if cat.is_empty() {
            c.push(
                "BR-CO-18",
                at("category", "BT-118"),
                "the VAT category code is mandatory",
            );
            continue;
        }
        let mut basis = Decimal::ZERO;
        for l in &doc.lines {
            if key(l.tax_category.as_deref(), l.tax_rate) == k {
                basis += l.line_amount.unwrap_or_default();
            }
        }
        for a in &doc.allowances_charges {
            if key(a.tax_category.as_deref(), a.tax_rate) == k {
                let v = a.amount.unwrap_or_default();
                match a.kind {
                    AllowanceChargeKind::Allowance => basis -= v,
                    AllowanceChargeKind::Charge => basis += v,
                }
            }
        }
        let (rule_basis, rule_amount) = match cat {
            "S" => ("BR-S-08", "BR-S-09"),
            "Z" => ("BR-Z-08", "BR-Z-09"),
            "E" => ("BR-E-08", "BR-E-09"),
            "AE" => ("BR-AE-08", "BR-AE-09"),
            "K" => ("BR-IC-08", "BR-IC-09"),
            "G" => ("BR-G-08", "BR-G-09"),
            "O" => ("BR-O-08", "BR-O-09"),
            "L" => ("BR-IG-08", "BR-IG-09"),
            "M" => ("BR-IP-08", "BR-IP-09"),
            _ => ("BR-CO-18", "BR-CO-17"),
        };
        c.equal(
            rule_basis,
            &at("taxable_amount", "BT-116"),
            s.taxable_amount,
            basis,
            "the lines, allowances and charges of this category",
        );
        let expected = match cat {
            "S" | "L" | "M" => s
                .taxable_amount
                .map(|b| r2(b * s.rate.unwrap_or_default() / Decimal::from(100))),
            _ => Some(Decimal::ZERO),
        };
        if let (Some(stated), Some(exp)) = (s.tax_amount, expected) {
            if (r2(stated) - exp).abs() > Decimal::new(1, 2) {
                c.push(
                    rule_amount,
                    at("tax_amount", "BT-117"),
                    format!("{stated} stated, but taxable amount × rate gives {exp}"),
                );
            }
        }
        if s.tax_amount.is_none() {
            c.push(
                rule_amount,
                at("tax_amount", "BT-117"),
                "the VAT category tax amount is mandatory",
            );
        }
        if matches!(cat, "E" | "AE" | "K" | "G" | "O") && s.exemption_reason.is_none() {
            let rule = match cat {
                "E" => "BR-E-10",
                "AE" => "BR-AE-10",
                "K" => "BR-IC-10",
                "G" => "BR-G-10",
                _ => "BR-O-10",
            };
            c.push(
                rule,
                at("exemption_reason", "BT-120"),
                format!("category {cat} needs an exemption reason"),
            );
        }
        if cat == "S" && s.rate.unwrap_or_default() <= Decimal::ZERO {
            c.push(
                "BR-S-05",
                at("rate", "BT-119"),
                "standard rated VAT needs a rate above zero",
            );
        }
    }
    c.out
}
