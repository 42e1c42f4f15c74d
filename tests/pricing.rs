//! Integration tests of the pricing engine against the example terms of
//! `config/pricing/` (and small terms directories written on the fly for
//! edge cases).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use comptoir::model::{Document, DocumentType, Line, Party, PartyRole, Quantity, Reference};
use comptoir::pricing::{
    explain, explain_order, invoice_from, price_lines, price_order, CheckOutcome, DocStatus,
    LineStatus, PricedDocument, Pricer, PricingError, ReasonCode, RuleKind, Terms, TermsError,
    TermsHandle, VatCategory,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/pricing")
}

fn terms() -> Terms {
    Terms::load(&config_dir()).unwrap()
}

const TODAY: &str = "2026-11-22";

fn line(gtin: &str, qty: &str) -> Line {
    Line {
        gtin: Some(gtin.into()),
        quantity: Some(Quantity {
            kind: None,
            value: dec(qty),
            unit: Some("PCE".into()),
        }),
        ..Line::default()
    }
}

fn order(country: &str, vat_id: Option<&str>, lines: Vec<Line>) -> Document {
    let mut d = Document::new(DocumentType::Order, "PO-1");
    let mut buyer = Party::new(PartyRole::Buyer);
    buyer.gln = Some("5412345000013".into());
    buyer.address.country = Some(country.into());
    buyer.vat_id = vat_id.map(String::from);
    d.parties.push(buyer);
    for (i, mut l) in lines.into_iter().enumerate() {
        l.line_number = Some((i + 1).to_string());
        d.lines.push(l);
    }
    d
}

fn price(client: &str, lines: Vec<Line>) -> PricedDocument {
    price_order(&terms(), client, &order("FR", None, lines), day(TODAY)).unwrap()
}

fn net_of(client: &str, gtin: &str, qty: &str) -> Decimal {
    price(client, vec![line(gtin, qty)]).lines[0]
        .net_unit_price
        .unwrap()
}

/// A scratch terms directory with the given files.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("comptoir-pricing-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const MIN_PRICING: &str = "[settings]\ncurrency = \"EUR\"\n";
const MIN_CLIENTS: &str = "[[client]]\nid = \"C1\"\n";

#[test]
fn example_terms_load() {
    let t = terms();
    assert_eq!(t.client_count(), 4);
    assert!(t.rule_count() >= 8);
    assert_eq!(t.price_count, 8);
    assert!(
        t.client("5412345000013").is_some(),
        "buyer GLN is an alias of ACME"
    );
    for g in [
        "5410738000152",
        "5410738000169",
        "5410738000176",
        "5410738000183",
    ] {
        assert!(t.product(g).is_some(), "{g}");
    }
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

#[test]
fn worked_example_volume_tiers() {
    // -10 % from 100 units, -20 % above 500 (list 2.10).
    assert_eq!(net_of("ACME", "5410738000183", "99"), dec("2.10"));
    assert_eq!(net_of("ACME", "5410738000183", "100"), dec("1.89"));
    assert_eq!(net_of("ACME", "5410738000183", "500"), dec("1.89"));
    assert_eq!(net_of("ACME", "5410738000183", "501"), dec("1.68"));
    let p = price("ACME", vec![line("5410738000183", "501")]);
    assert_eq!(p.lines[0].amount, Some(dec("841.68")));
    let tier = p.lines[0]
        .trail
        .iter()
        .find(|r| r.kind == RuleKind::Tier)
        .unwrap();
    assert_eq!(tier.rule_id.as_str(), "ACME-FILTERS-TIERS");
    assert_eq!(tier.source.file.as_str(), "rules.toml");
    assert!(tier.source.line > 0);
}

#[test]
fn worked_example_cascade() {
    // 10 % then 5 % = 14.5 %, never 15 %.
    let p = price("ACME", vec![line("5410738000152", "10")]);
    let l = &p.lines[0];
    assert_eq!(l.list_price, Some(dec("4.20")));
    assert_eq!(l.net_unit_price, Some(dec("3.591")));
    assert_eq!(l.total_discount_percent, Some(dec("14.5")));
    assert_eq!(l.discounts.len(), 2);
    assert_eq!(l.amount, Some(dec("35.91")));
    let kinds: Vec<_> = l.trail.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        vec![RuleKind::ListPrice, RuleKind::Discount, RuleKind::Discount]
    );
    assert_eq!(l.trail[0].source.file.as_str(), "price_lists/general.csv");
}

