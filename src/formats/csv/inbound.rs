//! CSV file → canonical documents with a [`Layout`].
//!
//! The whole file is decoded first (encoding from the layout, a BOM always
//! wins), then read with the `csv` crate in flexible mode so that a row
//! with the wrong number of fields is reported, with its line number,
//! instead of stopping the file. Rows are grouped into documents by the
//! layout's `group_by` column, in order of first appearance; a document
//! with a bad row (wrong field count, unreadable number) is rejected with
//! located diagnostics, and every other document of the file still goes
//! through.

use std::collections::HashMap;
use std::io::{self, Read};

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::layout::{load_layouts, Column, Layout};
use crate::diagnostics::{Diagnostic, Location, Severity};
use crate::formats::edifact::parse_decimal;
use crate::mapping::Registry;
use crate::model::{DateEntry, Document, Line, Note, Party, PartyRole, Quantity, Reference};
use crate::translate::{Options, Outcome, Summary};

/// Chooses the layout for `bytes`: the one named, else the partner's, else
/// the first whose header (or column count) matches the first row.
pub fn choose_layout<'l>(
    layouts: &'l [Layout],
    bytes: &[u8],
    name: Option<&str>,
    partner: Option<&str>,
) -> Result<&'l Layout, String> {
    if let Some(n) = name {
        return layouts.iter().find(|l| l.name == n).ok_or_else(|| {
            format!(
                "no CSV layout {n:?} under mappings/csv/ (known: {})",
                layouts
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    if let Some(p) = partner {
        if let Some(l) = layouts
            .iter()
            .find(|l| l.spec.partners.iter().any(|x| x == p))
        {
            return Ok(l);
        }
    }
    let mut best: Option<(&Layout, usize)> = None;
    for l in layouts {
        let Some(first) = first_row(l, bytes) else {
            continue;
        };
        let score = if l.spec.header {
            let names = l.column_names();
            if names.is_empty() || !names.iter().all(|n| first.iter().any(|f| f == n)) {
                continue;
            }
            names.len() + 1000
        } else if l.spec.detect_columns == Some(first.len()) {
            first.len()
        } else {
            continue;
        };
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((l, score));
        }
    }
    best.map(|(l, _)| l).ok_or_else(|| {
        "no CSV layout matches the first row: name one with --layout (files under mappings/csv/)"
            .to_string()
    })
}

fn reader_for<'a>(layout: &Layout, text: &'a str) -> csv::Reader<&'a [u8]> {
    let mut b = csv::ReaderBuilder::new();
    b.delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true);
    match layout.quote {
        Some(q) => b.quote(q),
        None => b.quoting(false),
    };
    b.from_reader(text.as_bytes())
}

fn first_row(layout: &Layout, bytes: &[u8]) -> Option<Vec<String>> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let (text, _, _) = layout.encoding.decode(head);
    let mut r = reader_for(layout, &text);
    let rec = r.records().next()?.ok()?;
    Some(rec.iter().map(|f| f.trim().to_string()).collect())
}

/// A document being built from its rows.
struct Building {
    key: String,
    doc: Document,
    line: u32,
    offset: u64,
    diagnostics: Vec<Diagnostic>,
}

struct Ctx<'a> {
    layout: &'a Layout,
    file: Option<String>,
    file_stem: String,
    columns: HashMap<String, usize>,
}

fn decimal(raw: &str, comma: bool) -> Option<Decimal> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !(c.is_whitespace() || (comma && *c == '.')))
        .collect();
    parse_decimal(cleaned.as_bytes()).ok()
}

fn date(raw: &str, formats: &[String]) -> Option<String> {
    for f in formats {
        if f.contains("%H") {
            if let Ok(dt) = NaiveDateTime::parse_from_str(raw, f) {
                return Some(dt.format("%Y-%m-%dT%H:%M").to_string());
            }
        } else if let Ok(d) = NaiveDate::parse_from_str(raw, f) {
            return Some(d.format("%Y-%m-%d").to_string());
        }
    }
    None
}

