//! SAP sink: IDoc ORDERS05 XML as files (local directory, or uploaded over
//! SFTP with the SFTP sink's code) or over HTTP (SAP PO / Integration
//! Suite), or S/4HANA OData v2 `API_SALES_ORDER_SRV` deep insert
//! (`A_SalesOrder` with `to_Item`).
//!
//! OData follows SAP's CSRF protocol: a GET with `X-CSRF-Token: Fetch`
//! returns a token and session cookies; the POST sends both back. A 403
//! answering `X-CSRF-Token: Required` (stale token) fetches a new one once.
//! The lookup GET is also the idempotency check: an order whose
//! `PurchaseOrderByCustomer` and `SoldToParty` already exist is not posted
//! again.
//!
//! OData authenticates by HTTP basic, or by an OAuth2 bearer token from the
//! client credentials grant (RFC 6749 §4.4): a form-encoded POST of
//! `grant_type=client_credentials` (and `scope`) to the token URL, the
//! client authenticated by HTTP basic with its form-encoded id and secret
//! (§2.3.1). The token is cached until shortly before its `expires_in` (or
//! until refused, without one) and shared by every delivery of the sink; a
//! 401 from the service drops it and the order is tried once more with a new
//! one. A token endpoint refusing the client (400/401) is a permanent error.
//! Passwords and secrets come from environment variables and are never
//! logged.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{json, Value};

use super::exec::Executor;
use super::sftp::SftpSink;
use super::{Payload, SinkError};
use crate::config::{OAuth2Config, SapMode};
use crate::formats::xml::out::write_idoc_orders05;
use crate::model::{Document, DocumentType, PartyRole};

/// A configured SAP sink.
#[derive(Debug)]
pub struct SapSink {
    mode: SapMode,
    http: Option<reqwest::Client>,
    exec: Executor,
    /// The uploader of the `idoc_sftp` mode.
    sftp: Option<SftpSink>,
    /// The OAuth2 client and its cached token (OData with `oauth2`).
    oauth2: Option<Arc<OAuth2>>,
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

/// `application/x-www-form-urlencoded` encoding of one value: ASCII
/// letters, digits and `*-._` as is, space as `+`, every other byte `%XX`.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A bearer token and when to stop using it.
#[derive(Debug, Clone)]
struct Token {
    access: String,
    /// `None`: the server gave no `expires_in`; used until refused.
    renew_at: Option<Instant>,
}

/// OAuth2 client credentials: the client and its cached token.
#[derive(Debug)]
struct OAuth2 {
    config: OAuth2Config,
    token: tokio::sync::Mutex<Option<Token>>,
}

/// How long before `expires_in` ends a token is renewed: a tenth of its
/// life, at most 30 s.
fn renew_margin(expires_in: Duration) -> Duration {
    (expires_in / 10).min(Duration::from_secs(30))
}

impl OAuth2 {
    /// The cached token, or a new one when there is none or it is about to
    /// expire.
    async fn bearer(&self, http: &reqwest::Client) -> Result<String, SinkError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            if t.renew_at.is_none_or(|at| Instant::now() < at) {
                return Ok(t.access.clone());
            }
        }
        let t = self.fetch(http).await?;
        let access = t.access.clone();
        *cached = Some(t);
        Ok(access)
    }

    /// Forgets `used` (refused by the service) unless it was replaced already.
    async fn invalidate(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.access == used) {
            *cached = None;
        }
    }

    /// The token request (RFC 6749 §4.4.2, client authentication §2.3.1).
    async fn fetch(&self, http: &reqwest::Client) -> Result<Token, SinkError> {
        let c = &self.config;
        let secret = match std::env::var(&c.client_secret_env) {
            Ok(s) if !s.is_empty() => s,
            _ => {
                return Err(SinkError::Permanent(format!(
                    "sap: environment variable {} (OAuth2 client secret) is not set",
                    c.client_secret_env
                )))
            }
        };
        let mut body = String::from("grant_type=client_credentials");
        if let Some(scope) = c.scope.as_deref().filter(|s| !s.is_empty()) {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        let asked = Instant::now();
        let resp = http
            .post(&c.token_url)
            .basic_auth(form_encode(&c.client_id), Some(form_encode(&secret)))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                SinkError::Transient(format!("sap: OAuth2 token request: {}", e.without_url()))
            })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(transient)?;
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        if status != 200 {
            let reason = match (v["error"].as_str(), v["error_description"].as_str()) {
                (Some(e), Some(d)) => format!("{e}: {d}"),
                (Some(e), None) => e.to_string(),
                _ => text.chars().take(300).collect(),
            };
            let m = format!(
                "sap: OAuth2 token request to {} refused: HTTP {status}: {reason}",
                c.token_url
            );
            return Err(match status {
                400 | 401 | 403 => SinkError::Permanent(format!(
                    "{m} (check oauth2.client_id {:?} and the secret in {})",
                    c.client_id, c.client_secret_env
                )),
                _ if status >= 500 || status == 408 || status == 429 => SinkError::Transient(m),
                _ => SinkError::Permanent(m),
            });
        }
        let access = v["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                SinkError::Transient(format!(
                    "sap: OAuth2 token answer from {} has no access_token",
                    c.token_url
                ))
            })?;
        if let Some(kind) = v["token_type"].as_str() {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(SinkError::Permanent(format!(
                    "sap: OAuth2 token type {kind:?} from {} is not a bearer token",
                    c.token_url
                )));
            }
        }
        let expires_in = v["expires_in"]
            .as_u64()
            .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .map(Duration::from_secs);
        tracing::debug!(token_url = %c.token_url, expires_in = ?expires_in, "sap: OAuth2 token fetched");
        Ok(Token {
            access: access.to_string(),
            // An absurd lifetime overflowing the clock: used until refused.
            renew_at: expires_in.and_then(|d| asked.checked_add(d - renew_margin(d))),
        })
    }
}

