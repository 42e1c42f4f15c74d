//! The canonical document model.
//!
//! Every inbound format (EDIFACT/EANCOM, X12, CSV, XML) is mapped onto these
//! types, and every outbound format is written from them. Pricing reads and
//! writes them, sinks push them to ERPs, and the journal stores them as JSON.
//!
//! Design rules:
//! - one [`Document`] type for every business document family; the
//!   [`DocumentType`] says which one it is, and family-specific parts
//!   (despatch packages, acknowledgement details) are optional sections;
//! - money, prices and quantities are [`rust_decimal::Decimal`], serialized as
//!   JSON strings so no consumer ever sees a float;
//! - every document carries its [`Origin`] (sender, recipient, interchange and
//!   message references, standard and version) so that answers can be routed
//!   back and duplicates recognised.
//!
//! The JSON form is stable and described by `schema/document.schema.json`,
//! generated from these types (`comptoir schema`); a test fails when the
//! checked-in schema is stale.

mod ack;
pub mod decimal_json;
mod document;
mod line;
mod party;

pub use ack::{AckIssue, AckStatus, AckedMessage, Acknowledgement};
pub use document::{
    DateEntry, Document, DocumentType, MessageFunction, Note, Origin, PaymentTerms, Reference,
    TaxSubtotal, Totals,
};
pub use line::{AllowanceCharge, AllowanceChargeKind, Line, Package, Quantity};
pub use party::{Address, Contact, Party, PartyRole};

/// JSON Schema of [`Document`], as checked in under `schema/`.
pub fn document_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Document);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
