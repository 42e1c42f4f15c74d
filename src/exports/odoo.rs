//! Reading Odoo records and turning them into canonical documents: confirmed
//! sale orders → order responses, validated deliveries → despatch advices,
//! posted customer invoices and credit notes → invoices, on-hand stock →
//! inventory reports.
//!
//! [`OdooReader`] does the reading (with the Odoo sink's client and
//! settings, so lookups use the same partner fields and unit table as the
//! inbound direction); the `*_document` functions are pure and build the
//! [`Document`] from the records read. Field names follow the facts of
//! `shared/odoo-api.md`: the sale line's unit is `product_uom` up to 18 and
//! `product_uom_id` from 19; a stock move's done quantity is `quantity_done`
//! in 16 and `quantity` from 17.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

use crate::config::{ExportCompany, OdooSink as OdooConfig};
use crate::model::{
    Address, DateEntry, Document, DocumentType, Line, MessageFunction, Party, PartyRole, Quantity,
    Reference, TaxSubtotal, Totals,
};
use crate::sinks::odoo::{OdooClient, OdooError};

/// An Odoo record as read (field → value).
pub type Record = Map<String, Value>;

/// A number field as a `Decimal` (Odoo sends floats; their shortest
/// decimal form is the value the user typed).
pub fn dec(v: Option<&Value>) -> Option<Decimal> {
    match v? {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        _ => None,
    }
}

/// A text field (`false` and empty strings are absent).
pub fn text(v: Option<&Value>) -> Option<String> {
    v?.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The id of a many2one value (`[id, "name"]`, or a bare id).
pub fn m2o_id(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Array(a) => a.first()?.as_i64(),
        other => other.as_i64(),
    }
}

/// The display name of a many2one value.
pub fn m2o_name(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Array(a) => text(a.get(1)),
        _ => None,
    }
}

/// Rounded to cents, half away from zero.
fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The date part of an Odoo date or datetime.
fn day(v: Option<&Value>) -> Option<String> {
    let s = text(v)?;
    let d = s.get(..10)?;
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    Some(d.to_string())
}

/// What the documents need of a product.
#[derive(Debug, Clone, Default)]
pub struct Product {
    pub name: Option<String>,
    pub barcode: Option<String>,
    pub default_code: Option<String>,
}

/// What the documents need of a partner (customer or delivery address).
#[derive(Debug, Clone, Default)]
pub struct PartnerInfo {
    pub name: Option<String>,
    /// The first of the sink's `partner_fields` (but `vat`) that is set.
    pub gln: Option<String>,
    pub vat: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
}

/// Our company and the partner, as the documents name them.
#[derive(Debug, Clone)]
pub struct Parties {
    pub company: ExportCompany,
    /// The partner's GLN (its first configured identifier).
    pub partner_gln: String,
    /// The partner as Odoo knows it (name, VAT id, address).
    pub partner: PartnerInfo,
}

impl Parties {
    fn ours(&self, role: PartyRole) -> Party {
        let c = &self.company;
        let mut p = Party::new(role);
        p.gln = Some(c.gln.clone());
        p.name.clone_from(&c.name);
        p.vat_id.clone_from(&c.vat_id);
        p.address = Address {
            street: c.street.iter().cloned().collect(),
            city: c.city.clone(),
            postal_code: c.postcode.clone(),
            country: c.country.clone(),
            ..Address::default()
        };
        p
    }

    fn theirs(&self, role: PartyRole) -> Party {
        let mut p = party_from(role, &self.partner);
        p.gln = Some(self.partner_gln.clone());
        p
    }
}

fn party_from(role: PartyRole, info: &PartnerInfo) -> Party {
    let mut p = Party::new(role);
    p.gln.clone_from(&info.gln);
    p.name.clone_from(&info.name);
    p.vat_id.clone_from(&info.vat);
    p.address = Address {
        street: info.street.iter().cloned().collect(),
        city: info.city.clone(),
        postal_code: info.zip.clone(),
        country: info.country.clone(),
        ..Address::default()
    };
    p
}

/// Sorted ids without repeats.
fn unique(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
    ids.into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Reads what the exports need from one Odoo server.
#[derive(Debug, Clone, Copy)]
pub struct OdooReader<'a> {
    pub client: &'a OdooClient,
    pub cfg: &'a OdooConfig,
}

