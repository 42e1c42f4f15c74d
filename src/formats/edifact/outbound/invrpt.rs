//! INVRPT (inventory report), EANCOM D.96A from a
//! [`DocumentType::StockReport`](crate::model::DocumentType) document.
//!
//! Layout: `BGM+35` (number, function), `DTM+137` and the other header
//! dates (e.g. `inventory` → `DTM+366`), FTX notes, references, `NAD` per
//! party; per line `LIN` (GTIN `:SRV`), `PIA`, `IMD`, `QTY+145` (the stock
//! on hand, the line's main quantity) and the other quantities with a code
//! (`available` → `QTY+198`, `in_transit` → `QTY+77`), line `DTM`; then
//! `UNS+S` and `CNT+2`. The quantities sit directly in the LIN group
//! (SG9), which EANCOM allows for a single-location report.

use super::common::{self, Ctx};
use crate::formats::edifact::{WriteError, Writer};
use crate::model::Document;

/// Writes the INVRPT body (the segments between UNH and UNT).
pub fn write_invrpt(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("INVRPT", doc);
    let number = common::require_number(doc, &ctx)?;
    common::bgm(
        w,
        doc.document_code.as_deref().unwrap_or("35"),
        number,
        doc.function.as_ref().map_or("9", |f| f.code()),
        None,
    );
    common::document_date(w, doc, &ctx)?;
    common::dates(w, &doc.dates, &["document"], &ctx)?;
    common::notes(w, &doc.notes);
    common::references(w, &doc.references, &[], &ctx)?;
    common::parties(w, doc, &ctx)?;
    for (i, line) in doc.lines.iter().enumerate() {
        common::lin(w, line, i, false);
        common::pia(w, line);
        common::imd(w, line);
        common::quantities(w, line, "145");
        common::dates(w, &line.dates, &[], &ctx)?;
    }
    common::summary(w, doc, true);
    Ok(())
}
