//! A tokenised segment: zero-copy access to its elements and components.
//!
//! The lexer splits a segment once into component spans that point into the
//! input buffer; values are unescaped, decoded and parsed only when a mapping
//! asks for them, so segments nobody maps cost almost nothing.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::{Charset, Delimiters};

/// Byte range of a component inside the segment bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: u32,
    pub end: u32,
}

/// An element: a run of components in the span table. Repetitions (syntax
/// version 4) follow their element with `repeat = true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ElementSpan {
    pub first: u32,
    pub count: u32,
    pub repeat: bool,
}

/// Byte classes for [`split`]: which bytes are delimiters. Built once per
/// set of delimiters so that splitting is one table load per byte.
#[derive(Debug, Clone)]
pub(crate) struct Classes([u8; 256]);

const PLAIN: u8 = 0;
const ELEMENT: u8 = 1;
const COMPONENT: u8 = 2;
const REPETITION: u8 = 3;
const RELEASE: u8 = 4;

/// The segment terminator (only in [`ScanClasses`]).
const TERMINATOR: u8 = 5;
/// A line break that is not a delimiter (only in [`ScanClasses`]).
const BREAK: u8 = 6;

/// Byte classes for [`scan`]: the [`Classes`] of [`split`] plus the
/// segment terminator and line breaks. `None` when the terminator collides
/// with another delimiter: the lexer then takes its general path.
#[derive(Debug, Clone)]
pub(crate) struct ScanClasses(Option<[u8; 256]>);

impl ScanClasses {
    pub fn new(d: &Delimiters) -> ScanClasses {
        let Classes(mut t) = Classes::new(d);
        if t[usize::from(d.segment)] != PLAIN {
            return ScanClasses(None);
        }
        t[usize::from(d.segment)] = TERMINATOR;
        // Line breaks inside a segment are removed (wrapped files) unless
        // one is a delimiter; either way the general path handles them.
        t[usize::from(b'\r')] = BREAK;
        t[usize::from(b'\n')] = BREAK;
        ScanClasses(Some(t))
    }
}

/// One pass over the bytes of the buffer that follow the current position:
/// finds the segment terminator (honouring the release character) and
/// splits the segment into spans on the way, like [`split`]. Returns the
/// terminator's index, whether the segment has repetitions and whether it
/// holds release characters; `None` when the general path must handle the
/// segment (a line break in it, no terminator in `bytes`, a release
/// character last, or colliding delimiters).
#[inline]
pub(crate) fn scan(
    bytes: &[u8],
    classes: &ScanClasses,
    comps: &mut Vec<Span>,
    elems: &mut Vec<ElementSpan>,
) -> Option<(usize, bool, bool)> {
    let t = classes.0.as_ref()?;
    comps.clear();
    elems.clear();
    let mut comp_start = 0u32;
    let mut elem_first = 0u32;
    let mut repeat = false;
    let mut any_repeat = false;
    let mut escaped = false;
    let mut i = 0usize;
    let n = bytes.len();
    while i < n {
        let class = t[usize::from(bytes[i])];
        if class == PLAIN {
            i += 1;
            continue;
        }
        match class {
            RELEASE => {
                let next = *bytes.get(i + 1)?;
                if t[usize::from(next)] == BREAK {
                    return None;
                }
                escaped = true;
                i += 2;
            }
            TERMINATOR => {
                comps.push(Span {
                    start: comp_start,
                    end: i as u32,
                });
                elems.push(ElementSpan {
                    first: elem_first,
                    count: comps.len() as u32 - elem_first,
                    repeat,
                });
                return Some((i, any_repeat, escaped));
            }
            BREAK => return None,
            _ => {
                comps.push(Span {
                    start: comp_start,
                    end: i as u32,
                });
                if class != COMPONENT {
                    let count = comps.len() as u32 - elem_first;
                    elems.push(ElementSpan {
                        first: elem_first,
                        count,
                        repeat,
                    });
                    elem_first = comps.len() as u32;
                    repeat = class == REPETITION;
                    any_repeat |= repeat;
                }
                comp_start = i as u32 + 1;
                i += 1;
            }
        }
    }
    None
}

