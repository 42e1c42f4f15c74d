//! AMQP sink: publishes each message's JSON (priced when the route priced
//! it, else canonical) to an exchange with publisher confirms.
//!
//! A delivery counts only once the broker has confirmed the publish. A nack,
//! a confirm that does not come within `confirm_timeout_ms`, an unroutable
//! message (published `mandatory`, returned by the broker) or a lost
//! connection is a [`SinkError::Transient`]: the pipeline retries it with
//! backoff. Messages are persistent (`delivery_mode = 2`) and carry
//! `message_id = comptoir-<journal id>` (answers: `comptoir-<id>-<kind>-<n>`)
//! so that a consumer can drop the copy a crash between the confirm and the
//! journal commit may cause.
//!
//! The connection and its confirm-mode channel are opened on first use and
//! reopened after a failure. [`Sink::deliver`](super::Sink::deliver) is
//! blocking: this sink runs the publish on the current Tokio runtime with
//! `Handle::block_on`, so it must be called from a blocking thread of that
//! runtime (`spawn_blocking`, as the pipeline does).

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::Confirmation;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

use super::{Answer, Payload, SinkError};
use crate::config::AmqpSink as AmqpSinkConfig;

/// A publisher to one exchange and routing key.
#[derive(Debug)]
pub struct AmqpSink {
    name: String,
    config: AmqpSinkConfig,
    link: Mutex<Option<(Connection, Channel)>>,
}

/// One message to publish.
struct Outgoing<'a> {
    body: &'a [u8],
    message_id: String,
    content_type: &'static str,
    headers: FieldTable,
}

fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_bytes()))
}

impl AmqpSink {
    pub fn new(name: &str, config: AmqpSinkConfig) -> AmqpSink {
        AmqpSink {
            name: name.to_string(),
            config,
            link: Mutex::new(None),
        }
    }

    /// Publishes the payload's JSON (blocking; see the module notes).
    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        let (body, kind) = match (&p.priced_json, self.config.priced) {
            (Some(priced), true) => (priced.as_str(), "priced"),
            _ => (p.canonical_json.as_str(), "canonical"),
        };
        let mut headers = FieldTable::default();
        headers.insert(
            "x-comptoir-message-id".into(),
            AMQPValue::LongLongInt(p.message_id),
        );
        headers.insert("x-comptoir-body".into(), text(kind));
        if let Some(partner) = &p.partner {
            headers.insert("partner".into(), text(partner));
        }
        self.block_on(Outgoing {
            body: body.as_bytes(),
            message_id: format!("comptoir-{}", p.message_id),
            content_type: "application/json",
            headers,
        })
    }

    /// Publishes an answer to a partner (blocking; see the module notes).
    pub fn deliver_answer(&self, a: &Answer) -> Result<(), SinkError> {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-comptoir-message-id".into(),
            AMQPValue::LongLongInt(a.message_id),
        );
        headers.insert("x-comptoir-answer".into(), text(a.kind));
        if let Some(partner) = &a.partner {
            headers.insert("partner".into(), text(partner));
        }
        self.block_on(Outgoing {
            body: &a.bytes,
            message_id: match &a.name {
                Some(n) => format!("comptoir-export-{n}"),
                None => format!("comptoir-{}-{}-{}", a.message_id, a.kind, a.index),
            },
            content_type: a.content_type(),
            headers,
        })
    }

    fn block_on(&self, m: Outgoing<'_>) -> Result<(), SinkError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            SinkError::Transient(format!(
                "sink {}: no async runtime to publish on",
                self.name
            ))
        })?;
        handle.block_on(self.publish(m))
    }

    /// The confirm-mode channel, connecting when needed.
    async fn channel(&self) -> Result<Channel, SinkError> {
        let mut link = self.link.lock().await;
        if let Some((conn, ch)) = link.as_ref() {
            if conn.status().connected() && ch.status().connected() {
                return Ok(ch.clone());
            }
        }
        *link = None;
        let err = |what: &str, e: lapin::Error| {
            SinkError::Transient(format!("sink {}: {what}: {e}", self.name))
        };
        let props = ConnectionProperties::default()
            .with_connection_name(format!("comptoir sink {}", self.name).into());
        let conn = Connection::connect(&self.config.url, props)
            .await
            .map_err(|e| err("cannot connect", e))?;
        let ch = conn
            .create_channel()
            .await
            .map_err(|e| err("cannot open a channel", e))?;
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| err("cannot enable publisher confirms", e))?;
        *link = Some((conn, ch.clone()));
        Ok(ch)
    }

    async fn forget(&self) {
        if let Some((conn, _)) = self.link.lock().await.take() {
            let _ = conn.close(200, "comptoir sink reconnecting".into()).await;
        }
    }

    async fn publish(&self, m: Outgoing<'_>) -> Result<(), SinkError> {
        let ch = self.channel().await?;
        let props = BasicProperties::default()
            .with_message_id(m.message_id.as_str().into())
            .with_content_type(m.content_type.into())
            .with_delivery_mode(2)
            .with_headers(m.headers);
        let c = &self.config;
        let fail = |why: String| SinkError::Transient(format!("sink {}: {why}", self.name));
        let confirm = match ch
            .basic_publish(
                c.exchange.as_str().into(),
                c.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                m.body,
                props,
            )
            .await
        {
            Ok(confirm) => confirm,
            Err(e) => {
                self.forget().await;
                return Err(fail(format!("publish failed: {e}")));
            }
        };
        let timeout = Duration::from_millis(c.confirm_timeout_ms.max(1));
        let outcome = tokio::time::timeout(timeout, confirm).await;
        match outcome {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(returned)))) => Err(fail(format!(
                "unroutable: exchange {:?} routing key {:?} returned it ({} {})",
                c.exchange, c.routing_key, returned.reply_code, returned.reply_text
            ))),
            Ok(Ok(Confirmation::Nack(_))) => Err(fail("the broker nacked the publish".into())),
            Ok(Ok(Confirmation::NotRequested)) => {
                self.forget().await;
                Err(fail("publisher confirms are not enabled".into()))
            }
            Ok(Err(e)) => {
                self.forget().await;
                Err(fail(format!("no confirm: {e}")))
            }
            Err(_) => {
                self.forget().await;
                Err(fail(format!(
                    "no confirm within {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }
}
