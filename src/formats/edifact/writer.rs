//! Outbound EDIFACT: a small, fast segment writer and the envelope helpers
//! (UNA, UNB…UNZ, UNG…UNE, UNH…UNT) with correct counts and references.
//!
//! [`Writer`] appends segments to a `Vec<u8>`:
//!
//! - every value goes through [`Charset::encode`] and then release-character
//!   escaping of each special character (component, element and segment
//!   separators, the release character itself and, when set, the repetition
//!   separator);
//! - separators are written lazily, so trailing empty data elements and
//!   trailing empty components are never written (ISO 9735 rule);
//! - numbers are written from [`Decimal`] with the decimal mark of the
//!   delimiters, without exponent and without a trailing mark;
//! - an optional line break follows each segment terminator.
//!
//! The API is chainable and infallible at each call; the first problem
//! (a value that needs escaping while the release character is disabled, a
//! malformed tag) is remembered and returned by [`Writer::finish`], so
//! callers never have to thread `Result`s through every element.
//!
//! [`InterchangeWriter`] wraps a [`Writer`] with the envelope: it writes the
//! UNA (when asked, or when the delimiters differ from the defaults a reader
//! would assume), the UNB from an [`Interchange`], UNH/UNT pairs with the
//! right segment count, optional UNG/UNE groups, and UNZ with the right
//! message or group count.
//!
//! Line breaks inside values (CR, LF) are written as spaces: every EDIFACT
//! reader, Comptoir's included, drops line breaks inside segments as line
//! wrapping, so they could not be read back anyway.

use chrono::{NaiveDateTime, Utc};
use rust_decimal::Decimal;

use super::{Charset, Delimiters};

/// Why an outbound interchange could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The document's type has no EDIFACT message Comptoir can write, or
    /// not the one that was asked for.
    #[error("document {number:?} of type {document_type} cannot be written as {target}")]
    NotWritable {
        document_type: String,
        number: String,
        target: String,
    },
    /// Mandatory data is missing from the document.
    #[error("{message} {number:?}: missing {what}")]
    MissingData {
        message: &'static str,
        number: String,
        what: String,
    },
    /// A value in the document cannot be written in the message.
    #[error("{message} {number:?}: invalid {what}: {value:?}")]
    InvalidData {
        message: &'static str,
        number: String,
        what: String,
        value: String,
    },
    /// A value contains a delimiter but the release character is disabled
    /// (UNA with a space in the release position).
    #[error("value {value:?} contains the delimiter {delimiter:?} and the release character is disabled")]
    Unescapable { value: String, delimiter: char },
    /// A segment tag that is not three upper-case letters or digits.
    #[error("invalid segment tag {0:?}")]
    InvalidTag(String),
    /// Envelope misuse: message not closed, groups and messages mixed…
    #[error("envelope: {0}")]
    Envelope(String),
    /// Nothing to write.
    #[error("no documents to write")]
    Empty,
}

/// Formats `value` for EDIFACT: plain digits, `-` sign when negative,
/// `decimal_mark` as decimal mark, no exponent, no trailing mark. The
/// scale is kept (`12.50` stays `12.50`); negative zero is written `0`.
pub fn format_decimal(value: Decimal, decimal_mark: u8) -> String {
    let mut v = value;
    if v.is_zero() && v.is_sign_negative() {
        v.set_sign_positive(true);
    }
    // `Decimal`'s Display never uses an exponent.
    let mut s = v.to_string();
    if s.ends_with('.') {
        s.pop();
    }
    if decimal_mark != b'.' && decimal_mark.is_ascii() {
        s = s.replace('.', &char::from(decimal_mark).to_string());
    }
    s
}

/// Streaming EDIFACT segment writer into a `Vec<u8>`.
#[derive(Debug, Clone)]
pub struct Writer {
    out: Vec<u8>,
    delimiters: Delimiters,
    charset: Charset,
    line_break: &'static [u8],
    special: [bool; 256],
    /// Separators owed before the next non-empty value.
    pending: Vec<u8>,
    in_segment: bool,
    /// Segments terminated so far.
    segments: u32,
    error: Option<WriteError>,
}