impl OdooReader<'_> {
    /// `res.partner` ids carrying one of `identifiers` (GLNs) in the
    /// configured partner fields, with their child contacts (delivery
    /// addresses, invoicing contacts).
    pub async fn customers(&self, identifiers: &[String]) -> Result<Vec<i64>, OdooError> {
        let mut ids = BTreeSet::new();
        for field in self.cfg.partner_fields.iter().filter(|f| *f != "vat") {
            let found = self
                .client
                .search("res.partner", json!([[field, "in", identifiers]]), None)
                .await?;
            ids.extend(found);
        }
        if !ids.is_empty() {
            let parents: Vec<i64> = ids.iter().copied().collect();
            let children = self
                .client
                .search("res.partner", json!([["parent_id", "in", parents]]), None)
                .await?;
            ids.extend(children);
        }
        Ok(ids.into_iter().collect())
    }

    /// Products by id.
    pub async fn products(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, Product>, OdooError> {
        let ids = unique(ids);
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = self
            .client
            .search_read(
                "product.product",
                json!([["id", "in", ids], ["active", "in", [true, false]]]),
                &["name", "barcode", "default_code"],
                None,
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.get("id")?.as_i64()?,
                    Product {
                        name: text(r.get("name")),
                        barcode: text(r.get("barcode")),
                        default_code: text(r.get("default_code")),
                    },
                ))
            })
            .collect())
    }

    /// Partners by id (name, GLN per the partner fields, VAT id, address).
    pub async fn partners(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, PartnerInfo>, OdooError> {
        let ids = unique(ids);
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut fields: Vec<&str> = vec!["name", "vat", "street", "city", "zip", "country_id"];
        for f in &self.cfg.partner_fields {
            if f != "vat" && !fields.contains(&f.as_str()) {
                fields.push(f);
            }
        }
        let rows = self
            .client
            .search_read("res.partner", json!([["id", "in", ids]]), &fields, None)
            .await?;
        let countries: BTreeSet<i64> = rows
            .iter()
            .filter_map(|r| m2o_id(r.get("country_id")))
            .collect();
        let codes: HashMap<i64, String> = if countries.is_empty() {
            HashMap::new()
        } else {
            let ids: Vec<i64> = countries.into_iter().collect();
            self.client
                .search_read("res.country", json!([["id", "in", ids]]), &["code"], None)
                .await?
                .iter()
                .filter_map(|r| Some((r.get("id")?.as_i64()?, text(r.get("code"))?)))
                .collect()
        };
        Ok(rows
            .iter()
            .filter_map(|r| {
                let id = r.get("id")?.as_i64()?;
                let gln = self
                    .cfg
                    .partner_fields
                    .iter()
                    .filter(|f| *f != "vat")
                    .find_map(|f| text(r.get(f.as_str())));
                Some((
                    id,
                    PartnerInfo {
                        name: text(r.get("name")),
                        gln,
                        vat: text(r.get("vat")),
                        street: text(r.get("street")),
                        city: text(r.get("city")),
                        zip: text(r.get("zip")),
                        country: m2o_id(r.get("country_id")).and_then(|c| codes.get(&c).cloned()),
                    },
                ))
            })
            .collect())
    }

    /// Records of `model` matching `domain`, with `fields`.
    pub async fn read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
    ) -> Result<Vec<Record>, OdooError> {
        self.client.search_read(model, domain, fields, None).await
    }

    /// The sale line's unit field for this version.
    pub fn sale_uom_field(&self) -> &'static str {
        if self.cfg.version >= 19 {
            "product_uom_id"
        } else {
            "product_uom"
        }
    }

    /// The stock move's done quantity field for this version.
    pub fn move_quantity_field(&self) -> &'static str {
        if self.cfg.version >= 17 {
            "quantity"
        } else {
            "quantity_done"
        }
    }

    /// UN/ECE unit code of an Odoo unit name, from the sink's `units` table.
    pub fn unit_code(&self, uom: Option<&Value>) -> Option<String> {
        let name = m2o_name(uom)?;
        self.cfg
            .units
            .iter()
            .find(|(_, n)| **n == name)
            .map(|(code, _)| code.clone())
    }
}

