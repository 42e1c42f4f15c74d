//! UN/CEFACT CII D16B invoice writer (Factur-X / ZUGFeRD 2 EN 16931
//! profile): the XML part of a Factur-X PDF, or a standalone CII invoice.

use super::writer::{amount, number, XmlOut};
use super::WriteError;
use crate::model::{
    AllowanceCharge, AllowanceChargeKind, Document, DocumentType, Party, PartyRole,
};

const RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const RAM: &str =
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";
const QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";

/// `2024-03-01` → `20240301` (format 102).
fn d102(iso: &str) -> String {
    iso.chars().filter(char::is_ascii_digit).take(8).collect()
}

fn date_el(w: &mut XmlOut, el: &str, iso: &str) {
    w.open(el, &[]);
    w.leaf("udt:DateTimeString", &[("format", "102")], &d102(iso));
    w.close();
}

fn party(w: &mut XmlOut, el: &str, p: &Party) {
    w.open(el, &[]);
    w.opt("ram:ID", p.id.as_deref());
    if let Some(g) = &p.gln {
        w.leaf("ram:GlobalID", &[("schemeID", "0088")], g);
    }
    w.opt("ram:Name", p.name.as_deref());
    if let Some(s) = &p.siret {
        w.open("ram:SpecifiedLegalOrganization", &[]);
        w.leaf("ram:ID", &[("schemeID", "0009")], s);
        w.close();
    }
    let a = &p.address;
    if !a.is_empty() {
        w.open("ram:PostalTradeAddress", &[]);
        w.opt("ram:PostcodeCode", a.postal_code.as_deref());
        w.opt("ram:LineOne", a.street.first().map(String::as_str));
        w.opt("ram:LineTwo", a.street.get(1).map(String::as_str));
        w.opt("ram:CityName", a.city.as_deref());
        w.opt("ram:CountryID", a.country.as_deref());
        w.opt("ram:CountrySubDivisionName", a.region.as_deref());
        w.close();
    }
    if let Some(v) = &p.vat_id {
        w.open("ram:SpecifiedTaxRegistration", &[]);
        w.leaf("ram:ID", &[("schemeID", "VA")], v);
        w.close();
    }
    w.close();
}

fn allowance(w: &mut XmlOut, a: &AllowanceCharge, header: bool) {
    w.open("ram:SpecifiedTradeAllowanceCharge", &[]);
    w.open("ram:ChargeIndicator", &[]);
    let charge = a.kind == AllowanceChargeKind::Charge;
    w.leaf("udt:Indicator", &[], if charge { "true" } else { "false" });
    w.close();
    if let Some(p) = a.percentage {
        w.leaf("ram:CalculationPercent", &[], &number(p));
    }
    if let Some(b) = a.base_amount {
        w.leaf("ram:BasisAmount", &[], &amount(b));
    }
    w.leaf(
        "ram:ActualAmount",
        &[],
        &amount(a.amount.unwrap_or_default()),
    );
    w.opt("ram:ReasonCode", a.reason_code.as_deref());
    w.opt("ram:Reason", a.description.as_deref());
    if header {
        w.open("ram:CategoryTradeTax", &[]);
        w.leaf("ram:TypeCode", &[], "VAT");
        w.leaf(
            "ram:CategoryCode",
            &[],
            a.tax_category.as_deref().unwrap_or("S"),
        );
        if let Some(r) = a.tax_rate {
            w.leaf("ram:RateApplicablePercent", &[], &number(r));
        }
        w.close();
    }
    w.close();
}

