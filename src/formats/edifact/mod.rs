//! UN/EDIFACT (and its GS1 EANCOM subset): tokenizer, envelopes, writer.
//!
//! - [`Lexer`]: streaming bytes → segments, zero-copy, release-aware;
//! - [`Segment`]: lazy access to elements and components;
//! - [`Reader`]: envelopes (UNB/UNG/UNH…) with control checks → [`Event`]s;
//! - [`Charset`]: the repertoires declared in UNB and value decoding;
//! - [`writer`]: outbound interchanges with correct escaping and counts.
//!
//! This is Comptoir's own parser rather than the `edifact-parser` crate:
//! see README.md ("Why our own EDIFACT parser") for the measured reasons.

mod charset;
mod delimiters;
mod envelope;
mod lexer;
pub mod outbound;
mod segment;
pub mod writer;

pub use charset::Charset;
pub use delimiters::Delimiters;
pub use envelope::{EnvelopePolicy, Event, GroupHeader, InterchangeHeader, MessageHeader, Reader};
pub use lexer::{read_buffer_size, Lexer, Token};
pub use segment::{parse_decimal, unescape, NotANumber, Segment};
/// Segment splitting, shared with the X12 lexer (same [`Segment`] type).
pub(crate) use segment::{split, Classes, ElementSpan, Span};

pub use outbound::{message_type_for, write_documents, OutboundOptions};
pub use writer::{
    format_decimal, Group, Interchange, InterchangeWriter, MessageId, WriteError, Writer,
};
