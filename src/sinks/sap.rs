//! SAP sink: IDoc ORDERS05 XML as files or over HTTP (SAP PO / Integration
//! Suite), or S/4HANA OData v2 `API_SALES_ORDER_SRV` deep insert
//! (`A_SalesOrder` with `to_Item`).
//!
//! OData follows SAP's CSRF protocol: a GET with `X-CSRF-Token: Fetch`
//! returns a token and session cookies; the POST sends both back. A 403
//! answering `X-CSRF-Token: Required` (stale token) fetches a new one once.
//! The lookup GET is also the idempotency check: an order whose
//! `PurchaseOrderByCustomer` and `SoldToParty` already exist is not posted
//! again. Passwords come from environment variables and are never logged.

use std::path::PathBuf;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::exec::Executor;
use super::{Payload, SinkError};
use crate::config::SapMode;
use crate::formats::xml::out::write_idoc_orders05;
use crate::model::{Document, DocumentType, PartyRole};

/// A configured SAP sink.
#[derive(Debug)]
pub struct SapSink {
    mode: SapMode,
    http: Option<reqwest::Client>,
    exec: Executor,
}

fn transient(e: reqwest::Error) -> SinkError {
    SinkError::Transient(format!("sap: {}", e.without_url()))
}

fn status_error(what: &str, status: u16, body: &str) -> SinkError {
    let body: String = body.chars().take(300).collect();
    let m = format!("sap: {what}: HTTP {status}: {body}");
    if status >= 500 || status == 408 || status == 429 {
        SinkError::Transient(m)
    } else {
        SinkError::Permanent(m)
    }
}

fn secret(var: &Option<String>) -> Result<Option<String>, SinkError> {
    match var {
        None => Ok(None),
        Some(v) => match std::env::var(v) {
            Ok(s) if !s.is_empty() => Ok(Some(s)),
            _ => Err(SinkError::Permanent(format!(
                "sap: environment variable {v} (password) is not set"
            ))),
        },
    }
}

/// The OData settings, owned by the delivery task.
#[derive(Debug, Clone)]
struct OData {
    url: String,
    user: String,
    password: String,
    order_type: String,
    sales_org: String,
    channel: String,
    division: String,
    customers: std::collections::BTreeMap<String, String>,
    materials: std::collections::BTreeMap<String, String>,
    units: std::collections::BTreeMap<String, String>,
}

/// The JSON body of an `A_SalesOrder` deep insert.
fn odata_payload(o: &ODataCfg<'_>, doc: &Document) -> Result<Value, SinkError> {
    let buyer = doc.party(&PartyRole::Buyer);
    let key = buyer.and_then(|b| b.gln.as_deref().or(b.id.as_deref()));
    let sold_to = key.and_then(|k| o.customers.get(k)).ok_or_else(|| {
        SinkError::Permanent(format!(
            "sap: order {}: no SAP customer for buyer {}",
            doc.number,
            key.unwrap_or("without identifier")
        ))
    })?;
    let mut items = Vec::new();
    for (i, line) in doc.lines.iter().enumerate() {
        let material = [line.gtin.as_deref(), line.seller_item_code.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|k| o.materials.get(k))
            .ok_or_else(|| {
                SinkError::Permanent(format!(
                    "sap: order {} line {}: no SAP material for GTIN {} / seller code {}",
                    doc.number,
                    line.line_number
                        .clone()
                        .unwrap_or_else(|| (i + 1).to_string()),
                    line.gtin.as_deref().unwrap_or("-"),
                    line.seller_item_code.as_deref().unwrap_or("-")
                ))
            })?;
        let q = line.quantity.as_ref();
        let mut item = json!({
            "SalesOrderItem": format!("{}", (i + 1) * 10),
            "Material": material,
            "RequestedQuantity": q.map_or(Decimal::ONE, |q| q.value).normalize().to_string(),
        });
        if let Some(u) = q.and_then(|q| q.unit.as_deref()) {
            item["RequestedQuantityUnit"] = json!(o.units.get(u).map_or(u, String::as_str));
        }
        if let Some(b) = &line.buyer_item_code {
            item["MaterialByCustomer"] = json!(b);
        }
        items.push(item);
    }
    let mut body = json!({
        "SalesOrderType": o.order_type,
        "SalesOrganization": o.sales_org,
        "DistributionChannel": o.channel,
        "OrganizationDivision": o.division,
        "SoldToParty": sold_to,
        "PurchaseOrderByCustomer": doc.number,
        "to_Item": items,
    });
    if let Some(d) = doc.date("document").and_then(|d| d.date()) {
        body["CustomerPurchaseOrderDate"] = json!(odata_date(d));
    }
    if let Some(d) = doc.date("requested_delivery").and_then(|d| d.date()) {
        body["RequestedDeliveryDate"] = json!(odata_date(d));
    }
    Ok(body)
}

