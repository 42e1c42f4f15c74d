//! A fake Odoo server for tests: JSON-RPC (`/jsonrpc`), XML-RPC
//! (`/xmlrpc/2/common|object`) and JSON-2 (`/json/2/<model>/<method>`, 19+
//! only), with the error shapes and 18-vs-19 differences observed on real
//! servers (`shared/odoo-api.md`): `error.code` 200 on 18 and 0 on 19,
//! XML-RPC fault codes 1–4, JSON-2 statuses 401/403/404/422/500, the sale
//! order line's unit field `product_uom` (≤ 18) or `product_uom_id` (19),
//! "cannot marshal None" over XML-RPC for methods returning nothing.
//!
//! Records live in memory with Odoo's semantics for `search`, `search_read`,
//! `read` (many2one as `[id, name]`), `create`, `write` (one2many commands),
//! `action_confirm`, `action_cancel`, unknown fields, unique barcodes, and
//! `authenticate` returning false on a wrong password. Serialization
//! failures can be injected per method. Every request is recorded.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use comptoir::sinks::odoo::xmlrpc;
use serde_json::{json, Map, Value};

pub const PASSWORD: &str = "s3cret-pw";

/// One recorded HTTP request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// A Python exception as the fake raises it.
#[derive(Debug, Clone)]
pub struct Exc {
    pub name: String,
    pub message: String,
    /// JSON-2 status when not derived from the name.
    pub status: Option<u16>,
}

fn exc(name: &str, message: impl Into<String>) -> Exc {
    Exc {
        name: name.into(),
        message: message.into(),
        status: None,
    }
}

impl Exc {
    fn xmlrpc_code(&self) -> i64 {
        match self.name.as_str() {
            "odoo.exceptions.AccessDenied" => 3,
            "odoo.exceptions.AccessError" => 4,
            "odoo.exceptions.UserError"
            | "odoo.exceptions.ValidationError"
            | "odoo.exceptions.MissingError" => 2,
            _ => 1,
        }
    }
    fn http_status(&self) -> u16 {
        if let Some(s) = self.status {
            return s;
        }
        match self.name.as_str() {
            "odoo.exceptions.AccessDenied" => 401,
            "odoo.exceptions.AccessError" => 403,
            "odoo.exceptions.UserError"
            | "odoo.exceptions.ValidationError"
            | "odoo.exceptions.MissingError"
            | "builtins.ValueError"
            | "builtins.TypeError" => 422,
            _ => 500,
        }
    }
    fn traceback(&self) -> String {
        format!(
            "Traceback (most recent call last):\n  File \"/odoo/odoo/service/model.py\", line 156, in retrying\n    result = func()\n{}: {}\n",
            self.name, self.message
        )
    }
}

/// The server's memory.
#[derive(Debug, Default)]
pub struct Db {
    pub version: u32,
    pub db: String,
    /// (login, password or API key, uid)
    pub users: Vec<(String, String, i64)>,
    pub models: BTreeMap<String, BTreeMap<i64, Map<String, Value>>>,
    next_id: i64,
    pub requests: Vec<Recorded>,
    /// method → number of calls that fail with a serialization failure.
    pub fail_next: HashMap<String, u32>,
    /// `action_confirm` returns None (as methods without a return do).
    pub confirm_returns_none: bool,
    /// (model, method) of every ORM call, in order.
    pub calls: Vec<(String, String)>,
}

type Fields = &'static [&'static str];

/// (field, comodel) of many2one fields.
fn many2one(model: &str, field: &str, version: u32) -> Option<&'static str> {
    Some(match (model, field) {
        ("res.partner", "parent_id") => "res.partner",
        ("res.partner", "country_id") => "res.country",
        ("product.product", "uom_id") => "uom.uom",
        ("sale.order", "partner_id" | "partner_shipping_id") => "res.partner",
        ("sale.order.line", "order_id") => "sale.order",
        ("sale.order.line", "product_id") => "product.product",
        ("sale.order.line", "product_uom") if version < 19 => "uom.uom",
        ("sale.order.line", "product_uom_id") if version >= 19 => "uom.uom",
        ("account.move", "partner_id" | "partner_shipping_id") => "res.partner",
        ("account.move", "currency_id") | ("sale.order", "currency_id") => "res.currency",
        ("account.move.line", "product_uom_id") => "uom.uom",
        ("stock.picking", "partner_id") => "res.partner",
        ("stock.move", "picking_id") => "stock.picking",
        ("stock.move", "product_id") => "product.product",
        ("stock.move", "product_uom") => "uom.uom",
        ("stock.quant", "product_id") => "product.product",
        ("stock.quant", "location_id") => "stock.location",
        ("account.move.line", "move_id") => "account.move",
        ("account.move.line", "product_id") => "product.product",
        ("stock.picking", "sale_id") => "sale.order",
        _ => return None,
    })
}

/// (field, comodel, inverse) of one2many fields.
fn one2many(model: &str, field: &str) -> Option<(&'static str, &'static str)> {
    Some(match (model, field) {
        ("sale.order", "order_line") => ("sale.order.line", "order_id"),
        ("sale.order", "picking_ids") => ("stock.picking", "sale_id"),
        ("account.move", "invoice_line_ids") => ("account.move.line", "move_id"),
        ("stock.picking", "move_ids") => ("stock.move", "picking_id"),
        _ => return None,
    })
}

