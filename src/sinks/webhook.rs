//! Webhook sink: POSTs the canonical (or priced) JSON to an HTTP endpoint,
//! signed with HMAC-SHA256 over the body (`sha256=<hex>` in the configured
//! header), with `X-Comptoir-Message` carrying the message id so receivers
//! can deduplicate. 2xx is delivered; connection errors, 5xx, 408 and 429
//! are retried by the pipeline's retry policy; other statuses are permanent.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::exec::Executor;
use super::{Payload, SinkError};
use crate::config::WebhookSink as WebhookConfig;

/// A configured webhook.
#[derive(Debug)]
pub struct WebhookSink {
    cfg: WebhookConfig,
    http: Option<reqwest::Client>,
    exec: Executor,
}

/// `sha256=<lowercase hex HMAC-SHA256 of body>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut out = String::from("sha256=");
    // HMAC accepts keys of any length: the error case cannot happen.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) {
        mac.update(body);
        for b in mac.finalize().into_bytes() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

impl WebhookSink {
    pub fn new(cfg: &WebhookConfig) -> WebhookSink {
        WebhookSink {
            cfg: cfg.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(cfg.timeout_secs.max(1)))
                .build()
                .ok(),
            exec: Executor::new(),
        }
    }

    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        let http = self
            .http
            .clone()
            .ok_or_else(|| SinkError::Transient("webhook: cannot build the HTTP client".into()))?;
        let key = match &self.cfg.secret_env {
            None => None,
            Some(v) => match std::env::var(v) {
                Ok(s) if !s.is_empty() => Some(s),
                _ => {
                    return Err(SinkError::Permanent(format!(
                        "webhook: environment variable {v} (signing key) is not set"
                    )))
                }
            },
        };
        let body = match (&p.priced_json, self.cfg.priced) {
            (Some(priced), true) => priced.clone(),
            _ => p.canonical_json.clone(),
        };
        let mut req = http
            .post(&self.cfg.url)
            .header("Content-Type", "application/json")
            .header("X-Comptoir-Message", p.message_id.to_string());
        if let Some(partner) = &p.partner {
            req = req.header("X-Comptoir-Partner", partner);
        }
        if let Some(k) = key {
            req = req.header(
                self.cfg.signature_header.as_str(),
                signature(k.as_bytes(), body.as_bytes()),
            );
        }
        let req = req.body(body.into_owned());
        self.exec.run(async move {
            let resp = req
                .send()
                .await
                .map_err(|e| SinkError::Transient(format!("webhook: {}", e.without_url())))?;
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let text: String = resp
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            let m = format!("webhook: HTTP {status}: {text}");
            if status >= 500 || status == 408 || status == 429 {
                Err(SinkError::Transient(m))
            } else {
                Err(SinkError::Permanent(m))
            }
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