impl Writer {
    /// A writer with these delimiters and repertoire, no line breaks.
    pub fn new(delimiters: Delimiters, charset: Charset) -> Writer {
        let mut special = [false; 256];
        for (b, s) in special.iter_mut().enumerate() {
            *s = delimiters.is_special(b as u8);
        }
        Writer {
            out: Vec::with_capacity(4096),
            delimiters,
            charset,
            line_break: b"",
            special,
            pending: Vec::with_capacity(16),
            in_segment: false,
            segments: 0,
            error: None,
        }
    }

    /// Writes `line_break` (e.g. `b"\r\n"`) after each segment terminator;
    /// empty for none.
    pub fn with_line_break(mut self, line_break: &'static [u8]) -> Writer {
        self.line_break = line_break;
        self
    }

    /// The delimiters in use.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// The character repertoire values are encoded in.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// Number of segments terminated so far (the UNA is not a segment).
    pub fn segment_count(&self) -> u32 {
        self.segments
    }

    /// The bytes written so far (an open segment included, unterminated).
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    /// The first error met, if any.
    pub fn error(&self) -> Option<&WriteError> {
        self.error.as_ref()
    }

    fn fail(&mut self, e: WriteError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Writes the `UNA` service string advice for the delimiters (and the
    /// line break, when one is configured).
    pub fn una(&mut self) -> &mut Writer {
        self.end();
        self.out.extend_from_slice(&self.delimiters.una());
        self.out.extend_from_slice(self.line_break);
        self
    }

    /// Starts segment `tag`, terminating any open segment first.
    pub fn segment(&mut self, tag: &str) -> &mut Writer {
        self.end();
        let t = tag.as_bytes();
        if !(t.len() == 3
            && t.iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            self.fail(WriteError::InvalidTag(tag.to_string()));
        }
        self.out.extend_from_slice(t);
        self.pending.clear();
        self.in_segment = true;
        self
    }

    /// Terminates the open segment (no-op when none is open).
    pub fn end(&mut self) -> &mut Writer {
        if self.in_segment {
            self.pending.clear();
            self.out.push(self.delimiters.segment);
            self.out.extend_from_slice(self.line_break);
            self.segments += 1;
            self.in_segment = false;
        }
        self
    }

    /// Drops trailing component separators owed for the element being
    /// closed: its trailing empty components.
    fn close_element(&mut self) {
        while self.pending.last() == Some(&self.delimiters.component) {
            self.pending.pop();
        }
    }

    /// Starts a new (empty) data element.
    pub fn element(&mut self) -> &mut Writer {
        self.close_element();
        self.pending.push(self.delimiters.element);
        self
    }

    /// Starts a new (empty) component in the current element.
    pub fn component(&mut self) -> &mut Writer {
        self.pending.push(self.delimiters.component);
        self
    }

    /// Starts a repetition of the current element (syntax version 4); falls
    /// back to a new element when no repetition separator is set.
    pub fn repetition(&mut self) -> &mut Writer {
        self.close_element();
        let sep = self
            .delimiters
            .repetition
            .unwrap_or(self.delimiters.element);
        self.pending.push(sep);
        self
    }

    fn flush_pending(&mut self) {
        if !self.pending.is_empty() {
            self.out.extend_from_slice(&self.pending);
            self.pending.clear();
        }
    }

    /// Writes text at the current position (escaped and encoded); empty
    /// text writes nothing.
    pub fn text(&mut self, value: &str) -> &mut Writer {
        if value.is_empty() {
            return self;
        }
        self.flush_pending();
        let charset = self.charset;
        let encoded = charset.encode(value);
        self.push_escaped(&encoded, value);
        self
    }

    fn push_escaped(&mut self, bytes: &[u8], original: &str) {
        let special = &self.special;
        let needs_work = bytes
            .iter()
            .any(|&b| special[b as usize] || b == b'\r' || b == b'\n');
        if !needs_work {
            self.out.extend_from_slice(bytes);
            return;
        }
        self.out.reserve(bytes.len() + 8);
        let release = self.delimiters.release;
        for &b in bytes {
            if self.special[b as usize] {
                match release {
                    Some(r) => {
                        self.out.push(r);
                        self.out.push(b);
                    }
                    None => {
                        self.fail(WriteError::Unescapable {
                            value: original.to_string(),
                            delimiter: char::from(b),
                        });
                        self.out.push(b);
                    }
                }
            } else if b == b'\r' || b == b'\n' {
                self.out.push(b' ');
            } else {
                self.out.push(b);
            }
        }
    }

    /// Writes a number at the current position.
    pub fn decimal(&mut self, value: Decimal) -> &mut Writer {
        let s = format_decimal(value, self.delimiters.decimal);
        // Digits, sign and decimal mark: escaped only in the odd case
        // where the decimal mark is also a separator.
        self.flush_pending();
        self.push_escaped(s.as_bytes(), &s);
        self
    }

    /// New element whose first component is `value`.
    pub fn el(&mut self, value: &str) -> &mut Writer {
        self.element().text(value)
    }

    /// New element whose first component is `value`, when present.
    pub fn el_opt(&mut self, value: Option<&str>) -> &mut Writer {
        self.element().text(value.unwrap_or(""))
    }

    /// New element whose first component is the number `value`.
    pub fn el_decimal(&mut self, value: Decimal) -> &mut Writer {
        self.element().decimal(value)
    }

    /// New component holding `value`.
    pub fn comp(&mut self, value: &str) -> &mut Writer {
        self.component().text(value)
    }

    /// New component holding `value`, when present.
    pub fn comp_opt(&mut self, value: Option<&str>) -> &mut Writer {
        self.component().text(value.unwrap_or(""))
    }

    /// New component holding the number `value`.
    pub fn comp_decimal(&mut self, value: Decimal) -> &mut Writer {
        self.component().decimal(value)
    }

    /// New component holding the number `value`, when present.
    pub fn comp_decimal_opt(&mut self, value: Option<Decimal>) -> &mut Writer {
        self.component();
        if let Some(v) = value {
            self.decimal(v);
        }
        self
    }

    /// Writes a whole segment from elements given as component lists:
    /// `write_segment("DTM", &[&["137", "20240301", "102"]])`.
    pub fn write_segment(&mut self, tag: &str, elements: &[&[&str]]) -> &mut Writer {
        self.segment(tag);
        for element in elements {
            self.element();
            for (i, c) in element.iter().enumerate() {
                if i > 0 {
                    self.component();
                }
                self.text(c);
            }
        }
        self.end()
    }

    /// Terminates any open segment and returns the bytes, or the first
    /// error met.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        self.end();
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }
}

/// The data of an interchange header (UNB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interchange {
    /// Syntax identifier (0001), `UNOC` by default.
    pub syntax_id: String,
    /// Syntax version (0002), 3 by default.
    pub syntax_version: u8,
    pub sender: String,
    /// Sender code qualifier (0007), e.g. `14` for a GLN.
    pub sender_qualifier: Option<String>,
    pub recipient: String,
    pub recipient_qualifier: Option<String>,
    /// Preparation date and time; `None` means now (UTC).
    pub prepared_at: Option<NaiveDateTime>,
    /// Interchange control reference (0020), repeated in UNZ.
    pub control_ref: String,
    /// Application reference (0026).
    pub application_ref: Option<String>,
    /// Acknowledgement request (0031 = 1).
    pub ack_request: bool,
    /// Test indicator (0035 = 1).
    pub test: bool,
}