impl Classes {
    pub fn new(d: &Delimiters) -> Classes {
        let mut t = [PLAIN; 256];
        t[usize::from(d.component)] = COMPONENT;
        if let Some(r) = d.repetition {
            t[usize::from(r)] = REPETITION;
        }
        t[usize::from(d.element)] = ELEMENT;
        if let Some(r) = d.release {
            t[usize::from(r)] = RELEASE;
        }
        Classes(t)
    }
}

/// Splits `bytes` (one segment, without its terminator) into spans.
/// Clears and fills `comps` and `elems`; index 0 of `elems` is the tag
/// itself. Returns whether the segment has repetitions.
pub(crate) fn split(
    bytes: &[u8],
    classes: &Classes,
    comps: &mut Vec<Span>,
    elems: &mut Vec<ElementSpan>,
) -> bool {
    comps.clear();
    elems.clear();
    let t = &classes.0;
    let mut comp_start = 0u32;
    let mut elem_first = 0u32;
    let mut repeat = false;
    let mut any_repeat = false;
    let mut i = 0usize;
    let n = bytes.len();
    while i < n {
        let class = t[usize::from(bytes[i])];
        if class == PLAIN {
            i += 1;
            continue;
        }
        if class == RELEASE {
            i += 2;
            continue;
        }
        comps.push(Span {
            start: comp_start,
            end: i as u32,
        });
        if class != COMPONENT {
            let count = comps.len() as u32 - elem_first;
            elems.push(ElementSpan {
                first: elem_first,
                count,
                repeat,
            });
            elem_first = comps.len() as u32;
            repeat = class == REPETITION;
            any_repeat |= repeat;
        }
        comp_start = i as u32 + 1;
        i += 1;
    }
    let end = n.min(i) as u32;
    comps.push(Span {
        start: comp_start,
        end,
    });
    elems.push(ElementSpan {
        first: elem_first,
        count: comps.len() as u32 - elem_first,
        repeat,
    });
    any_repeat
}

/// Removes release characters: `?+` becomes `+`, `??` becomes `?`.
pub fn unescape(raw: &[u8], release: Option<u8>) -> Cow<'_, [u8]> {
    let Some(r) = release else {
        return Cow::Borrowed(raw);
    };
    let Some(first) = memchr::memchr(r, raw) else {
        return Cow::Borrowed(raw);
    };
    // Copy the runs between release characters whole.
    let mut out = Vec::with_capacity(raw.len());
    let mut from = 0;
    let mut at = first;
    loop {
        out.extend_from_slice(&raw[from..at]);
        if at + 1 >= raw.len() {
            // A release character last is kept as is.
            out.extend_from_slice(&raw[at..]);
            break;
        }
        // The released character is kept, whatever it is.
        out.push(raw[at + 1]);
        from = at + 2;
        match memchr::memchr(r, &raw[from..]) {
            Some(i) => at = from + i,
            None => {
                out.extend_from_slice(&raw[from..]);
                break;
            }
        }
    }
    Cow::Owned(out)
}

/// Longest escaped value [`Segment::text`] unescapes on the stack.
const STACK_TEXT: usize = 256;

/// [`unescape`] into `out` (at least as long as `raw`); returns the length
/// written.
fn unescape_into(raw: &[u8], r: u8, out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == r && i + 1 < raw.len() {
            out[n] = raw[i + 1];
            i += 2;
        } else {
            out[n] = b;
            i += 1;
        }
        n += 1;
    }
    n
}

/// Why a value could not be read as a number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a number: {0:?}")]
pub struct NotANumber(pub String);

