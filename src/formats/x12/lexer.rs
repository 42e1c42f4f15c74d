//! The X12 tokenizer: bytes in, segments out, with the separators read from
//! each `ISA` header.
//!
//! X12 has no service string advice: the interchange header itself says
//! which bytes separate things. The element separator is the byte right
//! after `ISA`; ISA16 (one byte after the sixteenth element separator) is
//! the component separator; the segment terminator is what follows ISA16,
//! one byte or a whole UTF-8 character (real files use `~`, a line feed, a
//! carriage return, EBCDIC NL, even U+2026 `…`); ISA11 is the repetition
//! separator from version 00402 on. The ISA is located by counting element
//! separators, not by fixed columns, so short unpadded ISA headers and ISA
//! fields padded with odd whitespace are read too.
//!
//! Like the EDIFACT [`Lexer`](crate::formats::edifact::Lexer), it streams
//! through a buffer that only grows to fit the longest segment, skips a
//! UTF-8 BOM and the line breaks and indentation between segments, and
//! yields zero-copy [`Segment`]s (the same type, so the same mapping engine
//! maps both standards). X12 has no release character.

use std::io::{self, Read};

use memchr::{memchr, memmem};

use crate::formats::edifact::{split, Charset, Classes, Delimiters, ElementSpan, Segment, Span};

const INITIAL_BUFFER: usize = 256 * 1024;
/// How far an ISA header may stretch (padded fields included).
const ISA_MAX: usize = 1024;

/// The separators of one X12 interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X12Delimiters {
    /// Data element separator (ISA byte 3, usually `*`).
    pub element: u8,
    /// Component element separator (ISA16, usually `>` or `:`).
    pub component: u8,
    /// Repetition separator (ISA11 from version 00402, usually `^`).
    pub repetition: Option<u8>,
    terminator: [u8; 4],
    terminator_len: u8,
}

impl Default for X12Delimiters {
    fn default() -> X12Delimiters {
        X12Delimiters {
            element: b'*',
            component: b'>',
            repetition: None,
            terminator: [b'~', 0, 0, 0],
            terminator_len: 1,
        }
    }
}

impl X12Delimiters {
    /// Separators with a (possibly multi-byte, at most 4 bytes) terminator.
    pub fn new(
        element: u8,
        component: u8,
        repetition: Option<u8>,
        terminator: &[u8],
    ) -> X12Delimiters {
        let mut t = [0u8; 4];
        let n = terminator.len().clamp(1, 4);
        t[..n.min(terminator.len())].copy_from_slice(&terminator[..n.min(terminator.len())]);
        X12Delimiters {
            element,
            component,
            repetition,
            terminator: t,
            terminator_len: n as u8,
        }
    }

    /// The segment terminator bytes.
    pub fn terminator(&self) -> &[u8] {
        &self.terminator[..self.terminator_len as usize]
    }

    /// The same separators as EDIFACT [`Delimiters`], for splitting.
    pub(crate) fn as_split(&self, with_repetition: bool) -> Delimiters {
        Delimiters {
            component: self.component,
            element: self.element,
            decimal: b'.',
            release: None,
            repetition: if with_repetition {
                self.repetition
            } else {
                None
            },
            segment: self.terminator[0],
        }
    }

    /// True when `b` is one of the separators (data may not contain it).
    pub fn is_special(&self, b: u8) -> bool {
        b == self.element
            || b == self.component
            || Some(b) == self.repetition
            || self.terminator().contains(&b)
    }
}

