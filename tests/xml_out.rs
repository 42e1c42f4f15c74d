//! Outbound XML (UBL Invoice / OrderResponse, CII invoice, IDoc ORDERS05)
//! read back through the inbound mappings; the EN 16931 checker; and the
//! same invoice as EANCOM INVOIC, UBL and CII giving the same canonical
//! document on the fields they share.

mod common;

use std::path::PathBuf;
use std::str::FromStr;

use comptoir::formats::xml::{
    check_en16931, read_document, write_cii_invoice, write_idoc_orders05, write_ubl_invoice,
    write_ubl_order_response, ReadResult, XmlMappings,
};
use comptoir::model::{
    Address, AllowanceCharge, AllowanceChargeKind, DateEntry, Document, DocumentType, Line, Party,
    PartyRole, Quantity, Reference, TaxSubtotal, Totals,
};
use rust_decimal::Decimal;
use serde_json::json;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn party(role: PartyRole, gln: &str, name: &str, vat: &str, country: &str) -> Party {
    let mut p = Party::new(role);
    p.gln = Some(gln.into());
    p.name = Some(name.into());
    p.vat_id = Some(vat.into());
    p.address = Address {
        street: vec!["1 rue de la Paix".into()],
        city: Some("Paris".into()),
        postal_code: Some("75002".into()),
        region: None,
        country: Some(country.into()),
    };
    p
}

fn line(n: &str, gtin: &str, qty: &str, price: &str, amount: &str, rate: &str) -> Line {
    Line {
        line_number: Some(n.into()),
        gtin: Some(gtin.into()),
        seller_item_code: Some(format!("ART-{n}")),
        description: Some(format!("Article {n}")),
        quantity: Some(Quantity {
            kind: None,
            value: d(qty),
            unit: Some("PCE".into()),
        }),
        net_unit_price: Some(d(price)),
        line_amount: Some(d(amount)),
        tax_category: Some("S".into()),
        tax_rate: Some(d(rate)),
        ..Line::default()
    }
}

/// A consistent EN 16931 invoice: two VAT rates, one document allowance.
fn invoice() -> Document {
    let mut doc = Document::new(DocumentType::Invoice, "FA-2024-0042");
    doc.document_code = Some("380".into());
    doc.currency = Some("EUR".into());
    doc.dates.push(DateEntry {
        kind: "document".into(),
        value: "2024-03-01".into(),
    });
    doc.references.push(Reference {
        kind: "order".into(),
        value: "PO-77".into(),
        date: None,
    });
    doc.parties.push(party(
        PartyRole::Supplier,
        "3012345000010",
        "Fournisseur SA",
        "FR12345678901",
        "FR",
    ));
    doc.parties.push(party(
        PartyRole::Buyer,
        "3098765000017",
        "Client SARL",
        "FR98765432109",
        "FR",
    ));
    doc.lines
        .push(line("1", "03012345000027", "10", "12.50", "125.00", "20"));
    doc.lines
        .push(line("2", "03012345000034", "4", "2.25", "9.00", "5.5"));
    let mut a = AllowanceCharge::new(AllowanceChargeKind::Allowance);
    a.amount = Some(d("5.00"));
    a.description = Some("Remise".into());
    a.tax_category = Some("S".into());
    a.tax_rate = Some(d("20"));
    doc.allowances_charges.push(a);
    doc.tax_subtotals.push(TaxSubtotal {
        category: Some("S".into()),
        rate: Some(d("20")),
        taxable_amount: Some(d("120.00")),
        tax_amount: Some(d("24.00")),
        exemption_reason: None,
    });
    doc.tax_subtotals.push(TaxSubtotal {
        category: Some("S".into()),
        rate: Some(d("5.5")),
        taxable_amount: Some(d("9.00")),
        tax_amount: Some(d("0.50")),
        exemption_reason: None,
    });
    doc.totals = Totals {
        line_total: Some(d("134.00")),
        allowance_total: Some(d("5.00")),
        charge_total: None,
        tax_exclusive: Some(d("129.00")),
        tax_total: Some(d("24.50")),
        tax_inclusive: Some(d("153.50")),
        prepaid: None,
        payable: Some(d("153.50")),
    };
    doc
}

fn maps() -> XmlMappings {
    XmlMappings::builtin().expect("built-in XML mappings compile")
}

fn read(bytes: &[u8]) -> Document {
    match read_document(bytes, &maps(), None) {
        ReadResult::Document {
            document,
            diagnostics,
        } => {
            assert!(
                !diagnostics.iter().any(|d| d.is_error()),
                "{diagnostics:?}\n{}",
                String::from_utf8_lossy(bytes)
            );
            *document
        }
        ReadResult::Failed(e) => panic!("{e}\n{}", String::from_utf8_lossy(bytes)),
    }
}

fn n(v: Option<Decimal>) -> serde_json::Value {
    json!(v.map(|x| x.normalize().to_string()))
}