/// Parses an EDIFACT numeric value: optional leading sign, digits, one
/// decimal mark (`.` or `,`: ISO 9735 allows either whatever the UNA says).
pub fn parse_decimal(raw: &[u8]) -> Result<Decimal, NotANumber> {
    if let Some(d) = parse_short_decimal(raw) {
        return Ok(d);
    }
    let bad = || NotANumber(String::from_utf8_lossy(raw).into_owned());
    let s = raw;
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut mantissa: i128 = 0;
    let mut scale: u32 = 0;
    let mut seen_mark = false;
    let mut seen_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(b - b'0')))
                    .ok_or_else(bad)?;
                if seen_mark {
                    scale += 1;
                }
            }
            b'.' | b',' if !seen_mark => seen_mark = true,
            _ => return Err(bad()),
        }
    }
    if !seen_digit || scale > 28 || mantissa > 79_228_162_514_264_337_593_543_950_335 {
        return Err(bad());
    }
    if neg {
        mantissa = -mantissa;
    }
    Ok(Decimal::from_i128_with_scale(mantissa, scale))
}

/// [`parse_decimal`] for the common case, up to 18 digits: the mantissa
/// fits a `u64`, no overflow check needed. `None` for anything else (the
/// general parser then decides, and explains errors).
#[inline]
fn parse_short_decimal(raw: &[u8]) -> Option<Decimal> {
    let (neg, digits) = match raw.first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut scale: u32 = 0;
    let mut seen_mark = false;
    let mut seen_digit = false;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d < 10 {
            mantissa = mantissa * 10 + u64::from(d);
            seen_digit = true;
            scale += u32::from(seen_mark);
        } else if (b == b'.' || b == b',') && !seen_mark {
            seen_mark = true;
        } else {
            return None;
        }
    }
    if !seen_digit {
        return None;
    }
    // At most 18 digits: below 10^18 < i64::MAX.
    let value = mantissa as i64;
    Some(Decimal::new(if neg { -value } else { value }, scale))
}

/// One segment, borrowed from the lexer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) comps: &'a [Span],
    pub(crate) elems: &'a [ElementSpan],
    pub(crate) release: Option<u8>,
    pub(crate) charset: Charset,
    /// Whether any element repeats (syntax version 4).
    pub(crate) repeats: bool,
    /// Whether the segment may hold release characters (false: no value
    /// needs unescaping).
    pub(crate) escaped: bool,
    /// Byte offset of the segment in the input.
    pub offset: u64,
    /// 1-based line of the segment's first byte in the input.
    pub line: u32,
}

impl<'a> Segment<'a> {
    /// True when `raw` (a value of this segment) contains the release
    /// character, i.e. needs unescaping.
    pub fn has_release(&self, raw: &[u8]) -> bool {
        self.escaped
            && self
                .release
                .is_some_and(|r| memchr::memchr(r, raw).is_some())
    }

    /// The release character, when this segment has one to remove.
    fn release_in_use(&self) -> Option<u8> {
        if self.escaped {
            self.release
        } else {
            None
        }
    }

    /// The character repertoire values are decoded with.
    pub fn charset(&self) -> Charset {
        self.charset
    }