/// How OData requests authenticate.
#[derive(Debug, Clone)]
enum Auth {
    Basic { user: String, password: String },
    OAuth2(Arc<OAuth2>),
}

/// The credentials of one attempt.
#[derive(Debug, Clone)]
enum Credentials {
    Basic { user: String, password: String },
    Bearer(String),
}

impl Credentials {
    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credentials::Basic { user, password } => req.basic_auth(user, Some(password)),
            Credentials::Bearer(token) => req.bearer_auth(token),
        }
    }
}

impl Auth {
    async fn credentials(&self, http: &reqwest::Client) -> Result<Credentials, SinkError> {
        match self {
            Auth::Basic { user, password } => Ok(Credentials::Basic {
                user: user.clone(),
                password: password.clone(),
            }),
            Auth::OAuth2(o) => Ok(Credentials::Bearer(o.bearer(http).await?)),
        }
    }

    /// After a 401 with `used`: true when a new bearer token is worth one
    /// more try (once per order: `retried` is set).
    async fn renew_after_401(&self, used: &Credentials, retried: &mut bool) -> bool {
        match (self, used) {
            (Auth::OAuth2(o), Credentials::Bearer(token)) if !*retried => {
                *retried = true;
                tracing::debug!("sap: bearer token refused (401), fetching a new one");
                o.invalidate(token).await;
                true
            }
            _ => false,
        }
    }
}

/// What the lookup GET found.
enum Lookup {
    /// (existing order number, CSRF token, cookies).
    Found(Option<String>, String, String),
    /// 401, with the answer's body.
    Unauthorized(String),
}

/// The OData settings, owned by the delivery task.
#[derive(Debug, Clone)]
struct OData {
    url: String,
    auth: Auth,
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