/// A line's item identification from its product.
fn item(line: &mut Line, product: Option<&Product>, label: Option<String>) {
    if let Some(p) = product {
        line.gtin.clone_from(&p.barcode);
        line.seller_item_code.clone_from(&p.default_code);
    }
    line.description = label.or_else(|| product.and_then(|p| p.name.clone()));
}

/// The ORDRSP for a confirmed `sale.order` and its lines: every line
/// accepted with Odoo's quantity and price (net of the line discount).
pub fn order_response_document(
    reader: &OdooReader<'_>,
    order: &Record,
    lines: &[Record],
    products: &HashMap<i64, Product>,
    delivery: Option<&PartnerInfo>,
    parties: &Parties,
    today: NaiveDate,
) -> Document {
    let number = text(order.get("name")).unwrap_or_default();
    let mut d = Document::new(DocumentType::OrderResponse, number);
    d.document_code = Some("231".into());
    d.function = Some(MessageFunction::Original);
    d.response_code = Some(crate::respond::response_code::ACCEPTED.into());
    d.currency = m2o_name(order.get("currency_id"));
    d.dates.push(DateEntry {
        kind: "document".into(),
        value: today.format("%Y-%m-%d").to_string(),
    });
    if let Some(c) = day(order.get("commitment_date")) {
        d.dates.push(DateEntry {
            kind: "delivery".into(),
            value: c,
        });
    }
    d.references.push(Reference {
        kind: "order".into(),
        value: text(order.get("client_order_ref")).unwrap_or_default(),
        date: day(order.get("date_order")),
    });
    d.parties.push(parties.theirs(PartyRole::Buyer));
    d.parties.push(parties.ours(PartyRole::Supplier));
    if let Some(dp) = delivery.filter(|p| p.gln.is_some()) {
        d.parties.push(party_from(PartyRole::DeliveryParty, dp));
    }
    let uom = reader.sale_uom_field();
    for (i, r) in lines.iter().enumerate() {
        let mut l = Line {
            line_number: Some((i + 1).to_string()),
            action: Some(crate::respond::line_action::ACCEPTED.into()),
            ..Line::default()
        };
        let product = m2o_id(r.get("product_id")).and_then(|p| products.get(&p));
        item(&mut l, product, text(r.get("name")));
        let qty = dec(r.get("product_uom_qty")).unwrap_or_default();
        l.quantity = Some(Quantity {
            kind: None,
            value: qty,
            unit: reader.unit_code(r.get(uom)),
        });
        let price = dec(r.get("price_unit"));
        let discount = dec(r.get("discount")).unwrap_or_default();
        l.gross_unit_price = price.filter(|_| !discount.is_zero());
        l.net_unit_price = price
            .map(|p| (p * (Decimal::ONE_HUNDRED - discount) / Decimal::ONE_HUNDRED).normalize());
        l.line_amount = dec(r.get("price_subtotal")).map(money);
        d.lines.push(l);
    }
    d.totals = Totals {
        line_total: dec(order.get("amount_untaxed")).map(money),
        tax_exclusive: dec(order.get("amount_untaxed")).map(money),
        tax_total: dec(order.get("amount_tax")).map(money),
        tax_inclusive: dec(order.get("amount_total")).map(money),
        ..Totals::default()
    };
    d
}