/// What the lexer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A segment ([`Lexer::segment`]); an `ISA` segment also set new
    /// delimiters ([`Lexer::delimiters`]).
    Segment,
    /// Bytes that are not X12 (before the first ISA, or after an
    /// unreadable one), skipped.
    Garbage { offset: u64, line: u32, len: usize },
    /// An `ISA` header whose separators cannot be read; the bytes up to the
    /// next `ISA` are skipped.
    BadIsa {
        offset: u64,
        line: u32,
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct Current {
    start: usize,
    stop: usize,
    offset: u64,
    line: u32,
}

/// Streaming X12 tokenizer.
pub struct Lexer<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    base: u64,
    line: u32,
    delimiters: Option<X12Delimiters>,
    at_start: bool,
    comps: Vec<Span>,
    elems: Vec<ElementSpan>,
    /// Whether the current segment has repeated elements.
    repeats: bool,
    /// Byte classes for the current delimiters (with repetition).
    classes: Option<(X12Delimiters, Classes)>,
    bytes_read: u64,
    current: Current,
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

/// Reads the separators from an ISA header at the start of `head`.
/// Returns them and the length of the ISA segment (terminator excluded).
pub fn parse_isa_delimiters(head: &[u8]) -> Result<(X12Delimiters, usize), String> {
    if head.len() < 4 || !head.starts_with(b"ISA") {
        return Err("not an ISA header".into());
    }
    let sep = head[3];
    if sep.is_ascii_alphanumeric() || sep == b' ' || sep == b'\r' || sep == b'\n' {
        return Err(format!(
            "byte {:?} after ISA cannot be an element separator",
            sep as char
        ));
    }
    let mut count = 0;
    let mut isa16_at = None;
    for (i, &b) in head.iter().enumerate().skip(3) {
        if b == sep {
            count += 1;
            if count == 16 {
                isa16_at = Some(i + 1);
                break;
            }
        }
    }
    let Some(at) = isa16_at else {
        return Err(format!(
            "ISA header has {count} element separators {:?} instead of 16 (truncated?)",
            sep as char
        ));
    };
    let Some(&component) = head.get(at) else {
        return Err("ISA16 (component separator) is missing".into());
    };
    let Some(&t0) = head.get(at + 1) else {
        return Err("no segment terminator after ISA16".into());
    };
    if t0.is_ascii_alphanumeric() || t0 == sep || t0 == b' ' {
        return Err(format!(
            "byte {:?} after ISA16 cannot be a segment terminator",
            t0 as char
        ));
    }
    let mut tlen = utf8_len(t0);
    if tlen > 1 {
        let cont = head.get(at + 2..at + 1 + tlen);
        if !cont.is_some_and(|c| c.iter().all(|&b| (0x80..=0xBF).contains(&b))) {
            tlen = 1;
        }
    }
    let terminator = &head[at + 1..at + 1 + tlen];
    // ISA11 and ISA12.
    let fields: Vec<&[u8]> = head[..at].split(|&b| b == sep).collect();
    let trim = |f: &[u8]| -> Vec<u8> { f.trim_ascii().to_vec() };
    let isa11 = fields.get(11).map(|f| trim(f)).unwrap_or_default();
    let isa12 = fields.get(12).map(|f| trim(f)).unwrap_or_default();
    let repetition = match (isa11.as_slice(), isa12.as_slice()) {
        ([r], v) if v >= &b"00402"[..] && !r.is_ascii_alphanumeric() && *r != component => Some(*r),
        _ => None,
    };
    Ok((
        X12Delimiters::new(sep, component, repetition, terminator),
        at + 1,
    ))
}

impl<R: Read> Lexer<R> {
    /// A lexer over `reader` (ASCII-compatible bytes; see
    /// [`super::EbcdicReader`] for EBCDIC).
    pub fn new(reader: R) -> Lexer<R> {
        Lexer {
            reader,
            buf: vec![0; INITIAL_BUFFER],
            pos: 0,
            end: 0,
            eof: false,
            base: 0,
            line: 1,
            delimiters: None,
            at_start: true,
            comps: Vec::with_capacity(64),
            elems: Vec::with_capacity(32),
            repeats: false,
            classes: None,
            bytes_read: 0,
            current: Current::default(),
        }
    }

    /// The separators in force (from the last ISA).
    pub fn delimiters(&self) -> Option<X12Delimiters> {
        self.delimiters
    }

    /// Total bytes consumed from the reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Byte offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Current 1-based line.
    pub fn line(&self) -> u32 {
        self.line
    }

    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            // Keep the current segment's indexes meaningful: they are only
            // used before the next fill, so nothing to adjust.
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let new_len = self.buf.len() * 2;
            self.buf.resize(new_len, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    self.bytes_read += n as u64;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn want(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.pos < n {
            if !self.fill()? {
                break;
            }
        }
        Ok(())
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        self.line += memchr::memchr_iter(b'\n', &self.buf[self.pos..self.pos + n]).count() as u32;
        self.pos += n;
    }

    /// Skips whitespace (and Ctrl-Z padding) between segments.
    fn skip_whitespace(&mut self) -> io::Result<bool> {
        let (el, co) = match self.delimiters {
            Some(d) => (d.element, d.component),
            None => (0xFF, 0xFF),
        };
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                let ws = matches!(
                    b,
                    b' ' | b'\t' | b'\r' | b'\n' | 0 | 0x1A | 0x85 | 0x0B | 0x0C
                ) && b != el
                    && b != co;
                if !ws {
                    return Ok(true);
                }
                if b == b'\n' {
                    self.line += 1;
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(false);
            }
        }
    }

    /// The current segment (after [`Token::Segment`]).
    pub fn segment(&self) -> Segment<'_> {
        let c = self.current;
        Segment {
            bytes: &self.buf[c.start..c.stop],
            comps: &self.comps,
            elems: &self.elems,
            release: None,
            charset: Charset::Latin1,
            repeats: self.repeats,
            escaped: false,
            offset: c.offset,
            line: c.line,
        }
    }

    /// Skips to the next line that starts with `ISA` (or to the end);
    /// returns the number of bytes skipped.
    fn skip_to_isa(&mut self, from: usize) -> io::Result<usize> {
        let mut searched = from.min(self.end - self.pos);
        loop {
            let window = &self.buf[self.pos + searched..self.end];
            if let Some(i) = memmem::find(window, b"ISA") {
                let skip = searched + i;
                self.consume(skip);
                return Ok(skip);
            }
            // Keep the last 2 bytes: "ISA" may straddle the fill.
            searched = (self.end - self.pos).saturating_sub(2).max(searched);
            if !self.fill()? {
                let n = self.end - self.pos;
                self.consume(n);
                return Ok(n);
            }
        }
    }

    /// Moves to the next token, `None` at end of input.
    pub fn advance(&mut self) -> io::Result<Option<Token>> {
        if self.at_start {
            self.at_start = false;
            self.want(3)?;
            if self.buf[self.pos..self.end].starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.pos += 3;
            }
        }
        if !self.skip_whitespace()? {
            return Ok(None);
        }
        self.want(4)?;
        let offset = self.offset();
        let line = self.line;
        if self.buf[self.pos..self.end].starts_with(b"ISA") {
            self.want(ISA_MAX)?;
            let head = &self.buf[self.pos..self.end.min(self.pos + ISA_MAX)];
            match parse_isa_delimiters(head) {
                Ok((d, len)) => {
                    let start = self.pos;
                    self.delimiters = Some(d);
                    // ISA itself is split without repetition: ISA11 holds
                    // the repetition separator as data.
                    self.repeats = split(
                        &self.buf[start..start + len],
                        &Classes::new(&d.as_split(false)),
                        &mut self.comps,
                        &mut self.elems,
                    );
                    self.current = Current {
                        start,
                        stop: start + len,
                        offset,
                        line,
                    };
                    self.consume(len + d.terminator().len());
                    return Ok(Some(Token::Segment));
                }
                Err(reason) => {
                    self.delimiters = None;
                    self.skip_to_isa(3)?;
                    return Ok(Some(Token::BadIsa {
                        offset,
                        line,
                        reason,
                    }));
                }
            }
        }
        let Some(d) = self.delimiters else {
            let len = self.skip_to_isa(0)?;
            return Ok(Some(Token::Garbage { offset, line, len }));
        };
        let term = d.terminator();
        let mut search_from = self.pos;
        let seg_end = loop {
            match memchr(term[0], &self.buf[search_from..self.end]) {
                Some(i) => {
                    let at = search_from + i;
                    if term.len() == 1 {
                        break Some(at);
                    }
                    if self.end - at < term.len() {
                        let (rel_from, rel_at) = (search_from - self.pos, at - self.pos);
                        if !self.fill()? {
                            break None;
                        }
                        search_from = self.pos + rel_from;
                        let _ = rel_at;
                        continue;
                    }
                    if &self.buf[at..at + term.len()] == term {
                        break Some(at);
                    }
                    search_from = at + 1;
                }
                None => {
                    let consumed = search_from - self.pos;
                    if !self.fill()? {
                        break None;
                    }
                    search_from = self.pos + consumed;
                }
            }
        };
        let start = self.pos;
        let (mut stop, next) = match seg_end {
            Some(at) => (at, at + term.len()),
            None => (self.end, self.end),
        };
        if term == b"\n" && stop > start && self.buf[stop - 1] == b'\r' {
            stop -= 1;
        }
        if self.classes.as_ref().is_none_or(|(cd, _)| *cd != d) {
            self.classes = Some((d, Classes::new(&d.as_split(true))));
        }
        let classes = match &self.classes {
            Some((_, c)) => c,
            None => return Ok(None),
        };
        self.repeats = split(
            &self.buf[start..stop],
            classes,
            &mut self.comps,
            &mut self.elems,
        );
        self.current = Current {
            start,
            stop,
            offset,
            line,
        };
        self.consume(next - start);
        Ok(Some(Token::Segment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const ISA: &str = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240301*1200*U*00401*000000001*0*P*>";

    fn tags(input: &[u8]) -> Vec<String> {
        let mut lx = Lexer::new(input);
        let mut out = Vec::new();
        while let Some(t) = lx.advance().unwrap() {
            match t {
                Token::Segment => {
                    let s = lx.segment();
                    out.push(format!("{}@{}", s.tag(), s.line));
                }
                Token::Garbage { len, .. } => out.push(format!("garbage:{len}")),
                Token::BadIsa { reason, .. } => out.push(format!("bad:{reason}")),
            }
        }
        out
    }

    #[test]
    fn tilde_crlf_and_bom() {
        let input = format!("\u{feff}{ISA}~\r\nGS*PO*A*B~\r\n\tST*850*0001~\r\n  BEG*00*SA*PO1~");
        assert_eq!(
            tags(input.as_bytes()),
            vec!["ISA@1", "GS@2", "ST@3", "BEG@4"]
        );
    }

    #[test]
    fn newline_terminator_and_components() {
        let input = format!("{ISA}\nGS*PO*A*B\nSLN*1**I*1*PC>11.1>12\n");
        let mut lx = Lexer::new(input.as_bytes());
        let mut n = 0;
        while let Some(Token::Segment) = lx.advance().unwrap() {
            let s = lx.segment();
            if s.tag() == "SLN" {
                assert_eq!(s.text(5, 2).as_deref(), Some("11.1"));
            }
            n += 1;
        }
        assert_eq!(n, 3);
        assert_eq!(lx.delimiters().unwrap().terminator(), b"\n");
    }

    #[test]
    fn multibyte_terminator() {
        let input = format!("{ISA}\u{2026}\nGS*QM*A*B\u{2026}\nB10*1*2*X\u{2026}");
        let mut lx = Lexer::new(input.as_bytes());
        let mut texts = Vec::new();
        while let Some(Token::Segment) = lx.advance().unwrap() {
            texts.push(lx.segment().text(3, 1).map(|t| t.into_owned()));
        }
        assert_eq!(texts.len(), 3);
        assert_eq!(texts[2].as_deref(), Some("X"));
        assert_eq!(texts[1].as_deref(), Some("B"));
    }

    #[test]
    fn short_isa_and_repetition() {
        let input =
            b"ISA*00* *00* *ZZ*A *ZZ*B*240301*1200*^*00501*1*0*T*:~GS*FA*A*B~AK3*N1*1**8^9~";
        let mut lx = Lexer::new(&input[..]);
        let mut last = 0;
        while let Some(Token::Segment) = lx.advance().unwrap() {
            let s = lx.segment();
            if s.tag() == "ISA" {
                assert_eq!(s.text(11, 1).as_deref(), Some("^"));
                // ISA16 is the component separator itself: read it from
                // the delimiters, not as a value.
            }
            if s.tag() == "AK3" {
                assert_eq!(s.repetitions(4), 2);
                last = 1;
            }
        }
        assert_eq!(last, 1);
        assert_eq!(lx.delimiters().unwrap().repetition, Some(b'^'));
        assert_eq!(lx.delimiters().unwrap().component, b':');
    }

    #[test]
    fn garbage_and_bad_isa() {
        let t = tags(b"hello\nISA*short~GS~");
        assert_eq!(t[0], "garbage:6");
        assert!(t[1].starts_with("bad:"), "{t:?}");
    }

    #[test]
    fn tiny_reads() {
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || out.is_empty() {
                    return Ok(0);
                }
                out[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let input = format!("{ISA}\u{2026}GS*QM*A*B\u{2026}B10*1*2*X\u{2026}");
        let mut lx = Lexer::new(Trickle(input.as_bytes()));
        let mut n = 0;
        while let Some(Token::Segment) = lx.advance().unwrap() {
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