fn fields(model: &str, version: u32) -> Option<Vec<&'static str>> {
    let base: Fields = match model {
        "res.partner" => &[
            "name",
            "ref",
            "barcode",
            "vat",
            "type",
            "parent_id",
            "street",
            "street2",
            "city",
            "zip",
            "country_id",
            "is_company",
            "active",
            "email",
        ],
        "res.country" => &["name", "code"],
        "uom.uom" => &["name"],
        "product.product" => &[
            "name",
            "default_code",
            "barcode",
            "list_price",
            "uom_id",
            "type",
            "is_storable",
            "active",
        ],
        "sale.order" => &[
            "name",
            "partner_id",
            "partner_shipping_id",
            "client_order_ref",
            "commitment_date",
            "state",
            "order_line",
            "amount_untaxed",
            "amount_tax",
            "amount_total",
            "picking_ids",
            "invoice_ids",
            "origin",
            "note",
            "currency_id",
            "date_order",
            "write_date",
        ],
        "sale.order.line" => &[
            "order_id",
            "product_id",
            "product_uom_qty",
            "price_unit",
            "discount",
            "name",
            "price_subtotal",
            "qty_delivered",
            "qty_invoiced",
            "display_type",
        ],
        "account.move" => &[
            "name",
            "move_type",
            "partner_id",
            "ref",
            "invoice_date",
            "invoice_date_due",
            "state",
            "invoice_line_ids",
            "amount_total",
            "amount_untaxed",
            "amount_tax",
            "currency_id",
            "invoice_origin",
            "partner_shipping_id",
            "write_date",
        ],
        "account.move.line" => &[
            "move_id",
            "product_id",
            "name",
            "quantity",
            "price_unit",
            "discount",
            "price_subtotal",
            "tax_ids",
            "display_type",
            "product_uom_id",
        ],
        "stock.picking" => &[
            "name",
            "sale_id",
            "state",
            "picking_type_code",
            "partner_id",
            "date_done",
            "origin",
            "move_ids",
            "write_date",
        ],
        "stock.move" => &[
            "picking_id",
            "product_id",
            "product_uom_qty",
            "product_uom",
            "state",
        ],
        "stock.quant" => &["product_id", "location_id", "quantity", "reserved_quantity"],
        "stock.location" => &["name", "usage"],
        "account.tax" => &["name", "amount", "amount_type", "active"],
        "res.currency" => &["name"],
        _ => return None,
    };
    let mut f: Vec<&'static str> = base.to_vec();
    f.push("id");
    f.push("display_name");
    if model == "sale.order.line" {
        f.push(if version >= 19 {
            "product_uom_id"
        } else {
            "product_uom"
        });
    }
    if model == "stock.move" {
        // The done quantity: `quantity_done` in 16, `quantity` from 17.
        f.push(if version >= 17 {
            "quantity"
        } else {
            "quantity_done"
        });
    }
    Some(f)
}

/// Odoo's datetime format (naive UTC).
fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false)) && v != &json!("") && v != &json!(0)
}

fn as_f64(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(0.0)
}

impl Db {
    fn table(&mut self, model: &str) -> &mut BTreeMap<i64, Map<String, Value>> {
        self.models.entry(model.to_string()).or_default()
    }

    /// Inserts a record directly (test setup); its id.
    pub fn seed(&mut self, model: &str, vals: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        let mut m = vals.as_object().cloned().unwrap_or_default();
        m.insert("id".into(), json!(id));
        m.entry("write_date").or_insert_with(|| json!(now()));
        self.table(model).insert(id, m);
        id
    }

    /// Every record of a model (raw storage: many2one as ids).
    pub fn all(&self, model: &str) -> Vec<Map<String, Value>> {
        self.models
            .get(model)
            .map(|t| t.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn get(&self, model: &str, id: i64) -> Option<&Map<String, Value>> {
        self.models.get(model)?.get(&id)
    }

    fn check_model(&self, model: &str) -> Result<Vec<&'static str>, Exc> {
        fields(model, self.version).ok_or_else(|| Exc {
            name: "odoo.exceptions.UserError".into(),
            message: format!("Object {model} doesn't exist"),
            status: Some(404),
        })
    }

    fn check_fields<'a>(
        &self,
        model: &str,
        names: impl Iterator<Item = &'a String>,
    ) -> Result<(), Exc> {
        let known = self.check_model(model)?;
        for n in names {
            if !known.contains(&n.as_str()) {
                return Err(exc(
                    "builtins.ValueError",
                    format!("Invalid field '{n}' on model '{model}'"),
                ));
            }
        }
        Ok(())
    }

    fn display_name(&self, model: &str, id: i64) -> String {
        self.get(model, id)
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .map_or_else(|| format!("{model},{id}"), str::to_string)
    }

    fn field_value(&self, model: &str, rec: &Map<String, Value>, path: &str) -> Value {
        match path.split_once('.') {
            None => rec.get(path).cloned().unwrap_or(Value::Bool(false)),
            Some((head, rest)) => {
                let Some(co) = many2one(model, head, self.version) else {
                    return Value::Bool(false);
                };
                match rec
                    .get(head)
                    .and_then(Value::as_i64)
                    .and_then(|id| self.get(co, id))
                {
                    Some(r) => self.field_value(co, &r.clone(), rest),
                    None => Value::Bool(false),
                }
            }
        }
    }

