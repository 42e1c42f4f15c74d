//! Outbound EANCOM: canonical [`Document`]s → EDIFACT D.96A messages.
//!
//! One file per message: [`ordrsp`] (order response), [`desadv`] (despatch
//! advice), [`invoic`] (invoice and credit note), [`invrpt`] (inventory
//! report), [`contrl`] (syntax
//! acknowledgement, with [`contrl_from_diagnostics`]) and [`aperak`]
//! (application acknowledgement). Each exposes a `write_*` function that
//! writes the message body (the segments between UNH and UNT) with a
//! [`Writer`]; [`write_documents`] wraps any mix of documents into one
//! interchange, one message per document, with sequential message
//! references (`1`, `2`, …) and the counts and references the envelope
//! needs.
//!
//! Qualifiers are the standard EANCOM ones (NAD+BY/SU/DP…, RFF+ON, DTM+137,
//! QTY+21/12/47, PRI+AAA/AAB, MOA+203…) so that the inbound mappings read
//! the output back into the same canonical documents.
//!
//! Nothing here panics on data: missing mandatory data (a document number,
//! a document date, the order an ORDRSP answers…) and values that cannot be
//! written are [`WriteError`]s naming the message and document.

mod common;

pub mod aperak;
pub mod contrl;
pub mod desadv;
pub mod invoic;
pub mod invrpt;
pub mod ordrsp;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use super::{Charset, Delimiters, Interchange, InterchangeWriter, MessageId, WriteError, Writer};
use crate::model::{Document, DocumentType};

pub use aperak::write_aperak;
pub use contrl::{contrl_from_diagnostics, write_contrl};
pub use desadv::write_desadv;
pub use invoic::write_invoic;
pub use invrpt::write_invrpt;
pub use ordrsp::write_ordrsp;

/// How to write an outbound interchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundOptions {
    /// Service characters; the UNA is written whenever they differ from the
    /// defaults a reader assumes without one.
    pub delimiters: Delimiters,
    /// Repertoire values are encoded in; must match `syntax_id`.
    pub charset: Charset,
    /// Syntax identifier (UNB 0001), `UNOC` by default.
    pub syntax_id: String,
    /// Syntax version (UNB 0002), 3 by default. From 4 on, dates in UNB
    /// have the century and `*` is the default repetition separator.
    pub syntax_version: u8,
    pub sender: String,
    /// Sender code qualifier (UNB 0007), `14` for a GLN.
    pub sender_qualifier: Option<String>,
    pub recipient: String,
    pub recipient_qualifier: Option<String>,
    /// Interchange control reference (UNB/UNZ 0020).
    pub control_ref: String,
    /// Application reference (UNB 0026).
    pub application_ref: Option<String>,
    /// Preparation date and time; `None` means now (UTC).
    pub prepared_at: Option<NaiveDateTime>,
    /// Ask the recipient for a CONTRL (UNB 0031 = 1).
    pub ack_request: bool,
    /// Always write the UNA service string advice.
    pub una: bool,
    /// CR LF after each segment terminator.
    pub newline: bool,
    /// Test interchange (UNB 0035 = 1).
    pub test: bool,
    /// Association assigned code (UNH 0057) per message type, replacing the
    /// EANCOM default (`None` to write none).
    pub association_codes: BTreeMap<String, Option<String>>,
}

impl OutboundOptions {
    /// UNOC, syntax version 3, default delimiters, no UNA, no line breaks.
    pub fn new(
        sender: impl Into<String>,
        recipient: impl Into<String>,
        control_ref: impl Into<String>,
    ) -> OutboundOptions {
        OutboundOptions {
            delimiters: Delimiters::default(),
            charset: Charset::Latin1,
            syntax_id: "UNOC".to_string(),
            syntax_version: 3,
            sender: sender.into(),
            sender_qualifier: None,
            recipient: recipient.into(),
            recipient_qualifier: None,
            control_ref: control_ref.into(),
            application_ref: None,
            prepared_at: None,
            ack_request: false,
            una: false,
            newline: false,
            test: false,
            association_codes: BTreeMap::new(),
        }
    }
}

