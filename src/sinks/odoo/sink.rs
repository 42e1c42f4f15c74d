//! Order and vendor-bill logic: canonical documents → `sale.order` and
//! `account.move` records, idempotently.
//!
//! - The customer is found by the buyer's GLN in the configured
//!   `res.partner` fields (in order; `vat` matches the VAT id); the delivery
//!   party is a child contact with `type = delivery`, created when allowed.
//! - Products are found by GTIN (`barcode`), the seller's article number
//!   (`default_code`), then the partner's code table.
//! - `client_order_ref` (the buyer's order number) with the customer is the
//!   idempotency key: an order already in Odoo is never created again. A
//!   replacement (BGM 5) rewrites the lines of a draft order, or of a
//!   confirmed one with nothing delivered or invoiced yet (cancelled and
//!   set back to draft first, then confirmed again); a cancellation (BGM 1)
//!   cancels it.
//! - Partner, product and unit ids are cached for `cache_ttl_secs`; an
//!   unknown partner or product is a permanent error naming what was searched.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::client::OdooClient;
use super::errors::OdooError;
use crate::config::{OdooPrices, OdooSink as OdooConfig};
use crate::model::{Document, DocumentType, Line, MessageFunction, Party, PartyRole};

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created { model: &'static str, id: i64 },
    AlreadyThere { model: &'static str, id: i64 },
    Updated { id: i64 },
    Cancelled { id: i64 },
    Skipped(String),
}

/// (model, field, value) of a cached lookup.
type CacheKey = (String, String, String);

/// The sink's state shared by deliveries: client, settings and caches.
#[derive(Debug)]
pub struct OdooOrders {
    pub client: OdooClient,
    cfg: OdooConfig,
    cache: Mutex<HashMap<CacheKey, (i64, Instant)>>,
}

/// Odoo datetimes are naive UTC `YYYY-MM-DD HH:MM:SS`.
fn odoo_datetime(iso: &str) -> Option<String> {
    let date = iso.get(..10)?;
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let time = iso
        .get(11..16)
        .filter(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok())
        .unwrap_or("00:00");
    Some(format!("{date} {time}:00"))
}

fn num(d: Decimal) -> Value {
    // Odoo takes floats; Decimal → f64 keeps every value the model holds.
    match d.normalize().to_i64() {
        Some(i) if Decimal::from(i) == d => json!(i),
        _ => json!(d.to_f64().unwrap_or(0.0)),
    }
}

fn party_label(p: &Party) -> String {
    let id = p
        .gln
        .as_deref()
        .or(p.vat_id.as_deref())
        .or(p.id.as_deref())
        .unwrap_or("no identifier");
    match &p.name {
        Some(n) => format!("{id} ({n})"),
        None => id.to_string(),
    }
}

impl OdooOrders {
    pub fn new(client: OdooClient, cfg: OdooConfig) -> OdooOrders {
        OdooOrders {
            client,
            cfg,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, model: &str, field: &str, value: &str) -> Option<i64> {
        let ttl = Duration::from_secs(self.cfg.cache_ttl_secs);
        let key = (model.to_string(), field.to_string(), value.to_string());
        let cache = self.cache.lock().ok()?;
        cache
            .get(&key)
            .filter(|(_, at)| at.elapsed() < ttl)
            .map(|(id, _)| *id)
    }

    fn remember(&self, model: &str, field: &str, value: &str, id: i64) {
        if self.cfg.cache_ttl_secs == 0 {
            return;
        }
        if let Ok(mut c) = self.cache.lock() {
            c.insert(
                (model.to_string(), field.to_string(), value.to_string()),
                (id, Instant::now()),
            );
        }
    }

    /// The sink's settings (server, version, lookup fields, units).
    pub fn config(&self) -> &OdooConfig {
        &self.cfg
    }

    /// Drops cached ids (after ops fixed master data, in tests).
    pub fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// First record of `model` with `field = value` (and `extra` terms), cached.
    async fn find(
        &self,
        model: &str,
        field: &str,
        value: &str,
        extra: &[Value],
    ) -> Result<Option<i64>, OdooError> {
        let scope = if extra.is_empty() {
            field.to_string()
        } else {
            format!("{field}{}", Value::Array(extra.to_vec()))
        };
        if let Some(id) = self.cached(model, &scope, value) {
            return Ok(Some(id));
        }
        let mut domain = vec![json!([field, "=", value])];
        domain.extend(extra.iter().cloned());
        let ids = self
            .client
            .search(model, Value::Array(domain), Some(1))
            .await?;
        let id = ids.first().copied();
        if let Some(id) = id {
            self.remember(model, &scope, value, id);
        }
        Ok(id)
    }

    /// The partner of a party by the configured fields; what was tried.
    async fn find_partner(
        &self,
        p: &Party,
        extra: &[Value],
    ) -> Result<(Option<i64>, Vec<String>), OdooError> {
        let mut tried = Vec::new();
        for field in &self.cfg.partner_fields {
            let value = if field == "vat" {
                p.vat_id.as_deref()
            } else {
                p.gln.as_deref().or(p.id.as_deref())
            };
            let Some(value) = value else { continue };
            tried.push(format!("{field} = {value}"));
            if let Some(id) = self.find("res.partner", field, value, extra).await? {
                return Ok((Some(id), tried));
            }
        }
        Ok((None, tried))
    }

    async fn customer(
        &self,
        doc: &Document,
        role: PartyRole,
        what: &str,
    ) -> Result<i64, OdooError> {
        let party = doc.party(&role).ok_or_else(|| {
            OdooError::Missing(format!(
                "{} {}: no {what} party in the document",
                doc.document_type, doc.number
            ))
        })?;
        let (id, tried) = self.find_partner(party, &[]).await?;
        id.ok_or_else(|| {
            OdooError::Missing(format!(
                "unknown {what} {}: no res.partner with {}",
                party_label(party),
                if tried.is_empty() {
                    "an identifier to search".to_string()
                } else {
                    tried.join(" or ")
                }
            ))
        })
    }

    /// The delivery address: a child contact of the customer, created when
    /// allowed; the customer itself when none is given or found.
    async fn delivery(&self, doc: &Document, customer: i64) -> Result<Option<i64>, OdooError> {
        let Some(dp) = doc.party(&PartyRole::DeliveryParty) else {
            return Ok(None);
        };
        let (id, _) = self.find_partner(dp, &[]).await?;
        if id.is_some() {
            return Ok(id);
        }
        let gln = dp.gln.as_deref().or(dp.id.as_deref());
        let (Some(gln), true) = (gln, self.cfg.create_delivery_addresses) else {
            tracing::warn!(
                order = %doc.number,
                "delivery party {} is not in Odoo: the customer's address is used",
                party_label(dp)
            );
            return Ok(None);
        };
        let field = self
            .cfg
            .partner_fields
            .iter()
            .find(|f| *f != "vat")
            .map_or("ref", String::as_str);
        let mut vals = Map::new();
        vals.insert("parent_id".into(), json!(customer));
        vals.insert("type".into(), json!("delivery"));
        vals.insert(
            "name".into(),
            json!(dp.name.clone().unwrap_or_else(|| gln.to_string())),
        );
        vals.insert(field.into(), json!(gln));
        let a = &dp.address;
        if let Some(s) = a.street.first() {
            vals.insert("street".into(), json!(s));
        }
        if let Some(s) = a.street.get(1) {
            vals.insert("street2".into(), json!(s));
        }
        if let Some(c) = &a.city {
            vals.insert("city".into(), json!(c));
        }
        if let Some(z) = &a.postal_code {
            vals.insert("zip".into(), json!(z));
        }
        if let Some(c) = &a.country {
            if let Some(cid) = self.find("res.country", "code", c, &[]).await? {
                vals.insert("country_id".into(), json!(cid));
            }
        }
        let id = self
            .client
            .create("res.partner", Value::Object(vals))
            .await?;
        self.remember("res.partner", field, gln, id);
        Ok(Some(id))
    }

    async fn product(&self, line: &Line, partner: Option<&str>) -> Result<Option<i64>, OdooError> {
        for field in &self.cfg.product_fields {
            let value = match field.as_str() {
                "barcode" => line.gtin.as_deref(),
                _ => line.seller_item_code.as_deref(),
            };
            if let Some(v) = value {
                if let Some(id) = self.find("product.product", field, v, &[]).await? {
                    return Ok(Some(id));
                }
            }
        }
        if let Some(table) = partner.and_then(|p| self.cfg.product_codes.get(p)) {
            for key in [line.buyer_item_code.as_deref(), line.gtin.as_deref()]
                .into_iter()
                .flatten()
            {
                if let Some(code) = table.get(key) {
                    if let Some(id) = self
                        .find("product.product", "default_code", code, &[])
                        .await?
                    {
                        return Ok(Some(id));
                    }
                }
            }
        }
        Ok(None)
    }

    fn product_missing(&self, line: &Line, i: usize) -> OdooError {
        let mut ids = Vec::new();
        if let Some(g) = &line.gtin {
            ids.push(format!("GTIN {g}"));
        }
        if let Some(s) = &line.seller_item_code {
            ids.push(format!("seller code {s}"));
        }
        if let Some(b) = &line.buyer_item_code {
            ids.push(format!("buyer code {b}"));
        }
        OdooError::Missing(format!(
            "unknown product on line {}: no product.product with {} (searched {})",
            line.line_number
                .clone()
                .unwrap_or_else(|| (i + 1).to_string()),
            if ids.is_empty() {
                "an identifier".to_string()
            } else {
                ids.join(", ")
            },
            self.cfg.product_fields.join(", ")
        ))
    }

    async fn uom(&self, unit: Option<&str>) -> Result<Option<i64>, OdooError> {
        let Some(name) = unit.and_then(|u| self.cfg.units.get(u)) else {
            return Ok(None);
        };
        match self.find("uom.uom", "name", name, &[]).await? {
            Some(id) => Ok(Some(id)),
            None => Err(OdooError::Missing(format!(
                "unknown unit: no uom.uom named {name:?}"
            ))),
        }
    }

    /// The line's unit field: `product_uom` up to 18, `product_uom_id` from 19.
    fn uom_field(&self) -> &'static str {
        if self.cfg.version >= 19 {
            "product_uom_id"
        } else {
            "product_uom"
        }
    }

    /// Price and discount of line `i` per the configured source.
    fn prices(
        &self,
        line: &Line,
        priced: Option<&Value>,
        i: usize,
    ) -> (Option<Value>, Option<Value>) {
        let dec = |v: &Value| v.as_str().and_then(|s| s.parse::<Decimal>().ok());
        match self.cfg.prices {
            OdooPrices::Odoo => (None, None),
            OdooPrices::Document => (line.net_unit_price.map(num), None),
            OdooPrices::Comptoir => {
                let pl = priced.and_then(|p| {
                    p["lines"]
                        .as_array()?
                        .iter()
                        .find(|l| l["index"].as_u64() == Some(i as u64) && l["status"] == "priced")
                });
                if let Some(pl) = pl {
                    if let Some(list) = dec(&pl["list_price"]) {
                        let disc = dec(&pl["total_discount_percent"]).unwrap_or_default();
                        return (Some(num(list)), Some(num(disc)));
                    }
                    if let Some(net) = dec(&pl["net_unit_price"]) {
                        return (Some(num(net)), Some(json!(0)));
                    }
                }
                match (line.gross_unit_price, line.net_unit_price) {
                    (Some(g), Some(n)) if g > Decimal::ZERO && n <= g => {
                        let d = ((g - n) / g * Decimal::ONE_HUNDRED).round_dp(4);
                        (Some(num(g)), Some(num(d)))
                    }
                    (_, Some(n)) => (Some(num(n)), None),
                    (Some(g), None) => (Some(num(g)), None),
                    (None, None) => (None, None),
                }
            }
        }
    }

    async fn order_lines(
        &self,
        doc: &Document,
        priced: Option<&Value>,
        partner: Option<&str>,
    ) -> Result<Vec<Value>, OdooError> {
        let mut out = Vec::new();
        for (i, line) in doc.lines.iter().enumerate() {
            if line.parent_line.is_some() {
                continue;
            }
            let product = self
                .product(line, partner)
                .await?
                .ok_or_else(|| self.product_missing(line, i))?;
            let mut vals = Map::new();
            vals.insert("product_id".into(), json!(product));
            let qty = line.quantity.as_ref().map_or(Decimal::ONE, |q| q.value);
            vals.insert("product_uom_qty".into(), num(qty));
            if let Some(u) = self
                .uom(line.quantity.as_ref().and_then(|q| q.unit.as_deref()))
                .await?
            {
                vals.insert(self.uom_field().into(), json!(u));
            }
            let (price, discount) = self.prices(line, priced, i);
            if let Some(p) = price {
                vals.insert("price_unit".into(), p);
            }
            if let Some(d) = discount {
                vals.insert("discount".into(), d);
            }
            out.push(json!([0, 0, Value::Object(vals)]));
        }
        Ok(out)
    }

    async fn existing_order(
        &self,
        customer: i64,
        number: &str,
    ) -> Result<Option<(i64, String)>, OdooError> {
        let found = self
            .client
            .search_read(
                "sale.order",
                json!([
                    ["partner_id", "=", customer],
                    ["client_order_ref", "=", number]
                ]),
                &["name", "state"],
                Some(1),
            )
            .await?;
        Ok(found.first().and_then(|r| {
            Some((
                r.get("id")?.as_i64()?,
                r.get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("draft")
                    .to_string(),
            ))
        }))
    }

    async fn state(&self, id: i64) -> Result<String, OdooError> {
        let r = self
            .client
            .search_read("sale.order", json!([["id", "=", id]]), &["state"], Some(1))
            .await?;
        r.first()
            .and_then(|r| r.get("state"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| OdooError::Protocol(format!("sale.order {id} has disappeared")))
    }

    async fn confirm(&self, id: i64) -> Result<(), OdooError> {
        self.client
            .call_method("sale.order", "action_confirm", &[id])
            .await?;
        // XML-RPC may answer "cannot marshal None" though the change was
        // committed: the state says what happened.
        let state = self.state(id).await?;
        if state == "sale" || state == "done" {
            Ok(())
        } else {
            Err(OdooError::Conflict(format!(
                "sale.order {id} is {state} after action_confirm"
            )))
        }
    }

    /// Puts a confirmed order back to draft so a replacement can rewrite
    /// it: refused when something was already delivered or invoiced (that
    /// needs a person in Odoo); otherwise `action_cancel` (Odoo cancels the
    /// pending deliveries) then `action_draft`, each checked by reading the
    /// state back.
    async fn reopen(&self, id: i64, number: &str) -> Result<(), OdooError> {
        let lines = self
            .client
            .search_read(
                "sale.order.line",
                json!([["order_id", "=", id]]),
                &["qty_delivered", "qty_invoiced"],
                None,
            )
            .await?;
        let moved = |f: &str| {
            lines
                .iter()
                .filter(|l| l.get(f).and_then(Value::as_f64).unwrap_or(0.0) > 0.0)
                .count()
        };
        let (delivered, invoiced) = (moved("qty_delivered"), moved("qty_invoiced"));
        if delivered + invoiced > 0 {
            return Err(OdooError::Conflict(format!(
                "replacement of order {number}: sale.order {id} is confirmed and already has \
                 {delivered} delivered and {invoiced} invoiced line(s); change it in Odoo"
            )));
        }
        for (method, want) in [("action_cancel", "cancel"), ("action_draft", "draft")] {
            self.client.call_method("sale.order", method, &[id]).await?;
            let s = self.state(id).await?;
            if s != want {
                return Err(OdooError::Conflict(format!(
                    "replacement of order {number}: sale.order {id} is {s} after {method}"
                )));
            }
        }
        tracing::info!(
            order = number,
            id,
            "confirmed order reopened for its replacement"
        );
        Ok(())
    }

    /// Creates, replaces or cancels one order.
    pub async fn order(
        &self,
        doc: &Document,
        priced: Option<&Value>,
        partner: Option<&str>,
    ) -> Result<Outcome, OdooError> {
        let customer = self.customer(doc, PartyRole::Buyer, "customer").await?;
        let existing = self.existing_order(customer, &doc.number).await?;
        match (&doc.function, existing) {
            (Some(MessageFunction::Cancellation), Some((id, state))) => {
                if state != "cancel" {
                    self.client
                        .call_method("sale.order", "action_cancel", &[id])
                        .await?;
                    let s = self.state(id).await?;
                    if s != "cancel" {
                        return Err(OdooError::Conflict(format!(
                            "sale.order {id} is {s} after action_cancel"
                        )));
                    }
                }
                Ok(Outcome::Cancelled { id })
            }
            (Some(MessageFunction::Cancellation), None) => Err(OdooError::NotYet(format!(
                "cancellation of order {}: the order is not in Odoo (yet)",
                doc.number
            ))),
            (Some(MessageFunction::Replace | MessageFunction::Change), Some((id, state))) => {
                match state.as_str() {
                    "draft" | "sent" => {}
                    "sale" if self.cfg.replace_confirmed => self.reopen(id, &doc.number).await?,
                    _ => {
                        return Err(OdooError::Conflict(format!(
                            "replacement of order {}: sale.order {id} is {state}; {}",
                            doc.number,
                            if state == "sale" {
                                "replace_confirmed is off, so only draft orders are replaced"
                            } else {
                                "only draft or confirmed orders are replaced"
                            }
                        )));
                    }
                }
                let mut vals = self.header(doc, customer, partner).await?;
                let mut lines = vec![json!([5, 0, 0])];
                lines.extend(self.order_lines(doc, priced, partner).await?);
                vals.insert("order_line".into(), Value::Array(lines));
                self.client
                    .write("sale.order", &[id], Value::Object(vals))
                    .await?;
                if self.cfg.confirm {
                    self.confirm(id).await?;
                }
                Ok(Outcome::Updated { id })
            }
            (_, Some((id, state))) => {
                // A replay or a retry after a crash: finish what is missing.
                if self.cfg.confirm && (state == "draft" || state == "sent") {
                    self.confirm(id).await?;
                }
                Ok(Outcome::AlreadyThere {
                    model: "sale.order",
                    id,
                })
            }
            (_, None) => {
                let mut vals = self.header(doc, customer, partner).await?;
                vals.insert(
                    "order_line".into(),
                    Value::Array(self.order_lines(doc, priced, partner).await?),
                );
                let id = self
                    .client
                    .create("sale.order", Value::Object(vals))
                    .await?;
                if self.cfg.confirm {
                    self.confirm(id).await?;
                }
                Ok(Outcome::Created {
                    model: "sale.order",
                    id,
                })
            }
        }
    }

    async fn header(
        &self,
        doc: &Document,
        customer: i64,
        _partner: Option<&str>,
    ) -> Result<Map<String, Value>, OdooError> {
        let mut vals = Map::new();
        vals.insert("partner_id".into(), json!(customer));
        if let Some(ship) = self.delivery(doc, customer).await? {
            vals.insert("partner_shipping_id".into(), json!(ship));
        }
        vals.insert("client_order_ref".into(), json!(doc.number));
        let when = doc
            .date("requested_delivery")
            .or_else(|| doc.date("latest_delivery"))
            .or_else(|| doc.date("earliest_delivery"));
        if let Some(d) = when.and_then(|d| odoo_datetime(&d.value)) {
            vals.insert("commitment_date".into(), json!(d));
        }
        Ok(vals)
    }

    /// Creates a draft vendor bill (or refund) from a supplier invoice.
    pub async fn vendor_bill(
        &self,
        doc: &Document,
        partner: Option<&str>,
    ) -> Result<Outcome, OdooError> {
        let move_type = if doc.document_type == DocumentType::CreditNote {
            "in_refund"
        } else {
            "in_invoice"
        };
        let supplier = self.customer(doc, PartyRole::Supplier, "supplier").await?;
        let found = self
            .client
            .search(
                "account.move",
                json!([
                    ["move_type", "=", move_type],
                    ["partner_id", "=", supplier],
                    ["ref", "=", doc.number]
                ]),
                Some(1),
            )
            .await?;
        if let Some(id) = found.first() {
            return Ok(Outcome::AlreadyThere {
                model: "account.move",
                id: *id,
            });
        }
        let mut vals = Map::new();
        vals.insert("move_type".into(), json!(move_type));
        vals.insert("partner_id".into(), json!(supplier));
        vals.insert("ref".into(), json!(doc.number));
        if let Some(d) = doc.date("document").and_then(|d| d.date()) {
            vals.insert("invoice_date".into(), json!(d.to_string()));
        }
        if let Some(d) = doc.date("due").and_then(|d| d.date()) {
            vals.insert("invoice_date_due".into(), json!(d.to_string()));
        }
        let mut lines = Vec::new();
        for (i, line) in doc.lines.iter().enumerate() {
            let mut l = Map::new();
            // A supplier's article may not be a product here: keep its text.
            if let Some(p) = self.product(line, partner).await? {
                l.insert("product_id".into(), json!(p));
            }
            let name = line
                .description
                .clone()
                .or_else(|| line.seller_item_code.clone())
                .or_else(|| line.gtin.clone())
                .unwrap_or_else(|| format!("line {}", i + 1));
            l.insert("name".into(), json!(name));
            l.insert(
                "quantity".into(),
                num(line.quantity.as_ref().map_or(Decimal::ONE, |q| q.value)),
            );
            if let Some(p) = line.net_unit_price.or(line.gross_unit_price) {
                l.insert("price_unit".into(), num(p));
            }
            lines.push(json!([0, 0, Value::Object(l)]));
        }
        vals.insert("invoice_line_ids".into(), Value::Array(lines));
        let id = self
            .client
            .create("account.move", Value::Object(vals))
            .await?;
        Ok(Outcome::Created {
            model: "account.move",
            id,
        })
    }

    /// Delivers one document.
    pub async fn document(
        &self,
        doc: &Document,
        priced: Option<&Value>,
        partner: Option<&str>,
    ) -> Result<Outcome, OdooError> {
        match doc.document_type {
            DocumentType::Order => self.order(doc, priced, partner).await,
            DocumentType::Invoice | DocumentType::CreditNote if self.cfg.vendor_bills => {
                self.vendor_bill(doc, partner).await
            }
            t => Ok(Outcome::Skipped(format!(
                "{t} {} is not sent to Odoo",
                doc.number
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_and_numbers() {
        assert_eq!(
            odoo_datetime("2026-03-10").as_deref(),
            Some("2026-03-10 00:00:00")
        );
        assert_eq!(
            odoo_datetime("2026-03-10T14:30").as_deref(),
            Some("2026-03-10 14:30:00")
        );
        assert_eq!(odoo_datetime("10/03/2026"), None);
        assert_eq!(num(Decimal::new(2400, 2)), json!(24));
        assert_eq!(num(Decimal::new(145, 1)), json!(14.5));
    }
}