    fn leaf(&self, model: &str, rec: &Map<String, Value>, leaf: &Value) -> Result<bool, Exc> {
        let bad = || exc("builtins.ValueError", format!("Invalid leaf {leaf}"));
        let a = leaf.as_array().ok_or_else(bad)?;
        if a.len() != 3 {
            return Err(bad());
        }
        let field = a[0].as_str().ok_or_else(bad)?;
        let op = a[1].as_str().ok_or_else(bad)?;
        let head = field.split('.').next().unwrap_or(field);
        if !self.check_model(model)?.contains(&head) {
            return Err(exc(
                "builtins.ValueError",
                format!("Invalid field {model}.{head} in leaf {leaf}"),
            ));
        }
        let v = self.field_value(model, rec, field);
        let want = &a[2];
        let eq = |x: &Value, y: &Value| {
            if !truthy(y) && matches!(y, Value::Bool(false) | Value::Null) {
                !truthy(x)
            } else {
                x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
            }
        };
        Ok(match op {
            "=" => eq(&v, want),
            "!=" => !eq(&v, want),
            "in" => want.as_array().ok_or_else(bad)?.iter().any(|w| eq(&v, w)),
            "not in" => !want.as_array().ok_or_else(bad)?.iter().any(|w| eq(&v, w)),
            "ilike" => {
                let (Some(s), Some(w)) = (v.as_str(), want.as_str()) else {
                    return Ok(false);
                };
                s.to_lowercase().contains(&w.to_lowercase())
            }
            ">" | "<" | ">=" | "<=" if v.is_string() && want.is_string() => {
                let (x, y) = (v.as_str().unwrap_or(""), want.as_str().unwrap_or(""));
                match op {
                    ">" => x > y,
                    "<" => x < y,
                    ">=" => x >= y,
                    _ => x <= y,
                }
            }
            ">" | "<" | ">=" | "<=" => {
                let (x, y) = (as_f64(Some(&v)), as_f64(Some(want)));
                match op {
                    ">" => x > y,
                    "<" => x < y,
                    ">=" => x >= y,
                    _ => x <= y,
                }
            }
            _ => {
                return Err(exc(
                    "builtins.ValueError",
                    format!("Invalid operator {op:?}"),
                ))
            }
        })
    }

    fn eval(
        &self,
        model: &str,
        rec: &Map<String, Value>,
        items: &[Value],
        pos: &mut usize,
    ) -> Result<bool, Exc> {
        let item = items
            .get(*pos)
            .ok_or_else(|| exc("builtins.ValueError", "Domain is not well formed"))?;
        *pos += 1;
        match item.as_str() {
            Some("&") => {
                let a = self.eval(model, rec, items, pos)?;
                let b = self.eval(model, rec, items, pos)?;
                Ok(a && b)
            }
            Some("|") => {
                let a = self.eval(model, rec, items, pos)?;
                let b = self.eval(model, rec, items, pos)?;
                Ok(a || b)
            }
            Some("!") => Ok(!self.eval(model, rec, items, pos)?),
            _ => self.leaf(model, rec, item),
        }
    }