/// OData v2 JSON date: `/Date(<ms since epoch>)/`.
fn odata_date(d: chrono::NaiveDate) -> String {
    let ms = d
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis());
    format!("/Date({ms})/")
}

/// Borrowed view used to build payloads (testable without a server).
struct ODataCfg<'a> {
    order_type: &'a str,
    sales_org: &'a str,
    channel: &'a str,
    division: &'a str,
    customers: &'a std::collections::BTreeMap<String, String>,
    materials: &'a std::collections::BTreeMap<String, String>,
    units: &'a std::collections::BTreeMap<String, String>,
}

impl OData {
    fn view(&self) -> ODataCfg<'_> {
        ODataCfg {
            order_type: &self.order_type,
            sales_org: &self.sales_org,
            channel: &self.channel,
            division: &self.division,
            customers: &self.customers,
            materials: &self.materials,
            units: &self.units,
        }
    }

    /// GET with a token fetch: (existing order number, token, cookies).
    async fn lookup(
        &self,
        http: &reqwest::Client,
        doc_number: &str,
        sold_to: &str,
    ) -> Result<(Option<String>, String, String), SinkError> {
        let filter = format!(
            "PurchaseOrderByCustomer eq '{}' and SoldToParty eq '{}'",
            doc_number.replace('\'', "''"),
            sold_to.replace('\'', "''")
        );
        let resp = http
            .get(format!("{}/A_SalesOrder", self.url))
            .query(&[
                ("$filter", filter.as_str()),
                ("$select", "SalesOrder"),
                ("$top", "1"),
                ("$format", "json"),
            ])
            .basic_auth(&self.user, Some(&self.password))
            .header("X-CSRF-Token", "Fetch")
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(transient)?;
        let status = resp.status().as_u16();
        let token = resp
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let cookies: Vec<String> = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .map(str::to_string)
            .collect();
        let body = resp.text().await.map_err(transient)?;
        if status != 200 {
            return Err(status_error("sales order lookup", status, &body));
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| SinkError::Transient(format!("sap: lookup answer is not JSON: {e}")))?;
        let existing = v["d"]["results"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|o| o["SalesOrder"].as_str())
            .map(str::to_string);
        Ok((existing, token, cookies.join("; ")))
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        body: &Value,
        token: &str,
        cookies: &str,
    ) -> Result<(u16, bool, String), SinkError> {
        let resp = http
            .post(format!("{}/A_SalesOrder", self.url))
            .basic_auth(&self.user, Some(&self.password))
            .header("X-CSRF-Token", token)
            .header("Cookie", cookies)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(transient)?;
        let status = resp.status().as_u16();
        let csrf_required = resp
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("required"));
        let text = resp.text().await.map_err(transient)?;
        Ok((status, csrf_required, text))
    }

    /// Creates the order unless it exists; the SAP order number.
    async fn order(&self, http: &reqwest::Client, doc: &Document) -> Result<String, SinkError> {
        let body = odata_payload(&self.view(), doc)?;
        let sold_to = body["SoldToParty"].as_str().unwrap_or_default().to_string();
        for attempt in 0..2 {
            let (existing, token, cookies) = self.lookup(http, &doc.number, &sold_to).await?;
            if let Some(n) = existing {
                return Ok(n);
            }
            let (status, csrf_required, text) = self.post(http, &body, &token, &cookies).await?;
            if status == 403 && csrf_required && attempt == 0 {
                tracing::debug!(order = %doc.number, "sap: CSRF token rejected, fetching a new one");
                continue;
            }
            if status != 201 && status != 200 {
                return Err(status_error("sales order creation", status, &text));
            }
            let v: Value = serde_json::from_str(&text).unwrap_or_default();
            return Ok(v["d"]["SalesOrder"]
                .as_str()
                .unwrap_or_default()
                .to_string());
        }
        Err(SinkError::Transient("sap: CSRF token refused twice".into()))
    }
}