/// The EDIFACT message type Comptoir writes for `doc`, `None` when it
/// writes none for its document type.
pub fn message_type_for(doc: &Document) -> Option<&'static str> {
    Some(match doc.document_type {
        DocumentType::OrderResponse => "ORDRSP",
        DocumentType::DespatchAdvice => "DESADV",
        DocumentType::Invoice | DocumentType::CreditNote => "INVOIC",
        DocumentType::StockReport => "INVRPT",
        DocumentType::SyntaxAcknowledgement => "CONTRL",
        DocumentType::ApplicationAcknowledgement => "APERAK",
        _ => return None,
    })
}

/// The UNH message identifier for `message_type`: EANCOM D.96A with its
/// association code; CONTRL is `2:2:UN:EAN002` (EANCOM, syntax 3) or
/// `4:1:UN` (syntax version 4).
fn message_id(message_type: &'static str, opts: &OutboundOptions) -> MessageId {
    let default_association = match message_type {
        "ORDRSP" | "DESADV" => Some("EAN005"),
        "INVOIC" => Some("EAN008"),
        "INVRPT" => Some("EAN005"),
        "APERAK" | "CONTRL" => Some("EAN002"),
        _ => None,
    };
    let mut id = MessageId::d96a(message_type, default_association);
    if message_type == "CONTRL" {
        if opts.syntax_version >= 4 {
            id.version = "4".into();
            id.release = "1".into();
            id.association = None;
        } else {
            id.version = "2".into();
            id.release = "2".into();
        }
    }
    if let Some(a) = opts.association_codes.get(message_type) {
        id.association.clone_from(a);
    }
    id
}

/// Writes the body of `doc` as `message_type`.
fn write_body(w: &mut Writer, message_type: &str, doc: &Document) -> Result<(), WriteError> {
    match message_type {
        "ORDRSP" => write_ordrsp(w, doc),
        "DESADV" => write_desadv(w, doc),
        "INVOIC" => write_invoic(w, doc),
        "INVRPT" => write_invrpt(w, doc),
        "CONTRL" => write_contrl(w, doc),
        "APERAK" => write_aperak(w, doc),
        other => Err(WriteError::NotWritable {
            document_type: doc.document_type.to_string(),
            number: doc.number.clone(),
            target: other.to_string(),
        }),
    }
}

/// Writes `docs` as ONE interchange, one message per document (types may
/// be mixed), with message references `1`, `2`, ….
pub fn write_documents(docs: &[Document], opts: &OutboundOptions) -> Result<Vec<u8>, WriteError> {
    if docs.is_empty() {
        return Err(WriteError::Empty);
    }
    let mut types = Vec::with_capacity(docs.len());
    for doc in docs {
        let t = message_type_for(doc).ok_or_else(|| WriteError::NotWritable {
            document_type: doc.document_type.to_string(),
            number: doc.number.clone(),
            target: "an EDIFACT message".into(),
        })?;
        types.push(t);
    }
    let mut delimiters = opts.delimiters;
    if opts.syntax_version >= 4 && !opts.una && delimiters.repetition.is_none() {
        // What a reader assumes for version 4 without a UNA.
        delimiters.repetition = Some(b'*');
    }
    let mut w = Writer::new(delimiters, opts.charset);
    if opts.newline {
        w = w.with_line_break(b"\r\n");
    }
    let header = Interchange {
        syntax_id: opts.syntax_id.clone(),
        syntax_version: opts.syntax_version,
        sender: opts.sender.clone(),
        sender_qualifier: opts.sender_qualifier.clone(),
        recipient: opts.recipient.clone(),
        recipient_qualifier: opts.recipient_qualifier.clone(),
        prepared_at: opts.prepared_at,
        control_ref: opts.control_ref.clone(),
        application_ref: opts.application_ref.clone(),
        ack_request: opts.ack_request,
        test: opts.test,
    };
    if header.sender.is_empty() || header.recipient.is_empty() || header.control_ref.is_empty() {
        return Err(WriteError::Envelope(
            "UNB needs a sender, a recipient and a control reference".into(),
        ));
    }
    let mut ic = InterchangeWriter::start(w, &header, opts.una);
    for (i, (doc, t)) in docs.iter().zip(types).enumerate() {
        let reference = (i + 1).to_string();
        ic.begin_message(&reference, &message_id(t, opts))?;
        write_body(ic.writer(), t, doc)?;
        ic.end_message()?;
    }
    ic.finish()
}