    fn matches(&self, model: &str, rec: &Map<String, Value>, domain: &Value) -> Result<bool, Exc> {
        let items = domain
            .as_array()
            .ok_or_else(|| exc("builtins.ValueError", "Domain is not a list"))?;
        if rec.get("active") == Some(&Value::Bool(false)) {
            return Ok(false);
        }
        let mut pos = 0;
        while pos < items.len() {
            if !self.eval(model, rec, items, &mut pos)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn search(
        &self,
        model: &str,
        domain: &Value,
        offset: usize,
        limit: Option<usize>,
    ) -> Result<Vec<i64>, Exc> {
        self.check_model(model)?;
        let mut out = Vec::new();
        if let Some(t) = self.models.get(model) {
            for (id, r) in t {
                if self.matches(model, r, domain)? {
                    out.push(*id);
                }
            }
        }
        Ok(out
            .into_iter()
            .skip(offset)
            .take(limit.unwrap_or(usize::MAX))
            .collect())
    }

    fn read(
        &self,
        model: &str,
        ids: &[i64],
        fields_: Option<&Vec<String>>,
    ) -> Result<Vec<Value>, Exc> {
        let known = self.check_model(model)?;
        let wanted: Vec<String> = match fields_ {
            Some(f) if !f.is_empty() => {
                self.check_fields(model, f.iter())?;
                f.clone()
            }
            _ => known.iter().map(|s| s.to_string()).collect(),
        };
        let mut out = Vec::new();
        for id in ids {
            let rec = self.get(model, *id).ok_or_else(|| {
                exc(
                    "odoo.exceptions.MissingError",
                    format!("Record does not exist or has been deleted.\n(Record: {model}({id},), User: 2)"),
                )
            })?;
            let mut m = Map::new();
            m.insert("id".into(), json!(id));
            for f in &wanted {
                let v = if f == "display_name" {
                    json!(self.display_name(model, *id))
                } else if let Some(co) = many2one(model, f, self.version) {
                    match rec.get(f).and_then(Value::as_i64) {
                        Some(i) => json!([i, self.display_name(co, i)]),
                        None => json!(false),
                    }
                } else if let Some((co, inv)) = one2many(model, f) {
                    json!(self.search(co, &json!([[inv, "=", id]]), 0, None)?)
                } else {
                    rec.get(f).cloned().unwrap_or(json!(false))
                };
                m.insert(f.clone(), v);
            }
            out.push(Value::Object(m));
        }
        Ok(out)
    }

    fn check_unique_barcode(
        &self,
        model: &str,
        id: i64,
        vals: &Map<String, Value>,
    ) -> Result<(), Exc> {
        if !matches!(model, "res.partner" | "product.product") {
            return Ok(());
        }
        let Some(b) = vals.get("barcode").filter(|b| truthy(b)) else {
            return Ok(());
        };
        let clash = self
            .models
            .get(model)
            .into_iter()
            .flat_map(|t| t.iter())
            .any(|(i, r)| *i != id && r.get("barcode") == Some(b));
        if clash {
            return Err(exc(
                "odoo.exceptions.ValidationError",
                if model == "res.partner" {
                    "Another partner already has this barcode".to_string()
                } else {
                    format!("Barcode(s) already assigned:\n\n- Barcode \"{}\" already assigned to product(s)", b.as_str().unwrap_or_default())
                },
            ));
        }
        Ok(())
    }

    fn apply(&mut self, model: &str, id: i64, vals: &Map<String, Value>) -> Result<(), Exc> {
        self.check_fields(model, vals.keys())?;
        self.check_unique_barcode(model, id, vals)?;
        for (f, v) in vals {
            if let Some(co) = many2one(model, f, self.version) {
                if let Some(i) = v.as_i64() {
                    if self.get(co, i).is_none() {
                        return Err(exc(
                            "odoo.exceptions.MissingError",
                            format!("Record does not exist or has been deleted.\n(Record: {co}({i},), User: 2)"),
                        ));
                    }
                }
            }
        }
        let mut o2m = Vec::new();
        {
            let version = self.version;
            let rec = self.table(model).get_mut(&id).ok_or_else(|| {
                exc(
                    "odoo.exceptions.MissingError",
                    "Record does not exist or has been deleted.",
                )
            })?;
            for (f, v) in vals {
                if one2many(model, f).is_some() {
                    o2m.push((f.clone(), v.clone()));
                } else {
                    let _ = version;
                    rec.insert(f.clone(), v.clone());
                }
            }
        }
        for (f, cmds) in o2m {
            let Some((co, inv)) = one2many(model, &f) else {
                continue;
            };
            for cmd in cmds.as_array().into_iter().flatten() {
                let c = cmd.as_array().cloned().unwrap_or_default();
                match c.first().and_then(Value::as_i64) {
                    Some(0) => {
                        let mut lv = c
                            .get(2)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        lv.insert(inv.into(), json!(id));
                        self.create_one(co, lv)?;
                    }
                    Some(1) => {
                        let lid = c.get(1).and_then(Value::as_i64).unwrap_or(0);
                        let lv = c
                            .get(2)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        self.apply(co, lid, &lv)?;
                    }
                    Some(2) => {
                        let lid = c.get(1).and_then(Value::as_i64).unwrap_or(0);
                        self.table(co).remove(&lid);
                    }
                    Some(5) => {
                        let ids = self.search(co, &json!([[inv, "=", id]]), 0, None)?;
                        for lid in ids {
                            self.table(co).remove(&lid);
                        }
                    }
                    _ => {
                        return Err(exc("builtins.ValueError", format!("Invalid command {cmd}")));
                    }
                }
            }
        }
        self.touch(model, id);
        self.recompute(model, id);
        Ok(())
    }

    /// Sets `write_date` as Odoo does on every write.
    fn touch(&mut self, model: &str, id: i64) {
        if let Some(r) = self.table(model).get_mut(&id) {
            r.insert("write_date".into(), json!(now()));
        }
    }

    fn recompute(&mut self, model: &str, id: i64) {
        let uom_field = if self.version >= 19 {
            "product_uom_id"
        } else {
            "product_uom"
        };
        match model {
            "sale.order.line" => {
                let Some(rec) = self.get(model, id).cloned() else {
                    return;
                };
                let product = rec
                    .get("product_id")
                    .and_then(Value::as_i64)
                    .and_then(|p| self.get("product.product", p))
                    .cloned();
                let mut upd = Map::new();
                if !rec.contains_key("price_unit") {
                    upd.insert(
                        "price_unit".into(),
                        product
                            .as_ref()
                            .and_then(|p| p.get("list_price"))
                            .cloned()
                            .unwrap_or(json!(0.0)),
                    );
                }
                if !rec.contains_key("discount") {
                    upd.insert("discount".into(), json!(0.0));
                }
                if !rec.contains_key(uom_field) {
                    upd.insert(
                        uom_field.into(),
                        product
                            .as_ref()
                            .and_then(|p| p.get("uom_id"))
                            .cloned()
                            .unwrap_or(json!(false)),
                    );
                }
                if !rec.contains_key("name") {
                    upd.insert(
                        "name".into(),
                        product
                            .as_ref()
                            .and_then(|p| p.get("name"))
                            .cloned()
                            .unwrap_or(json!("")),
                    );
                }
                if let Some(r) = self.table(model).get_mut(&id) {
                    r.extend(upd);
                    let sub = as_f64(r.get("product_uom_qty"))
                        * as_f64(r.get("price_unit"))
                        * (1.0 - as_f64(r.get("discount")) / 100.0);
                    r.insert(
                        "price_subtotal".into(),
                        json!((sub * 100.0).round() / 100.0),
                    );
                }
                if let Some(o) = rec.get("order_id").and_then(Value::as_i64) {
                    self.recompute("sale.order", o);
                }
            }
            "sale.order" => {
                let lines = self
                    .search("sale.order.line", &json!([["order_id", "=", id]]), 0, None)
                    .unwrap_or_default();
                let total: f64 = lines
                    .iter()
                    .filter_map(|l| self.get("sale.order.line", *l))
                    .map(|l| as_f64(l.get("price_subtotal")))
                    .sum();
                if let Some(r) = self.table(model).get_mut(&id) {
                    r.insert(
                        "amount_untaxed".into(),
                        json!((total * 100.0).round() / 100.0),
                    );
                    r.insert("amount_tax".into(), json!(0.0));
                    r.insert(
                        "amount_total".into(),
                        json!((total * 100.0).round() / 100.0),
                    );
                }
            }
            _ => {}
        }
    }

    fn create_one(&mut self, model: &str, vals: Map<String, Value>) -> Result<i64, Exc> {
        self.check_fields(model, vals.keys())?;
        self.check_unique_barcode(model, 0, &vals)?;
        let mut init = Map::new();
        match model {
            "sale.order" => {
                let partner = vals.get("partner_id").and_then(Value::as_i64).ok_or_else(|| {
                    exc("odoo.exceptions.ValidationError", "The operation cannot be completed: Missing required fields on accessible objects: Customer (partner_id)")
                })?;
                init.insert("state".into(), json!("draft"));
                init.insert("partner_shipping_id".into(), json!(partner));
                init.insert("date_order".into(), json!(now()));
            }
            "account.move" => {
                init.insert("state".into(), json!("draft"));
                init.insert("name".into(), json!("/"));
                let t = vals
                    .get("move_type")
                    .and_then(Value::as_str)
                    .unwrap_or("entry");
                if ![
                    "entry",
                    "out_invoice",
                    "out_refund",
                    "in_invoice",
                    "in_refund",
                    "out_receipt",
                    "in_receipt",
                ]
                .contains(&t)
                {
                    return Err(exc(
                        "builtins.ValueError",
                        format!("Wrong value for account.move.move_type: {t:?}"),
                    ));
                }
            }
            _ => {}
        }
        self.next_id += 1;
        let id = self.next_id;
        init.insert("id".into(), json!(id));
        if model == "sale.order" {
            init.insert("name".into(), json!(format!("S{id:05}")));
        }
        self.table(model).insert(id, init);
        if let Err(e) = self.apply(model, id, &vals) {
            self.table(model).remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    fn state_of(&self, model: &str, id: i64) -> Result<String, Exc> {
        self.get(model, id)
            .map(|r| {
                r.get("state")
                    .and_then(Value::as_str)
                    .unwrap_or("draft")
                    .to_string()
            })
            .ok_or_else(|| {
                exc(
                    "odoo.exceptions.MissingError",
                    "Record does not exist or has been deleted.",
                )
            })
    }

    fn set_state(&mut self, model: &str, id: i64, s: &str) {
        if let Some(r) = self.table(model).get_mut(&id) {
            r.insert("state".into(), json!(s));
        }
        self.touch(model, id);
    }

    /// One ORM call with positional args and kwargs; `None` is Python's None.
    pub fn orm(
        &mut self,
        model: &str,
        method: &str,
        args: &[Value],
        kwargs: &Map<String, Value>,
    ) -> Result<Option<Value>, Exc> {
        self.calls.push((model.to_string(), method.to_string()));
        if method.starts_with('_') {
            return Err(exc(
                "odoo.exceptions.AccessError",
                format!("Private methods (such as '{model}.{method}') cannot be called remotely."),
            ));
        }
        self.check_model(model)?;
        if let Some(n) = self.fail_next.get_mut(method) {
            if *n > 0 {
                *n -= 1;
                return Err(exc(
                    "psycopg2.errors.SerializationFailure",
                    "could not serialize access due to concurrent update",
                ));
            }
        }
        let arg = |i: usize, k: &str| args.get(i).or_else(|| kwargs.get(k)).cloned();
        let ids_arg = || -> Result<Vec<i64>, Exc> {
            let v = arg(0, "ids").unwrap_or(json!([]));
            let v = if v.is_i64() { json!([v]) } else { v };
            v.as_array()
                .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
                .ok_or_else(|| {
                    exc(
                        "builtins.TypeError",
                        format!("ids must be a list of integers, got {v}"),
                    )
                })
        };
        let usize_arg = |i: usize, k: &str| arg(i, k).and_then(|v| v.as_u64()).map(|v| v as usize);
        let fields_arg = |i: usize| -> Option<Vec<String>> {
            arg(i, "fields").and_then(|v| {
                v.as_array().map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
            })
        };
        match method {
            "search" => {
                let d = arg(0, "domain").unwrap_or(json!([]));
                Ok(Some(json!(self.search(
                    model,
                    &d,
                    usize_arg(1, "offset").unwrap_or(0),
                    usize_arg(2, "limit")
                )?)))
            }
            "search_count" => {
                let d = arg(0, "domain").unwrap_or(json!([]));
                Ok(Some(json!(self.search(model, &d, 0, None)?.len())))
            }
            "search_read" => {
                let d = arg(0, "domain").unwrap_or(json!([]));
                let ids = self.search(
                    model,
                    &d,
                    usize_arg(2, "offset").unwrap_or(0),
                    usize_arg(3, "limit"),
                )?;
                Ok(Some(json!(self.read(
                    model,
                    &ids,
                    fields_arg(1).as_ref()
                )?)))
            }
            "read" => {
                let ids = ids_arg()?;
                Ok(Some(json!(self.read(
                    model,
                    &ids,
                    fields_arg(1).as_ref()
                )?)))
            }
            "create" => {
                let v = arg(0, "vals_list").unwrap_or(json!({}));
                match v {
                    Value::Object(m) => Ok(Some(json!(self.create_one(model, m)?))),
                    Value::Array(list) => {
                        let mut ids = Vec::new();
                        for m in list {
                            let m = m
                                .as_object()
                                .cloned()
                                .ok_or_else(|| exc("builtins.TypeError", "vals must be a dict"))?;
                            ids.push(self.create_one(model, m)?);
                        }
                        Ok(Some(json!(ids)))
                    }
                    _ => Err(exc("builtins.TypeError", "vals must be a dict")),
                }
            }
            "write" => {
                let ids = ids_arg()?;
                let vals = arg(1, "vals")
                    .and_then(|v| v.as_object().cloned())
                    .unwrap_or_default();
                for id in ids {
                    self.apply(model, id, &vals)?;
                }
                Ok(Some(json!(true)))
            }
            "action_confirm" if model == "sale.order" => {
                let ids = ids_arg()?;
                for id in &ids {
                    if !["draft", "sent"].contains(&self.state_of(model, *id)?.as_str()) {
                        return Err(exc(
                            "odoo.exceptions.UserError",
                            "Some orders are not in a state requiring confirmation.",
                        ));
                    }
                }
                for id in ids {
                    self.set_state(model, id, "sale");
                    let order = self.get(model, id).cloned().unwrap_or_default();
                    let n = self.all("stock.picking").len() + 1;
                    let picking = self.seed(
                        "stock.picking",
                        json!({
                            "name": format!("WH/OUT/{n:05}"),
                            "sale_id": id,
                            "state": "assigned",
                            "picking_type_code": "outgoing",
                            "partner_id": order.get("partner_shipping_id").cloned().unwrap_or(json!(false)),
                            "origin": order.get("name").cloned().unwrap_or(json!(false)),
                        }),
                    );
                    let uom_field = if self.version >= 19 {
                        "product_uom_id"
                    } else {
                        "product_uom"
                    };
                    let qty_field = if self.version >= 17 {
                        "quantity"
                    } else {
                        "quantity_done"
                    };
                    let lines =
                        self.search("sale.order.line", &json!([["order_id", "=", id]]), 0, None)?;
                    for l in lines {
                        let line = self.get("sale.order.line", l).cloned().unwrap_or_default();
                        self.seed(
                            "stock.move",
                            json!({
                                "picking_id": picking,
                                "product_id": line.get("product_id").cloned().unwrap_or(json!(false)),
                                "product_uom_qty": line.get("product_uom_qty").cloned().unwrap_or(json!(0)),
                                "product_uom": line.get(uom_field).cloned().unwrap_or(json!(false)),
                                (qty_field): 0,
                                "state": "assigned",
                            }),
                        );
                    }
                }
                Ok(if self.confirm_returns_none {
                    None
                } else {
                    Some(json!(true))
                })
            }
            "action_cancel" if model == "sale.order" => {
                for id in ids_arg()? {
                    self.state_of(model, id)?;
                    self.set_state(model, id, "cancel");
                    // Pending deliveries are cancelled with the order.
                    for p in self.search(
                        "stock.picking",
                        &json!([["sale_id", "=", id], ["state", "!=", "done"]]),
                        0,
                        None,
                    )? {
                        self.set_state("stock.picking", p, "cancel");
                    }
                }
                Ok(Some(json!(true)))
            }
            "action_draft" if model == "sale.order" => {
                for id in ids_arg()? {
                    if ["cancel", "sent"].contains(&self.state_of(model, id)?.as_str()) {
                        self.set_state(model, id, "draft");
                    }
                }
                Ok(Some(json!(true)))
            }
            "action_post" if model == "account.move" => {
                for id in ids_arg()? {
                    self.set_state(model, id, "posted");
                }
                Ok(Some(json!(false)))
            }
            _ => Err(exc(
                "builtins.AttributeError",
                format!("The method '{model}.{method}' does not exist"),
            )),
        }
    }

    /// Validates a delivery as a warehouse user would: every move done
    /// with its full quantity, the sale lines' delivered quantities updated.
    pub fn validate_picking(&mut self, picking: i64, date_done: &str) {
        let qty_field = if self.version >= 17 {
            "quantity"
        } else {
            "quantity_done"
        };
        let moves = self
            .search(
                "stock.move",
                &json!([["picking_id", "=", picking]]),
                0,
                None,
            )
            .unwrap_or_default();
        for m in moves {
            if let Some(r) = self.table("stock.move").get_mut(&m) {
                let q = r.get("product_uom_qty").cloned().unwrap_or(json!(0));
                r.insert(qty_field.into(), q);
                r.insert("state".into(), json!("done"));
            }
        }
        if let Some(r) = self.table("stock.picking").get_mut(&picking) {
            r.insert("state".into(), json!("done"));
            r.insert("date_done".into(), json!(date_done));
        }
        self.touch("stock.picking", picking);
        let order = self
            .get("stock.picking", picking)
            .and_then(|p| p.get("sale_id"))
            .and_then(Value::as_i64);
        if let Some(o) = order {
            for l in self
                .search("sale.order.line", &json!([["order_id", "=", o]]), 0, None)
                .unwrap_or_default()
            {
                if let Some(r) = self.table("sale.order.line").get_mut(&l) {
                    let q = r.get("product_uom_qty").cloned().unwrap_or(json!(0));
                    r.insert("qty_delivered".into(), q);
                }
            }
        }
    }

    /// Invoices a confirmed order as the "create invoice" wizard then
    /// "confirm" do: a posted `out_invoice` with one line per order line,
    /// `tax` applied to each, the order's reference and currency.
    pub fn invoice_order(&mut self, order: i64, tax: i64, date: &str, due: &str) -> i64 {
        let o = self.get("sale.order", order).cloned().unwrap_or_default();
        let rate = self
            .get("account.tax", tax)
            .map(|t| as_f64(t.get("amount")))
            .unwrap_or(0.0);
        let n = self.all("account.move").len() + 1;
        let mv = self.seed(
            "account.move",
            json!({
                "name": format!("INV/2026/{n:05}"),
                "move_type": "out_invoice",
                "partner_id": o.get("partner_id").cloned().unwrap_or(json!(false)),
                "partner_shipping_id": o.get("partner_shipping_id").cloned().unwrap_or(json!(false)),
                "ref": o.get("client_order_ref").cloned().unwrap_or(json!(false)),
                "invoice_origin": o.get("name").cloned().unwrap_or(json!(false)),
                "currency_id": o.get("currency_id").cloned().unwrap_or(json!(false)),
                "invoice_date": date,
                "invoice_date_due": due,
                "state": "posted",
            }),
        );
        let uom_field = if self.version >= 19 {
            "product_uom_id"
        } else {
            "product_uom"
        };
        let mut untaxed = 0.0;
        for l in self
            .search(
                "sale.order.line",
                &json!([["order_id", "=", order]]),
                0,
                None,
            )
            .unwrap_or_default()
        {
            let line = self.get("sale.order.line", l).cloned().unwrap_or_default();
            let sub = as_f64(line.get("price_subtotal"));
            untaxed += sub;
            self.seed(
                "account.move.line",
                json!({
                    "move_id": mv,
                    "product_id": line.get("product_id").cloned().unwrap_or(json!(false)),
                    "name": line.get("name").cloned().unwrap_or(json!(false)),
                    "quantity": line.get("product_uom_qty").cloned().unwrap_or(json!(0)),
                    "price_unit": line.get("price_unit").cloned().unwrap_or(json!(0)),
                    "discount": line.get("discount").cloned().unwrap_or(json!(0)),
                    "price_subtotal": sub,
                    "tax_ids": [tax],
                    "display_type": "product",
                    "product_uom_id": line.get(uom_field).cloned().unwrap_or(json!(false)),
                }),
            );
            if let Some(r) = self.table("sale.order.line").get_mut(&l) {
                let q = r.get("product_uom_qty").cloned().unwrap_or(json!(0));
                r.insert("qty_invoiced".into(), q);
            }
        }
        // A tax line too, which the export must skip (display_type = tax).
        let tax_amount = ((untaxed * rate / 100.0) * 100.0).round() / 100.0;
        self.seed(
            "account.move.line",
            json!({"move_id": mv, "name": "TVA", "display_type": "tax", "price_subtotal": tax_amount, "quantity": 1, "price_unit": tax_amount}),
        );
        if let Some(r) = self.table("account.move").get_mut(&mv) {
            let untaxed = (untaxed * 100.0).round() / 100.0;
            r.insert("amount_untaxed".into(), json!(untaxed));
            r.insert("amount_tax".into(), json!(tax_amount));
            r.insert(
                "amount_total".into(),
                json!(((untaxed + tax_amount) * 100.0).round() / 100.0),
            );
        }
        mv
    }

    fn user(&self, login: &str, password: &str) -> Option<i64> {
        self.users
            .iter()
            .find(|(l, p, _)| l == login && p == password)
            .map(|(_, _, u)| *u)
    }

    fn check_uid(&self, db: &str, uid: i64, password: &str) -> Result<(), Exc> {
        if db == self.db
            && self
                .users
                .iter()
                .any(|(_, p, u)| *u == uid && p == password)
        {
            Ok(())
        } else {
            Err(exc("odoo.exceptions.AccessDenied", "Access Denied"))
        }
    }

    /// `common` and `object` services, shared by JSON-RPC and XML-RPC.
    fn dispatch(
        &mut self,
        service: &str,
        method: &str,
        args: &[Value],
    ) -> Result<Option<Value>, Exc> {
        let s = |i: usize| {
            args.get(i)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        match (service, method) {
            ("common", "version") => {
                let v = self.version;
                Ok(Some(
                    json!({"server_version": format!("{v}.0"), "server_version_info": [v, 0, 0, "final", 0, ""], "server_serie": format!("{v}.0"), "protocol_version": 1}),
                ))
            }
            ("common", "authenticate" | "login") => {
                if s(0) != self.db {
                    return Err(exc(
                        "psycopg2.OperationalError",
                        format!(
                            "connection to server failed: FATAL:  database \"{}\" does not exist",
                            s(0)
                        ),
                    ));
                }
                Ok(Some(
                    self.user(&s(1), &s(2)).map_or(json!(false), |u| json!(u)),
                ))
            }
            ("object", "execute_kw" | "execute") => {
                let uid = args.get(1).and_then(Value::as_i64).unwrap_or(0);
                self.check_uid(&s(0), uid, &s(2))?;
                let (model, m) = (s(3), s(4));
                let (pos, kw) = if method == "execute_kw" {
                    (
                        args.get(5)
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                        args.get(6)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                    )
                } else {
                    (
                        args.get(5..).map(<[Value]>::to_vec).unwrap_or_default(),
                        Map::new(),
                    )
                };
                self.orm(&model, &m, &pos, &kw)
            }
            _ => Err(exc(
                "builtins.AttributeError",
                format!("Unknown method {service}.{method}"),
            )),
        }
    }
}

/// A running fake server.
pub struct FakeOdoo {
    pub url: String,
    pub db: Arc<Mutex<Db>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

type Shared = Arc<Mutex<Db>>;

fn record(db: &Shared, path: &str, headers: &HeaderMap, body: &str) {
    let mut h = BTreeMap::new();
    for (k, v) in headers {
        h.insert(
            k.as_str().to_string(),
            v.to_str().unwrap_or_default().to_string(),
        );
    }
    if let Ok(mut d) = db.lock() {
        d.requests.push(Recorded {
            path: path.into(),
            headers: h,
            body: body.into(),
        });
    }
}

async fn jsonrpc(State(db): State<Shared>, headers: HeaderMap, body: String) -> Response {
    record(&db, "/jsonrpc", &headers, &body);
    let req: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => return (StatusCode::BAD_REQUEST, "<html>Bad Request</html>").into_response(),
    };
    let id = req["id"].clone();
    let p = &req["params"];
    let args = p["args"].as_array().cloned().unwrap_or_default();
    let mut d = match db.lock() {
        Ok(d) => d,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let code = if d.version >= 19 { 0 } else { 200 };
    let r = d.dispatch(
        p["service"].as_str().unwrap_or_default(),
        p["method"].as_str().unwrap_or_default(),
        &args,
    );
    let out = match r {
        Ok(Some(v)) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Ok(None) => json!({"jsonrpc": "2.0", "id": id}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": {
            "code": code, "message": "Odoo Server Error",
            "data": {"name": e.name, "debug": e.traceback(), "message": e.message, "arguments": [e.message], "context": {}}}}),
    };
    ([("content-type", "application/json")], out.to_string()).into_response()
}

async fn xmlrpc_handler(
    State(db): State<Shared>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    record(&db, &format!("/xmlrpc/2/{service}"), &headers, &body);
    let xml = match xmlrpc::decode(&body) {
        Ok(xmlrpc::Decoded::Call(m, params)) => {
            let mut d = match db.lock() {
                Ok(d) => d,
                Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            };
            match d.dispatch(&service, &m, &params) {
                Ok(Some(v)) => xmlrpc::encode_response(&v),
                Ok(None) => xmlrpc::encode_fault(1, "Traceback (most recent call last):\n  File \"/usr/lib/python3/xmlrpc/client.py\", line 529, in __dump\nTypeError: cannot marshal None unless allow_none is enabled"),
                Err(e) => {
                    let code = e.xmlrpc_code();
                    let msg = if code == 1 { e.traceback() } else { e.message.clone() };
                    xmlrpc::encode_fault(code, &msg)
                }
            }
        }
        _ => xmlrpc::encode_fault(1, "ExpatError: not well-formed"),
    };
    ([("content-type", "text/xml; charset=utf-8")], xml).into_response()
}

async fn json2(
    State(db): State<Shared>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    record(&db, &format!("/json/2/{model}/{method}"), &headers, &body);
    let mut d = match db.lock() {
        Ok(d) => d,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if d.version < 19 {
        return (
            StatusCode::NOT_FOUND,
            "<!DOCTYPE html><html><title>404: Not Found</title></html>",
        )
            .into_response();
    }
    let err = |e: Exc| {
        let st = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (st, [("content-type", "application/json")], json!({"name": e.name, "message": e.message, "arguments": [e.message], "context": {}, "debug": e.traceback()}).to_string()).into_response()
    };
    let key = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("bearer ")
                .or_else(|| v.strip_prefix("Bearer "))
        })
        .unwrap_or_default()
        .to_string();
    let db_name = headers
        .get("x-odoo-database")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if db_name != d.db || !d.users.iter().any(|(_, p, _)| *p == key) {
        return err(exc("werkzeug.exceptions.Unauthorized", "Invalid apikey").with_status(401));
    }
    let named: Map<String, Value> = match serde_json::from_str::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        _ => {
            return err(exc(
                "werkzeug.exceptions.BadRequest",
                "the body must be a JSON object",
            )
            .with_status(400))
        }
    };
    if fields(&model, d.version).is_none() {
        return err(exc(
            "werkzeug.exceptions.NotFound",
            format!("the model {model:?} does not exist"),
        )
        .with_status(404));
    }
    let known: &[&str] = match method.as_str() {
        "search" => &["domain", "offset", "limit", "order", "context"],
        "search_read" => &["domain", "fields", "offset", "limit", "order", "context"],
        "read" => &["ids", "fields", "context"],
        "create" => &["vals_list", "context"],
        "write" => &["ids", "vals", "context"],
        _ => &["ids", "context"],
    };
    if let Some(k) = named.keys().find(|k| !known.contains(&k.as_str())) {
        return err(exc(
            "builtins.TypeError",
            format!("{model}.{method}() got an unexpected keyword argument '{k}'"),
        ));
    }
    match d.orm(&model, &method, &[], &named) {
        Ok(v) => (
            [("content-type", "application/json")],
            v.unwrap_or(Value::Null).to_string(),
        )
            .into_response(),
        Err(e) => err(e),
    }
}

impl Exc {
    fn with_status(mut self, s: u16) -> Exc {
        self.status = Some(s);
        self
    }
}

impl FakeOdoo {
    /// Starts a server for `version` with database `odoo` and user `edi`
    /// (uid 2) whose password and API key are [`PASSWORD`].
    pub fn start(version: u32) -> FakeOdoo {
        let db = Arc::new(Mutex::new(Db {
            version,
            db: "odoo".into(),
            users: vec![("edi".into(), PASSWORD.into(), 2)],
            next_id: 100,
            ..Db::default()
        }));
        let app = Router::new()
            .route("/jsonrpc", post(jsonrpc))
            .route("/xmlrpc/2/{service}", post(xmlrpc_handler))
            .route("/json/2/{model}/{method}", post(json2))
            .with_state(db.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::from_std(listener).unwrap();
                let _ = axum::serve(l, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        FakeOdoo {
            url,
            db,
            _shutdown: tx,
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Db> {
        self.db.lock().unwrap()
    }

    /// Seeds the demo master data: customer ACME (GLN in `ref`), two coffee
    /// products by GTIN, the unit "Units". Returns (partner, [products]).
    pub fn seed_demo(&self) -> (i64, Vec<i64>) {
        let mut d = self.lock();
        let units = d.seed("uom.uom", json!({"name": "Units"}));
        let acme = d.seed("res.partner", json!({"name": "ACME Distribution SA", "ref": "5412345000013", "is_company": true, "type": "contact"}));
        let p1 = d.seed("product.product", json!({"name": "Café moulu 250 g", "default_code": "CAF-MOU-250", "barcode": "5410738000152", "list_price": 4.2, "uom_id": units, "type": "consu", "is_storable": true}));
        let p2 = d.seed("product.product", json!({"name": "Café grains 1 kg", "default_code": "CAF-GRA-1K", "barcode": "5410738000169", "list_price": 14.5, "uom_id": units, "type": "consu", "is_storable": true}));
        (acme, vec![p1, p2])
    }
}
