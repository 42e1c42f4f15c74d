//! DESADV (despatch advice), EANCOM D.96A (EAN005-like) from a
//! [`DocumentType::DespatchAdvice`](crate::model::DocumentType) document.
//!
//! Layout: `BGM+351`, `DTM+137` then the other header dates (`11`
//! despatch, `17` estimated delivery, `2`, `35`…), references (`RFF+ON`
//! first), `NAD` per party; then the packing hierarchy from
//! [`Document::packages`]: per package `CPS+<id>+<parent>`,
//! `PAC+<count>++<type>`, `MEA+PD+AAB+KGM:<gross weight>`, `PCI+33E` and
//! `GIN+BJ+<sscc>…` (five SSCCs per GIN), followed by the lines packed in it
//! ([`Line::package_id`](crate::model::Line)): `LIN`, `PIA` (batch as
//! `:NB`), `IMD`, `QTY+12` and other quantities, line `DTM` and `RFF`.
//! Lines without a package go under one extra `CPS` (the only one when the
//! document has no packages, as EANCOM requires a CPS before any LIN).
//! Ends with `CNT+2` (D.96A DESADV has no UNS).

use std::collections::HashSet;

use super::common::{self, Ctx};
use crate::formats::edifact::{WriteError, Writer};
use crate::model::{Document, Line, Package};

fn write_lines<'a>(
    w: &mut Writer,
    lines: impl Iterator<Item = (usize, &'a Line)>,
    ctx: &Ctx,
) -> Result<(), WriteError> {
    for (i, line) in lines {
        common::lin(w, line, i, false);
        common::pia(w, line);
        common::imd(w, line);
        common::quantities(w, line, "12");
        common::dates(w, &line.dates, &[], ctx)?;
        common::references(w, &line.references, &[], ctx)?;
    }
    Ok(())
}

fn write_package(w: &mut Writer, p: &Package) {
    w.segment("CPS")
        .el(&p.id)
        .el_opt(p.parent_id.as_deref())
        .end();
    let has_pac = p.count.is_some()
        || p.package_type.is_some()
        || p.gross_weight_kg.is_some()
        || !p.sscc.is_empty();
    if has_pac {
        w.segment("PAC");
        match p.count {
            Some(c) => w.el_decimal(c),
            None => w.el("1"),
        };
        w.element().el_opt(p.package_type.as_deref()).end();
    }
    if let Some(kg) = p.gross_weight_kg {
        w.segment("MEA")
            .el("PD")
            .el("AAB")
            .el("KGM")
            .comp_decimal(kg)
            .end();
    }
    if !p.sscc.is_empty() {
        w.segment("PCI").el("33E").end();
        for group in p.sscc.chunks(5) {
            w.segment("GIN").el("BJ");
            for s in group {
                w.el(s);
            }
            w.end();
        }
    }
}

/// Writes the DESADV body (the segments between UNH and UNT).
pub fn write_desadv(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("DESADV", doc);
    let number = common::require_number(doc, &ctx)?;
    // Validate the hierarchy before writing anything.
    let mut ids = HashSet::new();
    for p in &doc.packages {
        if p.id.trim().is_empty() {
            return Err(ctx.invalid("package id (CPS 7164)", &p.id));
        }
        if !ids.insert(p.id.as_str()) {
            return Err(ctx.invalid("duplicate package id (CPS 7164)", &p.id));
        }
    }
    for l in &doc.lines {
        if let Some(pid) = &l.package_id {
            if !ids.contains(pid.as_str()) {
                return Err(ctx.invalid("line package id (no such package)", pid));
            }
        }
    }
    common::bgm(
        w,
        doc.document_code.as_deref().unwrap_or("351"),
        number,
        doc.function.as_ref().map_or("9", |f| f.code()),
        None,
    );
    common::document_date(w, doc, &ctx)?;
    common::dates(w, &doc.dates, &["document"], &ctx)?;
    common::references(w, &doc.references, &["order"], &ctx)?;
    common::parties(w, doc, &ctx)?;
    for p in &doc.packages {
        write_package(w, p);
        let lines = doc
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.package_id.as_deref() == Some(p.id.as_str()));
        write_lines(w, lines, &ctx)?;
    }
    let loose: Vec<(usize, &Line)> = doc
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.package_id.is_none())
        .collect();
    if !loose.is_empty() || doc.packages.is_empty() {
        let mut n = doc.packages.len() + 1;
        while ids.contains(n.to_string().as_str()) {
            n += 1;
        }
        w.segment("CPS").el(&n.to_string()).end();
        write_lines(w, loose.into_iter(), &ctx)?;
    }
    common::summary(w, doc, false);
    Ok(())
}