/// Writes a canonical invoice or credit note as a CII D16B
/// CrossIndustryInvoice, EN 16931 (Factur-X EN 16931) profile.
pub fn write_cii_invoice(doc: &Document) -> Result<Vec<u8>, WriteError> {
    let code = match doc.document_type {
        DocumentType::Invoice => "380",
        DocumentType::CreditNote => "381",
        other => {
            return Err(WriteError::WrongType {
                format: "CII invoice",
                expected: "invoice or credit_note",
                found: other,
            })
        }
    };
    if doc.number.is_empty() {
        return Err(WriteError::Missing {
            format: "CII invoice",
            field: "number",
        });
    }
    let cur = doc.currency.as_deref().unwrap_or("EUR");
    let mut w = XmlOut::new();
    w.open(
        "rsm:CrossIndustryInvoice",
        &[
            ("xmlns:rsm", RSM),
            ("xmlns:ram", RAM),
            ("xmlns:udt", UDT),
            ("xmlns:qdt", QDT),
        ],
    );
    w.open("rsm:ExchangedDocumentContext", &[]);
    w.open("ram:GuidelineSpecifiedDocumentContextParameter", &[]);
    w.leaf("ram:ID", &[], "urn:cen.eu:en16931:2017");
    w.close();
    w.close();

    w.open("rsm:ExchangedDocument", &[]);
    w.leaf("ram:ID", &[], &doc.number);
    w.leaf(
        "ram:TypeCode",
        &[],
        doc.document_code.as_deref().unwrap_or(code),
    );
    if let Some(d) = doc.date("document") {
        date_el(&mut w, "ram:IssueDateTime", &d.value);
    }
    for n in &doc.notes {
        w.open("ram:IncludedNote", &[]);
        w.leaf("ram:Content", &[], &n.text);
        w.close();
    }
    w.close();

    w.open("rsm:SupplyChainTradeTransaction", &[]);
    for (i, l) in doc.lines.iter().enumerate() {
        w.open("ram:IncludedSupplyChainTradeLineItem", &[]);
        w.open("ram:AssociatedDocumentLineDocument", &[]);
        let n = (i + 1).to_string();
        w.leaf("ram:LineID", &[], l.line_number.as_deref().unwrap_or(&n));
        w.opt("ram:ParentLineID", l.parent_line.as_deref());
        w.close();
        w.open("ram:SpecifiedTradeProduct", &[]);
        if let Some(g) = &l.gtin {
            w.leaf("ram:GlobalID", &[("schemeID", "0160")], g);
        }
        w.opt("ram:SellerAssignedID", l.seller_item_code.as_deref());
        w.opt("ram:BuyerAssignedID", l.buyer_item_code.as_deref());
        w.leaf("ram:Name", &[], l.description.as_deref().unwrap_or(""));
        w.close();
        w.open("ram:SpecifiedLineTradeAgreement", &[]);
        if let Some(g) = l.gross_unit_price {
            w.open("ram:GrossPriceProductTradePrice", &[]);
            w.leaf("ram:ChargeAmount", &[], &number(g));
            w.close();
        }
        w.open("ram:NetPriceProductTradePrice", &[]);
        w.leaf(
            "ram:ChargeAmount",
            &[],
            &number(l.net_unit_price.unwrap_or_default()),
        );
        if let Some(b) = l.price_basis_quantity {
            w.leaf("ram:BasisQuantity", &[], &number(b));
        }
        w.close();
        w.close();
        w.open("ram:SpecifiedLineTradeDelivery", &[]);
        let unit = l.quantity.as_ref().and_then(|q| q.unit.as_deref());
        let attrs: Vec<(&str, &str)> = unit.map(|u| vec![("unitCode", u)]).unwrap_or_default();
        w.leaf(
            "ram:BilledQuantity",
            &attrs,
            &number(l.quantity.as_ref().map(|q| q.value).unwrap_or_default()),
        );
        w.close();
        w.open("ram:SpecifiedLineTradeSettlement", &[]);
        w.open("ram:ApplicableTradeTax", &[]);
        w.leaf("ram:TypeCode", &[], "VAT");
        w.leaf(
            "ram:CategoryCode",
            &[],
            l.tax_category.as_deref().unwrap_or("S"),
        );
        if let Some(r) = l.tax_rate {
            w.leaf("ram:RateApplicablePercent", &[], &number(r));
        }
        w.close();
        for a in &l.allowances_charges {
            allowance(&mut w, a, false);
        }
        w.open("ram:SpecifiedTradeSettlementLineMonetarySummation", &[]);
        w.leaf(
            "ram:LineTotalAmount",
            &[],
            &amount(l.line_amount.unwrap_or_default()),
        );
        w.close();
        w.close();
        w.close();
    }

    w.open("ram:ApplicableHeaderTradeAgreement", &[]);
    w.opt(
        "ram:BuyerReference",
        doc.reference("buyer_reference").map(|r| r.value.as_str()),
    );
    for (role, el) in [
        (PartyRole::Supplier, "ram:SellerTradeParty"),
        (PartyRole::Buyer, "ram:BuyerTradeParty"),
    ] {
        if let Some(p) = doc.party(&role) {
            party(&mut w, el, p);
        }
    }
    if let Some(r) = doc.reference("order") {
        w.open("ram:BuyerOrderReferencedDocument", &[]);
        w.leaf("ram:IssuerAssignedID", &[], &r.value);
        w.close();
    }
    if let Some(r) = doc.reference("contract") {
        w.open("ram:ContractReferencedDocument", &[]);
        w.leaf("ram:IssuerAssignedID", &[], &r.value);
        w.close();
    }
    w.close();

    w.open("ram:ApplicableHeaderTradeDelivery", &[]);
    if let Some(p) = doc.party(&PartyRole::DeliveryParty) {
        party(&mut w, "ram:ShipToTradeParty", p);
    }
    if let Some(d) = doc.date("delivery") {
        w.open("ram:ActualDeliverySupplyChainEvent", &[]);
        date_el(&mut w, "ram:OccurrenceDateTime", &d.value);
        w.close();
    }
    w.close();

    w.open("ram:ApplicableHeaderTradeSettlement", &[]);
    w.leaf("ram:InvoiceCurrencyCode", &[], cur);
    for t in &doc.tax_subtotals {
        w.open("ram:ApplicableTradeTax", &[]);
        w.leaf(
            "ram:CalculatedAmount",
            &[],
            &amount(t.tax_amount.unwrap_or_default()),
        );
        w.leaf("ram:TypeCode", &[], "VAT");
        w.opt("ram:ExemptionReason", t.exemption_reason.as_deref());
        w.leaf(
            "ram:BasisAmount",
            &[],
            &amount(t.taxable_amount.unwrap_or_default()),
        );
        w.leaf(
            "ram:CategoryCode",
            &[],
            t.category.as_deref().unwrap_or("S"),
        );
        if let Some(r) = t.rate {
            w.leaf("ram:RateApplicablePercent", &[], &number(r));
        }
        w.close();
    }
    for a in &doc.allowances_charges {
        allowance(&mut w, a, true);
    }
    let due = doc.date("due").map(|d| d.value.clone());
    let terms = doc.payment_terms.iter().find_map(|t| t.description.clone());
    if due.is_some() || terms.is_some() {
        w.open("ram:SpecifiedTradePaymentTerms", &[]);
        w.opt("ram:Description", terms.as_deref());
        if let Some(d) = &due {
            date_el(&mut w, "ram:DueDateDateTime", d);
        }
        w.close();
    }
    let t = &doc.totals;
    w.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation", &[]);
    w.leaf(
        "ram:LineTotalAmount",
        &[],
        &amount(t.line_total.unwrap_or_default()),
    );
    if let Some(c) = t.charge_total {
        w.leaf("ram:ChargeTotalAmount", &[], &amount(c));
    }
    if let Some(a) = t.allowance_total {
        w.leaf("ram:AllowanceTotalAmount", &[], &amount(a));
    }
    w.leaf(
        "ram:TaxBasisTotalAmount",
        &[],
        &amount(t.tax_exclusive.unwrap_or_default()),
    );
    w.leaf(
        "ram:TaxTotalAmount",
        &[("currencyID", cur)],
        &amount(t.tax_total.unwrap_or_default()),
    );
    w.leaf(
        "ram:GrandTotalAmount",
        &[],
        &amount(t.tax_inclusive.unwrap_or_default()),
    );
    if let Some(p) = t.prepaid {
        w.leaf("ram:TotalPrepaidAmount", &[], &amount(p));
    }
    w.leaf(
        "ram:DuePayableAmount",
        &[],
        &amount(t.payable.or(t.tax_inclusive).unwrap_or_default()),
    );
    w.close();
    w.close();
    w.close();
    Ok(w.finish())
}
