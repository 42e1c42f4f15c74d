//! ANSI ASC X12 (004010, 005010 and older): tokenizer, envelopes, mapping
//! driver, writer and outbound transaction sets.
//!
//! - [`Lexer`]: streaming bytes → segments with the separators of each ISA
//!   (single- or multi-byte terminators, variable-length ISA, BOM,
//!   indentation); it yields the same [`Segment`](crate::formats::edifact::Segment)
//!   type as EDIFACT so the same mapping engine maps X12 with the files
//!   under `mappings/x12/`;
//! - [`EbcdicReader`]: cp037 input converted on the fly;
//! - [`Reader`]: ISA/GS/ST envelopes with control checks → [`Event`]s;
//! - [`inbound`]: file → canonical documents (used by
//!   [`Translator`](crate::translate::Translator));
//! - [`writer`] and [`outbound`]: 855, 856, 810, 997 and 999 out, with
//!   correct control numbers and counts;
//! - [`fuzz_x12`]: a never-panicking entry point for fuzzers.

mod ebcdic;
mod envelope;
pub mod inbound;
mod lexer;
pub mod outbound;
pub mod writer;

pub use ebcdic::{cp037_to_latin1, is_ebcdic_x12, EbcdicReader, EBCDIC_ISA};
pub use envelope::{
    default_policy, Event, GroupHeader, InterchangeHeader, Reader, TransactionHeader,
};
pub use inbound::fuzz_x12;
pub use lexer::{parse_isa_delimiters, Lexer, Token, X12Delimiters};
pub use outbound::{transaction_set_for, write_documents, X12OutboundOptions};
pub use writer::{IsaFields, X12WriteError, X12Writer};