impl SapSink {
    pub fn new(mode: &SapMode) -> SapSink {
        let timeout = match mode {
            SapMode::Odata { timeout_secs, .. } => *timeout_secs,
            _ => 30,
        };
        let http = match mode {
            SapMode::IdocFile { .. } => None,
            _ => reqwest::Client::builder()
                .timeout(Duration::from_secs(timeout.max(1)))
                .build()
                .ok(),
        };
        SapSink {
            mode: mode.clone(),
            http,
            exec: Executor::new(),
        }
    }

    fn orders(p: &Payload) -> Result<Vec<Document>, SinkError> {
        let docs: Vec<Document> = serde_json::from_str(&p.canonical_json)
            .map_err(|e| SinkError::Permanent(format!("canonical JSON: {e}")))?;
        Ok(docs
            .into_iter()
            .filter(|d| d.document_type == DocumentType::Order)
            .collect())
    }

    fn idocs(p: &Payload) -> Result<Vec<Vec<u8>>, SinkError> {
        Self::orders(p)?
            .iter()
            .map(|d| {
                write_idoc_orders05(d).map_err(|e| {
                    SinkError::Permanent(format!("sap: order {}: IDoc: {e}", d.number))
                })
            })
            .collect()
    }

    /// Delivers the payload's orders; returns the SAP order numbers (OData)
    /// or the files / posts made.
    pub fn deliver(&self, p: &Payload) -> Result<Vec<String>, SinkError> {
        let http = || {
            self.http
                .clone()
                .ok_or_else(|| SinkError::Transient("sap: cannot build the HTTP client".into()))
        };
        match &self.mode {
            SapMode::IdocFile { path } => {
                let mut out = Vec::new();
                for (i, xml) in Self::idocs(p)?.into_iter().enumerate() {
                    let name = format!("{}-{}.xml", p.message_id, i + 1);
                    write_atomic(path, &name, &xml)?;
                    out.push(name);
                }
                Ok(out)
            }
            SapMode::IdocHttp {
                url,
                user,
                password_env,
            } => {
                let http = http()?;
                let password = secret(password_env)?;
                let (url, user) = (url.clone(), user.clone());
                let idocs = Self::idocs(p)?;
                let message_id = p.message_id;
                self.exec.run(async move {
                    let mut out = Vec::new();
                    for (i, xml) in idocs.into_iter().enumerate() {
                        let mut req = http
                            .post(&url)
                            .header("Content-Type", "application/xml")
                            .header("X-Comptoir-Message", format!("{message_id}-{}", i + 1))
                            .body(xml);
                        if let Some(u) = &user {
                            req = req.basic_auth(u, password.as_deref());
                        }
                        let resp = req.send().await.map_err(transient)?;
                        let status = resp.status().as_u16();
                        if !(200..300).contains(&status) {
                            let body = resp.text().await.unwrap_or_default();
                            return Err(status_error("IDoc post", status, &body));
                        }
                        out.push(format!("{message_id}-{}", i + 1));
                    }
                    Ok(out)
                })?
            }
            SapMode::Odata {
                url,
                user,
                password_env,
                sales_order_type,
                sales_organization,
                distribution_channel,
                organization_division,
                customers,
                materials,
                units,
                ..
            } => {
                let http = http()?;
                let password = secret(&Some(password_env.clone()))?.unwrap_or_default();
                let o = OData {
                    url: url.trim_end_matches('/').to_string(),
                    user: user.clone(),
                    password,
                    order_type: sales_order_type.clone(),
                    sales_org: sales_organization.clone(),
                    channel: distribution_channel.clone(),
                    division: organization_division.clone(),
                    customers: customers.clone(),
                    materials: materials.clone(),
                    units: units.clone(),
                };
                let docs = Self::orders(p)?;
                self.exec.run(async move {
                    let mut out = Vec::new();
                    for d in &docs {
                        out.push(o.order(&http, d).await?);
                    }
                    Ok(out)
                })?
            }
        }
    }
}

fn write_atomic(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<(), SinkError> {
    let err = |e: std::io::Error| SinkError::Transient(format!("sap: {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp: PathBuf = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, dir.join(name)).map_err(err)
}
