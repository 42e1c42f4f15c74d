//! XML formats: UBL 2.1, UN/CEFACT CII (Factur-X, ZUGFeRD 1 and 2,
//! XRechnung, Order-X) and SAP IDoc, in XML and in the flat fixed-width
//! form.
//!
//! Inbound, bytes are decoded ([`decode`]), read as a stream of elements
//! ([`reader`], quick-xml, DTDs refused) or flat IDoc records
//! ([`idoc`]), and mapped onto a canonical [`Document`] by the declarative
//! mappings under `mappings/xml/` ([`mapping`], [`apply`]). Outbound
//! writers live in [`out`]; [`en16931`] checks an invoice against the
//! EN 16931 business rules that need no PDF.

pub mod apply;
pub mod decode;
pub mod en16931;
pub mod idoc;
pub mod mapping;
pub mod out;
pub mod reader;

pub use en16931::{check_en16931, Violation};
pub use mapping::{XmlMapping, XmlMappingError, XmlMappings};
pub use out::{
    write_cii_invoice, write_idoc_orders05, write_ubl_invoice, write_ubl_order_response, WriteError,
};

use crate::diagnostics::{Diagnostic, Location};
use crate::model::Document;

/// Why an XML (or flat IDoc) input could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("line {line}: document type declarations (DTDs) are refused: no entity is expanded and nothing is fetched")]
    Dtd { line: u32 },
    #[error("line {line}: entity &{name}; is not one of the five predefined XML entities; entities are never expanded")]
    Entity { line: u32, name: String },
    #[error("line {line}: malformed XML: {message}")]
    Syntax { line: u32, message: String },
    #[error("line {line}: namespace prefix {prefix:?} is not declared")]
    UnboundPrefix { line: u32, prefix: String },
    #[error("line {line}: elements nested deeper than {max} levels", max = reader::MAX_DEPTH)]
    TooDeep { line: u32 },
    #[error("no root element")]
    NoRoot,
    #[error("line {line}: no XML mapping for root element {{{namespace}}}{local}: add one under mappings/xml/")]
    UnknownRoot {
        namespace: String,
        local: String,
        line: u32,
    },
    #[error("unknown encoding {label:?} in the XML declaration")]
    UnknownEncoding { label: String },
    #[error("bytes that are not valid {encoding}")]
    Decoding { encoding: &'static str },
    #[error("byte {offset}: invalid UTF-8 (the XML declaration names no other encoding)")]
    InvalidUtf8 { offset: u64 },
    #[error("line {line}: flat IDoc: {message}")]
    Idoc { line: u32, message: String },
}

impl XmlError {
    /// Stable diagnostic code.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Dtd { .. } => "xml-dtd-refused",
            XmlError::Entity { .. } => "xml-entity-refused",
            XmlError::Syntax { .. } => "xml-syntax",
            XmlError::UnboundPrefix { .. } => "xml-unbound-prefix",
            XmlError::TooDeep { .. } => "xml-too-deep",
            XmlError::NoRoot => "xml-no-root",
            XmlError::UnknownRoot { .. } => "no-mapping",
            XmlError::UnknownEncoding { .. } => "unknown-encoding",
            XmlError::Decoding { .. } | XmlError::InvalidUtf8 { .. } => "invalid-encoding",
            XmlError::Idoc { .. } => "idoc-syntax",
        }
    }

    /// The line the problem is on, when known.
    pub fn line(&self) -> Option<u32> {
        match self {
            XmlError::Dtd { line }
            | XmlError::Entity { line, .. }
            | XmlError::Syntax { line, .. }
            | XmlError::UnboundPrefix { line, .. }
            | XmlError::TooDeep { line }
            | XmlError::UnknownRoot { line, .. }
            | XmlError::Idoc { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The byte offset the problem is at, when known; errors about the
    /// input as a whole point at its start.
    pub fn offset(&self) -> Option<u64> {
        match self {
            XmlError::InvalidUtf8 { offset } => Some(*offset),
            XmlError::NoRoot | XmlError::Decoding { .. } | XmlError::UnknownEncoding { .. } => {
                Some(0)
            }
            _ => None,
        }
    }

    /// This error as a located diagnostic.
    pub fn diagnostic(&self, file: Option<String>) -> Diagnostic {
        Diagnostic::error(
            self.code(),
            Location {
                file,
                line: self.line(),
                offset: self.offset(),
                ..Location::default()
            },
            self.to_string(),
        )
    }
}

/// What reading one input gave.
#[derive(Debug)]
pub enum ReadResult {
    /// A document; `diagnostics` may hold errors (then it is to be rejected).
    Document {
        document: Box<Document>,
        diagnostics: Vec<Diagnostic>,
    },
    /// Nothing could be mapped.
    Failed(XmlError),
}

impl ReadResult {
    /// True when a document came out with no error.
    pub fn is_clean(&self) -> bool {
        matches!(self, ReadResult::Document { diagnostics, .. } if !diagnostics.iter().any(Diagnostic::is_error))
    }
}

/// True when `bytes` look like a flat IDoc (an `EDI_DC40` control record).
pub fn is_flat_idoc(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    b[start..].starts_with(b"EDI_DC40") || b[start..].starts_with(b"EDI_DC")
}

/// Reads one XML document (or flat IDoc) from `bytes` with `maps`. Never
/// panics, whatever the bytes: this is also the fuzzing entry point.
pub fn read_document(bytes: &[u8], maps: &XmlMappings, file: Option<String>) -> ReadResult {
    let mut applier = apply::Applier::new(maps, file);
    let res = if is_flat_idoc(bytes) {
        applier.format = "idoc";
        idoc::read_flat(bytes, &maps.idoc, &mut applier)
    } else {
        match decode::decode(bytes) {
            Ok(d) => reader::read(&d.text, d.skipped_lines + 1, &mut applier),
            Err(e) => Err(e),
        }
    };
    if let Err(e) = res {
        return ReadResult::Failed(e);
    }
    match applier.finish() {
        Ok((document, diagnostics)) => ReadResult::Document {
            document: Box::new(document),
            diagnostics,
        },
        Err(e) => ReadResult::Failed(e),
    }
}