    /// The raw bytes of the segment, without terminator.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The segment tag (`BGM`, `LIN` …) as raw bytes.
    pub fn tag_bytes(&self) -> &'a [u8] {
        match self.elems.first() {
            Some(e) if e.count > 0 => {
                let s = self.comps[e.first as usize];
                &self.bytes[s.start as usize..s.end as usize]
            }
            _ => &[],
        }
    }

    /// The segment tag as text (lossy for invalid bytes).
    pub fn tag(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.tag_bytes())
    }

    /// True when the tag is three upper-case letters or digits.
    pub fn has_valid_tag(&self) -> bool {
        let t = self.tag_bytes();
        t.len() == 3
            && t.iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            && self.elems.first().is_some_and(|e| e.count == 1)
    }

    /// Number of data elements after the tag (repetitions not counted).
    pub fn element_count(&self) -> usize {
        self.elems.iter().skip(1).filter(|e| !e.repeat).count()
    }

    fn element_span(&self, element: usize) -> Option<ElementSpan> {
        if element == 0 {
            return None;
        }
        if !self.repeats {
            return self.elems.get(element).copied();
        }
        self.elems
            .iter()
            .skip(1)
            .filter(|e| !e.repeat)
            .nth(element - 1)
            .copied()
    }

    /// Number of components of data element `element` (1-based); 0 when absent.
    pub fn component_count(&self, element: usize) -> usize {
        self.element_span(element).map_or(0, |e| e.count as usize)
    }

    /// Raw (still escaped) bytes of `element`.`component` (both 1-based),
    /// `None` when absent or empty.
    pub fn raw(&self, element: usize, component: usize) -> Option<&'a [u8]> {
        let e = self.element_span(element)?;
        if component == 0 || component > e.count as usize {
            return None;
        }
        let s = self.comps[(e.first as usize) + component - 1];
        let v = &self.bytes[s.start as usize..s.end as usize];
        (!v.is_empty()).then_some(v)
    }

    /// Unescaped bytes of `element`.`component`.
    pub fn value(&self, element: usize, component: usize) -> Option<Cow<'a, [u8]>> {
        self.raw(element, component)
            .map(|raw| unescape(raw, self.release_in_use()))
    }

    /// Unescaped, decoded text of `element`.`component`.
    pub fn text(&self, element: usize, component: usize) -> Option<Cow<'a, str>> {
        let raw = self.raw(element, component)?;
        // Short escaped values are unescaped on the stack and decoded into
        // one allocation (not one for the unescaped bytes and another for
        // the decoded text).
        if let Some(r) = self.release_in_use() {
            if raw.len() <= STACK_TEXT && memchr::memchr(r, raw).is_some() {
                let mut buf = [0u8; STACK_TEXT];
                let n = unescape_into(raw, r, &mut buf);
                return Some(Cow::Owned(self.charset.decode(&buf[..n]).into_owned()));
            }
        }
        Some(match unescape(raw, self.release_in_use()) {
            Cow::Borrowed(b) => self.charset.decode(b),
            Cow::Owned(v) => Cow::Owned(self.charset.decode_owned(v)),
        })
    }

    /// Numeric value of `element`.`component`; `Ok(None)` when absent.
    pub fn decimal(&self, element: usize, component: usize) -> Result<Option<Decimal>, NotANumber> {
        match self.raw(element, component) {
            None => Ok(None),
            Some(raw) => parse_decimal(&unescape(raw, self.release_in_use())).map(Some),
        }
    }

    /// All repetitions of data element `element` (syntax version 4), the
    /// first included, each as its component count and first raw component.
    pub fn repetitions(&self, element: usize) -> usize {
        let mut seen = 0;
        let mut count = 0;
        for e in self.elems.iter().skip(1) {
            if !e.repeat {
                seen += 1;
            }
            if seen == element {
                count += 1;
            } else if seen > element {
                break;
            }
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg<'a>(
        bytes: &'a [u8],
        comps: &'a mut Vec<Span>,
        elems: &'a mut Vec<ElementSpan>,
        d: &Delimiters,
    ) -> Segment<'a> {
        let repeats = split(bytes, &Classes::new(d), comps, elems);
        Segment {
            bytes,
            comps,
            elems,
            release: d.release,
            charset: Charset::Latin1,
            repeats,
            escaped: true,
            offset: 0,
            line: 1,
        }
    }

    #[test]
    fn splits_elements_and_components() {
        let (mut c, mut e) = (Vec::new(), Vec::new());
        let d = Delimiters::default();
        let s = seg(b"DTM+137:20240301:102", &mut c, &mut e, &d);
        assert_eq!(s.tag(), "DTM");
        assert!(s.has_valid_tag());
        assert_eq!(s.element_count(), 1);
        assert_eq!(s.text(1, 2).as_deref(), Some("20240301"));
        assert_eq!(s.text(1, 4), None);
        assert_eq!(s.text(2, 1), None);
    }

    #[test]
    fn release_characters() {
        let (mut c, mut e) = (Vec::new(), Vec::new());
        let d = Delimiters::default();
        let s = seg(b"IMD+F++:::A?+B?:C??D?'E", &mut c, &mut e, &d);
        assert_eq!(s.text(3, 4).as_deref(), Some("A+B:C?D'E"));
        let s2 = seg(b"FTX+X+NO MORE??+F2", &mut c, &mut e, &d);
        assert_eq!(s2.text(2, 1).as_deref(), Some("NO MORE?"));
        assert_eq!(s2.text(3, 1).as_deref(), Some("F2"));
        // Latin-1 and release characters; UTF-8 is judged after unescaping.
        let s3 = seg(b"IMD+K\xe4se ?+ Butter+\xc3?\xa4+?", &mut c, &mut e, &d);
        assert_eq!(s3.text(1, 1).as_deref(), Some("K\u{e4}se + Butter"));
        assert_eq!(s3.text(2, 1).as_deref(), Some("\u{e4}"));
        assert_eq!(s3.text(3, 1).as_deref(), Some("?"));
        let long = [&b"FTX+"[..], &[b'?', b'+', 0xfc].repeat(200)].concat();
        let s4 = seg(&long, &mut c, &mut e, &d);
        assert_eq!(s4.text(1, 1), Some("+\u{fc}".repeat(200).into()));
    }

    /// The byte-at-a-time definition [`unescape`] must agree with.
    fn unescape_slow(raw: &[u8], r: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == r && i + 1 < raw.len() {
                out.push(raw[i + 1]);
                i += 2;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn unescape_runs() {
        for raw in [
            &b""[..],
            b"?",
            b"??",
            b"???",
            b"a?",
            b"?a",
            b"a??b?+c?:d?'",
            b"no release",
            b"x?y?z",
            b"\xe4?'?\xfc",
        ] {
            assert_eq!(unescape(raw, Some(b'?')).as_ref(), unescape_slow(raw, b'?'));
            let mut buf = [0u8; 16];
            let n = unescape_into(raw, b'?', &mut buf);
            assert_eq!(&buf[..n], unescape_slow(raw, b'?'));
        }
        assert_eq!(unescape(b"a?+b", None).as_ref(), b"a?+b");
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_decimal(b"12.50").unwrap().to_string(), "12.50");
        assert_eq!(parse_decimal(b"19,9").unwrap().to_string(), "19.9");
        assert_eq!(parse_decimal(b"-3").unwrap().to_string(), "-3");
        assert!(parse_decimal(b"1020A").is_err());
        assert!(parse_decimal(b"$1.179").is_err());
        assert!(parse_decimal(b"1.2.3").is_err());
        assert!(parse_decimal(b"").is_err());
        assert!(parse_decimal(b"99999999999999999999999999999999999").is_err());
        // Long mantissas go through the general parser.
        assert_eq!(
            parse_decimal(b"-1234567890.1234567890123")
                .unwrap()
                .to_string(),
            "-1234567890.1234567890123"
        );
        assert_eq!(parse_decimal(b"-0").unwrap().to_string(), "0");
        assert_eq!(parse_decimal(b",5").unwrap().to_string(), "0.5");
        assert!(parse_decimal(b"-").is_err());
        assert!(parse_decimal(b".").is_err());
        assert!(parse_decimal(b"1,2,3").is_err());
    }

    #[test]
    fn repetition_separator() {
        let (mut c, mut e) = (Vec::new(), Vec::new());
        let d = Delimiters {
            repetition: Some(b'*'),
            ..Delimiters::default()
        };
        let s = seg(b"ABC+a*b*c+d", &mut c, &mut e, &d);
        assert_eq!(s.element_count(), 2);
        assert_eq!(s.repetitions(1), 3);
        assert_eq!(s.text(2, 1).as_deref(), Some("d"));
    }
}
