//! AMQP 0-9-1 source (RabbitMQ): consumes a queue and journals every
//! delivery before acknowledging it.
//!
//! The consumer runs with a prefetch (`basic.qos`) and manual
//! acknowledgements. Deliveries ready at the same time are committed to the
//! journal in one transaction ([`Journal::receive`]); only then are they
//! acked (one `multiple` ack for the batch). A crash, a lost connection or a stop before the commit leaves the
//! deliveries unacknowledged: the broker delivers them again (and the
//! journal records a message committed but not acked as a duplicate, never
//! processed twice).
//!
//! A message the journal cannot store (empty, larger than
//! `max_message_bytes`, or refused by the database itself) is rejected with
//! `requeue = false`, which sends it to the queue's dead-letter exchange
//! when one is configured. A journal that is unavailable (connection,
//! lock, I/O) is retried with exponential backoff while the deliveries stay
//! unacknowledged. When the broker goes away the source reconnects with
//! exponential backoff (`reconnect_initial_ms` doubled up to
//! `reconnect_max_ms`). On the daemon's stop signal the consumer is
//! cancelled and the connection closed; unacknowledged deliveries return to
//! the queue.
//!
//! The partner of a message is the source's `partner`, else the value of the
//! `partner_header` message header when configured.

use std::time::Duration;

use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::watch;

use crate::config::AmqpSource;
use crate::journal::{Incoming, Journal};

/// How long a `--once` run waits for a delivery before it considers the
/// queue drained.
const ONCE_IDLE: Duration = Duration::from_millis(1000);

/// A running AMQP source.
#[derive(Debug)]
pub struct AmqpSourceTask {
    pub name: String,
    pub partner: Option<String>,
    pub config: AmqpSource,
    pub journal: Journal,
}

/// Why a session with the broker ended.
enum End {
    /// Stop requested (or, with `once`, the queue is drained).
    Stopped,
    /// The broker or the connection failed: reconnect.
    Broken(String),
}

impl From<lapin::Error> for End {
    fn from(e: lapin::Error) -> End {
        End::Broken(e.to_string())
    }
}

/// The string value of a header (long or short string).
fn header_string(d: &Delivery, name: &str) -> Option<String> {
    let headers = d.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// Waits `delay` unless a stop is requested first; true when stopped.
async fn sleep_or_stop(delay: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(delay) => *shutdown.borrow(),
        r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
    }
}

impl AmqpSourceTask {
    fn initial_delay(&self) -> Duration {
        Duration::from_millis(self.config.reconnect_initial_ms.max(1))
    }

    fn next_delay(&self, d: Duration) -> Duration {
        (d * 2).min(Duration::from_millis(
            self.config
                .reconnect_max_ms
                .max(self.config.reconnect_initial_ms),
        ))
    }

