//! UBL 2.1 Invoice / CreditNote and OrderResponse writers.

use super::writer::{amount, number, XmlOut};
use super::WriteError;
use crate::model::{
    AllowanceCharge, AllowanceChargeKind, Document, DocumentType, Line, Party, PartyRole,
};

const CAC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2";
const CBC: &str = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2";

fn date<'d>(doc: &'d Document, kind: &str) -> Option<&'d str> {
    doc.date(kind)
        .map(|d| d.value.get(..10).unwrap_or(&d.value))
}

fn party(w: &mut XmlOut, p: &Party) {
    w.open("cac:Party", &[]);
    if let Some(g) = &p.gln {
        w.leaf("cbc:EndpointID", &[("schemeID", "0088")], g);
    }
    if let Some(id) = &p.id {
        w.open("cac:PartyIdentification", &[]);
        w.leaf("cbc:ID", &[], id);
        w.close();
    }
    if let Some(n) = &p.name {
        w.open("cac:PartyName", &[]);
        w.leaf("cbc:Name", &[], n);
        w.close();
    }
    let a = &p.address;
    if !a.is_empty() {
        w.open("cac:PostalAddress", &[]);
        w.opt("cbc:StreetName", a.street.first().map(String::as_str));
        w.opt(
            "cbc:AdditionalStreetName",
            a.street.get(1).map(String::as_str),
        );
        w.opt("cbc:CityName", a.city.as_deref());
        w.opt("cbc:PostalZone", a.postal_code.as_deref());
        w.opt("cbc:CountrySubentity", a.region.as_deref());
        if let Some(c) = &a.country {
            w.open("cac:Country", &[]);
            w.leaf("cbc:IdentificationCode", &[], c);
            w.close();
        }
        w.close();
    }
    if let Some(v) = &p.vat_id {
        w.open("cac:PartyTaxScheme", &[]);
        w.leaf("cbc:CompanyID", &[], v);
        w.open("cac:TaxScheme", &[]);
        w.leaf("cbc:ID", &[], "VAT");
        w.close();
        w.close();
    }
    if p.name.is_some() || p.siret.is_some() {
        w.open("cac:PartyLegalEntity", &[]);
        w.leaf("cbc:RegistrationName", &[], p.name.as_deref().unwrap_or(""));
        if let Some(s) = &p.siret {
            w.leaf("cbc:CompanyID", &[("schemeID", "0009")], s);
        }
        w.close();
    }
    w.close();
}

fn tax_category(w: &mut XmlOut, el: &str, cat: Option<&str>, rate: Option<rust_decimal::Decimal>) {
    w.open(el, &[]);
    w.leaf("cbc:ID", &[], cat.unwrap_or("S"));
    if let Some(r) = rate {
        w.leaf("cbc:Percent", &[], &number(r));
    }
    w.open("cac:TaxScheme", &[]);
    w.leaf("cbc:ID", &[], "VAT");
    w.close();
    w.close();
}

fn allowance(w: &mut XmlOut, a: &AllowanceCharge, cur: &str, with_tax: bool) {
    w.open("cac:AllowanceCharge", &[]);
    let charge = a.kind == AllowanceChargeKind::Charge;
    w.leaf(
        "cbc:ChargeIndicator",
        &[],
        if charge { "true" } else { "false" },
    );
    w.opt("cbc:AllowanceChargeReasonCode", a.reason_code.as_deref());
    w.opt("cbc:AllowanceChargeReason", a.description.as_deref());
    if let Some(p) = a.percentage {
        w.leaf("cbc:MultiplierFactorNumeric", &[], &number(p));
    }
    w.leaf(
        "cbc:Amount",
        &[("currencyID", cur)],
        &amount(a.amount.unwrap_or_default()),
    );
    if let Some(b) = a.base_amount {
        w.leaf("cbc:BaseAmount", &[("currencyID", cur)], &amount(b));
    }
    if with_tax {
        tax_category(w, "cac:TaxCategory", a.tax_category.as_deref(), a.tax_rate);
    }
    w.close();
}

fn item(w: &mut XmlOut, l: &Line, with_tax: bool) {
    w.open("cac:Item", &[]);
    w.leaf("cbc:Name", &[], l.description.as_deref().unwrap_or(""));
    if let Some(b) = &l.buyer_item_code {
        w.open("cac:BuyersItemIdentification", &[]);
        w.leaf("cbc:ID", &[], b);
        w.close();
    }
    if let Some(s) = &l.seller_item_code {
        w.open("cac:SellersItemIdentification", &[]);
        w.leaf("cbc:ID", &[], s);
        w.close();
    }
    if let Some(g) = &l.gtin {
        w.open("cac:StandardItemIdentification", &[]);
        w.leaf("cbc:ID", &[("schemeID", "0160")], g);
        w.close();
    }
    if with_tax {
        tax_category(
            w,
            "cac:ClassifiedTaxCategory",
            l.tax_category.as_deref(),
            l.tax_rate,
        );
    }
    w.close();
}

