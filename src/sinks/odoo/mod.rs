//! Odoo sink (community 16–19): sale orders from customer orders, draft
//! vendor bills from supplier invoices, over JSON-RPC, XML-RPC or JSON-2.
//!
//! [`client`] holds the transports, [`sink`] the document logic, [`errors`]
//! the classification of Odoo's errors into retryable and permanent ones,
//! [`xmlrpc`] the XML-RPC codec.

pub mod client;
pub mod errors;
pub mod sink;
pub mod xmlrpc;

use std::sync::Arc;

use serde_json::Value;

pub use client::{OdooClient, Secret};
pub use errors::OdooError;
pub use sink::{OdooOrders, Outcome};

use super::exec::Executor;
use super::{Payload, SinkError};
use crate::config::OdooSink as OdooConfig;
use crate::model::Document;

/// A configured Odoo sink.
#[derive(Debug)]
pub struct OdooSink {
    name: String,
    inner: Result<Arc<OdooOrders>, String>,
    exec: Executor,
}

impl OdooSink {
    /// Builds the sink; a missing secret makes every delivery fail with a
    /// permanent error naming the variable (never its value).
    pub fn new(name: &str, cfg: &OdooConfig) -> OdooSink {
        let inner = match std::env::var(&cfg.password_env) {
            Ok(s) if !s.is_empty() => OdooClient::new(cfg, Secret::new(s))
                .map(|c| Arc::new(OdooOrders::new(c, cfg.clone())))
                .map_err(|e| e.to_string()),
            _ => Err(format!(
                "environment variable {} (password or API key) is not set",
                cfg.password_env
            )),
        };
        OdooSink {
            name: name.to_string(),
            inner,
            exec: Executor::new(),
        }
    }

    /// The shared order logic (for tests and tools).
    pub fn orders(&self) -> Option<&Arc<OdooOrders>> {
        self.inner.as_ref().ok()
    }

    /// Delivers every document of the payload, in order.
    pub fn deliver(&self, p: &Payload) -> Result<Vec<Outcome>, SinkError> {
        let orders = self
            .inner
            .as_ref()
            .map_err(|e| SinkError::Permanent(format!("odoo sink {}: {e}", self.name)))?
            .clone();
        let docs: Vec<Document> = serde_json::from_str(&p.canonical_json)
            .map_err(|e| SinkError::Permanent(format!("canonical JSON: {e}")))?;
        let priced: Vec<Value> = match &p.priced_json {
            Some(s) => serde_json::from_str(s)
                .map_err(|e| SinkError::Permanent(format!("priced JSON: {e}")))?,
            None => Vec::new(),
        };
        let partner = p.partner.clone();
        let message_id = p.message_id;
        let r = self.exec.run(async move {
            let mut out = Vec::new();
            for doc in &docs {
                let pd = priced.iter().find(|v| {
                    v["document"]["number"].as_str() == Some(doc.number.as_str())
                        && v["document"]["document_type"].as_str()
                            == Some(doc.document_type.as_str())
                });
                let o = orders
                    .document(doc, pd, partner.as_deref())
                    .await
                    .map_err(|e| {
                        let e2 = match e {
                            OdooError::Missing(m) => OdooError::Missing(format!(
                                "{} {}: {m}",
                                doc.document_type, doc.number
                            )),
                            other => other,
                        };
                        SinkError::from(e2)
                    })?;
                tracing::info!(message_id, number = %doc.number, "odoo: {o:?}");
                out.push(o);
            }
            Ok::<_, SinkError>(out)
        })?;
        r
    }
}