/// The fields EANCOM INVOIC, UBL and CII all carry.
fn shared(doc: &Document) -> serde_json::Value {
    let p = |role: PartyRole| {
        doc.party(&role)
            .map(|p| json!({"id": p.identifier(), "vat": p.vat_id}))
    };
    let mut taxes: Vec<_> = doc
        .tax_subtotals
        .iter()
        .map(|t| json!([t.category, n(t.rate), n(t.taxable_amount), n(t.tax_amount)]))
        .collect();
    taxes.sort_by_key(|v| v.to_string());
    json!({
        "number": doc.number,
        "type": doc.document_type.as_str(),
        "supplier": p(PartyRole::Supplier),
        "buyer": p(PartyRole::Buyer),
        "lines": doc.lines.iter().map(|l| json!({
            "qty": n(l.quantity.as_ref().map(|q| q.value)),
            "unit": l.quantity.as_ref().and_then(|q| q.unit.clone()),
            "price": n(l.net_unit_price),
            "amount": n(l.line_amount),
            "gtin": l.gtin,
        })).collect::<Vec<_>>(),
        "totals": [n(doc.totals.line_total), n(doc.totals.tax_exclusive), n(doc.totals.tax_total), n(doc.totals.tax_inclusive), n(doc.totals.payable)],
        "taxes": taxes,
    })
}

#[test]
fn sample_invoice_passes_en16931() {
    assert_eq!(check_en16931(&invoice()), vec![]);
}

#[test]
fn en16931_violations_are_located() {
    let mut doc = invoice();
    doc.totals.line_total = Some(d("999.00"));
    doc.tax_subtotals[0].tax_amount = Some(d("30.00"));
    doc.parties[1].name = None;
    doc.lines[1].quantity = None;
    let v = check_en16931(&doc);
    let rules: Vec<_> = v.iter().map(|v| v.rule).collect();
    for r in [
        "BR-CO-10", "BR-CO-13", "BR-S-09", "BR-CO-14", "BR-07", "BR-22",
    ] {
        assert!(rules.contains(&r), "{r} missing from {v:#?}");
    }
    let co10 = v.iter().find(|v| v.rule == "BR-CO-10").expect("BR-CO-10");
    assert_eq!(co10.path, "totals.line_total (BT-106)");
    assert!(co10.message.contains("134"), "{}", co10.message);
    let br22 = v.iter().find(|v| v.rule == "BR-22").expect("BR-22");
    assert_eq!(br22.path, "lines[2].quantity (BT-129)");
    let diag = co10.diagnostic(Some("x.xml".into()));
    assert!(diag.is_error());
    // Exempt category without a reason, wrong taxable amount.
    let mut doc = invoice();
    doc.tax_subtotals[1].category = Some("E".into());
    doc.tax_subtotals[1].tax_amount = Some(Decimal::ZERO);
    let rules: Vec<_> = check_en16931(&doc).iter().map(|v| v.rule).collect();
    assert!(rules.contains(&"BR-E-10"), "{rules:?}");
    assert!(rules.contains(&"BR-E-08"), "{rules:?}");
}

#[test]
fn ubl_invoice_round_trips() {
    let doc = invoice();
    let xml = write_ubl_invoice(&doc).expect("write");
    let back = read(&xml);
    assert_eq!(shared(&back), shared(&doc));
    assert_eq!(
        back.reference("order").map(|r| r.value.as_str()),
        Some("PO-77")
    );
    assert_eq!(back.allowances_charges.len(), 1);
    assert_eq!(check_en16931(&back), vec![]);
    // Credit notes are written as UBL CreditNote.
    let mut cn = invoice();
    cn.document_type = DocumentType::CreditNote;
    cn.document_code = Some("381".into());
    let back = read(&write_ubl_invoice(&cn).expect("write"));
    assert_eq!(back.document_type, DocumentType::CreditNote);
    assert_eq!(back.lines.len(), 2);
}

#[test]
fn cii_invoice_round_trips() {
    let doc = invoice();
    let xml = write_cii_invoice(&doc).expect("write");
    let back = read(&xml);
    assert_eq!(shared(&back), shared(&doc));
    assert_eq!(check_en16931(&back), vec![]);
    assert_eq!(
        back.origin.profile.as_deref(),
        Some("urn:cen.eu:en16931:2017")
    );
}

#[test]
fn writers_refuse_wrong_types() {
    let order = Document::new(DocumentType::Order, "1");
    assert!(write_ubl_invoice(&order).is_err());
    assert!(write_cii_invoice(&order).is_err());
    assert!(write_ubl_order_response(&order).is_err());
    assert!(write_idoc_orders05(&invoice()).is_err());
}

