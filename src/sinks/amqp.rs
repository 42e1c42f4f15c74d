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
//!
//! Confirms are pipelined: [`AmqpSink::start`] publishes and returns at once
//! with a [`PendingConfirm`], which the pipeline awaits later together with
//! the confirms of the other messages of its batch (many publishes in flight
//! on the channel, one broker round trip for all of them). The delivery
//! still counts only once its own confirm has arrived: the pipeline records
//! it, and commits the message's state, after [`PendingConfirm::wait`].

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use lapin::{Confirmation, PublisherConfirm};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{Answer, Payload, SinkError};
use crate::config::AmqpSink as AmqpSinkConfig;

/// A publisher to one exchange and routing key.
#[derive(Debug)]
pub struct AmqpSink {
    name: String,
    config: AmqpSinkConfig,
    link: Arc<Mutex<Link>>,
}

/// The open connection and channel, with a generation number that tells a
/// late failure of an old channel from one of the current channel.
#[derive(Debug, Default)]
struct Link {
    open: Option<(Connection, Channel)>,
    generation: u64,
}

/// Drops the link when it is still generation `generation` (a failure seen
/// on an older channel must not close the channel opened since).
async fn forget(link: &Mutex<Link>, generation: u64) {
    let mut l = link.lock().await;
    if l.generation != generation {
        return;
    }
    if let Some((conn, _)) = l.open.take() {
        let _ = conn.close(200, "comptoir sink reconnecting".into()).await;
    }
}

/// A publish the broker has been sent, whose confirm is still to come.
/// Dropping it without [`PendingConfirm::wait`] leaves the delivery
/// unrecorded (it is retried, and may then reach the broker twice; the
/// message id tells the copies apart).
pub struct PendingConfirm {
    name: String,
    exchange: String,
    routing_key: String,
    confirm: PublisherConfirm,
    deadline: Instant,
    timeout: Duration,
    link: Arc<Mutex<Link>>,
    generation: u64,
}

impl std::fmt::Debug for PendingConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConfirm")
            .field("sink", &self.name)
            .finish()
    }
}

impl PendingConfirm {
    /// Waits for the broker's confirm (up to `confirm_timeout_ms` after the
    /// publish): `Ok` only on an ack of a routed message.
    pub async fn wait(self) -> Result<(), SinkError> {
        let fail = |why: String| SinkError::Transient(format!("sink {}: {why}", self.name));
        let outcome = tokio::time::timeout_at(self.deadline, self.confirm).await;
        let broken = match &outcome {
            Ok(Ok(Confirmation::Ack(_) | Confirmation::Nack(_))) => false,
            Ok(Ok(Confirmation::NotRequested)) | Ok(Err(_)) | Err(_) => true,
        };
        if broken {
            forget(&self.link, self.generation).await;
        }
        match outcome {
            Ok(Ok(Confirmation::Ack(None))) => Ok(()),
            Ok(Ok(Confirmation::Ack(Some(returned)))) => Err(fail(format!(
                "unroutable: exchange {:?} routing key {:?} returned it ({} {})",
                self.exchange, self.routing_key, returned.reply_code, returned.reply_text
            ))),
            Ok(Ok(Confirmation::Nack(_))) => Err(fail("the broker nacked the publish".into())),
            Ok(Ok(Confirmation::NotRequested)) => {
                Err(fail("publisher confirms are not enabled".into()))
            }
            Ok(Err(e)) => Err(fail(format!("no confirm: {e}"))),
            Err(_) => Err(fail(format!(
                "no confirm within {} ms",
                self.timeout.as_millis()
            ))),
        }
    }
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
            link: Arc::default(),
        }
    }

    /// Publishes the payload's JSON and waits for the confirm (blocking;
    /// see the module notes).
    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        let handle = self.handle()?;
        let pending = handle.block_on(self.publish(self.outgoing(p)))?;
        handle.block_on(pending.wait())
    }

    /// Publishes the payload's JSON without waiting for the confirm
    /// (blocking until the publish is handed to the connection; see the
    /// module notes).
    pub fn start(&self, p: &Payload) -> Result<PendingConfirm, SinkError> {
        self.handle()?.block_on(self.publish(self.outgoing(p)))
    }

    fn outgoing<'a>(&self, p: &'a Payload) -> Outgoing<'a> {
        let (body, kind) = match (&p.priced_json, self.config.priced) {
            (Some(priced), true) => (priced.as_ref(), "priced"),
            _ => (p.canonical_json.as_ref(), "canonical"),
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
        Outgoing {
            body: body.as_bytes(),
            message_id: format!("comptoir-{}", p.message_id),
            content_type: "application/json",
            headers,
        }
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
        let handle = self.handle()?;
        let pending = handle.block_on(self.publish(Outgoing {
            body: &a.bytes,
            message_id: match &a.name {
                Some(n) => format!("comptoir-export-{n}"),
                None => format!("comptoir-{}-{}-{}", a.message_id, a.kind, a.index),
            },
            content_type: a.content_type(),
            headers,
        }))?;
        handle.block_on(pending.wait())
    }

    fn handle(&self) -> Result<tokio::runtime::Handle, SinkError> {
        tokio::runtime::Handle::try_current().map_err(|_| {
            SinkError::Transient(format!(
                "sink {}: no async runtime to publish on",
                self.name
            ))
        })
    }

    /// The confirm-mode channel and its link generation, connecting when
    /// needed.
    async fn channel(&self) -> Result<(Channel, u64), SinkError> {
        let mut link = self.link.lock().await;
        if let Some((conn, ch)) = link.open.as_ref() {
            if conn.status().connected() && ch.status().connected() {
                return Ok((ch.clone(), link.generation));
            }
        }
        link.open = None;
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
        link.generation += 1;
        link.open = Some((conn, ch.clone()));
        Ok((ch, link.generation))
    }

    /// Publishes `m` (persistent, mandatory) and returns its confirm to wait
    /// for.
    async fn publish(&self, m: Outgoing<'_>) -> Result<PendingConfirm, SinkError> {
        let (ch, generation) = self.channel().await?;
        let props = BasicProperties::default()
            .with_message_id(m.message_id.as_str().into())
            .with_content_type(m.content_type.into())
            .with_delivery_mode(2)
            .with_headers(m.headers);
        let c = &self.config;
        let timeout = Duration::from_millis(c.confirm_timeout_ms.max(1));
        let deadline = Instant::now() + timeout;
        match ch
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
            Ok(confirm) => Ok(PendingConfirm {
                name: self.name.clone(),
                exchange: c.exchange.clone(),
                routing_key: c.routing_key.clone(),
                confirm,
                deadline,
                timeout,
                link: Arc::clone(&self.link),
                generation,
            }),
            Err(e) => {
                forget(&self.link, generation).await;
                Err(SinkError::Transient(format!(
                    "sink {}: publish failed: {e}",
                    self.name
                )))
            }
        }
    }
}
