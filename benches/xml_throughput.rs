//! XML inbound throughput: ~100 MB of UBL invoices and ~100 MB of CII
//! invoices generated in-process (100-line invoices from the outbound
//! writers, 16 variants each, replayed until the volume is reached), read
//! and mapped to canonical documents by `read_document` with the built-in
//! mappings. Prints MB/s per family and the process's peak RSS.
//!
//! `cargo bench --bench xml_throughput` (harness = false).

use std::str::FromStr;
use std::time::Instant;

use comptoir::formats::xml::{
    read_document, write_cii_invoice, write_ubl_invoice, ReadResult, XmlMappings,
};
use comptoir::model::{
    Address, DateEntry, Document, DocumentType, Line, Party, PartyRole, Quantity, TaxSubtotal,
    Totals,
};
use rust_decimal::Decimal;

const TARGET: usize = 100 * 1024 * 1024;

fn invoice(variant: usize) -> Document {
    let mut doc = Document::new(DocumentType::Invoice, format!("INV-{variant:06}"));
    doc.currency = Some("EUR".into());
    doc.dates.push(DateEntry {
        kind: "document".into(),
        value: "2024-03-01".into(),
    });
    for (role, gln, name) in [
        (PartyRole::Supplier, "3012345000010", "Fournisseur SA"),
        (PartyRole::Buyer, "3098765000017", "Client SARL"),
    ] {
        let mut p = Party::new(role);
        p.gln = Some(gln.into());
        p.name = Some(name.into());
        p.vat_id = Some("FR12345678901".into());
        p.address = Address {
            street: vec!["1 rue de la Paix".into()],
            city: Some("Paris".into()),
            postal_code: Some("75002".into()),
            region: None,
            country: Some("FR".into()),
        };
        doc.parties.push(p);
    }
    let mut total = Decimal::ZERO;
    for i in 0..100 {
        let qty = Decimal::from((i * 7 + variant) % 50 + 1);
        let price = Decimal::from_str("3.75").unwrap_or_default() + Decimal::from(i % 9);
        let amount = qty * price;
        total += amount;
        doc.lines.push(Line {
            line_number: Some((i + 1).to_string()),
            gtin: Some(format!("0301234500{:04}", i)),
            seller_item_code: Some(format!("ART-{i}")),
            description: Some(format!("Article numéro {i} — variante {variant}")),
            quantity: Some(Quantity {
                kind: None,
                value: qty,
                unit: Some("PCE".into()),
            }),
            net_unit_price: Some(price),
            line_amount: Some(amount),
            tax_category: Some("S".into()),
            tax_rate: Some(Decimal::from(20)),
            ..Line::default()
        });
    }
    let tax = (total * Decimal::from(20) / Decimal::from(100)).round_dp(2);
    doc.tax_subtotals.push(TaxSubtotal {
        category: Some("S".into()),
        rate: Some(Decimal::from(20)),
        taxable_amount: Some(total),
        tax_amount: Some(tax),
        exemption_reason: None,
    });
    doc.totals = Totals {
        line_total: Some(total),
        tax_exclusive: Some(total),
        tax_total: Some(tax),
        tax_inclusive: Some(total + tax),
        payable: Some(total + tax),
        ..Totals::default()
    };
    doc
}

fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn run(name: &str, docs: &[Vec<u8>], maps: &XmlMappings) {
    let mut bytes = 0usize;
    let mut count = 0usize;
    let mut lines = 0usize;
    let start = Instant::now();
    while bytes < TARGET {
        for d in docs {
            match read_document(d, maps, None) {
                ReadResult::Document { document, .. } => lines += document.lines.len(),
                ReadResult::Failed(e) => {
                    eprintln!("{name}: {e}");
                    return;
                }
            }
            bytes += d.len();
            count += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {:.1} MB in {:.2} s → {:.1} MB/s ({count} documents, {lines} lines, {:.0} docs/s)",
        bytes as f64 / 1e6,
        secs,
        bytes as f64 / 1e6 / secs,
        count as f64 / secs
    );
}

fn main() {
    let maps = match XmlMappings::builtin() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let variants: Vec<Document> = (0..16).map(invoice).collect();
    let ubl: Vec<Vec<u8>> = variants
        .iter()
        .filter_map(|d| write_ubl_invoice(d).ok())
        .collect();
    let cii: Vec<Vec<u8>> = variants
        .iter()
        .filter_map(|d| write_cii_invoice(d).ok())
        .collect();
    println!(
        "document sizes: UBL {} KB, CII {} KB",
        ubl.first().map_or(0, Vec::len) / 1024,
        cii.first().map_or(0, Vec::len) / 1024
    );
    run("UBL Invoice", &ubl, &maps);
    run("CII invoice", &cii, &maps);
    if let Some(kb) = peak_rss_kb() {
        println!("peak RSS: {:.1} MB", kb as f64 / 1024.0);
    }
}
