//! The streaming tokenizer: bytes in, segments out.
//!
//! [`Lexer`] reads any [`std::io::Read`] through a fixed buffer that grows
//! only to fit the longest single segment, so memory does not depend on the
//! size of an interchange. It finds segment terminators (honouring the
//! release character), skips the line breaks and indentation real files put
//! between segments, removes line breaks from inside segments (files wrapped
//! at 80 columns), recognises `UNA` wherever an interchange may start (not
//! only at byte 0), skips a UTF-8 byte-order mark, and reports non-EDIFACT
//! bytes before the first interchange instead of failing on them.

use std::io::{self, Read};

use memchr::{memchr, memchr2, memmem};

use super::segment::{scan, split, Classes, ElementSpan, ScanClasses, Span};
use super::{Charset, Delimiters, Segment};

/// The buffer of a lexer over input of unknown size; it doubles when a
/// segment does not fit.
pub const INITIAL_BUFFER: usize = 256 * 1024;

/// The smallest buffer [`Lexer::with_capacity`] allocates.
const MIN_BUFFER: usize = 4 * 1024;

/// Read buffer size for input of `size_hint` bytes when known (one byte
/// more, so that the end of input is seen without growing), else
/// [`INITIAL_BUFFER`]; between 4 KiB and [`INITIAL_BUFFER`].
pub fn read_buffer_size(size_hint: Option<usize>) -> usize {
    size_hint.map_or(INITIAL_BUFFER, |n| {
        n.saturating_add(1).clamp(MIN_BUFFER, INITIAL_BUFFER)
    })
}

/// What the lexer found; for [`Token::Segment`], [`Lexer::segment`] gives
/// the segment itself until the next call to [`Lexer::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// A `UNA` service string advice; the delimiters are now in force.
    Una {
        delimiters: Delimiters,
        offset: u64,
        line: u32,
    },
    /// A segment.
    Segment,
    /// Bytes that are not EDIFACT, skipped (before the first UNA/UNB).
    Garbage { offset: u64, line: u32, len: usize },
}

/// Where the current segment's bytes are.
#[derive(Debug, Clone, Copy, Default)]
struct Current {
    in_scratch: bool,
    start: usize,
    stop: usize,
    offset: u64,
    line: u32,
}

/// Streaming EDIFACT tokenizer.
pub struct Lexer<R> {
    reader: R,
    buf: Vec<u8>,
    /// Next unread byte in `buf`.
    pos: usize,
    /// End of valid data in `buf`.
    end: usize,
    eof: bool,
    /// File offset of `buf[0]`.
    base: u64,
    /// 1-based line number at `buf[pos]`.
    line: u32,
    delimiters: Delimiters,
    charset: Charset,
    /// Before the first segment of the input: BOM and junk handling.
    at_start: bool,
    scratch: Vec<u8>,
    comps: Vec<Span>,
    elems: Vec<ElementSpan>,
    bytes_read: u64,
    current: Current,
    classes: Classes,
    scan_classes: ScanClasses,
    repeats: bool,
    /// Whether the current segment holds release characters.
    escaped: bool,
}

impl<R: Read> Lexer<R> {
    /// A lexer over `reader` with the default delimiters.
    pub fn new(reader: R) -> Lexer<R> {
        Lexer::with_capacity(reader, INITIAL_BUFFER)
    }

    /// A lexer whose buffer starts at `capacity` bytes (at least 4 KiB, at
    /// most [`INITIAL_BUFFER`]): for input whose size is known, e.g. one
    /// journaled message of a few kilobytes, so that each message does not
    /// allocate and zero a 256 KiB buffer.
    pub fn with_capacity(reader: R, capacity: usize) -> Lexer<R> {
        Lexer {
            reader,
            buf: vec![0; capacity.clamp(MIN_BUFFER, INITIAL_BUFFER)],
            pos: 0,
            end: 0,
            eof: false,
            base: 0,
            line: 1,
            delimiters: Delimiters::default(),
            charset: Charset::Utf8,
            at_start: true,
            scratch: Vec::new(),
            comps: Vec::with_capacity(64),
            elems: Vec::with_capacity(32),
            bytes_read: 0,
            current: Current::default(),
            classes: Classes::new(&Delimiters::default()),
            scan_classes: ScanClasses::new(&Delimiters::default()),
            repeats: false,
            escaped: false,
        }
    }

