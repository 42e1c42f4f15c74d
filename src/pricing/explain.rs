//! The `comptoir price --explain` text: a readable table per line (product,
//! quantity, list price, each rule applied with its source, net price,
//! amount), then charges, VAT breakdown, totals, due date and status.
//!
//! Meant for an account manager answering "why this price": every figure
//! comes straight from the [`PricedDocument`] (or [`PricedOrder`]), nothing
//! is recomputed.

use std::fmt::Write;

use super::engine::{DocStatus, LineStatus, PricedDocument, PricedOrder};
use crate::model::Document;

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |x| x.to_string())
}

/// Renders `priced` as a text report.
pub fn explain(priced: &PricedDocument) -> String {
    explain_order(&priced.document, &priced.pricing)
}

/// Renders the pricing of `doc` (from [`super::Pricer`] or
/// [`super::price_lines`]) as a text report; `doc` only gives the
/// document type and number of the heading.
pub fn explain_order(doc: &Document, priced: &PricedOrder) -> String {
    let mut out = String::new();
    let group = priced
        .client_group
        .as_ref()
        .map(|g| format!(" (group {g})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {} for client {}{group}, currency {}, priced on {}",
        doc.document_type, doc.number, priced.client_id, priced.currency, priced.pricing_date
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<4} {:<16} {:>10} {:<4} {:>11} {:>11} {:>13}  {:<4} {:>5}",
        "#", "product", "qty", "unit", "list", "net", "amount", "vat", "rate"
    );
    let _ = writeln!(out, "{}", "-".repeat(88));
    for l in &priced.lines {
        let num = l
            .line_number
            .clone()
            .unwrap_or_else(|| (l.index + 1).to_string());
        let _ = writeln!(
            out,
            "{:<4} {:<16} {:>10} {:<4} {:>11} {:>11} {:>13}  {:<4} {:>5}",
            num,
            opt(&l.product),
            opt(&l.quantity),
            opt(&l.unit),
            opt(&l.list_price),
            opt(&l.net_unit_price),
            opt(&l.amount),
            l.vat_category.map_or("-", |c| c.code()),
            opt(&l.vat_rate.map(|r| r.normalize())),
        );
        for r in &l.trail {
            let change = match (r.effect.before, r.effect.percent) {
                (Some(b), Some(p)) => format!("{b} -{p} % -> {}", r.effect.after),
                (Some(b), None) => format!("{b} -> {}", r.effect.after),
                (None, _) => format!("{}", r.effect.after),
            };
            let _ = writeln!(
                out,
                "       - {:<9} {:<24} {}  [{}]  {change}",
                format!("{:?}", r.kind).to_lowercase(),
                r.rule_id,
                r.description,
                r.source
            );
        }
        if let Some(t) = l.total_discount_percent {
            let _ = writeln!(out, "       = total discount {t} % off list");
        }
        if l.price_check.buyer_price.is_some() {
            let _ = writeln!(
                out,
                "       price check: buyer {} vs ours {}: {:?}",
                opt(&l.price_check.buyer_price),
                opt(&l.price_check.our_price),
                l.price_check.outcome
            );
        }
        if l.status == LineStatus::Rejected {
            let _ = writeln!(
                out,
                "       REJECTED: {}",
                l.reason.as_deref().unwrap_or("-")
            );
        }
    }
    let _ = writeln!(out, "{}", "-".repeat(88));
    for c in &priced.charges {
        let _ = writeln!(
            out,
            "charge {:<4} {:>13}  {} [{} {}]",
            c.reason_code, c.amount, c.description, c.rule_id, c.source
        );
    }
    let t = &priced.totals;
    let _ = writeln!(out, "{:<28} {:>13}", "line total", t.line_total);
    if !t.charge_total.is_zero() {
        let _ = writeln!(out, "{:<28} {:>13}", "charges", t.charge_total);
    }
    let _ = writeln!(out, "{:<28} {:>13}", "total excl. VAT", t.tax_exclusive);
    for v in &priced.vat_breakdown {
        let _ = writeln!(
            out,
            "{:<28} {:>13}  on {}",
            format!("VAT {} {} %", v.category.code(), v.rate.normalize()),
            v.tax_amount,
            v.taxable_amount
        );
    }
    let _ = writeln!(out, "{:<28} {:>13}", "VAT total", t.tax_total);
    let _ = writeln!(
        out,
        "{:<28} {:>13} {}",
        "grand total", t.grand_total, priced.currency
    );
    if let Some(p) = &priced.payment {
        let _ = writeln!(out, "payment: {}, due {}", p.terms, p.due_date);
        if let Some(e) = &p.early_payment {
            let _ = writeln!(
                out,
                "early payment: -{} % ({}) if paid by {}",
                e.percent, e.discount_amount, e.pay_by
            );
        }
    }
    let status = match priced.status {
        DocStatus::Ok => "ok",
        DocStatus::Held => "HELD",
        DocStatus::LinesRejected => "LINES REJECTED",
    };
    let _ = writeln!(out, "status: {status}");
    for r in &priced.reasons {
        let _ = writeln!(out, "  - {}", r.message);
    }
    for w in &priced.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    out
}
