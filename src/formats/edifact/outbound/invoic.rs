//! INVOIC (invoice `380`, credit note `381`), EANCOM D.96A (EAN008-like)
//! from an [`DocumentType::Invoice`] or [`DocumentType::CreditNote`]
//! document.
//!
//! Layout: `BGM+380|381` (or [`Document::document_code`]), `DTM+137`, the
//! other header dates (`35` delivery, `263` invoice period…; the due date
//! goes with the payment terms), FTX notes, references (`RFF+ON`, `RFF+DQ`
//! first, each with its `DTM+171`), `NAD` per party with `RFF+VA` (VAT id)
//! and `RFF+XA` (SIRET), `CUX+2:<cur>:4`, per payment term `PAT+<type>++
//! 5:3:D:<days>` with `DTM+13` (due date), `PCD+12|15` and `MOA+52`, `TOD`,
//! document allowances/charges (`ALC`, `PCD`, `MOA`, `TAX`); per line `LIN`,
//! `PIA`, `IMD`, `QTY+47` and other quantities, line `DTM`, FTX, `MOA+203`,
//! `PRI+AAA`/`PRI+AAB`, line `RFF`, `TAX+7+VAT`, line `ALC` groups; then
//! `UNS+S`, `CNT+2`, the totals (`MOA+79` line total, `260` allowances,
//! `259` charges, `125` taxable amount, `176` tax, `77` total, `113`
//! prepaid, `9` payable) and per VAT rate `TAX+7+VAT+++:::<rate>+<cat>`
//! with `MOA+125` (taxable) and `MOA+124` (tax amount).

use super::common::{self, Ctx};
use crate::formats::edifact::{WriteError, Writer};
use crate::model::{Document, DocumentType, PaymentTerms};

fn payment_terms(
    w: &mut Writer,
    t: &PaymentTerms,
    due: Option<&str>,
    ctx: &Ctx,
) -> Result<(), WriteError> {
    let description = match (&t.description, t.days, t.end_of_month) {
        (Some(d), _, _) => Some(d.clone()),
        (None, Some(days), true) => Some(format!("{days} days end of month")),
        (None, None, true) => Some("end of month".to_string()),
        _ => None,
    };
    w.segment("PAT").el(t.terms_type.as_deref().unwrap_or("1"));
    w.element();
    if let Some(d) = &description {
        w.comp("").comp("").comp(d);
    }
    w.element();
    if let Some(days) = t.days {
        w.text("5").comp("3").comp("D").comp(&days.to_string());
    }
    w.end();
    if let Some(due) = t.due_date.as_deref().or(due) {
        common::dtm(w, "13", due, ctx)?;
    }
    let penalty = t.terms_type.as_deref() == Some("20");
    if let Some(p) = t.percentage {
        w.segment("PCD")
            .el(if penalty { "15" } else { "12" })
            .comp_decimal(p)
            .end();
    }
    if !penalty {
        common::moa_opt(w, "52", t.amount);
    }
    Ok(())
}

/// Writes the INVOIC body (the segments between UNH and UNT).
pub fn write_invoic(w: &mut Writer, doc: &Document) -> Result<(), WriteError> {
    let ctx = Ctx::new("INVOIC", doc);
    let number = common::require_number(doc, &ctx)?;
    let default_code = match doc.document_type {
        DocumentType::Invoice => "380",
        DocumentType::CreditNote => "381",
        other => {
            return Err(WriteError::NotWritable {
                document_type: other.to_string(),
                number: doc.number.clone(),
                target: "INVOIC".into(),
            })
        }
    };
    common::bgm(
        w,
        doc.document_code.as_deref().unwrap_or(default_code),
        number,
        doc.function.as_ref().map_or("9", |f| f.code()),
        None,
    );
    common::document_date(w, doc, &ctx)?;
    common::dates(w, &doc.dates, &["document", "due"], &ctx)?;
    common::notes(w, &doc.notes);
    common::references(w, &doc.references, &["order", "delivery_note"], &ctx)?;
    common::parties(w, doc, &ctx)?;
    common::currency(w, doc, "4");
    let due = doc.date("due").map(|d| d.value.as_str());
    if doc.payment_terms.is_empty() {
        if let Some(due) = due {
            w.segment("PAT").el("1").end();
            common::dtm(w, "13", due, &ctx)?;
        }
    }
    for (i, t) in doc.payment_terms.iter().enumerate() {
        // The document's due date goes with the first terms that have none.
        payment_terms(w, t, if i == 0 { due } else { None }, &ctx)?;
    }
    common::delivery_terms(w, doc);
    for ac in &doc.allowances_charges {
        common::allowance_charge(w, ac);
    }
    for (i, line) in doc.lines.iter().enumerate() {
        common::lin(w, line, i, true);
        common::pia(w, line);
        common::imd(w, line);
        common::quantities(w, line, "47");
        common::dates(w, &line.dates, &[], &ctx)?;
        for n in &line.notes {
            common::free_text(w, "AAI", n);
        }
        common::moa_opt(w, "203", line.line_amount);
        common::prices(w, line);
        common::references(w, &line.references, &[], &ctx)?;
        common::tax(w, line.tax_category.as_deref(), line.tax_rate);
        for ac in &line.allowances_charges {
            common::allowance_charge(w, ac);
        }
    }
    common::summary(w, doc, true);
    let t = &doc.totals;
    for (code, amount) in [
        ("79", t.line_total),
        ("260", t.allowance_total),
        ("259", t.charge_total),
        ("125", t.tax_exclusive),
        ("176", t.tax_total),
        ("77", t.tax_inclusive),
        ("113", t.prepaid),
        ("9", t.payable),
    ] {
        common::moa_opt(w, code, amount);
    }
    for s in &doc.tax_subtotals {
        w.segment("TAX")
            .el("7")
            .el("VAT")
            .element()
            .element()
            .element()
            .comp("")
            .comp("")
            .comp_decimal_opt(s.rate)
            .el_opt(s.category.as_deref())
            .end();
        common::moa_opt(w, "125", s.taxable_amount);
        common::moa_opt(w, "124", s.tax_amount);
    }
    Ok(())
}
