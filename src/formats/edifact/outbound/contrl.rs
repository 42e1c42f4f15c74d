//! CONTRL (syntax and service report) from a syntax acknowledgement
//! document, and [`contrl_from_diagnostics`] to build that document from
//! the envelope data and [`Diagnostic`]s of a received interchange.
//!
//! Layout (ISO 9735 / EANCOM CONTRL, valid for syntax versions 3 and 4):
//!
//! - `UCI+<ref>+<sender>:<qual>+<recipient>:<qual>+<action>` naming the
//!   received interchange exactly as its UNB did (not swapped), with action
//!   `4` rejected, `7` accepted, `8` received; an interchange-level error
//!   adds its code (0085), segment tag (0013) and element position (S011);
//! - per acknowledged message `UCM+<ref>+<type>:<ver>:<rel>:<agency>[:<assoc>]
//!   +<action>`, with the code of an error located in UNH/UNT (or not
//!   located in a segment);
//! - per erroneous segment `UCS+<position>[+<code>]` (position in the
//!   message, UNH = 1; the code when the error is about the whole segment)
//!   followed by `UCD+<code>+<element>:<component>` per erroneous element.
//!
//! The message identifier of an acknowledged message comes from
//! [`AckedMessage::message_type`]: either `ORDERS:D:96A:UN[:EAN008]` (as
//! [`contrl_from_diagnostics`] records it) or a bare type, completed with
//! the directory of [`Origin::version`](crate::model::Origin) (e.g. `D96A`)
//! or D.96A by default. Sender and recipient qualifiers come from
//! [`Document::origin`] when its sender/recipient match the acknowledged
//! ones. Only errors are reported; an error without an EDIFACT code is
//! reported as `18` (unspecified error).

use std::collections::BTreeMap;

use super::common::Ctx;
use crate::diagnostics::Diagnostic;
use crate::formats::edifact::{InterchangeHeader, MessageHeader, WriteError, Writer};
use crate::model::{
    AckIssue, AckStatus, AckedMessage, Acknowledgement, Document, DocumentType, Origin,
};

/// Error code (0085) used when a problem has no EDIFACT syntax code.
pub const UNSPECIFIED_ERROR: &str = "18";

/// The S009 message identifier components of an acknowledged message.
fn message_identifier(
    m: &AckedMessage,
    origin: &Origin,
    ctx: &Ctx,
) -> Result<Vec<String>, WriteError> {
    let t = m.message_type.as_deref().unwrap_or("").trim();
    if t.is_empty() {
        return Err(ctx.missing(&format!(
            "message type of acknowledged message {:?} (UCM S009)",
            m.reference
        )));
    }
    if t.contains(':') {
        return Ok(t.split(':').map(str::to_string).collect());
    }
    let (version, release) = match origin.version.as_deref() {
        Some(v) if v.len() > 1 && v.starts_with('D') && v.is_ascii() => {
            ("D".to_string(), v[1..].to_string())
        }
        _ => ("D".to_string(), "96A".to_string()),
    };
    Ok(vec![t.to_string(), version, release, "UN".to_string()])
}

fn element_id(w: &mut Writer, issue: &AckIssue) {
    let el = issue.element_position.map(|e| e.to_string());
    let comp = issue.component_position.map(|c| c.to_string());
    w.el_opt(el.as_deref()).comp_opt(comp.as_deref());
}

fn is_envelope_tag(tag: Option<&str>) -> bool {
    matches!(tag, Some("UNH" | "UNT"))
}

