//! Odoo transports: JSON-RPC, XML-RPC and JSON-2, behind one client with
//! the ORM methods the sink needs (`search`, `search_read`, `create`,
//! `write`, and record methods such as `action_confirm`).
//!
//! The client authenticates once (JSON-RPC and XML-RPC; JSON-2 sends the API
//! key on every call) and reuses the uid, keeps at most `max_in_flight`
//! calls open to the server, and retries a call at once when Odoo reports a
//! serialization failure or a lock timeout. The password or API key is kept
//! out of `Debug` output, logs and errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, Semaphore};

use super::errors::{short, OdooError};
use super::xmlrpc::{self, Decoded};
use crate::config::{OdooProtocol, OdooSink as OdooConfig};

/// A secret that never prints.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One Odoo server and database.
#[derive(Debug)]
pub struct OdooClient {
    http: reqwest::Client,
    base: String,
    db: String,
    login: String,
    secret: Secret,
    protocol: OdooProtocol,
    uid: Mutex<Option<i64>>,
    permits: Arc<Semaphore>,
    next_id: AtomicU64,
    serialization_retries: u32,
}

impl OdooClient {
    /// A client for `cfg`, with the secret read from `cfg.password_env`.
    pub fn new(cfg: &OdooConfig, secret: Secret) -> Result<OdooClient, OdooError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(cfg.timeout_secs.clamp(1, 10)))
            .build()
            .map_err(|e| OdooError::Connection(e.without_url().to_string()))?;
        Ok(OdooClient {
            http,
            base: cfg.url.trim_end_matches('/').to_string(),
            db: cfg.db.clone(),
            login: cfg.login.clone().unwrap_or_default(),
            secret,
            protocol: cfg.protocol,
            uid: Mutex::new(None),
            permits: Arc::new(Semaphore::new(cfg.max_in_flight.max(1))),
            next_id: AtomicU64::new(1),
            serialization_retries: cfg.serialization_retries,
        })
    }

    async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
        bearer: bool,
    ) -> Result<(u16, String), OdooError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| OdooError::Connection("client closed".into()))?;
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if bearer {
            req = req
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("bearer {}", self.secret.expose()),
                )
                .header("X-Odoo-Database", &self.db);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| OdooError::Connection(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| OdooError::Connection(e.without_url().to_string()))?;
        Ok((status, text))
    }

    async fn jsonrpc(&self, service: &str, method: &str, args: Value) -> Result<Value, OdooError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": args},
            "id": id,
        });
        let (status, text) = self
            .post("/jsonrpc", "application/json", body.to_string(), false)
            .await?;
        if status != 200 {
            return Err(OdooError::Http {
                status,
                message: short(&text),
            });
        }
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| OdooError::Protocol(format!("JSON-RPC reply is not JSON: {e}")))?;
        if let Some(err) = v.get("error") {
            return Err(OdooError::from_jsonrpc(err));
        }
        // A method returning None yields a reply without `result`.
        Ok(v.get("result").cloned().unwrap_or(Value::Null))
    }

    async fn xmlrpc(&self, service: &str, method: &str, args: Value) -> Result<Value, OdooError> {
        let params = match args {
            Value::Array(a) => a,
            other => vec![other],
        };
        let body = xmlrpc::encode_call(method, &params);
        let (status, text) = self
            .post(&format!("/xmlrpc/2/{service}"), "text/xml", body, false)
            .await?;
        if status != 200 {
            return Err(OdooError::Http {
                status,
                message: short(&text),
            });
        }
        match xmlrpc::decode(&text).map_err(OdooError::Protocol)? {
            Decoded::Response(v) => Ok(v),
            Decoded::Fault { code, message } => Err(OdooError::Fault {
                code,
                message: fault_message(&message),
            }),
            Decoded::Call(..) => Err(OdooError::Protocol("a call instead of a response".into())),
        }
    }

    async fn common(&self, method: &str, args: Value) -> Result<Value, OdooError> {
        match self.protocol {
            OdooProtocol::Xmlrpc => self.xmlrpc("common", method, args).await,
            _ => self.jsonrpc("common", method, args).await,
        }
    }

    /// The uid, authenticating on first use.
    pub async fn uid(&self) -> Result<i64, OdooError> {
        let mut guard = self.uid.lock().await;
        if let Some(uid) = *guard {
            return Ok(uid);
        }
        let r = self
            .common(
                "authenticate",
                json!([self.db, self.login, self.secret.expose(), {}]),
            )
            .await?;
        match r.as_i64() {
            Some(uid) if uid > 0 => {
                *guard = Some(uid);
                Ok(uid)
            }
            _ => Err(OdooError::Authentication {
                login: self.login.clone(),
                db: self.db.clone(),
            }),
        }
    }

    /// `common.version()`.
    pub async fn version(&self) -> Result<Value, OdooError> {
        match self.protocol {
            OdooProtocol::Json2 => Err(OdooError::Protocol("version is not part of JSON-2".into())),
            _ => self.common("version", json!([])).await,
        }
    }

    async fn execute_kw_once(
        &self,
        model: &str,
        method: &str,
        args: &Value,
        kwargs: &Map<String, Value>,
        named: &Map<String, Value>,
    ) -> Result<Value, OdooError> {
        match self.protocol {
            OdooProtocol::Json2 => {
                let (status, text) = self
                    .post(
                        &format!("/json/2/{model}/{method}"),
                        "application/json",
                        Value::Object(named.clone()).to_string(),
                        true,
                    )
                    .await?;
                if status != 200 {
                    return Err(OdooError::from_json2(status, &text));
                }
                serde_json::from_str(&text)
                    .map_err(|e| OdooError::Protocol(format!("JSON-2 reply is not JSON: {e}")))
            }
            OdooProtocol::Jsonrpc | OdooProtocol::Xmlrpc => {
                let uid = self.uid().await?;
                let a = json!([
                    self.db,
                    uid,
                    self.secret.expose(),
                    model,
                    method,
                    args,
                    kwargs
                ]);
                let r = if self.protocol == OdooProtocol::Xmlrpc {
                    self.xmlrpc("object", "execute_kw", a).await
                } else {
                    self.jsonrpc("object", "execute_kw", a).await
                };
                if let Err(OdooError::Exception { name, .. }) = &r {
                    if name == "odoo.exceptions.AccessDenied"
                        || name == "odoo.http.SessionExpiredException"
                    {
                        // The uid may be stale (password changed): authenticate again next time.
                        *self.uid.lock().await = None;
                    }
                }
                r
            }
        }
    }

    /// Calls `model.method`: positional `args` and `kwargs` for JSON-RPC
    /// and XML-RPC, `named` arguments for JSON-2. Serialization failures are
    /// retried at once, a bounded number of times.
    pub async fn call(
        &self,
        model: &str,
        method: &str,
        args: Value,
        kwargs: Map<String, Value>,
        named: Map<String, Value>,
    ) -> Result<Value, OdooError> {
        let mut attempt = 0u32;
        loop {
            match self
                .execute_kw_once(model, method, &args, &kwargs, &named)
                .await
            {
                Err(e) if e.is_serialization() && attempt < self.serialization_retries => {
                    attempt += 1;
                    tracing::debug!(
                        model,
                        method,
                        attempt,
                        "odoo serialization failure, retrying: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
                }
                r => return r,
            }
        }
    }

    /// Ids matching `domain`.
    pub async fn search(
        &self,
        model: &str,
        domain: Value,
        limit: Option<u32>,
    ) -> Result<Vec<i64>, OdooError> {
        let mut kwargs = Map::new();
        let mut named = Map::new();
        named.insert("domain".into(), domain.clone());
        if let Some(l) = limit {
            kwargs.insert("limit".into(), json!(l));
            named.insert("limit".into(), json!(l));
        }
        let r = self
            .call(model, "search", json!([domain]), kwargs, named)
            .await?;
        ids(&r)
    }

    /// Records matching `domain`, with `fields`.
    pub async fn search_read(
        &self,
        model: &str,
        domain: Value,
        fields: &[&str],
        limit: Option<u32>,
    ) -> Result<Vec<Map<String, Value>>, OdooError> {
        let mut kwargs = Map::new();
        kwargs.insert("fields".into(), json!(fields));
        if let Some(l) = limit {
            kwargs.insert("limit".into(), json!(l));
        }
        let mut named = kwargs.clone();
        named.insert("domain".into(), domain.clone());
        let r = self
            .call(model, "search_read", json!([domain]), kwargs, named)
            .await?;
        records(r)
    }

    /// Creates one record; its id.
    pub async fn create(&self, model: &str, vals: Value) -> Result<i64, OdooError> {
        let mut named = Map::new();
        named.insert("vals_list".into(), json!([vals]));
        let r = self
            .call(model, "create", json!([vals]), Map::new(), named)
            .await?;
        // JSON-2 returns the list of ids; the others the id itself.
        r.as_i64()
            .or_else(|| r.as_array().and_then(|a| a.first()).and_then(Value::as_i64))
            .ok_or_else(|| OdooError::Protocol(format!("create returned {r}")))
    }

    /// Writes `vals` on records.
    pub async fn write(&self, model: &str, ids: &[i64], vals: Value) -> Result<(), OdooError> {
        let mut named = Map::new();
        named.insert("ids".into(), json!(ids));
        named.insert("vals".into(), vals.clone());
        self.call(model, "write", json!([ids, vals]), Map::new(), named)
            .await
            .map(|_| ())
    }

    /// Calls a public record method (`action_confirm`, `action_cancel`…).
    /// A method that returns nothing yields `Null`, including XML-RPC's
    /// "cannot marshal None" fault (the method did run): check the state.
    pub async fn call_method(
        &self,
        model: &str,
        method: &str,
        ids: &[i64],
    ) -> Result<Value, OdooError> {
        let mut named = Map::new();
        named.insert("ids".into(), json!(ids));
        match self
            .call(model, method, json!([ids]), Map::new(), named)
            .await
        {
            Err(e) if e.is_marshal_none() => Ok(Value::Null),
            r => r,
        }
    }
}

/// The last meaningful line of an XML-RPC fault string (a traceback ends
/// with the exception).
fn fault_message(s: &str) -> String {
    let last = s
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    short(last)
}

fn ids(v: &Value) -> Result<Vec<i64>, OdooError> {
    v.as_array()
        .and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| OdooError::Protocol(format!("expected a list of ids, got {v}")))
}

fn records(v: Value) -> Result<Vec<Map<String, Value>>, OdooError> {
    match v {
        Value::Array(a) => a
            .into_iter()
            .map(|r| match r {
                Value::Object(m) => Ok(m),
                other => Err(OdooError::Protocol(format!(
                    "expected a record, got {other}"
                ))),
            })
            .collect(),
        other => Err(OdooError::Protocol(format!(
            "expected a list of records, got {other}"
        ))),
    }
}
