//! Sinks: where processed documents go (ERP connectors, files, SFTP
//! servers, queues).
//!
//! The pipeline builds one [`Payload`] per message and sink (the documents
//! routed there) and calls [`Sink::deliver`]; each sink is retried on its
//! own. A sink must be idempotent by message id: a message may be delivered
//! again after a crash between the delivery and its journal commit.

pub mod amqp;
mod exec;
pub mod file;
pub mod odoo;
pub mod sap;
pub mod sftp;
pub mod webhook;

use std::borrow::Cow;

use crate::config::{SinkConfig, SinkKind};

pub use amqp::AmqpSink;
pub use file::FileSink;
pub use sftp::SftpSink;

/// What one sink receives for one message. The JSON is usually borrowed
/// from the journal update (no copy per sink); a sink that gets only some
/// of the message's documents gets its own.
#[derive(Debug, Clone)]
pub struct Payload<'a> {
    pub message_id: i64,
    pub partner: Option<String>,
    /// JSON array of canonical documents.
    pub canonical_json: Cow<'a, str>,
    /// JSON array of priced documents, when the route prices.
    pub priced_json: Option<Cow<'a, str>>,
}

/// An answer to a partner (CONTRL, APERAK, ORDRSP …) sent through its
/// outbound channel.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The journaled message answered.
    pub message_id: i64,
    pub partner: Option<String>,
    /// `contrl`, `aperak` or `ordrsp`.
    pub kind: &'static str,
    /// Position among the answers of this kind for the message (from 1).
    pub index: usize,
    /// The EDIFACT interchange (or XML document, see `name`).
    pub bytes: Vec<u8>,
    /// File name to use instead of the default (exports name their files
    /// after the document: `ordrsp-S00012-7.edi`, `invoice-INV_2026_0001-9.xml`).
    pub name: Option<String>,
}

impl Answer {
    /// File name in a directory channel: `name`, else
    /// `<id>.<kind>.<index>.edi`.
    pub fn file_name(&self) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None => format!("{}.{}.{}.edi", self.message_id, self.kind, self.index),
        }
    }

    /// MIME type of the bytes, from the file name's extension.
    pub fn content_type(&self) -> &'static str {
        if self.file_name().ends_with(".xml") {
            "application/xml"
        } else {
            "application/EDIFACT"
        }
    }
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Worth retrying (I/O, connection).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help (the message goes to `dead` at once).
    #[error("{0}")]
    Permanent(String),
}

/// A delivery begun by [`Sink::start`].
#[derive(Debug)]
pub enum Started {
    /// Finished (delivered or failed).
    Done(Result<(), SinkError>),
    /// Published; it counts once the broker's confirm arrives.
    Confirm(amqp::PendingConfirm),
}

impl Started {
    /// The delivery's outcome, waiting for the confirm when there is one.
    pub async fn settle(self) -> Result<(), SinkError> {
        match self {
            Started::Done(r) => r,
            Started::Confirm(c) => c.wait().await,
        }
    }

    /// True when the outcome is known without waiting.
    pub fn is_done(&self) -> bool {
        matches!(self, Started::Done(_))
    }
}

/// A configured sink.
#[derive(Debug)]
pub enum Sink {
    File(FileSink),
    Odoo(Box<odoo::OdooSink>),
    Sap(Box<sap::SapSink>),
    Webhook(Box<webhook::WebhookSink>),
    Amqp(Box<AmqpSink>),
    Sftp(Box<SftpSink>),
}

impl Sink {
    /// Builds a sink from its configuration.
    pub fn from_config(c: &SinkConfig) -> Sink {
        match &c.kind {
            SinkKind::File(f) => Sink::File(FileSink::new(f.path.clone(), f.fsync)),
            SinkKind::Amqp(a) => Sink::Amqp(Box::new(AmqpSink::new(&c.name, a.clone()))),
            SinkKind::Odoo(o) => Sink::Odoo(Box::new(odoo::OdooSink::new(&c.name, o))),
            SinkKind::Sap(s) => Sink::Sap(Box::new(sap::SapSink::new(s))),
            SinkKind::Webhook(w) => Sink::Webhook(Box::new(webhook::WebhookSink::new(w))),
            SinkKind::Sftp(f) => Sink::Sftp(Box::new(SftpSink::new(&c.name, f))),
        }
    }

    /// Delivers one message (blocking I/O: call from a blocking context).
    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        match self {
            Sink::File(f) => f.deliver(p),
            Sink::Odoo(o) => o.deliver(p).map(|_| ()),
            Sink::Sap(s) => s.deliver(p).map(|_| ()),
            Sink::Webhook(w) => w.deliver(p),
            Sink::Amqp(a) => a.deliver(p),
            Sink::Sftp(s) => s.deliver(p),
        }
    }

    /// Starts delivering one message: AMQP sinks publish and hand back the
    /// confirm to await later ([`Started::settle`]), so that a batch keeps
    /// many publishes in flight; every other sink delivers at once
    /// (blocking I/O: call from a blocking context).
    pub fn start(&self, p: &Payload) -> Started {
        match self {
            Sink::Amqp(a) => match a.start(p) {
                Ok(pending) => Started::Confirm(pending),
                Err(e) => Started::Done(Err(e)),
            },
            other => Started::Done(other.deliver(p)),
        }
    }

    /// Sends an answer to a partner (blocking I/O: call from a blocking
    /// context). Only file, AMQP and SFTP sinks can be a partner's outbound
    /// channel; `comptoir check` refuses other kinds there.
    pub fn deliver_answer(&self, a: &Answer) -> Result<(), SinkError> {
        match self {
            Sink::File(f) => f.deliver_answer(a),
            Sink::Amqp(s) => s.deliver_answer(a),
            Sink::Sftp(s) => s.deliver_answer(a),
            Sink::Odoo(_) | Sink::Sap(_) | Sink::Webhook(_) => Err(SinkError::Permanent(
                "an ERP or webhook sink cannot carry EDI answers to a partner: set the partner's outbound_channel to a file, AMQP or SFTP sink".into(),
            )),
        }
    }
}