/// Writes the CONTRL body (the segments between UNH and UNT).
pub fn write_contrl(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("CONTRL", doc);
    let ack = doc
        .acknowledgement
        .as_ref()
        .ok_or_else(|| ctx.missing("acknowledgement section"))?;
    let iref = ack
        .interchange_ref
        .as_deref()
        .ok_or_else(|| ctx.missing("acknowledged interchange reference (UCI 0020)"))?;
    let sender = ack
        .interchange_sender
        .as_deref()
        .ok_or_else(|| ctx.missing("acknowledged interchange sender (UCI S002)"))?;
    let recipient = ack
        .interchange_recipient
        .as_deref()
        .ok_or_else(|| ctx.missing("acknowledged interchange recipient (UCI S003)"))?;
    let o = &doc.origin;
    let sender_q = (o.sender.as_deref() == Some(sender))
        .then_some(o.sender_qualifier.as_deref())
        .flatten();
    let recipient_q = (o.recipient.as_deref() == Some(recipient))
        .then_some(o.recipient_qualifier.as_deref())
        .flatten();

    w.segment("UCI")
        .el(iref)
        .el(sender)
        .comp_opt(sender_q)
        .el(recipient)
        .comp_opt(recipient_q)
        .el(ack.status.contrl_action());
    if let Some(issue) = ack.issues.iter().find(|i| i.message_ref.is_none()) {
        w.el(issue.code.as_deref().unwrap_or(UNSPECIFIED_ERROR))
            .el_opt(issue.segment_tag.as_deref());
        element_id(w, issue);
    }
    w.end();

    for m in &ack.messages {
        let issues: Vec<&AckIssue> = ack
            .issues
            .iter()
            .filter(|i| i.message_ref.as_deref() == Some(m.reference.as_str()))
            .collect();
        let id = message_identifier(m, o, &ctx)?;
        w.segment("UCM").el(&m.reference).element();
        for (i, c) in id.iter().enumerate() {
            if i > 0 {
                w.component();
            }
            w.text(c);
        }
        w.el(m.status.contrl_action());
        let message_level = issues
            .iter()
            .find(|i| i.segment_position.is_none() || is_envelope_tag(i.segment_tag.as_deref()));
        if let Some(issue) = message_level {
            w.el(issue.code.as_deref().unwrap_or(UNSPECIFIED_ERROR))
                .el_opt(issue.segment_tag.as_deref());
            element_id(w, issue);
        }
        w.end();
        // Segment-level issues, grouped by position in message order.
        let mut by_segment: BTreeMap<u32, Vec<&AckIssue>> = BTreeMap::new();
        for issue in &issues {
            if let Some(pos) = issue.segment_position {
                if !is_envelope_tag(issue.segment_tag.as_deref()) {
                    by_segment.entry(pos).or_default().push(issue);
                }
            }
        }
        for (pos, list) in by_segment {
            w.segment("UCS").el(&pos.to_string());
            if let Some(whole) = list.iter().find(|i| i.element_position.is_none()) {
                w.el(whole.code.as_deref().unwrap_or(UNSPECIFIED_ERROR));
            }
            w.end();
            for issue in list.iter().filter(|i| i.element_position.is_some()) {
                w.segment("UCD")
                    .el(issue.code.as_deref().unwrap_or(UNSPECIFIED_ERROR));
                element_id(w, issue);
                w.end();
            }
        }
    }
    Ok(())
}

fn issue_from(d: &Diagnostic, message_ref: Option<&str>) -> AckIssue {
    let loc = &d.location;
    AckIssue {
        message_ref: message_ref.map(str::to_string),
        segment_position: loc.segment,
        segment_tag: loc.tag.clone(),
        element_position: loc.element,
        component_position: loc.component,
        code: Some(
            d.syntax_error
                .clone()
                .unwrap_or_else(|| UNSPECIFIED_ERROR.to_string()),
        ),
        text: Some(d.message.clone()),
    }
}

/// Builds the syntax acknowledgement (CONTRL) document answering a received
/// interchange: `received` is its UNB, `interchange` the diagnostics about
/// the interchange itself (envelope errors outside any message), and
/// `messages` each received message's UNH with the diagnostics about it.
///
/// Only errors count: a message with an error is rejected (action 4), the
/// others accepted (7); an interchange-level error rejects the whole
/// interchange. The document's [`Origin`] records the received envelope
/// (sender, recipient and their qualifiers, control reference) so that the
/// writer can repeat the qualifiers in UCI.
pub fn contrl_from_diagnostics(
    received: &InterchangeHeader,
    interchange: &[Diagnostic],
    messages: &[(MessageHeader, Vec<Diagnostic>)],
) -> Document {
    let interchange_rejected = interchange.iter().any(Diagnostic::is_error);
    let mut ack = Acknowledgement::new(AckStatus::Accepted);
    ack.interchange_ref = Some(received.control_ref.clone());
    ack.interchange_sender = Some(received.sender.clone());
    ack.interchange_recipient = Some(received.recipient.clone());
    ack.issues.extend(
        interchange
            .iter()
            .filter(|d| d.is_error())
            .map(|d| issue_from(d, None)),
    );
    let mut any_rejected = false;
    for (header, diags) in messages {
        let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
        let status = if errors.is_empty() {
            AckStatus::Accepted
        } else {
            any_rejected = true;
            AckStatus::Rejected
        };
        let mut id = vec![
            header.message_type.as_str(),
            header.version.as_str(),
            header.release.as_str(),
            header.agency.as_str(),
        ];
        if let Some(a) = header.association.as_deref() {
            id.push(a);
        }
        ack.messages.push(AckedMessage {
            reference: header.reference.clone(),
            message_type: Some(id.join(":")),
            status,
        });
        ack.issues.extend(
            errors
                .into_iter()
                .map(|d| issue_from(d, Some(&header.reference))),
        );
    }
    ack.status = if interchange_rejected {
        AckStatus::Rejected
    } else if any_rejected {
        AckStatus::PartiallyAccepted
    } else {
        AckStatus::Accepted
    };
    let mut doc = Document::new(
        DocumentType::SyntaxAcknowledgement,
        received.control_ref.clone(),
    );
    doc.origin = Origin {
        format: "edifact".into(),
        sender: Some(received.sender.clone()),
        sender_qualifier: received.sender_qualifier.clone(),
        recipient: Some(received.recipient.clone()),
        recipient_qualifier: received.recipient_qualifier.clone(),
        interchange_ref: Some(received.control_ref.clone()),
        prepared_at: received.prepared_at.clone(),
        test: received.test,
        ..Origin::default()
    };
    doc.acknowledgement = Some(ack);
    doc
}