fn price(w: &mut XmlOut, l: &Line, cur: &str) {
    if let Some(p) = l.net_unit_price {
        w.open("cac:Price", &[]);
        w.leaf("cbc:PriceAmount", &[("currencyID", cur)], &number(p));
        if let Some(b) = l.price_basis_quantity {
            w.leaf("cbc:BaseQuantity", &[], &number(b));
        }
        w.close();
    }
}

fn qty_attrs(l: &Line) -> Vec<(&str, &str)> {
    match l.quantity.as_ref().and_then(|q| q.unit.as_deref()) {
        Some(u) => vec![("unitCode", u)],
        None => Vec::new(),
    }
}

/// Writes a canonical invoice (or credit note) as a UBL 2.1 Invoice (or
/// CreditNote), EN 16931 customization.
pub fn write_ubl_invoice(doc: &Document) -> Result<Vec<u8>, WriteError> {
    let credit = match doc.document_type {
        DocumentType::Invoice => false,
        DocumentType::CreditNote => true,
        other => {
            return Err(WriteError::WrongType {
                format: "UBL Invoice",
                expected: "invoice or credit_note",
                found: other,
            })
        }
    };
    if doc.number.is_empty() {
        return Err(WriteError::Missing {
            format: "UBL Invoice",
            field: "number",
        });
    }
    let (root, ns, type_el, line_el, qty_el) = if credit {
        (
            "CreditNote",
            "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
            "cbc:CreditNoteTypeCode",
            "cac:CreditNoteLine",
            "cbc:CreditedQuantity",
        )
    } else {
        (
            "Invoice",
            "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
            "cbc:InvoiceTypeCode",
            "cac:InvoiceLine",
            "cbc:InvoicedQuantity",
        )
    };
    let cur = doc.currency.as_deref().unwrap_or("EUR");
    let mut w = XmlOut::new();
    w.open(
        root,
        &[("xmlns", ns), ("xmlns:cac", CAC), ("xmlns:cbc", CBC)],
    );
    w.leaf("cbc:UBLVersionID", &[], "2.1");
    w.leaf("cbc:CustomizationID", &[], "urn:cen.eu:en16931:2017");
    w.leaf("cbc:ID", &[], &doc.number);
    w.opt("cbc:IssueDate", date(doc, "document"));
    if !credit {
        w.opt("cbc:DueDate", date(doc, "due"));
    }
    let code = doc
        .document_code
        .as_deref()
        .unwrap_or(if credit { "381" } else { "380" });
    w.leaf(type_el, &[], code);
    for n in &doc.notes {
        w.leaf("cbc:Note", &[], &n.text);
    }
    w.leaf("cbc:DocumentCurrencyCode", &[], cur);
    w.opt(
        "cbc:BuyerReference",
        doc.reference("buyer_reference").map(|r| r.value.as_str()),
    );
    if let Some(r) = doc.reference("order") {
        w.open("cac:OrderReference", &[]);
        w.leaf("cbc:ID", &[], &r.value);
        w.close();
    }
    if let Some(r) = doc.reference("invoice") {
        w.open("cac:BillingReference", &[]);
        w.open("cac:InvoiceDocumentReference", &[]);
        w.leaf("cbc:ID", &[], &r.value);
        w.close();
        w.close();
    }
    if let Some(r) = doc.reference("contract") {
        w.open("cac:ContractDocumentReference", &[]);
        w.leaf("cbc:ID", &[], &r.value);
        w.close();
    }
    for (role, el) in [
        (PartyRole::Supplier, "cac:AccountingSupplierParty"),
        (PartyRole::Buyer, "cac:AccountingCustomerParty"),
    ] {
        if let Some(p) = doc.party(&role) {
            w.open(el, &[]);
            party(&mut w, p);
            w.close();
        }
    }
    if let Some(d) = date(doc, "delivery") {
        w.open("cac:Delivery", &[]);
        w.leaf("cbc:ActualDeliveryDate", &[], d);
        w.close();
    }
    for t in &doc.payment_terms {
        if let Some(d) = &t.description {
            w.open("cac:PaymentTerms", &[]);
            w.leaf("cbc:Note", &[], d);
            w.close();
        }
    }
    for a in &doc.allowances_charges {
        allowance(&mut w, a, cur, true);
    }
    let tax_total = doc
        .totals
        .tax_total
        .unwrap_or_else(|| doc.tax_subtotals.iter().filter_map(|t| t.tax_amount).sum());
    w.open("cac:TaxTotal", &[]);
    w.leaf("cbc:TaxAmount", &[("currencyID", cur)], &amount(tax_total));
    for t in &doc.tax_subtotals {
        w.open("cac:TaxSubtotal", &[]);
        w.leaf(
            "cbc:TaxableAmount",
            &[("currencyID", cur)],
            &amount(t.taxable_amount.unwrap_or_default()),
        );
        w.leaf(
            "cbc:TaxAmount",
            &[("currencyID", cur)],
            &amount(t.tax_amount.unwrap_or_default()),
        );
        w.open("cac:TaxCategory", &[]);
        w.leaf("cbc:ID", &[], t.category.as_deref().unwrap_or("S"));
        if let Some(r) = t.rate {
            w.leaf("cbc:Percent", &[], &number(r));
        }
        w.opt("cbc:TaxExemptionReason", t.exemption_reason.as_deref());
        w.open("cac:TaxScheme", &[]);
        w.leaf("cbc:ID", &[], "VAT");
        w.close();
        w.close();
        w.close();
    }
    w.close();
    let t = &doc.totals;
    w.open("cac:LegalMonetaryTotal", &[]);
    for (el, v) in [
        ("cbc:LineExtensionAmount", t.line_total),
        ("cbc:TaxExclusiveAmount", t.tax_exclusive),
        ("cbc:TaxInclusiveAmount", t.tax_inclusive),
        ("cbc:AllowanceTotalAmount", t.allowance_total),
        ("cbc:ChargeTotalAmount", t.charge_total),
        ("cbc:PrepaidAmount", t.prepaid),
        ("cbc:PayableAmount", t.payable.or(t.tax_inclusive)),
    ] {
        if let Some(v) = v {
            w.leaf(el, &[("currencyID", cur)], &amount(v));
        }
    }
    w.close();
    for (i, l) in doc.lines.iter().enumerate() {
        w.open(line_el, &[]);
        let n = (i + 1).to_string();
        w.leaf("cbc:ID", &[], l.line_number.as_deref().unwrap_or(&n));
        let q = l.quantity.as_ref().map(|q| q.value).unwrap_or_default();
        w.leaf(qty_el, &qty_attrs(l), &number(q));
        w.leaf(
            "cbc:LineExtensionAmount",
            &[("currencyID", cur)],
            &amount(l.line_amount.unwrap_or_default()),
        );
        for a in &l.allowances_charges {
            allowance(&mut w, a, cur, false);
        }
        item(&mut w, l, true);
        price(&mut w, l, cur);
        w.close();
    }
    Ok(w.finish())
}

