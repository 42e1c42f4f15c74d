//! ORDRSP (order response), EANCOM D.96A (EAN005-like) from an
//! [`DocumentType::OrderResponse`](crate::model::DocumentType) document.
//!
//! Layout: `BGM+231` (number, function 1225 from [`Document::function`],
//! response type 4343 from [`Document::response_code`]), `DTM+137` and the
//! other header dates, FTX notes, `RFF+ON` (mandatory: the order answered,
//! from the reference of kind `order`) and other references, `NAD` per party
//! (GLN as `::9`, RFF+VA…), `CUX+2:<cur>:9`, `TOD`; per line `LIN` (line
//! number, action 1229 from [`Line::action`](crate::model::Line), GTIN
//! `:SRV`), `PIA`, `IMD`, `QTY+21` and the other quantities, line `DTM`,
//! `MOA+203`, FTX, `PRI+AAA`/`PRI+AAB`, line `RFF`; then `UNS+S`, `MOA+79`
//! when the line total is known, `CNT+2`.

use super::common::{self, Ctx};
use crate::formats::edifact::{WriteError, Writer};
use crate::model::Document;

/// Writes the ORDRSP body (the segments between UNH and UNT).
pub fn write_ordrsp(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("ORDRSP", doc);
    let number = common::require_number(doc, &ctx)?;
    let order = doc
        .reference("order")
        .ok_or_else(|| ctx.missing("order number (RFF+ON, reference of kind `order`)"))?;
    common::bgm(
        w,
        doc.document_code.as_deref().unwrap_or("231"),
        number,
        doc.function.as_ref().map_or("9", |f| f.code()),
        doc.response_code.as_deref(),
    );
    common::document_date(w, doc, &ctx)?;
    common::dates(w, &doc.dates, &["document"], &ctx)?;
    common::notes(w, &doc.notes);
    common::reference(w, "ON", order, &ctx)?;
    let others: Vec<_> = doc
        .references
        .iter()
        .filter(|r| !std::ptr::eq(*r, order))
        .cloned()
        .collect();
    common::references(w, &others, &[], &ctx)?;
    common::parties(w, doc, &ctx)?;
    common::currency(w, doc, "9");
    common::delivery_terms(w, doc);
    for (i, line) in doc.lines.iter().enumerate() {
        common::lin(w, line, i, true);
        common::pia(w, line);
        common::imd(w, line);
        common::quantities(w, line, "21");
        common::dates(w, &line.dates, &[], &ctx)?;
        common::moa_opt(w, "203", line.line_amount);
        for n in &line.notes {
            common::free_text(w, "AAI", n);
        }
        common::prices(w, line);
        common::references(w, &line.references, &[], &ctx)?;
    }
    w.segment("UNS").el("S").end();
    common::moa_opt(w, "79", doc.totals.line_total);
    common::summary(w, doc, false);
    Ok(())
}