#[test]
fn precedence_net_price_then_promotion() {
    let p = price(
        "ACME",
        vec![line("5410738000176", "1"), line("5410738000169", "2")],
    );
    assert_eq!(p.lines[0].net_unit_price, Some(dec("169.00")));
    assert_eq!(p.lines[0].trail[1].kind, RuleKind::NetPrice);
    // Promotion beats the group cascade on the same coffee family.
    assert_eq!(p.lines[1].net_unit_price, Some(dec("12.325")));
    assert_eq!(p.lines[1].trail[1].rule_id.as_str(), "PROMO-BEANS-WINTER");
    assert_eq!(p.lines[1].amount, Some(dec("24.65")));
}

#[test]
fn promotion_starting_tomorrow_is_not_applied() {
    let t = terms();
    let d = order("FR", None, vec![line("5410738000169", "2")]);
    let p = price_order(&t, "ACME", &d, day("2026-10-31")).unwrap();
    let l = &p.lines[0];
    assert!(l.trail.iter().all(|r| r.kind != RuleKind::Promotion));
    assert_eq!(
        l.net_unit_price,
        Some(dec("12.3975")),
        "cascade 14.50 -10 % -5 %"
    );
}

#[test]
fn best_price_mode_and_family_cumulative_tiers() {
    // BISTROT (group CHR, best_price): contract 3.99 on ground coffee; the
    // CHR family tiers reach -8 % from 50 units of coffee in the order.
    assert_eq!(net_of("BISTROT", "5410738000152", "10"), dec("3.99"));
    let p = price(
        "BISTROT",
        vec![line("5410738000152", "30"), line("5410738000169", "30")],
    );
    assert_eq!(
        p.lines[0].net_unit_price,
        Some(dec("3.864")),
        "4.20 -8 % on 60 coffee units"
    );
    assert_eq!(p.lines[0].trail[1].kind, RuleKind::Tier);
}

#[test]
fn vat_per_rate_totals_and_franco() {
    let p = price(
        "ACME",
        vec![line("5410738000152", "10"), line("5410738000176", "1")],
    );
    assert_eq!(p.lines[0].vat_rate, Some(dec("5.5")));
    assert_eq!(p.lines[1].vat_category, Some(VatCategory::S));
    assert_eq!(p.totals.line_total, dec("204.91"));
    // Below the 500.00 franco: 25.00 shipping at 20 %.
    assert_eq!(p.charges.len(), 1);
    assert_eq!(p.totals.charge_total, dec("25.00"));
    let v20 = p
        .vat_breakdown
        .iter()
        .find(|v| v.rate == dec("20"))
        .unwrap();
    assert_eq!(v20.taxable_amount, dec("194.00"));
    assert_eq!(v20.tax_amount, dec("38.80"));
    let v55 = p
        .vat_breakdown
        .iter()
        .find(|v| v.rate == dec("5.5"))
        .unwrap();
    assert_eq!(
        v55.tax_amount,
        dec("1.98"),
        "35.91 × 5.5 % = 1.975 → 1.98 half-up"
    );
    assert_eq!(p.totals.tax_total, dec("40.78"));
    assert_eq!(p.totals.grand_total, dec("270.69"));
    // Canonical fields are filled too.
    assert_eq!(p.document.totals.payable, Some(dec("270.69")));
    assert_eq!(p.document.lines[0].net_unit_price, Some(dec("3.591")));
    assert_eq!(p.document.lines[0].tax_category.as_deref(), Some("S"));
    assert_eq!(p.document.tax_subtotals.len(), 2);
    assert_eq!(
        p.document.allowances_charges[0].reason_code.as_deref(),
        Some("FC")
    );
    // Above franco: no shipping.
    let p = price("ACME", vec![line("5410738000176", "3")]);
    assert!(p.charges.is_empty());
    assert_eq!(p.status, DocStatus::Ok);
}