    /// Consumes until `shutdown` turns true (with `once`, until no delivery
    /// came for a second). Returns the number of messages journaled.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, once: bool) -> u64 {
        let mut delay = self.initial_delay();
        let mut total = 0u64;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self
                .session(&mut shutdown, once, &mut total, &mut delay)
                .await
            {
                End::Stopped => break,
                End::Broken(why) => {
                    tracing::warn!(source = %self.name, "AMQP: {why}; reconnecting in {} ms", delay.as_millis());
                    if once && total > 0 {
                        // `--once` processes what is there; a broken broker ends it.
                        break;
                    }
                    if sleep_or_stop(delay, &mut shutdown).await {
                        break;
                    }
                    delay = self.next_delay(delay);
                }
            }
        }
        total
    }

    /// Declares the queue (and the dead-letter exchange and queue).
    async fn declare(&self, ch: &Channel) -> Result<(), lapin::Error> {
        let c = &self.config;
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        let mut args = FieldTable::default();
        if let Some(dlx) = &c.dead_letter_exchange {
            ch.exchange_declare(
                dlx.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
            let dead = format!("{}.dead", c.queue);
            ch.queue_declare(dead.as_str().into(), durable, FieldTable::default())
                .await?;
            ch.queue_bind(
                dead.as_str().into(),
                dlx.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from(dlx.as_bytes())),
            );
        }
        ch.queue_declare(c.queue.as_str().into(), durable, args)
            .await?;
        Ok(())
    }

    /// One connection: declare, consume, journal, ack.
    async fn session(
        &self,
        shutdown: &mut watch::Receiver<bool>,
        once: bool,
        total: &mut u64,
        delay: &mut Duration,
    ) -> End {
        let c = &self.config;
        let props = ConnectionProperties::default()
            .with_connection_name(format!("comptoir source {}", self.name).into());
        let conn = tokio::select! {
            r = Connection::connect(&c.url, props) => match r {
                Ok(conn) => conn,
                Err(e) => return End::Broken(format!("cannot connect: {e}")),
            },
            _ = shutdown.changed() => return End::Stopped,
        };
        let end = self.consume(&conn, shutdown, once, total, delay).await;
        if let Err(e) = conn.close(200, "comptoir source stopping".into()).await {
            tracing::debug!(source = %self.name, "AMQP close: {e}");
        }
        end
    }

    async fn consume(
        &self,
        conn: &Connection,
        shutdown: &mut watch::Receiver<bool>,
        once: bool,
        total: &mut u64,
        delay: &mut Duration,
    ) -> End {
        let c = &self.config;
        let ch = match conn.create_channel().await {
            Ok(ch) => ch,
            Err(e) => return e.into(),
        };
        if c.declare {
            if let Err(e) = self.declare(&ch).await {
                return End::Broken(format!("cannot declare queue {}: {e}", c.queue));
            }
        }
        if let Err(e) = ch.basic_qos(c.prefetch, BasicQosOptions::default()).await {
            return e.into();
        }
        let tag = format!("comptoir-{}-{}", self.name, std::process::id());
        let mut consumer = match ch
            .basic_consume(
                c.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
        {
            Ok(consumer) => consumer,
            Err(e) => return End::Broken(format!("cannot consume {}: {e}", c.queue)),
        };
        tracing::info!(source = %self.name, queue = %c.queue, prefetch = c.prefetch, "AMQP consumer started");
        *delay = self.initial_delay();
        let batch_size = if c.batch_size == 0 {
            usize::from(c.prefetch.max(1))
        } else {
            c.batch_size
        };
        loop {
            let first = tokio::select! {
                d = consumer.next() => d,
                _ = shutdown.changed() => None,
                _ = tokio::time::sleep(ONCE_IDLE), if once => None,
            };
            let first = match first {
                Some(Ok(d)) => d,
                Some(Err(e)) => return e.into(),
                None => {
                    if *shutdown.borrow() || once {
                        let _ = ch
                            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                            .await;
                        let _ = ch.close(200, "comptoir source stopping".into()).await;
                        return End::Stopped;
                    }
                    return End::Broken("the broker cancelled the consumer".into());
                }
            };
            let mut batch = vec![first];
            let mut broken = None;
            while batch.len() < batch_size {
                match futures_lite::future::poll_once(consumer.next()).await {
                    Some(Some(Ok(d))) => batch.push(d),
                    Some(Some(Err(e))) => {
                        broken = Some(e);
                        break;
                    }
                    Some(None) | None => break,
                }
            }
            match self.store(batch, shutdown).await {
                Ok(n) => *total += n,
                Err(end) => return end,
            }
            if let Some(e) = broken {
                return e.into();
            }
        }
    }

    /// Journals a batch of deliveries, then acks them (or rejects those
    /// that cannot be stored). Returns how many were journaled.
    async fn store(
        &self,
        batch: Vec<Delivery>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<u64, End> {
        let c = &self.config;
        let mut keep = Vec::with_capacity(batch.len());
        for d in batch {
            let why = if d.data.is_empty() {
                Some("empty message".to_string())
            } else if d.data.len() > c.max_message_bytes {
                Some(format!(
                    "{} bytes, more than max_message_bytes = {}",
                    d.data.len(),
                    c.max_message_bytes
                ))
            } else {
                None
            };
            match why {
                Some(why) => self.reject(&d, &why).await?,
                None => keep.push(d),
            }
        }
        let mut pending: Vec<Vec<Delivery>> = vec![keep];
        let mut stored = 0u64;
        let mut delay = self.initial_delay();
        while let Some(group) = pending.pop() {
            if group.is_empty() {
                continue;
            }
            let incoming: Vec<Incoming> = group.iter().map(|d| self.incoming(d)).collect();
            match self.journal.receive(incoming).await {
                Ok(received) => {
                    for r in &received {
                        if let Some(orig) = r.duplicate_of {
                            tracing::info!(message_id = r.id, source = %self.name, "duplicate of message {orig}");
                        } else {
                            tracing::debug!(message_id = r.id, source = %self.name, "received");
                        }
                    }
                    // Groups are stored in delivery order and every earlier
                    // delivery is settled (acked or rejected) by now, so one
                    // `multiple` ack of the last one acks exactly this group.
                    if let Some(last) = group.last() {
                        last.acker.ack(BasicAckOptions { multiple: true }).await?;
                    }
                    stored += received.len() as u64;
                    delay = self.initial_delay();
                }
                Err(e) if e.is_permanent() && group.len() > 1 => {
                    // Find the culprit: one transaction per message.
                    tracing::warn!(source = %self.name, "journal refused a batch, storing one by one: {e}");
                    let mut rest = group;
                    while let Some(d) = rest.pop() {
                        pending.push(vec![d]);
                    }
                }
                Err(e) if e.is_permanent() => {
                    for d in &group {
                        self.reject(d, &format!("the journal cannot store it: {e}"))
                            .await?;
                    }
                }
                Err(e) => {
                    tracing::error!(source = %self.name, "journal commit failed, {} deliveries stay unacknowledged, retrying in {} ms: {e}", group.len(), delay.as_millis());
                    if sleep_or_stop(delay, shutdown).await {
                        // Unacknowledged: the broker delivers them again.
                        return Err(End::Stopped);
                    }
                    delay = self.next_delay(delay);
                    pending.push(group);
                }
            }
        }
        Ok(stored)
    }

    fn incoming(&self, d: &Delivery) -> Incoming {
        let partner = self.partner.clone().or_else(|| {
            self.config
                .partner_header
                .as_deref()
                .and_then(|h| header_string(d, h))
        });
        let source_ref = match d.properties.message_id() {
            Some(id) if !id.as_str().is_empty() => format!("{}:{}", self.config.queue, id.as_str()),
            _ => format!("{}#{}", self.config.queue, d.delivery_tag),
        };
        Incoming {
            source: self.name.clone(),
            source_ref: Some(source_ref),
            partner,
            raw: d.data.clone(),
        }
    }

    async fn reject(&self, d: &Delivery, why: &str) -> Result<(), End> {
        match &self.config.dead_letter_exchange {
            Some(dlx) => {
                tracing::error!(source = %self.name, "rejecting a delivery to {dlx}: {why}")
            }
            None => {
                tracing::error!(source = %self.name, "rejecting a delivery (no dead_letter_exchange configured: the broker drops it unless the queue has one): {why}")
            }
        }
        d.acker
            .reject(BasicRejectOptions { requeue: false })
            .await?;
        Ok(())
    }
}