impl Ctx<'_> {
    fn index(&self, c: &Column) -> Option<usize> {
        match c {
            Column::Index(i) => Some(*i),
            Column::Name(n) => self.columns.get(n).copied(),
            _ => None,
        }
    }

    fn value(&self, c: &Column, rec: &csv::StringRecord) -> Option<String> {
        let v = match c {
            Column::Literal(s) => s.clone(),
            Column::FileName => self.file_stem.clone(),
            _ => rec.get(self.index(c)?)?.trim().to_string(),
        };
        (!v.is_empty()).then_some(v)
    }

    fn loc(&self, b: &Building, index: u32, rec: &csv::StringRecord, c: &Column) -> Location {
        let pos = rec.position();
        Location {
            file: self.file.clone(),
            message: Some(index),
            message_ref: Some(b.key.clone()),
            element: self.index(c).map(|i| i as u32 + 1),
            line: pos.map(|p| p.line() as u32),
            offset: pos.map(|p| p.byte()),
            ..Location::default()
        }
    }

    fn number(
        &self,
        b: &mut Building,
        index: u32,
        rec: &csv::StringRecord,
        field: &str,
        c: &Column,
    ) -> Option<Decimal> {
        let raw = self.value(c, rec)?;
        match decimal(&raw, self.layout.decimal_comma) {
            Some(d) => Some(d),
            None => {
                let loc = self.loc(b, index, rec, c);
                b.diagnostics.push(Diagnostic::error(
                    "invalid-value",
                    loc,
                    format!("{field}: not a number: {raw:?}"),
                ));
                None
            }
        }
    }

    fn date(
        &self,
        b: &mut Building,
        index: u32,
        rec: &csv::StringRecord,
        c: &Column,
    ) -> Option<String> {
        let raw = self.value(c, rec)?;
        match date(&raw, &self.layout.spec.date_formats) {
            Some(d) => Some(d),
            None => {
                let loc = self.loc(b, index, rec, c);
                b.diagnostics.push(Diagnostic::warning(
                    "invalid-date",
                    loc,
                    format!(
                        "{raw:?} matches none of the date formats {:?}; kept as sent",
                        self.layout.spec.date_formats
                    ),
                ));
                Some(raw)
            }
        }
    }

    fn header_fields(&self, b: &mut Building, index: u32, rec: &csv::StringRecord) {
        for (field, c) in &self.layout.document {
            if let Some(kind) = field.strip_prefix("date:") {
                if let Some(v) = self.date(b, index, rec, c) {
                    b.doc.dates.push(DateEntry {
                        kind: kind.to_string(),
                        value: v,
                    });
                }
                continue;
            }
            let Some(v) = self.value(c, rec) else {
                continue;
            };
            if let Some(kind) = field.strip_prefix("reference:") {
                b.doc.references.push(Reference {
                    kind: kind.to_string(),
                    value: v,
                    date: None,
                });
            } else if let Some((role, f)) =
                field.strip_prefix("party:").and_then(|r| r.split_once('.'))
            {
                let role = PartyRole::from_name(role);
                let i = match b.doc.parties.iter().position(|p| p.role == role) {
                    Some(i) => i,
                    None => {
                        b.doc.parties.push(Party::new(role));
                        b.doc.parties.len() - 1
                    }
                };
                let p = &mut b.doc.parties[i];
                match f {
                    "gln" => p.gln = Some(v),
                    "id" => p.id = Some(v),
                    "name" => p.name = Some(v),
                    "street" => p.address.street.push(v),
                    "city" => p.address.city = Some(v),
                    "postal_code" => p.address.postal_code = Some(v),
                    "region" => p.address.region = Some(v),
                    "country" => p.address.country = Some(v),
                    "vat_id" => p.vat_id = Some(v),
                    _ => p.siret = Some(v),
                }
            } else {
                match field.as_str() {
                    "number" => b.doc.number = v,
                    "document_code" => b.doc.document_code = Some(v),
                    "currency" => b.doc.currency = Some(v),
                    "delivery_terms" => b.doc.delivery_terms = Some(v),
                    _ => b.doc.notes.push(Note {
                        subject: None,
                        text: v,
                    }),
                }
            }
        }
    }

    fn line_fields(&self, b: &mut Building, index: u32, rec: &csv::StringRecord) {
        let mut line = Line::default();
        let mut any = false;
        for (field, c) in &self.layout.line {
            if let Some(kind) = field.strip_prefix("date:") {
                if let Some(v) = self.date(b, index, rec, c) {
                    line.dates.push(DateEntry {
                        kind: kind.to_string(),
                        value: v,
                    });
                    any = true;
                }
                continue;
            }
            let numeric = matches!(
                field.as_str(),
                "quantity" | "net_price" | "gross_price" | "price_basis" | "amount" | "tax_rate"
            ) || field.starts_with("quantity:");
            if numeric {
                let Some(d) = self.number(b, index, rec, field, c) else {
                    continue;
                };
                any = true;
                match field.as_str() {
                    "quantity" => match &mut line.quantity {
                        Some(q) => q.value = d,
                        None => line.quantity = Some(Quantity::new(d)),
                    },
                    "net_price" => line.net_unit_price = Some(d),
                    "gross_price" => line.gross_unit_price = Some(d),
                    "price_basis" => line.price_basis_quantity = Some(d),
                    "amount" => line.line_amount = Some(d),
                    "tax_rate" => line.tax_rate = Some(d),
                    other => line.other_quantities.push(Quantity {
                        kind: other.strip_prefix("quantity:").map(str::to_string),
                        value: d,
                        unit: None,
                    }),
                }
                continue;
            }
            let Some(v) = self.value(c, rec) else {
                continue;
            };
            if let Some(kind) = field.strip_prefix("reference:") {
                line.references.push(Reference {
                    kind: kind.to_string(),
                    value: v,
                    date: None,
                });
                continue;
            }
            match field.as_str() {
                "number" => line.line_number = Some(v),
                "gtin" => line.gtin = Some(v),
                "seller_item_code" => line.seller_item_code = Some(v),
                "buyer_item_code" => line.buyer_item_code = Some(v),
                "description" => line.description = Some(v),
                "tax_category" => line.tax_category = Some(v),
                "batch" => line.batch = Some(v),
                _ => {
                    // unit: applied once the quantity is known.
                    continue;
                }
            }
            any = true;
        }
        if let Some((_, c)) = self.layout.line.iter().find(|(f, _)| f == "unit") {
            if let (Some(q), Some(u)) = (line.quantity.as_mut(), self.value(c, rec)) {
                q.unit = Some(u);
            }
        }
        if any {
            if line.line_number.is_none() {
                line.line_number = Some((b.doc.lines.len() + 1).to_string());
            }
            b.doc.lines.push(line);
        }
    }
}

