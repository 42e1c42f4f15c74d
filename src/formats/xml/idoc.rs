//! Flat (fixed-width) SAP IDoc files: an `EDI_DC40` control record then one
//! data record per line.
//!
//! A data record starts with a 63-byte header (segment name 30, client 3,
//! IDoc number 16, segment number 6, parent segment number 6, hierarchy
//! level 2) followed by the segment data, whose field widths come from
//! `[idoc]` layouts in `mappings/xml/idoc-segments.toml`. Lines may be
//! shorter than the layout (trailing blanks stripped): missing fields are
//! empty.
//!
//! The records are replayed to the same [`Handler`] as XML IDocs, as the
//! element tree SAP's XML form uses: `<ORDERS01><IDOC><EDI_DC40>…</EDI_DC40>
//! <E1EDK01><BELNR>…` nested by parent segment number (PSGNUM). Versioned segment names
//! (`E2EDK01003`) are read as their type names (`E1EDK01`), so one mapping
//! serves the XML and the flat form.

use std::borrow::Cow;

use super::mapping::IdocSpec;
use super::reader::Handler;
use super::XmlError;

const HEADER: usize = 63;

/// Segment type name of a record's segment name: `E2EDK01003` → `E1EDK01`.
pub fn segment_type(raw: &str) -> String {
    let mut s = raw.trim().to_string();
    if let Some(rest) = s.strip_prefix("E2") {
        s = format!("E1{rest}");
    }
    // Segment definitions carry a 3-digit version suffix (E2EDK01003).
    let b = s.as_bytes();
    if b.len() == 10 && b[7..].iter().all(u8::is_ascii_digit) {
        s.truncate(7);
    }
    s
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let (t, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            Cow::Owned(t.into_owned())
        }
    }
}

fn field(rec: &[u8], from: usize, width: usize) -> Cow<'_, str> {
    let end = from.saturating_add(width).min(rec.len());
    match rec.get(from..end) {
        Some(b) => text(b),
        None => Cow::Borrowed(""),
    }
}

fn emit_fields(
    h: &mut dyn Handler,
    rec: &[u8],
    start: usize,
    layout: &[(String, usize)],
    line: u32,
) -> Result<(), XmlError> {
    let mut at = start;
    for (name, width) in layout {
        let v = field(rec, at, *width);
        let v = v.trim();
        if !v.is_empty() {
            h.start("", name, name, &[], line)?;
            h.end(v, line)?;
        }
        at = at.saturating_add(*width);
    }
    Ok(())
}

/// Reads a flat IDoc, replaying it to `h` as an XML IDoc.
pub fn read_flat(bytes: &[u8], spec: &IdocSpec, h: &mut dyn Handler) -> Result<(), XmlError> {
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let mut records = body
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, r)| (i as u32 + 1, r.strip_suffix(b"\r").unwrap_or(r)))
        .filter(|(_, r)| !r.iter().all(u8::is_ascii_whitespace));
    let Some((line, control)) = records.next() else {
        return Err(XmlError::NoRoot);
    };
    if !control.starts_with(b"EDI_DC") {
        return Err(XmlError::Idoc {
            line,
            message: "the first record is not an EDI_DC40 control record".into(),
        });
    }
    // IDOCTYP sits after TABNAM 10, MANDT 3, DOCNUM 16, DOCREL 4, STATUS 2,
    // DIRECT 1, OUTMOD 1, EXPRSS 1, TEST 1 when no layout says otherwise.
    let mut at = 0usize;
    let mut idoctyp = None;
    for (name, width) in &spec.control {
        if name == "IDOCTYP" {
            idoctyp = Some(field(control, at, *width).trim().to_string());
        }
        at += width;
    }
    let idoctyp = idoctyp.unwrap_or_else(|| field(control, 39, 30).trim().to_string());
    if idoctyp.is_empty()
        || !idoctyp
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(XmlError::Idoc {
            line,
            message: format!("control record names no basic type (IDOCTYP {idoctyp:?})"),
        });
    }
    h.start("", &idoctyp, &idoctyp, &[], line)?;
    h.start("", "IDOC", "IDOC", &[], line)?;
    h.start("", "EDI_DC40", "EDI_DC40", &[], line)?;
    emit_fields(h, control, 0, &spec.control, line)?;
    h.end("", line)?;
    // Open segments by segment number (SEGNUM), nested by parent (PSGNUM).
    let mut open: Vec<String> = Vec::new();
    let mut last_line = line;
    for (line, rec) in records {
        last_line = line;
        if rec.len() < HEADER {
            return Err(XmlError::Idoc {
                line,
                message: format!(
                    "data record of {} bytes is shorter than the {HEADER}-byte record header",
                    rec.len()
                ),
            });
        }
        let raw_name = field(rec, 0, 30);
        let name = segment_type(&raw_name);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(XmlError::Idoc {
                line,
                message: format!("invalid segment name {:?}", raw_name.trim()),
            });
        }
        let number = field(rec, 49, 6).trim().to_string();
        let parent = field(rec, 55, 6).trim().trim_start_matches('0').to_string();
        // Close segments up to the parent (PSGNUM; 0 = top level).
        if parent.is_empty() {
            while open.pop().is_some() {
                h.end("", line)?;
            }
        } else if open.contains(&parent) {
            while open.last().is_some_and(|s| *s != parent) {
                open.pop();
                h.end("", line)?;
            }
        } else {
            return Err(XmlError::Idoc {
                line,
                message: format!("segment {name}: parent segment {parent} is not open"),
            });
        }
        if open.len() >= super::reader::MAX_DEPTH {
            return Err(XmlError::TooDeep { line });
        }
        h.start("", &name, &name, &[], line)?;
        open.push(number.trim_start_matches('0').to_string());
        if let Some(layout) = spec.segments.get(&name) {
            emit_fields(h, rec, HEADER, layout, line)?;
        }
    }
    for _ in open {
        h.end("", last_line)?;
    }
    h.end("", last_line)?; // IDOC
    h.end("", last_line)?; // root
    Ok(())
}