    /// GET with a token fetch: the existing order, CSRF token and cookies.
    async fn lookup(
        &self,
        http: &reqwest::Client,
        cred: &Credentials,
        doc_number: &str,
        sold_to: &str,
    ) -> Result<Lookup, SinkError> {
        let filter = format!(
            "PurchaseOrderByCustomer eq '{}' and SoldToParty eq '{}'",
            doc_number.replace('\'', "''"),
            sold_to.replace('\'', "''")
        );
        let req = http.get(format!("{}/A_SalesOrder", self.url)).query(&[
            ("$filter", filter.as_str()),
            ("$select", "SalesOrder"),
            ("$top", "1"),
            ("$format", "json"),
        ]);
        let resp = cred
            .apply(req)
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
        if status == 401 {
            return Ok(Lookup::Unauthorized(body));
        }
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
        Ok(Lookup::Found(existing, token, cookies.join("; ")))
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        cred: &Credentials,
        body: &Value,
        token: &str,
        cookies: &str,
    ) -> Result<(u16, bool, String), SinkError> {
        let resp = cred
            .apply(http.post(format!("{}/A_SalesOrder", self.url)))
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
        let mut csrf_retried = false;
        let mut auth_retried = false;
        loop {
            let cred = self.auth.credentials(http).await?;
            let (existing, token, cookies) =
                match self.lookup(http, &cred, &doc.number, &sold_to).await? {
                    Lookup::Found(existing, token, cookies) => (existing, token, cookies),
                    Lookup::Unauthorized(text) => {
                        if self.auth.renew_after_401(&cred, &mut auth_retried).await {
                            continue;
                        }
                        return Err(unauthorized("sales order lookup", &cred, &text));
                    }
                };
            if let Some(n) = existing {
                return Ok(n);
            }
            let (status, csrf_required, text) =
                self.post(http, &cred, &body, &token, &cookies).await?;
            if status == 401 {
                if self.auth.renew_after_401(&cred, &mut auth_retried).await {
                    continue;
                }
                return Err(unauthorized("sales order creation", &cred, &text));
            }
            if status == 403 && csrf_required && !csrf_retried {
                tracing::debug!(order = %doc.number, "sap: CSRF token rejected, fetching a new one");
                csrf_retried = true;
                continue;
            }
            if status == 403 && csrf_required {
                return Err(SinkError::Transient("sap: CSRF token refused twice".into()));
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
    }
}

/// The permanent error of a 401 that a new token did not cure.
fn unauthorized(what: &str, cred: &Credentials, body: &str) -> SinkError {
    let body: String = body.chars().take(300).collect();
    SinkError::Permanent(match cred {
        Credentials::Basic { user, .. } => {
            format!("sap: {what}: HTTP 401: user {user:?} refused (check user and password_env): {body}")
        }
        Credentials::Bearer(_) => format!(
            "sap: {what}: HTTP 401: a newly fetched OAuth2 token was refused \
             (check the client's roles and scope): {body}"
        ),
    })
}

impl SapSink {
    pub fn new(mode: &SapMode) -> SapSink {
        let timeout = match mode {
            SapMode::Odata { timeout_secs, .. } => *timeout_secs,
            _ => 30,
        };
        let http = match mode {
            SapMode::IdocFile { .. } | SapMode::IdocSftp(_) => None,
            _ => reqwest::Client::builder()
                .timeout(Duration::from_secs(timeout.max(1)))
                .build()
                .ok(),
        };
        let sftp = match mode {
            SapMode::IdocSftp(f) => Some(SftpSink::new("sap (idoc_sftp)", f)),
            _ => None,
        };
        let oauth2 = match mode {
            SapMode::Odata {
                oauth2: Some(o), ..
            } => Some(Arc::new(OAuth2 {
                config: o.clone(),
                token: tokio::sync::Mutex::new(None),
            })),
            _ => None,
        };
        SapSink {
            mode: mode.clone(),
            http,
            exec: Executor::new(),
            sftp,
            oauth2,
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
            SapMode::IdocSftp(_) => {
                let sftp = self.sftp.as_ref().ok_or_else(|| {
                    SinkError::Permanent("sap: idoc_sftp without an SFTP uploader".into())
                })?;
                let files: Vec<(String, Vec<u8>)> = Self::idocs(p)?
                    .into_iter()
                    .enumerate()
                    .map(|(i, xml)| (format!("{}-{}.xml", p.message_id, i + 1), xml))
                    .collect();
                let names = files.iter().map(|(n, _)| n.clone()).collect();
                if !files.is_empty() {
                    sftp.upload(files)?;
                }
                Ok(names)
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
                let auth = match (&self.oauth2, user) {
                    (Some(o), _) => Auth::OAuth2(Arc::clone(o)),
                    (None, Some(user)) => Auth::Basic {
                        user: user.clone(),
                        password: secret(password_env)?.ok_or_else(|| {
                            SinkError::Permanent("sap: OData needs password_env".into())
                        })?,
                    },
                    (None, None) => {
                        return Err(SinkError::Permanent(
                            "sap: OData needs user and password_env, or oauth2".into(),
                        ))
                    }
                };
                let o = OData {
                    url: url.trim_end_matches('/').to_string(),
                    auth,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_and_renewal_margin() {
        assert_eq!(form_encode("sb-edi!t1:x y/é"), "sb-edi%21t1%3Ax+y%2F%C3%A9");
        assert_eq!(form_encode("A-z_0.9*"), "A-z_0.9*");
        assert_eq!(
            renew_margin(Duration::from_secs(43_200)),
            Duration::from_secs(30)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(60)),
            Duration::from_secs(6)
        );
        assert_eq!(
            renew_margin(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
    }
}
