//! Answers to what partners send: order responses, application
//! acknowledgements (APERAK) and syntax acknowledgements (CONTRL), built as
//! canonical documents that the outbound writers turn into EDIFACT.
//!
//! The daemon sends them through the partner's outbound channel; the CLI
//! (`comptoir translate --to edifact:ORDRSP|APERAK|CONTRL`) prints them.

use chrono::NaiveDate;

use crate::diagnostics::Diagnostic;
use crate::formats::edifact::outbound::contrl_from_diagnostics;
use crate::model::{
    AckIssue, AckStatus, Acknowledgement, DateEntry, Document, DocumentType, MessageFunction,
    Reference,
};
use crate::translate::InterchangeReport;

/// Response type codes (EDIFACT 4343) used in BGM of an ORDRSP.
pub mod response_code {
    /// Accepted without amendment.
    pub const ACCEPTED: &str = "AP";
    /// Accepted with amendment.
    pub const CHANGED: &str = "AC";
    /// Not accepted.
    pub const REJECTED: &str = "RE";
}

/// Line action codes (EDIFACT 1229) in an ORDRSP.
pub mod line_action {
    /// Accepted without amendment.
    pub const ACCEPTED: &str = "5";
    /// Changed.
    pub const CHANGED: &str = "3";
    /// Not accepted.
    pub const REJECTED: &str = "7";
}

/// An order response accepting `order` as it is, dated `today`. Lines keep
/// their identification, quantity and price; each is marked accepted.
pub fn accept_order(order: &Document, today: NaiveDate) -> Document {
    let mut r = Document::new(DocumentType::OrderResponse, order.number.clone());
    r.document_code = Some("231".into());
    r.function = Some(MessageFunction::Original);
    r.response_code = Some(response_code::ACCEPTED.into());
    r.currency.clone_from(&order.currency);
    r.dates.push(DateEntry {
        kind: "document".into(),
        value: today.format("%Y-%m-%d").to_string(),
    });
    r.references.push(Reference {
        kind: "order".into(),
        value: order.number.clone(),
        date: order.date("document").map(|d| d.value.clone()),
    });
    r.parties.clone_from(&order.parties);
    r.lines = order
        .lines
        .iter()
        .map(|l| {
            let mut l = l.clone();
            l.action = Some(line_action::ACCEPTED.into());
            l
        })
        .collect();
    // Keep the received envelope: the answer goes back to its sender.
    r.origin = order.origin.clone();
    r
}

/// An APERAK about `doc`: accepted when `errors` is empty, else rejected
/// with one issue per error.
pub fn application_ack(doc: &Document, errors: &[Diagnostic], today: NaiveDate) -> Document {
    let status = if errors.iter().any(Diagnostic::is_error) {
        AckStatus::Rejected
    } else {
        AckStatus::Accepted
    };
    let mut ack = Acknowledgement::new(status);
    ack.document_ref = Some(doc.number.clone());
    ack.interchange_ref.clone_from(&doc.origin.interchange_ref);
    ack.issues = errors
        .iter()
        .filter(|d| d.is_error())
        .map(|d| AckIssue {
            message_ref: d.location.message_ref.clone(),
            segment_position: d.location.segment,
            segment_tag: d.location.tag.clone(),
            element_position: d.location.element,
            component_position: d.location.component,
            code: d.syntax_error.clone(),
            text: Some(d.message.clone()),
        })
        .collect();
    let mut a = Document::new(
        DocumentType::ApplicationAcknowledgement,
        format!("APK-{}", doc.number),
    );
    a.dates.push(DateEntry {
        kind: "document".into(),
        value: today.format("%Y-%m-%d").to_string(),
    });
    a.references.push(Reference {
        kind: "referenced_message".into(),
        value: doc.number.clone(),
        date: None,
    });
    a.parties.clone_from(&doc.parties);
    a.acknowledgement = Some(ack);
    a.origin = doc.origin.clone();
    a
}

/// CONTRL documents, one per received interchange.
pub fn syntax_acks(reports: &[InterchangeReport]) -> Vec<Document> {
    reports
        .iter()
        .map(|r| contrl_from_diagnostics(&r.header, &r.diagnostics, &r.messages))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepting_an_order_marks_every_line() {
        let mut order = Document::new(DocumentType::Order, "PO1");
        order.lines.push(crate::model::Line::default());
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default();
        let r = accept_order(&order, day);
        assert_eq!(r.document_type, DocumentType::OrderResponse);
        assert_eq!(r.reference("order").map(|r| r.value.as_str()), Some("PO1"));
        assert_eq!(r.lines[0].action.as_deref(), Some("5"));
    }
}
