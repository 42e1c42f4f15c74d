//! Property: canonical → EDIFACT (outbound writers) → canonical (inbound
//! mappings) is the identity on the fields both directions map, for order
//! responses, despatch advices, invoices and credit notes, with text full of
//! delimiter and release characters and Latin-1 letters.

mod common;

use chrono::NaiveDate;
use comptoir::formats::edifact::{write_documents, OutboundOptions};
use comptoir::model::{
    DateEntry, Document, DocumentType, Line, Package, Party, PartyRole, Quantity, Reference,
    TaxSubtotal,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9éüßÉ?+:'*.,/ -]{{1,{max}}}"))
        .unwrap()
        .prop_map(|s| s.trim().to_string())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn code(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Z0-9?+:'/-]{{1,{max}}}")).unwrap()
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[0-9]{{{n}}}")).unwrap()
}

fn decimal(max_units: i64, scale: u32) -> impl Strategy<Value = Decimal> {
    (1..max_units * 10i64.pow(scale)).prop_map(move |m| Decimal::new(m, scale))
}

fn date() -> impl Strategy<Value = String> {
    (2000i32..2040, 1u32..13, 1u32..29).prop_map(|(y, m, d)| {
        NaiveDate::from_ymd_opt(y, m, d)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    })
}

fn party(role: PartyRole) -> impl Strategy<Value = Party> {
    (digits(13), text(35), code(14)).prop_map(move |(gln, name, vat)| {
        let mut p = Party::new(role.clone());
        p.gln = Some(gln);
        p.name = Some(name);
        p.vat_id = Some(format!("FR{vat}"));
        p
    })
}

fn line(i: usize, invoice: bool) -> impl Strategy<Value = Line> {
    (
        digits(13),
        code(20),
        text(35),
        decimal(1000, 3),
        prop_oneof![Just("PCE"), Just("KGM"), Just("CT")],
        decimal(500, 4),
        decimal(100_000, 2),
        prop_oneof![Just(Decimal::new(20, 0)), Just(Decimal::new(55, 1))],
    )
        .prop_map(
            move |(gtin, seller, desc, qty, unit, price, amount, rate)| Line {
                line_number: Some((i + 1).to_string()),
                gtin: Some(gtin),
                seller_item_code: Some(seller),
                description: Some(desc),
                quantity: Some(Quantity {
                    kind: None,
                    value: qty,
                    unit: Some(unit.to_string()),
                }),
                net_unit_price: Some(price),
                line_amount: Some(amount),
                tax_category: invoice.then(|| "S".to_string()),
                tax_rate: invoice.then_some(rate),
                ..Line::default()
            },
        )
}

fn document() -> impl Strategy<Value = Document> {
    let kind = prop_oneof![
        Just(DocumentType::OrderResponse),
        Just(DocumentType::DespatchAdvice),
        Just(DocumentType::Invoice),
        Just(DocumentType::CreditNote),
    ];
    (kind, 1usize..5).prop_flat_map(|(kind, n)| {
        let invoice = matches!(kind, DocumentType::Invoice | DocumentType::CreditNote);
        let lines: Vec<_> = (0..n).map(|i| line(i, invoice)).collect();
        (
            Just(kind),
            code(17),
            date(),
            prop_oneof![Just("EUR"), Just("GBP"), Just("USD")],
            party(PartyRole::Buyer),
            party(PartyRole::Supplier),
            code(20),
            lines,
            digits(18),
            decimal(1_000_000, 2),
        )
            .prop_map(
                |(kind, number, date, cur, buyer, supplier, order, lines, sscc, total)| {
                    let mut d = Document::new(kind, number);
                    d.dates.push(DateEntry {
                        kind: "document".into(),
                        value: date,
                    });
                    d.currency = Some(cur.to_string());
                    d.parties = vec![buyer, supplier];
                    d.references.push(Reference {
                        kind: "order".into(),
                        value: order,
                        date: None,
                    });
                    d.lines = lines;
                    if kind == DocumentType::DespatchAdvice {
                        // A despatch advice carries no prices or amounts.
                        d.currency = None;
                        for l in &mut d.lines {
                            l.net_unit_price = None;
                            l.line_amount = None;
                        }
                        d.packages.push(Package {
                            id: "1".into(),
                            sscc: vec![sscc],
                            ..Package::default()
                        });
                        for l in &mut d.lines {
                            l.package_id = Some("1".into());
                        }
                    }
                    if matches!(kind, DocumentType::Invoice | DocumentType::CreditNote) {
                        d.totals.line_total = Some(total);
                        d.totals.tax_inclusive = Some(total);
                        d.tax_subtotals.push(TaxSubtotal {
                            category: Some("S".into()),
                            rate: Some(Decimal::new(20, 0)),
                            taxable_amount: Some(total),
                            tax_amount: Some(Decimal::new(0, 0)),
                            exemption_reason: None,
                        });
                    }
                    d
                },
            )
    })
}

/// The fields both directions map, in a comparable form.
fn mapped(d: &Document) -> serde_json::Value {
    let party = |role: PartyRole| {
        d.party(&role)
            .map(|p| serde_json::json!([p.gln, p.name, p.vat_id]))
    };
    let lines: Vec<_> = d
        .lines
        .iter()
        .map(|l| {
            serde_json::json!([
                l.line_number,
                l.gtin,
                l.seller_item_code,
                l.description,
                l.quantity
                    .as_ref()
                    .map(|q| (q.value.normalize(), q.unit.clone())),
                l.net_unit_price.map(|p| p.normalize()),
                l.line_amount.map(|p| p.normalize()),
                l.tax_category,
                l.tax_rate.map(|p| p.normalize()),
                l.package_id,
            ])
        })
        .collect();
    let taxes: Vec<_> = d
        .tax_subtotals
        .iter()
        .map(|t| {
            serde_json::json!([
                t.category,
                t.rate.map(|r| r.normalize()),
                t.taxable_amount.map(|r| r.normalize()),
                t.tax_amount.map(|r| r.normalize())
            ])
        })
        .collect();
    serde_json::json!({
        "type": d.document_type,
        "number": d.number,
        "date": d.date("document").map(|x| x.value.clone()),
        "currency": d.currency,
        "buyer": party(PartyRole::Buyer),
        "supplier": party(PartyRole::Supplier),
        "order": d.reference("order").map(|r| r.value.clone()),
        "lines": lines,
        "line_total": d.totals.line_total.map(|x| x.normalize()),
        "tax_inclusive": d.totals.tax_inclusive.map(|x| x.normalize()),
        "taxes": taxes,
        "packages": d.packages.iter().map(|p| (p.id.clone(), p.sscc.clone())).collect::<Vec<_>>(),
    })
}

static REGISTRY: std::sync::OnceLock<comptoir::mapping::Registry> = std::sync::OnceLock::new();

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn canonical_edifact_canonical_is_identity(doc in document()) {
        let registry = REGISTRY.get_or_init(common::registry);
        let opts = OutboundOptions::new("5412345000013", "4012345500004", "REF1");
        let bytes = write_documents(std::slice::from_ref(&doc), &opts)
            .map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
        let run = common::translate(registry, &bytes, "roundtrip.edi", None);
        prop_assert!(run.rejected.is_empty(), "rejected: {:?}\n{}", run.rejected, String::from_utf8_lossy(&bytes));
        prop_assert_eq!(run.documents.len(), 1);
        prop_assert_eq!(mapped(&run.documents[0]), mapped(&doc), "\n{}", String::from_utf8_lossy(&bytes));
    }
}