    /// The delimiters currently in force.
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Sets the delimiters (after a UNB without UNA was sniffed, or when a
    /// partner's delimiters are configured).
    pub fn set_delimiters(&mut self, d: Delimiters) {
        if d != self.delimiters {
            self.delimiters = d;
            self.classes = Classes::new(&d);
            self.scan_classes = ScanClasses::new(&d);
        }
    }

    /// Sets the character repertoire used to decode values (from UNB).
    pub fn set_charset(&mut self, charset: Charset) {
        self.charset = charset;
    }

    /// Byte offset and line of the next unread byte (end of input once
    /// everything was read).
    pub fn position(&self) -> (u64, u32) {
        (self.base + self.pos as u64, self.line)
    }

    /// Total bytes consumed from the reader so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads more input. Returns false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
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

    /// Ensures at least `n` bytes are available after `pos` (fewer at EOF).
    fn want(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.pos < n {
            if !self.fill()? {
                break;
            }
        }
        Ok(())
    }

    fn advance_by(&mut self, n: usize) {
        let newlines = memchr::memchr_iter(b'\n', &self.buf[self.pos..self.pos + n]).count();
        self.line += newlines as u32;
        self.pos += n;
    }

    /// Skips whitespace between segments. Returns false at end of input.
    fn skip_whitespace(&mut self) -> io::Result<bool> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                let is_ws = matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0)
                    && b != self.delimiters.segment
                    && b != self.delimiters.element;
                if !is_ws {
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

    /// At the very start: skip a BOM and report junk before UNA/UNB/UNH.
    fn skip_preamble(&mut self) -> io::Result<Option<(u64, u32, usize)>> {
        self.want(3)?;
        if self.buf[self.pos..self.end].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos += 3;
        }
        if !self.skip_whitespace()? {
            return Ok(None);
        }
        self.want(4)?;
        let head = &self.buf[self.pos..self.end];
        if starts_service(head) {
            return Ok(None);
        }
        // Look ahead (up to 64 KiB) for a line that starts an interchange.
        self.want(64 * 1024)?;
        let window = &self.buf[self.pos..self.end];
        let found = [&b"\nUNA"[..], b"\nUNB", b"\rUNA", b"\rUNB"]
            .iter()
            .filter_map(|pat| memmem::find(window, pat))
            .min();
        match found {
            Some(i) => {
                let skip = i + 1;
                let (offset, line) = (self.base + self.pos as u64, self.line);
                self.advance_by(skip);
                Ok(Some((offset, line, skip)))
            }
            None => Ok(None),
        }
    }