/// The DESADV for a validated outgoing `stock.picking` and its moves.
#[allow(clippy::too_many_arguments)]
pub fn despatch_document(
    reader: &OdooReader<'_>,
    picking: &Record,
    moves: &[Record],
    products: &HashMap<i64, Product>,
    order_ref: Option<String>,
    delivery: Option<&PartnerInfo>,
    parties: &Parties,
    today: NaiveDate,
) -> Document {
    let number = text(picking.get("name")).unwrap_or_default();
    let mut d = Document::new(DocumentType::DespatchAdvice, number);
    d.document_code = Some("351".into());
    d.function = Some(MessageFunction::Original);
    let done = day(picking.get("date_done"));
    d.dates.push(DateEntry {
        kind: "document".into(),
        value: today.format("%Y-%m-%d").to_string(),
    });
    if let Some(done) = done {
        d.dates.push(DateEntry {
            kind: "despatch".into(),
            value: done,
        });
    }
    if let Some(o) = order_ref {
        d.references.push(Reference {
            kind: "order".into(),
            value: o,
            date: None,
        });
    }
    d.parties.push(parties.theirs(PartyRole::Buyer));
    d.parties.push(parties.ours(PartyRole::Supplier));
    if let Some(dp) = delivery.filter(|p| p.gln.is_some()) {
        d.parties.push(party_from(PartyRole::DeliveryParty, dp));
    }
    let qty_field = reader.move_quantity_field();
    for r in moves {
        let qty = dec(r.get(qty_field)).unwrap_or_default();
        if qty.is_zero() {
            continue;
        }
        let mut l = Line {
            line_number: Some((d.lines.len() + 1).to_string()),
            ..Line::default()
        };
        let product = m2o_id(r.get("product_id")).and_then(|p| products.get(&p));
        item(&mut l, product, None);
        l.quantity = Some(Quantity {
            kind: None,
            value: qty,
            unit: reader.unit_code(r.get("product_uom")),
        });
        d.lines.push(l);
    }
    d
}

/// A tax as the invoice lines need it.
#[derive(Debug, Clone)]
pub struct Tax {
    /// Percentage (`amount_type = percent`).
    pub rate: Decimal,
}

/// The INVOIC for a posted `out_invoice` / `out_refund` and its product
/// lines. VAT per rate is computed on the sum of the line amounts, as the
/// brief requires; the totals are Odoo's.
#[allow(clippy::too_many_arguments)]
pub fn invoice_document(
    reader: &OdooReader<'_>,
    mv: &Record,
    lines: &[Record],
    products: &HashMap<i64, Product>,
    taxes: &HashMap<i64, Tax>,
    delivery: Option<&PartnerInfo>,
    parties: &Parties,
) -> Document {
    let number = text(mv.get("name")).unwrap_or_default();
    let refund = mv.get("move_type").and_then(Value::as_str) == Some("out_refund");
    let mut d = Document::new(
        if refund {
            DocumentType::CreditNote
        } else {
            DocumentType::Invoice
        },
        number,
    );
    d.document_code = Some(if refund { "381" } else { "380" }.into());
    d.function = Some(MessageFunction::Original);
    d.currency = m2o_name(mv.get("currency_id"));
    if let Some(date) = day(mv.get("invoice_date")) {
        d.dates.push(DateEntry {
            kind: "document".into(),
            value: date,
        });
    }
    if let Some(due) = day(mv.get("invoice_date_due")) {
        d.dates.push(DateEntry {
            kind: "due".into(),
            value: due,
        });
    }
    if let Some(r) = text(mv.get("ref")) {
        d.references.push(Reference {
            kind: "order".into(),
            value: r,
            date: None,
        });
    }
    let mut buyer = parties.theirs(PartyRole::Buyer);
    buyer.vat_id = buyer.vat_id.or_else(|| parties.partner.vat.clone());
    d.parties.push(buyer);
    d.parties.push(parties.ours(PartyRole::Supplier));
    if let Some(dp) = delivery.filter(|p| p.gln.is_some()) {
        d.parties.push(party_from(PartyRole::DeliveryParty, dp));
    }
    let mut per_rate: BTreeMap<Decimal, Decimal> = BTreeMap::new();
    for r in lines {
        let mut l = Line {
            line_number: Some((d.lines.len() + 1).to_string()),
            ..Line::default()
        };
        let product = m2o_id(r.get("product_id")).and_then(|p| products.get(&p));
        item(&mut l, product, text(r.get("name")));
        let qty = dec(r.get("quantity")).unwrap_or_default();
        l.quantity = Some(Quantity {
            kind: None,
            value: qty,
            unit: reader.unit_code(r.get("product_uom_id")),
        });
        let price = dec(r.get("price_unit"));
        let discount = dec(r.get("discount")).unwrap_or_default();
        l.gross_unit_price = price.filter(|_| !discount.is_zero());
        l.net_unit_price = price
            .map(|p| (p * (Decimal::ONE_HUNDRED - discount) / Decimal::ONE_HUNDRED).normalize());
        let amount = dec(r.get("price_subtotal")).map(money).unwrap_or_default();
        l.line_amount = Some(amount);
        let rate = r
            .get("tax_ids")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .filter_map(Value::as_i64)
                    .find_map(|t| taxes.get(&t))
            })
            .map(|t| t.rate.normalize())
            .unwrap_or_default();
        l.tax_rate = Some(rate);
        l.tax_category = Some(if rate.is_zero() { "Z" } else { "S" }.into());
        *per_rate.entry(rate).or_default() += amount;
        d.lines.push(l);
    }
    for (rate, base) in &per_rate {
        d.tax_subtotals.push(TaxSubtotal {
            category: Some(if rate.is_zero() { "Z" } else { "S" }.into()),
            rate: Some(*rate),
            taxable_amount: Some(*base),
            tax_amount: Some(money(*base * *rate / Decimal::ONE_HUNDRED)),
            exemption_reason: None,
        });
    }
    let untaxed = dec(mv.get("amount_untaxed")).map(money);
    let total = dec(mv.get("amount_total")).map(money);
    d.totals = Totals {
        line_total: untaxed,
        tax_exclusive: untaxed,
        tax_total: dec(mv.get("amount_tax")).map(money),
        tax_inclusive: total,
        payable: total,
        ..Totals::default()
    };
    d
}