/// Translates CSV `input` with a layout from `registry.root()/csv`.
pub(crate) fn translate<R: Read>(
    registry: &Registry,
    mut input: R,
    opts: &Options,
    sink: &mut dyn FnMut(Outcome),
) -> io::Result<Summary> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let layouts = load_layouts(&registry.root().join("csv"))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    translate_bytes(&layouts, &bytes, opts, sink)
}

/// Translates CSV bytes with one of `layouts`.
pub fn translate_bytes(
    layouts: &[Layout],
    bytes: &[u8],
    opts: &Options,
    sink: &mut dyn FnMut(Outcome),
) -> io::Result<Summary> {
    let mut summary = Summary {
        bytes: bytes.len() as u64,
        ..Summary::default()
    };
    let file_loc = Location {
        file: opts.file_name.clone(),
        line: Some(1),
        offset: Some(0),
        ..Location::default()
    };
    let layout = match choose_layout(
        layouts,
        bytes,
        opts.layout.as_deref(),
        opts.partner.as_deref(),
    ) {
        Ok(l) => l,
        Err(why) if opts.layout.is_some() => {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, why))
        }
        Err(why) => {
            summary
                .diagnostics
                .push(Diagnostic::error("no-layout", file_loc, why));
            return Ok(summary);
        }
    };
    summary.interchanges = 1;
    let (text, _, malformed) = layout.encoding.decode(bytes);
    if malformed {
        summary.diagnostics.push(Diagnostic::warning(
            "charset",
            file_loc.clone(),
            format!(
                "bytes that are not valid {} replaced by U+FFFD",
                layout.encoding.name()
            ),
        ));
    }
    let file_stem = opts
        .file_name
        .as_deref()
        .map(std::path::Path::new)
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "-".into());
    let mut ctx = Ctx {
        layout,
        file: opts.file_name.clone(),
        file_stem,
        columns: HashMap::new(),
    };
    let mut reader = reader_for(layout, &text);
    let mut records = reader.records();
    let mut expected_fields = None;
    if layout.spec.header {
        match records.next() {
            Some(Ok(h)) => {
                expected_fields = Some(h.len());
                for (i, name) in h.iter().enumerate() {
                    ctx.columns.entry(name.trim().to_string()).or_insert(i);
                }
            }
            _ => {
                summary.diagnostics.push(Diagnostic::error(
                    "no-header",
                    file_loc,
                    "the layout expects a header row but the file is empty",
                ));
                return Ok(summary);
            }
        }
        let missing: Vec<&str> = layout
            .column_names()
            .into_iter()
            .filter(|n| !ctx.columns.contains_key(*n))
            .collect();
        if !missing.is_empty() {
            summary.diagnostics.push(Diagnostic::error(
                "missing-column",
                file_loc,
                format!(
                    "layout {} needs columns missing from the header: {}",
                    layout.name,
                    missing.join(", ")
                ),
            ));
            return Ok(summary);
        }
    }
    let mut docs: Vec<Building> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for result in records {
        let rec = match result {
            Ok(r) => r,
            Err(e) => {
                let pos = e.position();
                summary.diagnostics.push(Diagnostic::error(
                    "csv-syntax",
                    Location {
                        file: opts.file_name.clone(),
                        line: pos.map(|p| p.line() as u32),
                        offset: pos.map(|p| p.byte()),
                        ..Location::default()
                    },
                    format!("unreadable row: {e}"),
                ));
                continue;
            }
        };
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue; // blank line
        }
        let pos = rec.position();
        let row_loc = Location {
            file: opts.file_name.clone(),
            line: pos.map(|p| p.line() as u32),
            offset: pos.map(|p| p.byte()),
            ..Location::default()
        };
        let expected = *expected_fields.get_or_insert(rec.len());
        let key = match &layout.group_by {
            Some(c) => match ctx.value(c, &rec) {
                Some(k) => k,
                None if layout.spec.skip_empty_group => continue,
                None => {
                    summary.diagnostics.push(Diagnostic::error(
                        "missing-group",
                        row_loc.at_element(ctx.index(c).map_or(0, |i| i as u32 + 1), None),
                        format!(
                            "row has no value in the group column {:?}: it belongs to no document (row has {} fields, {expected} expected)",
                            layout.spec.group_by.as_deref().unwrap_or_default(),
                            rec.len()
                        ),
                    ));
                    continue;
                }
            },
            None => String::new(),
        };
        let i = match by_key.get(&key) {
            Some(&i) => i,
            None => {
                let mut doc = Document::new(layout.document_type, key.clone());
                doc.origin.format = "csv".into();
                docs.push(Building {
                    key: key.clone(),
                    doc,
                    line: row_loc.line.unwrap_or(0),
                    offset: row_loc.offset.unwrap_or(0),
                    diagnostics: Vec::new(),
                });
                by_key.insert(key, docs.len() - 1);
                let i = docs.len() - 1;
                let b = &mut docs[i];
                ctx.header_fields(b, (i + 1) as u32, &rec);
                i
            }
        };
        let index = (i + 1) as u32;
        let b = &mut docs[i];
        if rec.len() != expected {
            b.diagnostics.push(Diagnostic::error(
                "field-count",
                Location {
                    message: Some(index),
                    message_ref: Some(b.key.clone()),
                    ..row_loc
                },
                format!(
                    "row has {} fields, {expected} expected: the row is not read",
                    rec.len()
                ),
            ));
            continue;
        }
        ctx.line_fields(b, index, &rec);
    }
    for (i, b) in docs.into_iter().enumerate() {
        let mut doc = b.doc;
        if doc.number.is_empty() {
            doc.number = ctx.file_stem.clone();
        }
        doc.origin.message_type = Some(layout.name.clone());
        doc.origin.message_ref = (!b.key.is_empty()).then(|| b.key.clone());
        doc.origin.interchange_index = Some(1);
        doc.origin.message_index = Some((i + 1) as u32);
        summary.messages += 1;
        let rejected = b.diagnostics.iter().any(|d| d.severity == Severity::Error);
        if rejected {
            summary.rejected += 1;
            sink(Outcome::Rejected {
                location: Location {
                    file: opts.file_name.clone(),
                    interchange: Some(1),
                    message: Some((i + 1) as u32),
                    message_ref: Some(b.key.clone()),
                    line: Some(b.line),
                    offset: Some(b.offset),
                    ..Location::default()
                },
                document: Some(Box::new(doc)),
                diagnostics: b.diagnostics,
            });
        } else {
            summary.documents += 1;
            sink(Outcome::Document {
                document: Box::new(doc),
                diagnostics: b.diagnostics,
            });
        }
    }
    Ok(summary)
}