    /// The current segment (after [`Token::Segment`]).
    pub fn segment(&self) -> Segment<'_> {
        let c = self.current;
        let bytes = if c.in_scratch {
            &self.scratch[..]
        } else {
            &self.buf[c.start..c.stop]
        };
        Segment {
            bytes,
            comps: &self.comps,
            elems: &self.elems,
            release: self.delimiters.release,
            charset: self.charset,
            repeats: self.repeats,
            escaped: self.escaped,
            offset: c.offset,
            line: c.line,
        }
    }

    /// Skips `n` raw bytes (an object package's content after UNO).
    pub fn skip_raw(&mut self, n: usize) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.end && !self.fill()? {
                break;
            }
            let take = left.min(self.end - self.pos);
            self.advance_by(take);
            left -= take;
        }
        Ok(())
    }

    /// Splits the current segment again, after the delimiters changed.
    pub fn resplit(&mut self) {
        let c = self.current;
        let bytes = if c.in_scratch {
            &self.scratch[..]
        } else {
            &self.buf[c.start..c.stop]
        };
        self.repeats = split(bytes, &self.classes, &mut self.comps, &mut self.elems);
        self.escaped = has_byte(bytes, self.delimiters.release);
    }

    /// Moves to the next token, `None` at end of input.
    pub fn advance(&mut self) -> io::Result<Option<Token>> {
        if self.at_start {
            self.at_start = false;
            if let Some((offset, line, len)) = self.skip_preamble()? {
                return Ok(Some(Token::Garbage { offset, line, len }));
            }
        }
        if !self.skip_whitespace()? {
            return Ok(None);
        }
        self.want(9)?;
        let offset = self.base + self.pos as u64;
        let line = self.line;
        if self.buf[self.pos..self.end].starts_with(b"UNA") && self.end - self.pos >= 9 {
            let mut chars = [0u8; 6];
            chars.copy_from_slice(&self.buf[self.pos + 3..self.pos + 9]);
            self.set_delimiters(Delimiters::from_una(chars));
            self.advance_by(9);
            return Ok(Some(Token::Una {
                delimiters: self.delimiters,
                offset,
                line,
            }));
        }
        // The common case in one pass: the whole segment is in the buffer,
        // on one line; find its terminator and split it at once.
        if let Some((len, repeats, escaped)) = scan(
            &self.buf[self.pos..self.end],
            &self.scan_classes,
            &mut self.comps,
            &mut self.elems,
        ) {
            let start = self.pos;
            let stop = start + len;
            self.pos = stop + 1;
            self.repeats = repeats;
            self.escaped = escaped;
            self.current = Current {
                in_scratch: false,
                start,
                stop,
                offset,
                line,
            };
            return Ok(Some(Token::Segment));
        }
        // General path: find the terminator, skipping released ones.
        let term = self.delimiters.segment;
        let release = self.delimiters.release;
        let mut search_from = self.pos;
        let seg_end = loop {
            match memchr(term, &self.buf[search_from..self.end]) {
                Some(i) => {
                    let at = search_from + i;
                    if let Some(r) = release {
                        let mut n = 0;
                        while at > self.pos + n && self.buf[at - 1 - n] == r {
                            n += 1;
                        }
                        if n % 2 == 1 {
                            search_from = at + 1;
                            continue;
                        }
                    }
                    break Some(at);
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
        let (start, stop, next) = match seg_end {
            Some(at) => (self.pos, at, at + 1),
            None => (self.pos, self.end, self.end),
        };
        // Remove line breaks inside the segment (wrapped files), unless a
        // line break is itself a delimiter.
        let d = self.delimiters;
        let any_break = memchr2(b'\r', b'\n', &self.buf[start..next]).is_some();
        let newlines = if any_break {
            memchr::memchr_iter(b'\n', &self.buf[start..next]).count() as u32
        } else {
            0
        };
        let cr_lf_special = d.is_special(b'\n') || d.is_special(b'\r');
        let has_breaks =
            any_break && !cr_lf_special && memchr2(b'\r', b'\n', &self.buf[start..stop]).is_some();
        self.pos = next;
        self.line += newlines;
        let bytes: &[u8] = if has_breaks {
            self.scratch.clear();
            self.scratch.extend(
                self.buf[start..stop]
                    .iter()
                    .copied()
                    .filter(|&b| b != b'\r' && b != b'\n'),
            );
            &self.scratch
        } else {
            &self.buf[start..stop]
        };
        self.repeats = split(bytes, &self.classes, &mut self.comps, &mut self.elems);
        self.escaped = has_byte(bytes, self.delimiters.release);
        self.current = Current {
            in_scratch: has_breaks,
            start,
            stop,
            offset,
            line,
        };
        Ok(Some(Token::Segment))
    }
}

/// True when `byte` is set and occurs in `bytes`.
fn has_byte(bytes: &[u8], byte: Option<u8>) -> bool {
    byte.is_some_and(|b| memchr(b, bytes).is_some())
}

/// True when `head` starts with a service segment that may open a file.
fn starts_service(head: &[u8]) -> bool {
    head.starts_with(b"UNA") || head.starts_with(b"UNB") || head.starts_with(b"UNH")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(input: &[u8]) -> Vec<String> {
        let mut lx = Lexer::new(input);
        let mut out = Vec::new();
        while let Some(t) = lx.advance().unwrap() {
            match t {
                Token::Una { .. } => out.push("UNA".to_string()),
                Token::Segment => {
                    let s = lx.segment();
                    out.push(format!("{}@{}", s.tag(), s.line))
                }
                Token::Garbage { len, .. } => out.push(format!("garbage:{len}")),
            }
        }
        out
    }

    #[test]
    fn una_anywhere_bom_and_line_breaks() {
        let input = b"\xEF\xBB\xBF\r\nUNA:+.? 'UNB+UNOC:3'\r\nUNH+1'\n  BGM+220'\nUNA|+.? 'X|1'";
        assert_eq!(
            tags(input),
            vec!["UNA", "UNB@2", "UNH@3", "BGM@4", "UNA", "X@5"]
        );
    }

    #[test]
    fn junk_before_unb_is_reported() {
        let input = b"###@@@ junk\n###\nUNB+UNOA:1'UNZ+0+1'";
        assert_eq!(tags(input), vec!["garbage:16", "UNB@3", "UNZ@3"]);
    }

    #[test]
    fn wrapped_segments_and_released_terminator() {
        let input = b"UNB+UN\nOA:1'FTX+AAA+++Don?'t\r\n stop'";
        let mut lx = Lexer::new(&input[..]);
        let mut texts = Vec::new();
        while let Some(t) = lx.advance().unwrap() {
            if t == Token::Segment {
                let s = lx.segment();
                texts.push(s.text(1, 1).map(|c| c.into_owned()));
                if s.tag() == "FTX" {
                    assert_eq!(s.text(4, 1).as_deref(), Some("Don't stop"));
                }
            }
        }
        assert_eq!(texts[0].as_deref(), Some("UNOA"));
    }

    /// Every value of every segment, as text.
    fn values<R: Read>(mut lx: Lexer<R>) -> Vec<(String, Vec<Option<String>>)> {
        let mut out = Vec::new();
        while let Some(t) = lx.advance().unwrap() {
            if t == Token::Segment {
                let s = lx.segment();
                let mut v = Vec::new();
                for e in 1..=s.element_count() {
                    for c in 1..=s.component_count(e) {
                        v.push(s.text(e, c).map(|t| t.into_owned()));
                    }
                }
                out.push((s.tag().into_owned(), v));
            }
        }
        out
    }

    #[test]
    fn one_pass_and_general_path_agree() {
        /// Hands out at most 3 bytes per read: segments straddle the
        /// buffer's end and go through the general path.
        struct Small<'a>(&'a [u8]);
        impl Read for Small<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(out.len()).min(3);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input: &[u8] = b"UNA:+.? 'UNB+UNOC:3+A+B'UNH+1+ORDERS:D:96A:UN'\
            FTX+AAA+++a?+b?:c??'FTX+AAA+++x?\ny:z'FTX+AAA+++wr\r\napped'\
            IMD+F++:::end??'IMD+F++:::?''UNT+6+1'UNZ+1+1'?";
        let whole = values(Lexer::new(input));
        assert_eq!(whole, values(Lexer::new(Small(input))));
        assert_eq!(whole[2].1[3].as_deref(), Some("a+b:c?"));
        assert_eq!(whole[3].1[3].as_deref(), Some("xy"));
        assert_eq!(whole[4].1[3].as_deref(), Some("wrapped"));
        assert_eq!(whole[5].1[5].as_deref(), Some("end?"));
        assert_eq!(whole[6].1[5].as_deref(), Some("'"));
    }

    #[test]
    fn tiny_reads_give_same_result() {
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
        let input =
            b"UNA:+.? 'UNB+UNOC:3+A+B'UNH+1+ORDERS:D:96A:UN'IMD+F++:::x?'y'UNT+3+1'UNZ+1+1'";
        let mut a = Lexer::new(Trickle(input));
        let mut n = 0;
        while let Some(t) = a.advance().unwrap() {
            if t == Token::Segment {
                let s = a.segment();
                if s.tag() == "IMD" {
                    assert_eq!(s.text(3, 4).as_deref(), Some("x'y"));
                }
                n += 1;
            }
        }
        assert_eq!(n, 5);
    }
}