impl Interchange {
    /// A UNOC, syntax version 3 interchange header.
    pub fn new(
        sender: impl Into<String>,
        recipient: impl Into<String>,
        control_ref: impl Into<String>,
    ) -> Interchange {
        Interchange {
            syntax_id: "UNOC".to_string(),
            syntax_version: 3,
            sender: sender.into(),
            sender_qualifier: None,
            recipient: recipient.into(),
            recipient_qualifier: None,
            prepared_at: None,
            control_ref: control_ref.into(),
            application_ref: None,
            ack_request: false,
            test: false,
        }
    }
}

/// The data of a functional group header (UNG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Message group identification (0038): the message type of the group.
    pub message_type: String,
    pub sender: String,
    pub sender_qualifier: Option<String>,
    pub recipient: String,
    pub recipient_qualifier: Option<String>,
    /// Preparation date and time; `None` means now (UTC).
    pub prepared_at: Option<NaiveDateTime>,
    /// Group reference (0048), repeated in UNE.
    pub control_ref: String,
    /// Controlling agency (0051), `UN`.
    pub agency: String,
    /// Message version (0052), e.g. `D`.
    pub version: String,
    /// Message release (0054), e.g. `96A`.
    pub release: String,
    /// Association assigned code (0057).
    pub association: Option<String>,
}

