//! Outbound XML: UBL 2.1 Invoice and OrderResponse, CII (Factur-X /
//! EN 16931) invoice, SAP IDoc ORDERS05, written from canonical documents.

mod cii;
mod idoc;
mod ubl;
mod writer;

pub use cii::write_cii_invoice;
pub use idoc::write_idoc_orders05;
pub use ubl::{write_ubl_invoice, write_ubl_order_response};

use crate::model::DocumentType;

/// Why a document could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write a {found} as {format}: expected {expected}")]
    WrongType {
        format: &'static str,
        expected: &'static str,
        found: DocumentType,
    },
    #[error("{format}: {field} is required")]
    Missing {
        format: &'static str,
        field: &'static str,
    },
}