/// The INVRPT of on-hand stock: one line per product with a quant in an
/// internal location, its quantity and what is free of reservations.
pub fn stock_document(
    number: String,
    quants: &[Record],
    products: &HashMap<i64, Product>,
    parties: &Parties,
    today: NaiveDate,
) -> Document {
    let mut d = Document::new(DocumentType::StockReport, number);
    d.document_code = Some("35".into());
    d.function = Some(MessageFunction::Original);
    d.dates.push(DateEntry {
        kind: "document".into(),
        value: today.format("%Y-%m-%d").to_string(),
    });
    d.parties.push(parties.ours(PartyRole::Supplier));
    d.parties.push(parties.theirs(PartyRole::Buyer));
    let mut per_product: BTreeMap<i64, (Decimal, Decimal)> = BTreeMap::new();
    for q in quants {
        let Some(p) = m2o_id(q.get("product_id")) else {
            continue;
        };
        let e = per_product.entry(p).or_default();
        e.0 += dec(q.get("quantity")).unwrap_or_default();
        e.1 += dec(q.get("reserved_quantity")).unwrap_or_default();
    }
    for (p, (qty, reserved)) in per_product {
        let product = products.get(&p);
        if product.and_then(|p| p.barcode.as_ref()).is_none() {
            // A partner can only read items it can identify (GTIN).
            continue;
        }
        let mut l = Line {
            line_number: Some((d.lines.len() + 1).to_string()),
            ..Line::default()
        };
        item(&mut l, product, None);
        l.quantity = Some(Quantity {
            kind: None,
            value: qty.normalize(),
            unit: Some("PCE".into()),
        });
        l.other_quantities.push(Quantity {
            kind: Some("available".into()),
            value: (qty - reserved).max(Decimal::ZERO).normalize(),
            unit: Some("PCE".into()),
        });
        d.lines.push(l);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_odoo_json() {
        assert_eq!(dec(Some(&json!(4.2))), Decimal::from_str("4.2").ok());
        assert_eq!(dec(Some(&json!(24))), Some(Decimal::from(24)));
        assert_eq!(dec(Some(&json!(false))), None);
        assert_eq!(text(Some(&json!(false))), None);
        assert_eq!(text(Some(&json!(" x "))), Some("x".into()));
        assert_eq!(m2o_id(Some(&json!([7, "Units"]))), Some(7));
        assert_eq!(m2o_name(Some(&json!([7, "Units"]))), Some("Units".into()));
        assert_eq!(m2o_name(Some(&json!(false))), None);
        assert_eq!(
            day(Some(&json!("2026-03-10 08:00:00"))),
            Some("2026-03-10".into())
        );
        assert_eq!(day(Some(&json!("soon"))), None);
        assert_eq!(
            money(Decimal::from_str("2.345").unwrap_or_default()).to_string(),
            "2.35"
        );
    }
}