/// The message identifier of a UNH (S009).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageId {
    /// Message type (0065), e.g. `ORDRSP`.
    pub message_type: String,
    /// Version (0052), e.g. `D`.
    pub version: String,
    /// Release (0054), e.g. `96A`.
    pub release: String,
    /// Controlling agency (0051), `UN`.
    pub agency: String,
    /// Association assigned code (0057), e.g. `EAN005`.
    pub association: Option<String>,
}

impl MessageId {
    /// A UN/EDIFACT D.96A message identifier with an association code.
    pub fn d96a(message_type: &str, association: Option<&str>) -> MessageId {
        MessageId {
            message_type: message_type.to_string(),
            version: "D".to_string(),
            release: "96A".to_string(),
            agency: "UN".to_string(),
            association: association.map(str::to_string),
        }
    }
}

#[derive(Debug)]
struct OpenMessage {
    reference: String,
    first_segment: u32,
}

#[derive(Debug)]
struct OpenGroup {
    control_ref: String,
    messages: u32,
}

/// Writes one interchange: UNA?, UNB, (UNG?, UNH…UNT…, UNE?)…, UNZ.
#[derive(Debug)]
pub struct InterchangeWriter {
    w: Writer,
    control_ref: String,
    messages: u32,
    loose_messages: u32,
    groups: u32,
    group: Option<OpenGroup>,
    message: Option<OpenMessage>,
}

fn date_time(at: Option<NaiveDateTime>, version: u8) -> (String, String) {
    let at = at.unwrap_or_else(|| Utc::now().naive_utc());
    let date = if version >= 4 {
        at.format("%Y%m%d").to_string()
    } else {
        at.format("%y%m%d").to_string()
    };
    (date, at.format("%H%M").to_string())
}

impl InterchangeWriter {
    /// Starts an interchange: writes the UNA when `una` is true or the
    /// delimiters differ from those a reader assumes without one, then the
    /// UNB.
    pub fn start(mut w: Writer, header: &Interchange, una: bool) -> InterchangeWriter {
        let mut implied = Delimiters::default();
        if header.syntax_version >= 4 {
            implied.repetition = Some(b'*');
        }
        if una || w.delimiters() != implied {
            w.una();
        }
        let (date, time) = date_time(header.prepared_at, header.syntax_version);
        w.segment("UNB")
            .el(&header.syntax_id)
            .comp(&header.syntax_version.to_string())
            .el(&header.sender)
            .comp_opt(header.sender_qualifier.as_deref())
            .el(&header.recipient)
            .comp_opt(header.recipient_qualifier.as_deref())
            .el(&date)
            .comp(&time)
            .el(&header.control_ref)
            .element()
            .el_opt(header.application_ref.as_deref())
            .element()
            .el(if header.ack_request { "1" } else { "" })
            .element()
            .el(if header.test { "1" } else { "" })
            .end();
        InterchangeWriter {
            w,
            control_ref: header.control_ref.clone(),
            messages: 0,
            loose_messages: 0,
            groups: 0,
            group: None,
            message: None,
        }
    }

    /// The underlying writer, to write a message's segments.
    pub fn writer(&mut self) -> &mut Writer {
        &mut self.w
    }

    /// Messages started so far.
    pub fn message_count(&self) -> u32 {
        self.messages
    }