#[test]
fn ubl_order_response_round_trips() {
    let mut doc = invoice();
    doc.document_type = DocumentType::OrderResponse;
    doc.number = "RSP-1".into();
    doc.response_code = Some("CA".into());
    doc.lines[0].action = Some("3".into());
    let back = read(&write_ubl_order_response(&doc).expect("write"));
    assert_eq!(back.document_type, DocumentType::OrderResponse);
    assert_eq!(back.number, "RSP-1");
    assert_eq!(back.response_code.as_deref(), Some("CA"));
    assert_eq!(back.lines.len(), 2);
    assert_eq!(back.lines[0].action.as_deref(), Some("3"));
    assert_eq!(back.lines[1].gtin.as_deref(), Some("03012345000034"));
    assert_eq!(
        back.lines[1].quantity.as_ref().map(|q| q.value),
        Some(d("4"))
    );
}

#[test]
fn idoc_orders05_round_trips() {
    let mut doc = invoice();
    doc.document_type = DocumentType::Order;
    doc.number = "PO-2024-1".into();
    let mut dp = Party::new(PartyRole::DeliveryParty);
    dp.gln = Some("3011111000019".into());
    dp.name = Some("Entrepôt".into());
    doc.parties.push(dp);
    let xml = write_idoc_orders05(&doc).expect("write");
    let text = String::from_utf8_lossy(&xml);
    for seg in [
        "<EDI_DC40",
        "<E1EDK01",
        "<E1EDKA1",
        "<PARVW>AG</PARVW>",
        "<PARVW>WE</PARVW>",
        "<E1EDK02",
        "<E1EDK03",
        "<E1EDP01",
        "<E1EDP19",
        "<E1EDP26",
    ] {
        assert!(text.contains(seg), "{seg} missing:\n{text}");
    }
    let back = read(&xml);
    assert_eq!(back.document_type, DocumentType::Order);
    assert_eq!(back.number, "PO-2024-1");
    assert_eq!(back.origin.format, "xml");
    assert_eq!(
        back.date("document").map(|d| d.value.as_str()),
        Some("2024-03-01")
    );
    assert_eq!(
        back.reference("order").map(|r| r.value.as_str()),
        Some("PO-77")
    );
    let dp = back.party(&PartyRole::DeliveryParty).expect("WE");
    assert_eq!(dp.gln.as_deref(), Some("3011111000019"));
    assert_eq!(
        back.party(&PartyRole::Buyer)
            .and_then(|p| p.name.as_deref()),
        Some("Client SARL")
    );
    assert_eq!(back.lines.len(), 2);
    let l = &back.lines[0];
    assert_eq!(l.gtin.as_deref(), Some("03012345000027"));
    assert_eq!(l.seller_item_code.as_deref(), Some("ART-1"));
    assert_eq!(l.quantity.as_ref().map(|q| q.value), Some(d("10")));
    assert_eq!(
        l.quantity.as_ref().and_then(|q| q.unit.as_deref()),
        Some("PCE")
    );
    assert_eq!(l.net_unit_price, Some(d("12.5")));
    assert_eq!(l.line_amount, Some(d("125.00")));
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/xml")
}

/// Writes the cross-format fixtures from [`invoice`] when
/// `COMPTOIR_REGEN_FIXTURES` is set (they are checked in).
fn regen() {
    if std::env::var_os("COMPTOIR_REGEN_FIXTURES").is_none() {
        return;
    }
    use comptoir::formats::edifact::outbound::{write_documents, OutboundOptions};
    let doc = invoice();
    let mut opts = OutboundOptions::new("3012345000010", "3098765000017", "42");
    opts.sender_qualifier = Some("14".into());
    opts.recipient_qualifier = Some("14".into());
    opts.newline = true;
    opts.prepared_at =
        chrono::NaiveDate::from_ymd_opt(2024, 3, 1).and_then(|d| d.and_hms_opt(10, 0, 0));
    let dir = fixtures();
    std::fs::write(
        dir.join("cross-invoice.edi"),
        write_documents(std::slice::from_ref(&doc), &opts).expect("edi"),
    )
    .expect("w");
    std::fs::write(
        dir.join("cross-invoice.ubl.xml"),
        write_ubl_invoice(&doc).expect("ubl"),
    )
    .expect("w");
    std::fs::write(
        dir.join("cross-invoice.cii.xml"),
        write_cii_invoice(&doc).expect("cii"),
    )
    .expect("w");
}

#[test]
fn same_invoice_in_eancom_ubl_and_cii_gives_the_same_document() {
    regen();
    let registry = common::registry();
    let mut seen = Vec::new();
    for f in [
        "cross-invoice.edi",
        "cross-invoice.ubl.xml",
        "cross-invoice.cii.xml",
    ] {
        let bytes = std::fs::read(fixtures().join(f)).expect("fixture");
        let run = common::translate(&registry, &bytes, f, None);
        assert!(run.rejected.is_empty(), "{f}: {:?}", run.rejected);
        assert_eq!(run.documents.len(), 1, "{f}");
        seen.push((f, shared(&run.documents[0])));
    }
    let expected = shared(&invoice());
    for (f, v) in &seen {
        assert_eq!(v, &expected, "{f} differs");
    }
}