/// Writes a canonical order response as a UBL 2.1 OrderResponse (Peppol
/// BIS Ordering 3 customization).
pub fn write_ubl_order_response(doc: &Document) -> Result<Vec<u8>, WriteError> {
    if doc.document_type != DocumentType::OrderResponse {
        return Err(WriteError::WrongType {
            format: "UBL OrderResponse",
            expected: "order_response",
            found: doc.document_type,
        });
    }
    if doc.number.is_empty() {
        return Err(WriteError::Missing {
            format: "UBL OrderResponse",
            field: "number",
        });
    }
    let cur = doc.currency.as_deref().unwrap_or("EUR");
    let mut w = XmlOut::new();
    w.open(
        "OrderResponse",
        &[
            (
                "xmlns",
                "urn:oasis:names:specification:ubl:schema:xsd:OrderResponse-2",
            ),
            ("xmlns:cac", CAC),
            ("xmlns:cbc", CBC),
        ],
    );
    w.leaf("cbc:UBLVersionID", &[], "2.1");
    w.leaf(
        "cbc:CustomizationID",
        &[],
        "urn:fdc:peppol.eu:poacc:trns:order_response:3",
    );
    w.leaf("cbc:ID", &[], &doc.number);
    w.opt("cbc:IssueDate", date(doc, "document"));
    w.opt("cbc:OrderResponseCode", doc.response_code.as_deref());
    for n in &doc.notes {
        w.leaf("cbc:Note", &[], &n.text);
    }
    w.opt("cbc:DocumentCurrencyCode", doc.currency.as_deref());
    if let Some(r) = doc.reference("order") {
        w.open("cac:OrderReference", &[]);
        w.leaf("cbc:ID", &[], &r.value);
        w.close();
    }
    for (role, el) in [
        (PartyRole::Supplier, "cac:SellerSupplierParty"),
        (PartyRole::Buyer, "cac:BuyerCustomerParty"),
    ] {
        if let Some(p) = doc.party(&role) {
            w.open(el, &[]);
            party(&mut w, p);
            w.close();
        }
    }
    for (i, l) in doc.lines.iter().enumerate() {
        w.open("cac:OrderLine", &[]);
        w.open("cac:LineItem", &[]);
        let n = (i + 1).to_string();
        w.leaf("cbc:ID", &[], l.line_number.as_deref().unwrap_or(&n));
        w.opt("cbc:LineStatusCode", l.action.as_deref());
        if let Some(q) = &l.quantity {
            w.leaf("cbc:Quantity", &qty_attrs(l), &number(q.value));
        }
        if let Some(a) = l.line_amount {
            w.leaf(
                "cbc:LineExtensionAmount",
                &[("currencyID", cur)],
                &amount(a),
            );
        }
        price(&mut w, l, cur);
        item(&mut w, l, false);
        w.close();
        w.close();
    }
    Ok(w.finish())
}