    /// Opens a functional group (UNG).
    pub fn begin_group(&mut self, g: &Group, syntax_version: u8) -> Result<(), WriteError> {
        if self.message.is_some() || self.group.is_some() {
            return Err(WriteError::Envelope(
                "a group cannot start inside an open message or group".into(),
            ));
        }
        let (date, time) = date_time(g.prepared_at, syntax_version);
        self.w
            .segment("UNG")
            .el(&g.message_type)
            .el(&g.sender)
            .comp_opt(g.sender_qualifier.as_deref())
            .el(&g.recipient)
            .comp_opt(g.recipient_qualifier.as_deref())
            .el(&date)
            .comp(&time)
            .el(&g.control_ref)
            .el(&g.agency)
            .el(&g.version)
            .comp(&g.release)
            .comp_opt(g.association.as_deref())
            .end();
        self.groups += 1;
        self.group = Some(OpenGroup {
            control_ref: g.control_ref.clone(),
            messages: 0,
        });
        Ok(())
    }

    /// Closes the open group (UNE with its message count).
    pub fn end_group(&mut self) -> Result<(), WriteError> {
        if self.message.is_some() {
            return Err(WriteError::Envelope("UNE inside an open message".into()));
        }
        let Some(g) = self.group.take() else {
            return Err(WriteError::Envelope("UNE without an open group".into()));
        };
        self.w
            .segment("UNE")
            .el(&g.messages.to_string())
            .el(&g.control_ref)
            .end();
        Ok(())
    }

    /// Opens a message (UNH) with reference `reference`.
    pub fn begin_message(&mut self, reference: &str, id: &MessageId) -> Result<(), WriteError> {
        if self.message.is_some() {
            return Err(WriteError::Envelope(
                "a message cannot start inside an open message".into(),
            ));
        }
        if reference.is_empty() {
            return Err(WriteError::Envelope("empty message reference".into()));
        }
        self.w.end();
        let first_segment = self.w.segment_count();
        self.w
            .segment("UNH")
            .el(reference)
            .el(&id.message_type)
            .comp(&id.version)
            .comp(&id.release)
            .comp(&id.agency)
            .comp_opt(id.association.as_deref())
            .end();
        self.messages += 1;
        match self.group.as_mut() {
            Some(g) => g.messages += 1,
            None => self.loose_messages += 1,
        }
        self.message = Some(OpenMessage {
            reference: reference.to_string(),
            first_segment,
        });
        Ok(())
    }

    /// Closes the open message: UNT with the segment count (UNH and UNT
    /// included) and the UNH reference.
    pub fn end_message(&mut self) -> Result<(), WriteError> {
        let Some(m) = self.message.take() else {
            return Err(WriteError::Envelope("UNT without an open message".into()));
        };
        self.w.end();
        let count = self.w.segment_count() - m.first_segment + 1;
        self.w
            .segment("UNT")
            .el(&count.to_string())
            .el(&m.reference)
            .end();
        Ok(())
    }