#[test]
fn reverse_charge_and_export() {
    let t = terms();
    let be = order("BE", Some("BE0403123684"), vec![line("5410738000176", "4")]);
    let p = price_order(&t, "BRUXELLES", &be, day(TODAY)).unwrap();
    assert_eq!(p.lines[0].vat_category, Some(VatCategory::K));
    assert_eq!(p.totals.tax_total, Decimal::ZERO);
    assert!(p.vat_breakdown[0].exemption_reason.is_some());
    // Invalid Belgian VAT id: domestic VAT, with a warning.
    let bad = order("BE", Some("BE0403123685"), vec![line("5410738000176", "4")]);
    let p = price_order(&t, "BRUXELLES", &bad, day(TODAY)).unwrap();
    assert_eq!(p.lines[0].vat_category, Some(VatCategory::S));
    assert!(!p.warnings.is_empty());
    let ch = order("CH", None, vec![line("5410738000176", "1")]);
    let p = price_order(&t, "GENEVE", &ch, day(TODAY)).unwrap();
    assert_eq!(p.lines[0].vat_category, Some(VatCategory::G));
}

#[test]
fn due_dates_and_early_payment() {
    let p = price("ACME", vec![line("5410738000176", "3")]);
    // 30 days end of month from 2026-11-22: 2026-12-22 → 2026-12-31.
    assert_eq!(p.due_date, Some(day("2026-12-31")));
    let e = p.payment.as_ref().unwrap().early_payment.as_ref().unwrap();
    assert_eq!(e.pay_by, day("2026-12-02"));
    assert_eq!(
        p.document.payment_terms[0].due_date.as_deref(),
        Some("2026-12-31")
    );
    // BRUXELLES: 60 days net.
    let t = terms();
    let be = order("BE", Some("BE0403123684"), vec![line("5410738000176", "4")]);
    let p = price_order(&t, "BRUXELLES", &be, day(TODAY)).unwrap();
    assert_eq!(p.due_date, Some(day("2027-01-21")));
}

#[test]
fn unknown_product_is_a_rejected_line() {
    let p = price(
        "ACME",
        vec![line("5410738000176", "3"), line("1234567890128", "1")],
    );
    assert_eq!(p.status, DocStatus::LinesRejected);
    assert_eq!(p.lines[1].status, LineStatus::Rejected);
    assert_eq!(p.reasons[0].code, ReasonCode::UnknownProduct);
    assert_eq!(p.document.lines[1].action.as_deref(), Some("7"));
    assert_eq!(p.totals.line_total, dec("507.00"));
}

#[test]
fn seller_code_identifies_products() {
    let mut l = line("x", "2");
    l.gtin = None;
    l.seller_item_code = Some("ACC-DETART".into());
    let p = price("ACME", vec![l]);
    assert_eq!(
        p.lines[0].net_unit_price,
        Some(dec("5.90")),
        "GMS contract from net_prices/contracts.csv"
    );
    assert_eq!(
        p.lines[0].trail[1].source.file.as_str(),
        "net_prices/contracts.csv"
    );
}

#[test]
fn currency_mismatch_is_a_clear_outcome() {
    let t = terms();
    let mut d = order(
        "FR",
        None,
        vec![line("5410738000152", "1"), line("5410738000176", "1")],
    );
    d.currency = Some("USD".into());
    let p = price_order(&t, "ACME", &d, day(TODAY)).unwrap();
    assert_eq!(p.lines[0].status, LineStatus::Rejected);
    assert!(p
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::CurrencyMismatch));
    // The EUR contract price does not apply to a USD order: USD list price.
    assert_eq!(p.lines[1].net_unit_price, Some(dec("205.00")));
    d.currency = Some("XYZ".into());
    assert!(matches!(
        price_order(&t, "ACME", &d, day(TODAY)),
        Err(PricingError::UnknownCurrency(_))
    ));
}

