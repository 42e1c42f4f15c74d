//! SAP IDoc ORDERS05 (XML form) writer: EDI_DC40 control record, E1EDK01
//! header, E1EDK03 dates, E1EDKA1 partners (AG sold-to, WE ship-to, LF
//! vendor, RE bill-to), E1EDK02 references, E1EDP01 items with E1EDP19
//! material ids and E1EDP26 amounts, E1EDS01 totals.

use super::writer::{amount, number, XmlOut};
use super::WriteError;
use crate::model::{Document, DocumentType, PartyRole};

fn d8(iso: &str) -> String {
    iso.chars().filter(char::is_ascii_digit).take(8).collect()
}

/// Writes a canonical order as an IDoc ORDERS05 XML file.
pub fn write_idoc_orders05(doc: &Document) -> Result<Vec<u8>, WriteError> {
    if doc.document_type != DocumentType::Order {
        return Err(WriteError::WrongType {
            format: "IDoc ORDERS05",
            expected: "order",
            found: doc.document_type,
        });
    }
    if doc.number.is_empty() {
        return Err(WriteError::Missing {
            format: "IDoc ORDERS05",
            field: "number",
        });
    }
    let seg = [("SEGMENT", "1")];
    let mut w = XmlOut::new();
    w.open("ORDERS05", &[]);
    w.open("IDOC", &[("BEGIN", "1")]);
    w.open("EDI_DC40", &seg);
    w.leaf("TABNAM", &[], "EDI_DC40");
    w.opt("DOCNUM", doc.origin.message_ref.as_deref());
    w.leaf("DIRECT", &[], "2");
    w.leaf("IDOCTYP", &[], "ORDERS05");
    w.leaf("MESTYP", &[], "ORDERS");
    w.opt("SNDPRN", doc.origin.sender.as_deref());
    w.opt("RCVPRN", doc.origin.recipient.as_deref());
    if let Some(d) = doc.date("document") {
        w.leaf("CREDAT", &[], &d8(&d.value));
    }
    w.close();

    w.open("E1EDK01", &seg);
    w.opt("CURCY", doc.currency.as_deref());
    w.opt("BSART", doc.document_code.as_deref());
    w.leaf("BELNR", &[], &doc.number);
    w.close();

    for (kind, q) in [("document", "012"), ("requested_delivery", "002")] {
        if let Some(d) = doc.date(kind) {
            w.open("E1EDK03", &seg);
            w.leaf("IDDAT", &[], q);
            w.leaf("DATUM", &[], &d8(&d.value));
            w.close();
        }
    }
    for p in &doc.parties {
        let parvw = match p.role {
            PartyRole::Buyer => "AG",
            PartyRole::DeliveryParty => "WE",
            PartyRole::Supplier => "LF",
            PartyRole::Invoicee => "RE",
            _ => continue,
        };
        w.open("E1EDKA1", &seg);
        w.leaf("PARVW", &[], parvw);
        w.opt("PARTN", p.id.as_deref().or(p.gln.as_deref()));
        w.opt("NAME1", p.name.as_deref());
        w.opt("STRAS", p.address.street.first().map(String::as_str));
        w.opt("ORT01", p.address.city.as_deref());
        w.opt("PSTLZ", p.address.postal_code.as_deref());
        w.opt("LAND1", p.address.country.as_deref());
        w.opt("ILNNR", p.gln.as_deref());
        w.close();
    }
    for (kind, q) in [("order", "001"), ("contract", "043")] {
        if let Some(r) = doc.reference(kind) {
            w.open("E1EDK02", &seg);
            w.leaf("QUALF", &[], q);
            w.leaf("BELNR", &[], &r.value);
            w.close();
        }
    }
    for (i, l) in doc.lines.iter().enumerate() {
        w.open("E1EDP01", &seg);
        let n = format!("{:06}", (i + 1) * 10);
        w.leaf("POSEX", &[], l.line_number.as_deref().unwrap_or(&n));
        if let Some(q) = &l.quantity {
            w.leaf("MENGE", &[], &number(q.value));
            w.opt("MENEE", q.unit.as_deref());
        }
        if let Some(p) = l.net_unit_price {
            w.leaf("VPREI", &[], &number(p));
        }
        if let Some(b) = l.price_basis_quantity {
            w.leaf("PEINH", &[], &number(b));
        }
        if let Some(a) = l.line_amount {
            w.leaf("NETWR", &[], &amount(a));
        }
        for (q, v) in [
            ("001", &l.buyer_item_code),
            ("002", &l.seller_item_code),
            ("003", &l.gtin),
        ] {
            if let Some(v) = v {
                w.open("E1EDP19", &seg);
                w.leaf("QUALF", &[], q);
                w.leaf("IDTNR", &[], v);
                if q == "002" {
                    w.opt("KTEXT", l.description.as_deref());
                }
                w.close();
            }
        }
        if let Some(a) = l.line_amount {
            w.open("E1EDP26", &seg);
            w.leaf("QUALF", &[], "003");
            w.leaf("BETRG", &[], &amount(a));
            w.close();
        }
        w.close();
    }
    if let Some(t) = doc.totals.tax_exclusive.or(doc.totals.line_total) {
        w.open("E1EDS01", &seg);
        w.leaf("SUMID", &[], "010");
        w.leaf("SUMME", &[], &amount(t));
        w.opt("WAERQ", doc.currency.as_deref());
        w.close();
    }
    Ok(w.finish())
}