    /// Closes the interchange (UNZ with the group count when groups were
    /// used, else the message count) and returns the bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        if self.message.is_some() {
            return Err(WriteError::Envelope(
                "interchange ended inside a message".into(),
            ));
        }
        if self.group.is_some() {
            return Err(WriteError::Envelope(
                "interchange ended inside a group".into(),
            ));
        }
        if self.groups > 0 && self.loose_messages > 0 {
            return Err(WriteError::Envelope(
                "functional groups and messages outside groups are mixed".into(),
            ));
        }
        let count = if self.groups > 0 {
            self.groups
        } else {
            self.messages
        };
        self.w
            .segment("UNZ")
            .el(&count.to_string())
            .el(&self.control_ref)
            .end();
        self.w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::edifact::{EnvelopePolicy, Event, Lexer, Reader, Token};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn w() -> Writer {
        Writer::new(Delimiters::default(), Charset::Latin1)
    }

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 1)
            .and_then(|d| d.and_hms_opt(14, 30, 0))
            .expect("valid date")
    }

    #[test]
    fn escapes_every_special_character() {
        let mut w = w();
        w.segment("FTX")
            .el("AAI")
            .element()
            .element()
            .el("a'b+c:d?e");
        assert_eq!(w.finish().unwrap(), b"FTX+AAI+++a?'b?+c?:d??e'");
    }

    #[test]
    fn escapes_repetition_separator_in_v4() {
        let d = Delimiters {
            repetition: Some(b'*'),
            ..Delimiters::default()
        };
        let mut w = Writer::new(d, Charset::Utf8);
        w.segment("IMD")
            .el("F")
            .element()
            .element()
            .comp("")
            .comp("")
            .comp("2*3");
        w.element().text("x").repetition().text("y");
        assert_eq!(w.finish().unwrap(), b"IMD+F++:::2?*3+x*y'");
        // Without a repetition separator, `*` is data.
        let mut w2 = self::w();
        w2.segment("FTX").el("2*3");
        assert_eq!(w2.finish().unwrap(), b"FTX+2*3'");
    }

    #[test]
    fn trims_trailing_empty_elements_and_components() {
        let mut w = w();
        w.segment("NAD")
            .el("BY")
            .el("5412345000013")
            .comp("")
            .comp("9")
            .comp("")
            .comp("")
            .element()
            .el("")
            .el("")
            .end();
        w.write_segment(
            "BGM",
            &[&["220", "", ""], &["123"], &["9"], &[""], &["", ""]],
        );
        w.write_segment("LIN", &[&["1", ""], &[""], &["4000862141404", "SRV", ""]]);
        w.write_segment("UNS", &[&["S"]]);
        assert_eq!(
            w.finish().unwrap(),
            b"NAD+BY+5412345000013::9'BGM+220+123+9'LIN+1++4000862141404:SRV'UNS+S'"
        );
    }

    #[test]
    fn empty_components_inside_are_kept() {
        let mut w = w();
        w.write_segment("PRI", &[&["AAA", "12.5", "", "", "", "PCE"]]);
        assert_eq!(w.finish().unwrap(), b"PRI+AAA:12.5::::PCE'");
    }

    #[test]
    fn decimal_formatting() {
        use std::str::FromStr;
        let d = |s: &str| Decimal::from_str(s).unwrap();
        assert_eq!(format_decimal(d("12.50"), b'.'), "12.50");
        assert_eq!(format_decimal(d("12.50"), b','), "12,50");
        assert_eq!(format_decimal(d("-0.5"), b','), "-0,5");
        assert_eq!(format_decimal(d("100"), b','), "100");
        assert_eq!(format_decimal(d("-0.00"), b'.'), "0.00");
        assert_eq!(
            format_decimal(Decimal::new(1, 20), b'.'),
            "0.00000000000000000001"
        );
        assert_eq!(
            format_decimal(Decimal::from_scientific("1e20").unwrap(), b'.'),
            "100000000000000000000"
        );
        let delims = Delimiters::from_una(*b":+,? '");
        let mut w = Writer::new(delims, Charset::Latin1);
        w.segment("MOA").el("203").comp_decimal(d("1234.5"));
        assert_eq!(w.finish().unwrap(), b"MOA+203:1234,5'");
    }

    #[test]
    fn latin1_output_bytes() {
        let mut w = Writer::new(Delimiters::default(), Charset::Latin1);
        w.segment("NAD")
            .el("BY")
            .element()
            .element()
            .el("Müller & Söhne Straße");
        assert_eq!(
            w.finish().unwrap(),
            b"NAD+BY+++M\xfcller & S\xf6hne Stra\xdfe'"
        );
        let mut a = Writer::new(Delimiters::default(), Charset::Ascii);
        a.segment("FTX").el("é");
        // The `?` replacing an unrepresentable character is itself escaped.
        assert_eq!(a.finish().unwrap(), b"FTX+??'");
    }

    #[test]
    fn line_breaks_after_segments_and_in_values() {
        let mut w = w().with_line_break(b"\r\n");
        w.segment("FTX").el("a\r\nb");
        w.segment("UNS").el("S");
        assert_eq!(w.finish().unwrap(), b"FTX+a  b'\r\nUNS+S'\r\n");
    }

    #[test]
    fn errors_are_deferred() {
        let d = Delimiters::from_una(*b":+.  '");
        let mut w = Writer::new(d, Charset::Utf8);
        w.segment("FTX").el("a+b");
        assert!(matches!(w.finish(), Err(WriteError::Unescapable { .. })));
        let mut w = self::w();
        w.segment("bgm");
        assert_eq!(w.finish(), Err(WriteError::InvalidTag("bgm".into())));
    }

    fn envelope(w: Writer, una: bool, version: u8) -> Vec<u8> {
        let mut h = Interchange::new("5412345000013", "4012345000016", "IC0001");
        h.sender_qualifier = Some("14".into());
        h.recipient_qualifier = Some("14".into());
        h.prepared_at = Some(at());
        h.syntax_version = version;
        h.test = true;
        let mut ic = InterchangeWriter::start(w, &h, una);
        for r in ["M1", "M2"] {
            ic.begin_message(r, &MessageId::d96a("ORDRSP", Some("EAN005")))
                .unwrap();
            ic.writer()
                .write_segment("BGM", &[&["231"], &["PO-1"], &["9"]]);
            ic.writer()
                .write_segment("DTM", &[&["137", "20240301", "102"]]);
            ic.end_message().unwrap();
        }
        ic.finish().unwrap()
    }

    fn read_all(bytes: &[u8]) -> (Vec<String>, Vec<crate::diagnostics::Diagnostic>) {
        let mut r = Reader::new(bytes, None, EnvelopePolicy::default());
        let mut events = Vec::new();
        let mut diags = Vec::new();
        while let Some(e) = r.next_event().unwrap() {
            events.push(match e {
                Event::InterchangeStart(h) => format!("UNB {}", h.control_ref),
                Event::GroupStart(g) => format!("UNG {}", g.control_ref),
                Event::MessageStart(m) => format!("UNH {} {}", m.reference, m.message_type),
                Event::Segment { segment, position } => {
                    format!("{}@{position}", segment.tag())
                }
                Event::MessageEnd(m) => format!("UNT {}", m.reference),
                Event::GroupEnd => "UNE".into(),
                Event::InterchangeEnd(h) => format!("UNZ {}", h.control_ref),
            });
            diags.extend(r.take_diagnostics());
        }
        diags.extend(r.take_diagnostics());
        (events, diags)
    }

    #[test]
    fn envelope_counts_and_references() {
        let bytes = envelope(w(), false, 3);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(
            text,
            "UNB+UNOC:3+5412345000013:14+4012345000016:14+240301:1430+IC0001++++++1'\
             UNH+M1+ORDRSP:D:96A:UN:EAN005'BGM+231+PO-1+9'DTM+137:20240301:102'UNT+4+M1'\
             UNH+M2+ORDRSP:D:96A:UN:EAN005'BGM+231+PO-1+9'DTM+137:20240301:102'UNT+4+M2'\
             UNZ+2+IC0001'"
        );
        let (events, diags) = read_all(&bytes);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(events.first().map(String::as_str), Some("UNB IC0001"));
        assert_eq!(events.iter().filter(|e| e.starts_with("UNT")).count(), 2);
    }

    #[test]
    fn una_forced_for_custom_delimiters_and_v4_dates() {
        let d = Delimiters {
            decimal: b',',
            repetition: Some(b'*'),
            ..Delimiters::default()
        };
        let bytes = envelope(Writer::new(d, Charset::Latin1), false, 4);
        assert!(bytes.starts_with(b"UNA:+,?*'UNB+UNOC:4+"));
        assert!(String::from_utf8_lossy(&bytes).contains("+20240301:1430+"));
        let (_, diags) = read_all(&bytes);
        assert!(diags.is_empty(), "{diags:?}");
        // v4 defaults need no UNA.
        let d4 = Delimiters {
            repetition: Some(b'*'),
            ..Delimiters::default()
        };
        let bytes = envelope(Writer::new(d4, Charset::Latin1), false, 4);
        assert!(bytes.starts_with(b"UNB+UNOC:4+"));
        let bytes = envelope(w().with_line_break(b"\r\n"), true, 3);
        assert!(bytes.starts_with(b"UNA:+.? '\r\nUNB+"));
        let (_, diags) = read_all(&bytes);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn groups_count_in_unz() {
        let h = Interchange {
            prepared_at: Some(at()),
            ..Interchange::new("A", "B", "7")
        };
        let mut ic = InterchangeWriter::start(w(), &h, false);
        let g = Group {
            message_type: "INVOIC".into(),
            sender: "A".into(),
            sender_qualifier: None,
            recipient: "B".into(),
            recipient_qualifier: None,
            prepared_at: Some(at()),
            control_ref: "G1".into(),
            agency: "UN".into(),
            version: "D".into(),
            release: "96A".into(),
            association: None,
        };
        ic.begin_group(&g, 3).unwrap();
        for r in ["1", "2", "3"] {
            ic.begin_message(r, &MessageId::d96a("INVOIC", None))
                .unwrap();
            ic.writer().write_segment("BGM", &[&["380"], &["X"]]);
            ic.end_message().unwrap();
        }
        ic.end_group().unwrap();
        assert!(ic
            .begin_message("4", &MessageId::d96a("INVOIC", None))
            .is_ok());
        ic.end_message().unwrap();
        assert!(matches!(ic.finish(), Err(WriteError::Envelope(_))));

        let mut ic = InterchangeWriter::start(w(), &h, false);
        ic.begin_group(&g, 3).unwrap();
        ic.begin_message("1", &MessageId::d96a("INVOIC", None))
            .unwrap();
        ic.end_message().unwrap();
        ic.end_group().unwrap();
        let bytes = ic.finish().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("UNG+INVOIC+A+B+240301:1430+G1+UN+D:96A'"),
            "{text}"
        );
        assert!(text.ends_with("UNT+2+1'UNE+1+G1'UNZ+1+7'"), "{text}");
        let (events, diags) = read_all(&bytes);
        assert!(diags.is_empty(), "{diags:?}");
        assert!(events.contains(&"UNG G1".to_string()));
    }

    #[test]
    fn written_values_tokenise_back() {
        let mut w = w();
        w.segment("IMD")
            .el("F")
            .element()
            .element()
            .comp("")
            .comp("")
            .comp("A+B:C?D'E");
        let bytes = w.finish().unwrap();
        let mut lx = Lexer::new(&bytes[..]);
        lx.set_charset(Charset::Latin1);
        assert_eq!(lx.advance().unwrap(), Some(Token::Segment));
        assert_eq!(lx.segment().text(3, 4).as_deref(), Some("A+B:C?D'E"));
    }

    proptest! {
        #[test]
        fn text_with_delimiters_reads_back(
            text in "[ -~àéüßÀ'+:?*]{1,80}",
            una in prop::sample::select(vec![*b":+.? '", *b":+,?*'", *b"|^.\\ ~"]),
            utf8 in any::<bool>(),
        ) {
            let d = Delimiters::from_una(una);
            let charset = if utf8 { Charset::Utf8 } else { Charset::Latin1 };
            let mut w = Writer::new(d, charset).with_line_break(b"\n");
            w.una();
            w.segment("IMD").el("F").element().element().comp("").comp("").comp(&text);
            w.segment("FTX").el("AAI").element().element().el(&text).comp("end");
            let bytes = w.finish().unwrap();
            let mut lx = Lexer::new(&bytes[..]);
            lx.set_charset(charset);
            let first_is_una = matches!(lx.advance().unwrap(), Some(Token::Una { .. }));
            prop_assert!(first_is_una);
            prop_assert_eq!(lx.advance().unwrap(), Some(Token::Segment));
            // A value ending in spaces is still the same value.
            let imd = lx.segment().text(3, 4).map(|t| t.into_owned());
            prop_assert_eq!(imd.as_deref(), Some(text.as_str()));
            prop_assert_eq!(lx.advance().unwrap(), Some(Token::Segment));
            let s = lx.segment();
            let (ftx, end) = (s.text(4, 1).map(|t| t.into_owned()), s.text(4, 2).map(|t| t.into_owned()));
            prop_assert_eq!(ftx.as_deref(), Some(text.as_str()));
            prop_assert_eq!(end.as_deref(), Some("end"));
        }
    }
}