#[test]
fn unit_mismatch_and_missing_quantity() {
    let mut a = line("5410738000183", "2");
    a.quantity.as_mut().unwrap().unit = Some("ct".into());
    let mut b = line("5410738000176", "1");
    b.quantity.as_mut().unwrap().unit = Some("KGM".into());
    let mut c = line("5410738000176", "1");
    c.quantity = None;
    let d = line("5410738000176", "-2");
    let p = price("ACME", vec![a, b, c, d]);
    assert_eq!(p.lines[0].net_unit_price, Some(dec("19.00")));
    assert_eq!(p.lines[1].status, LineStatus::Rejected);
    let codes: Vec<_> = p.reasons.iter().map(|r| r.code).collect();
    assert!(codes.contains(&ReasonCode::UnitMismatch), "{codes:?}");
    assert!(codes.contains(&ReasonCode::MissingQuantity));
    assert!(codes.contains(&ReasonCode::NegativeQuantity));
}

#[test]
fn price_list_expired_yesterday() {
    let dir = scratch(
        "expired",
        &[
            ("pricing.toml", MIN_PRICING),
            ("clients.toml", MIN_CLIENTS),
            (
                "price_lists/l.csv",
                "product,price,valid_from,valid_to\n5410738000152,4.00,2026-01-01,2026-11-21\n5410738000169,9.00,2026-11-23,\n",
            ),
        ],
    );
    let t = Terms::load(&dir).unwrap();
    let p = price_order(
        &t,
        "C1",
        &order(
            "FR",
            None,
            vec![line("5410738000152", "1"), line("5410738000169", "1")],
        ),
        day(TODAY),
    )
    .unwrap();
    assert_eq!(p.status, DocStatus::LinesRejected);
    assert_eq!(p.reasons[0].code, ReasonCode::PriceExpired);
    assert!(
        p.reasons[0].message.contains("expired on 2026-11-21"),
        "{}",
        p.reasons[0].message
    );
    assert!(
        p.reasons[0].message.contains("price_lists/l.csv:2"),
        "{}",
        p.reasons[0].message
    );
    assert_eq!(p.reasons[1].code, ReasonCode::PriceNotYetValid);
    // The day before, it was fine.
    let p = price_order(
        &t,
        "C1",
        &order("FR", None, vec![line("5410738000152", "1")]),
        day("2026-11-21"),
    )
    .unwrap();
    assert_eq!(p.status, DocStatus::Ok);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn price_check_policies() {
    let mut l = line("5410738000176", "3");
    // GMS: hold beyond 0.02 / 0.5 %.
    l.net_unit_price = Some(dec("169.50"));
    let p = price("ACME", vec![l.clone()]);
    assert_eq!(
        p.lines[0].price_check.outcome,
        CheckOutcome::WithinTolerance
    );
    l.net_unit_price = Some(dec("160.00"));
    let p = price("ACME", vec![l.clone()]);
    assert_eq!(p.lines[0].price_check.outcome, CheckOutcome::Held);
    assert_eq!(p.status, DocStatus::Held);
    assert!(p
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::PriceMismatch));
    // BISTROT: accept the buyer's price (per 1 with a price basis of 10).
    let mut b = line("5410738000183", "10");
    b.net_unit_price = Some(dec("19.00"));
    b.price_basis_quantity = Some(dec("10"));
    let p = price("BISTROT", vec![b]);
    assert_eq!(
        p.lines[0].price_check.outcome,
        CheckOutcome::AcceptedBuyerPrice
    );
    assert_eq!(p.lines[0].net_unit_price, Some(dec("1.9")));
    assert_eq!(p.lines[0].amount, Some(dec("19.00")));
    assert_eq!(p.lines[0].trail.last().unwrap().kind, RuleKind::PriceCheck);
    // GENEVE: reject beyond 1 %.
    let t = terms();
    l.net_unit_price = Some(dec("150"));
    let p = price_order(
        &t,
        "GENEVE",
        &order("CH", None, vec![l.clone()]),
        day(TODAY),
    )
    .unwrap();
    assert_eq!(p.lines[0].status, LineStatus::Rejected);
    assert_eq!(p.status, DocStatus::LinesRejected);
    // The settings default (override), on a scratch client.
    let dir = scratch(
        "override",
        &[
            (
                "pricing.toml",
                "[settings]\n[price_check]\npolicy = \"override\"\n",
            ),
            ("clients.toml", MIN_CLIENTS),
            ("price_lists/l.csv", "product,price\n5410738000176,100\n"),
        ],
    );
    let t = Terms::load(&dir).unwrap();
    l.net_unit_price = Some(dec("90"));
    let p = price_order(&t, "C1", &order("FR", None, vec![l]), day(TODAY)).unwrap();
    assert_eq!(p.lines[0].price_check.outcome, CheckOutcome::Overridden);
    assert_eq!(p.lines[0].net_unit_price, Some(dec("100")));
    assert_eq!(p.document.lines[0].action.as_deref(), Some("3"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn credit_limit_holds_with_figures() {
    // BISTROT: outstanding 2800.00 of 3000.00 authorised.
    // 2 machines at 189.00 -12 % (CHR brand discount) + 20 % VAT = 399.17.
    let p = price("BISTROT", vec![line("5410738000176", "2")]);
    assert_eq!(p.status, DocStatus::Held);
    let r = p
        .reasons
        .iter()
        .find(|r| r.code == ReasonCode::CreditLimit)
        .unwrap();
    assert!(r.message.contains("2800.00"), "{}", r.message);
    assert!(r.message.contains("3000.00"), "{}", r.message);
    assert!(p.credit.as_ref().unwrap().exceeded);
}

#[test]
fn minimum_order_hold_or_fee() {
    let p = price("ACME", vec![line("5410738000152", "2")]);
    assert_eq!(p.status, DocStatus::Held);
    assert_eq!(p.reasons[0].code, ReasonCode::MinimumOrder);
    let p = price("BISTROT", vec![line("5410738000152", "2")]);
    assert!(p
        .charges
        .iter()
        .any(|c| c.reason_code == "SAA" && c.amount == dec("9.90")));
}

#[test]
fn invoice_from_despatch_advice() {
    let t = terms();
    let mut d = order(
        "FR",
        None,
        vec![line("5410738000176", "3"), line("0000000000000", "1")],
    );
    d.document_type = DocumentType::DespatchAdvice;
    d.number = "DES-9".into();
    d.references.push(Reference {
        kind: "order".into(),
        value: "PO-1".into(),
        date: None,
    });
    let inv = invoice_from(&t, "ACME", &d, "INV-2026-0001", day(TODAY)).unwrap();
    assert_eq!(inv.document.document_type, DocumentType::Invoice);
    assert_eq!(inv.document.number, "INV-2026-0001");
    assert_eq!(
        inv.document.lines.len(),
        1,
        "rejected lines are not invoiced"
    );
    assert!(inv.document.reference("order").is_some());
    assert!(inv.document.reference("despatch_advice").is_some());
    assert_eq!(
        inv.document.payment_terms[0].due_date.as_deref(),
        Some("2026-12-31")
    );
    assert!(inv.credit.is_none(), "no credit hold on an invoice");
    assert_eq!(inv.totals.tax_exclusive, dec("507.00"));
    let bad = Document::new(DocumentType::Invoice, "X");
    assert!(matches!(
        invoice_from(&t, "ACME", &bad, "I", day(TODAY)),
        Err(PricingError::UnsupportedDocument { .. })
    ));
}

#[test]
fn unknown_client_is_an_error() {
    let t = terms();
    assert!(matches!(
        price_order(&t, "NOBODY", &order("FR", None, vec![]), day(TODAY)),
        Err(PricingError::UnknownClient(_))
    ));
}

#[test]
fn explain_table() {
    let p = price(
        "ACME",
        vec![line("5410738000152", "10"), line("5410738000183", "120")],
    );
    let text = explain(&p);
    for needle in [
        "5410738000152",
        "GMS-COFFEE-CASCADE",
        "ACME-FILTERS-TIERS",
        "rules.toml:",
        "3.591",
        "grand total",
        "total discount 14.5 %",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[test]
fn json_and_schema() {
    let p = price("ACME", vec![line("5410738000152", "10")]);
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(
        v["lines"][0]["net_unit_price"], "3.5910",
        "unit prices keep 4 decimals"
    );
    assert_eq!(v["lines"][0]["trail"][1]["source"]["file"], "rules.toml");
    let schema = schemars::schema_for!(PricedDocument);
    assert!(serde_json::to_string(&schema).unwrap().contains("trail"));
}

#[test]
fn errors_name_file_line_and_field() {
    let dir = scratch(
        "errors",
        &[
            ("pricing.toml", MIN_PRICING),
            (
                "price_lists/l.csv",
                "product,price\n5410738000152,4.00\n5410738000169,4.5x\n",
            ),
        ],
    );
    let e = Terms::load(&dir).unwrap_err().to_string();
    assert!(e.contains("l.csv:3") && e.contains("price"), "{e}");
    let dir = scratch(
        "errors2",
        &[
            ("pricing.toml", MIN_PRICING),
            ("price_lists/l.csv", "product,price\n5410738000152,4.00\n"),
            ("rules.toml", "[[rule]]\nid = \"A\"\nkind = \"discount\"\npercent = \"10\"\n\n[[rule]]\nid = \"B\"\nkind = \"discount\"\npercent = \"150\"\n"),
        ],
    );
    let e = Terms::load(&dir).unwrap_err();
    assert_eq!(e.line(), Some(6), "{e}");
    assert!(
        e.to_string().contains("rules.toml:6: field `percent`"),
        "{e}"
    );
    let dir = scratch(
        "errors3",
        &[("pricing.toml", "[settings]\ncurrency = \"EUR\"\nmode = 3\n")],
    );
    let e = Terms::load(&dir).unwrap_err();
    assert!(e.to_string().contains("pricing.toml:3"), "{e}");
    assert!(e.to_string().contains("mode"), "{e}");
    let dir = scratch(
        "errors4",
        &[
            ("pricing.toml", MIN_PRICING),
            ("rules.toml", "[[rule]]\nid = \"T\"\nkind = \"tiers\"\ntiers = [{ from = \"10\", percent = \"20\" }, { from = \"20\", percent = \"10\" }]\n"),
        ],
    );
    let e = Terms::load(&dir).unwrap_err().to_string();
    assert!(e.contains("rules.toml:1") && e.contains("tiers[1]"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reload_keeps_good_terms_on_error() {
    let src = config_dir();
    let files: Vec<(String, String)> = [
        "pricing.toml",
        "clients.toml",
        "rules.toml",
        "products.csv",
        "price_lists/general.csv",
        "net_prices/contracts.csv",
    ]
    .iter()
    .map(|f| (f.to_string(), std::fs::read_to_string(src.join(f)).unwrap()))
    .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let dir = scratch("reload", &refs);
    let h = TermsHandle::load(&dir).unwrap();
    let before = h.get();
    std::fs::write(
        dir.join("rules.toml"),
        "[[rule]]\nid = \"X\"\nkind = \"bogus\"\n",
    )
    .unwrap();
    let err: TermsError = h.reload().unwrap_err();
    assert!(
        err.to_string().contains("rules.toml:1: field `kind`"),
        "{err}"
    );
    assert!(std::sync::Arc::ptr_eq(&before, &h.get()), "good terms kept");
    std::fs::write(dir.join("rules.toml"), "").unwrap();
    h.reload().unwrap();
    assert_eq!(h.get().rule_count(), 2, "only the CSV net prices remain");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn hundred_thousand_price_lines_load() {
    let mut csv = String::from("list,product,unit,price,currency,valid_from,valid_to\n");
    for i in 0..100_000u64 {
        csv.push_str(&format!(
            "general,{:013},PCE,{}.{:02},EUR,2024-01-01,\n",
            2_000_000_000_000 + i,
            i % 500,
            i % 100
        ));
    }
    let dir = scratch(
        "big",
        &[("pricing.toml", MIN_PRICING), ("price_lists/big.csv", &csv)],
    );
    let start = std::time::Instant::now();
    let t = Terms::load(&dir).unwrap();
    let took = start.elapsed();
    eprintln!("loaded 100,000 price lines in {took:?} (debug build)");
    assert_eq!(t.price_count, 100_000);
    let _ = std::fs::remove_dir_all(dir);
}

fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x00c0_ffee),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const GTINS: [&str; 4] = [
    "5410738000152",
    "5410738000169",
    "5410738000176",
    "5410738000183",
];

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn larger_quantity_never_costs_more_per_unit(a in 0u32..2000, b in 0u32..2000) {
        let (lo, hi) = (a.min(b), a.max(b));
        let t = terms();
        let p_lo = price_order(&t, "ACME", &order("FR", None, vec![line("5410738000183", &lo.to_string())]), day(TODAY)).unwrap();
        let p_hi = price_order(&t, "ACME", &order("FR", None, vec![line("5410738000183", &hi.to_string())]), day(TODAY)).unwrap();
        prop_assert!(p_hi.lines[0].net_unit_price.unwrap() <= p_lo.lines[0].net_unit_price.unwrap());
    }

    #[test]
    fn sums_hold_and_prices_are_never_negative(
        lines in proptest::collection::vec((0usize..4, 0u32..100_000, 0u32..3), 0..20),
        client in 0usize..4,
    ) {
        let t = terms();
        let ls = lines.iter().map(|(g, q, scale)| {
            let qty = Decimal::new(i64::from(*q), *scale);
            line(GTINS[*g], &qty.to_string())
        }).collect();
        let client = ["ACME", "BISTROT", "BRUXELLES", "GENEVE"][client];
        let p = price_order(&t, client, &order("FR", None, ls), day(TODAY)).unwrap();
        let sum: Decimal = p.lines.iter().filter_map(|l| l.amount).sum();
        prop_assert_eq!(sum, p.totals.line_total);
        prop_assert_eq!(p.totals.tax_exclusive, p.totals.line_total + p.totals.charge_total);
        prop_assert_eq!(p.totals.grand_total, p.totals.tax_exclusive + p.totals.tax_total);
        let vat: Decimal = p.vat_breakdown.iter().map(|v| v.tax_amount).sum();
        prop_assert_eq!(vat, p.totals.tax_total);
        for l in &p.lines {
            prop_assert!(l.net_unit_price.unwrap_or_default() >= Decimal::ZERO);
            prop_assert!(l.amount.unwrap_or_default() >= Decimal::ZERO);
            if let Some(a) = l.amount {
                prop_assert_eq!(a.scale(), 2);
            }
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(24))]

    #[test]
    fn any_valid_tier_table_is_monotonic(
        steps in proptest::collection::vec((1u32..200, 0u32..15), 1..5),
        qtys in proptest::collection::vec(0u32..1500, 2..8),
    ) {
        // Build an increasing table: thresholds and percentages accumulate.
        let mut from = 0u32;
        let mut pct = 0u32;
        let mut tiers = Vec::new();
        for (df, dp) in &steps {
            from += df;
            pct = (pct + dp).min(90);
            tiers.push(format!("{{ from = \"{from}\", percent = \"{pct}\" }}"));
        }
        let rules = format!("[[rule]]\nid = \"T\"\nkind = \"tiers\"\nproduct = \"5410738000152\"\ntiers = [{}]\n", tiers.join(", "));
        let dir = scratch("proptiers", &[
            ("pricing.toml", MIN_PRICING),
            ("clients.toml", MIN_CLIENTS),
            ("price_lists/l.csv", "product,price\n5410738000152,7.77\n"),
            ("rules.toml", &rules),
        ]);
        let t = Terms::load(&dir).unwrap();
        let mut qs = qtys.clone();
        qs.sort_unstable();
        let mut last = None;
        for q in qs {
            let p = price_order(&t, "C1", &order("FR", None, vec![line("5410738000152", &q.to_string())]), day(TODAY)).unwrap();
            let net = p.lines[0].net_unit_price.unwrap();
            if let Some(prev) = last {
                prop_assert!(net <= prev);
            }
            last = Some(net);
        }
    }
}

#[test]
fn absurd_figures_never_panic() {
    let max = "79228162514264337593543950335";
    let mut a = line("5410738000183", max);
    a.net_unit_price = Some(dec(max));
    let mut b = line("5410738000152", max);
    b.net_unit_price = Some(dec("0.0000000000000000000000000001"));
    b.price_basis_quantity = Some(dec("0.0000000000000000000000000001"));
    let c = line("5410738000169", max);
    for client in ["ACME", "BISTROT", "GENEVE"] {
        let p = price(client, vec![a.clone(), b.clone(), c.clone()]);
        assert!(
            p.reasons
                .iter()
                .any(|r| r.code == ReasonCode::AmountTooLarge),
            "{client}"
        );
        assert_eq!(p.totals.line_total, Decimal::ZERO);
    }
}

/// The fast path (`Pricer`, reused from order to order, and `price_lines`)
/// gives exactly the pricing of `price_order`, on random orders: known and
/// unknown products, seller codes, units in any case, missing and negative
/// quantities, buyer prices (price checks), every client of the example
/// terms, orders of varying length (buffer reuse).
#[test]
fn fast_path_agrees_with_price_order() {
    let t = terms();
    let mut pricer = Pricer::new(&t);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let gtins = [
        "5410738000152",
        "5410738000169",
        "5410738000176",
        "5410738000183",
        " 5410738000152 ",
        "0000000000000",
        "5410738000999",
    ];
    let clients = ["ACME", "BISTROT", "BRUXELLES", "GENEVE", "5412345000013"];
    let countries = ["FR", "BE", "CH", "DE"];
    for o in 0..400 {
        let mut lines = Vec::new();
        for _ in 0..next(12) {
            let mut l = line(gtins[next(gtins.len() as u64) as usize], "1");
            match next(10) {
                0 => l.quantity = None,
                1 => l.gtin = None,
                _ => {}
            }
            if let Some(q) = &mut l.quantity {
                q.value = Decimal::new(next(200_000) as i64 - 5_000, next(3) as u32);
                q.unit = Some(["PCE", "pce", " PCE", "KGM", ""][next(5) as usize].into());
            }
            if next(3) == 0 {
                l.net_unit_price = Some(Decimal::new(next(10_000) as i64, 2));
            }
            lines.push(l);
        }
        let country = countries[next(countries.len() as u64) as usize];
        let vat = (country == "BE").then_some("BE0123456749");
        let mut d = order(country, vat, lines);
        d.number = format!("PO-{o}");
        let client = clients[next(clients.len() as u64) as usize];
        let full = price_order(&t, client, &d, day(TODAY)).unwrap();
        let fast = pricer.price_order(client, &d, day(TODAY)).unwrap();
        assert_eq!(fast, &full.pricing, "order {o} for {client}");
        assert_eq!(
            serde_json::to_string(fast).unwrap(),
            serde_json::to_string(&full.pricing).unwrap()
        );
        assert_eq!(
            price_lines(&t, client, &d, day(TODAY)).unwrap(),
            full.pricing
        );
        assert_eq!(
            explain_order(&d, fast),
            explain(&full),
            "explain of order {o}"
        );
    }
    let mut d = order("FR", None, vec![line("5410738000152", "1")]);
    d.document_type = DocumentType::Invoice;
    assert!(matches!(
        pricer.price_order("ACME", &d, day(TODAY)),
        Err(PricingError::UnsupportedDocument { .. })
    ));
}
