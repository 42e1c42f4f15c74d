//! Segments shared by the outbound EANCOM messages: dates (DTM), references
//! (RFF), parties (NAD with RFF/CTA/COM), currencies (CUX), free text (FTX),
//! allowances and charges (ALC/PCD/MOA/TAX) and the line segments (LIN, PIA,
//! IMD, QTY, PRI, MOA, TAX), with the canonical-name → EANCOM code tables.
//!
//! Code tables (canonical kind → qualifier) follow the names documented in
//! [`crate::model`]; a kind written `dtm:<code>`, `rff:<code>` or
//! `qty:<code>` passes its code through unchanged. Kinds with no known code
//! are skipped: the writer never invents a qualifier.

use rust_decimal::Decimal;

use crate::formats::edifact::{WriteError, Writer};
use crate::model::{
    AllowanceCharge, AllowanceChargeKind, DateEntry, Document, Line, Note, Party, Quantity,
    Reference,
};

/// Which message and document an error is about.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub message: &'static str,
    pub number: String,
}

impl Ctx {
    pub fn new(message: &'static str, doc: &Document) -> Ctx {
        Ctx {
            message,
            number: doc.number.clone(),
        }
    }

    pub fn missing(&self, what: &str) -> WriteError {
        WriteError::MissingData {
            message: self.message,
            number: self.number.clone(),
            what: what.to_string(),
        }
    }

    pub fn invalid(&self, what: &str, value: &str) -> WriteError {
        WriteError::InvalidData {
            message: self.message,
            number: self.number.clone(),
            what: what.to_string(),
            value: value.to_string(),
        }
    }
}

/// The document number, which every business message needs (BGM 1004).
pub(crate) fn require_number<'a>(doc: &'a Document, ctx: &Ctx) -> Result<&'a str, WriteError> {
    let n = doc.number.trim();
    if n.is_empty() {
        return Err(ctx.missing("document number (BGM 1004)"));
    }
    Ok(&doc.number)
}

/// Writes `BGM+<code>+<number>+<function>+<response>`.
pub(crate) fn bgm(
    w: &mut Writer,
    code: &str,
    number: &str,
    function: &str,
    response: Option<&str>,
) {
    w.segment("BGM")
        .el(code)
        .el(number)
        .el(function)
        .el_opt(response)
        .end();
}

/// DTM qualifier (2005) for a canonical date kind.
pub(crate) fn date_code(kind: &str) -> Option<&str> {
    if let Some(code) = kind.strip_prefix("dtm:") {
        return (!code.is_empty()).then_some(code);
    }
    Some(match kind {
        "document" => "137",
        "requested_delivery" => "2",
        "order" => "4",
        "despatch" => "11",
        "due" => "13",
        "estimated_delivery" => "17",
        "delivery" => "35",
        "latest_delivery" => "63",
        "earliest_delivery" => "64",
        "reference" => "171",
        "invoice_period" => "263",
        "best_before" => "361",
        _ => return None,
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `2024-03-01` → `20240301`; `None` when not an ISO calendar date.
fn compact_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let out = format!("{}{}{}", &s[0..4], &s[5..7], &s[8..10]);
    all_digits(&out).then_some(out)
}

/// Converts an ISO 8601 value into an EDIFACT date (2380) and its format
/// code (2379): `102` date, `203` date and time, `204` with seconds, `718`
/// date range; compact digit forms (`20240301`) are accepted as they are.
pub(crate) fn edifact_date(value: &str) -> Option<(String, &'static str)> {
    let v = value.trim();
    if let Some((a, b)) = v.split_once('/') {
        let (a, b) = (compact_date(a)?, compact_date(b)?);
        return Some((format!("{a}-{b}"), "718"));
    }
    if all_digits(v) {
        return match v.len() {
            6 => Some((v.to_string(), "101")),
            8 => Some((v.to_string(), "102")),
            12 => Some((v.to_string(), "203")),
            14 => Some((v.to_string(), "204")),
            _ => None,
        };
    }
    let date = compact_date(v.get(..10)?)?;
    let rest = &v[10..];
    if rest.is_empty() {
        return Some((date, "102"));
    }
    let time = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let tb = time.as_bytes();
    if tb.len() < 5 || tb[2] != b':' {
        return None;
    }
    let hm = format!("{}{}", &time[0..2], &time[3..5]);
    if !all_digits(&hm) {
        return None;
    }
    // Seconds, when given and non-zero; a time zone suffix is ignored.
    if tb.len() >= 8 && tb[5] == b':' && all_digits(&time[6..8]) && &time[6..8] != "00" {
        return Some((format!("{date}{hm}{}", &time[6..8]), "204"));
    }
    Some((format!("{date}{hm}"), "203"))
}

/// Writes `DTM+<code>:<date>:<format>`.
pub(crate) fn dtm(w: &mut Writer, code: &str, value: &str, ctx: &Ctx) -> Result<(), WriteError> {
    let (date, format) =
        edifact_date(value).ok_or_else(|| ctx.invalid(&format!("date DTM+{code}"), value))?;
    w.segment("DTM").el(code).comp(&date).comp(format).end();
    Ok(())
}

/// The document date (DTM+137), mandatory in the EANCOM business messages.
pub(crate) fn document_date(w: &mut Writer, doc: &Document, ctx: &Ctx) -> Result<(), WriteError> {
    let d = doc
        .date("document")
        .ok_or_else(|| ctx.missing("document date (DTM+137)"))?;
    dtm(w, "137", &d.value, ctx)
}

/// Writes every date whose kind has a DTM code, except the kinds in `skip`.
pub(crate) fn dates(
    w: &mut Writer,
    dates: &[DateEntry],
    skip: &[&str],
    ctx: &Ctx,
) -> Result<(), WriteError> {
    for d in dates {
        if skip.contains(&d.kind.as_str()) {
            continue;
        }
        if let Some(code) = date_code(&d.kind) {
            dtm(w, code, &d.value, ctx)?;
        }
    }
    Ok(())
}

/// RFF qualifier (1153) for a canonical reference kind.
pub(crate) fn reference_code(kind: &str) -> Option<&str> {
    if let Some(code) = kind.strip_prefix("rff:") {
        return (!code.is_empty()).then_some(code);
    }
    Some(match kind {
        "order" => "ON",
        "contract" => "CT",
        "promotion" => "PD",
        "despatch_advice" => "AAK",
        "delivery_note" => "DQ",
        "invoice" => "IV",
        "price_list" => "PL",
        "vat" => "VA",
        "acknowledged_message" => "ACW",
        _ => return None,
    })
}

/// Writes `RFF+<code>:<value>` and, when the reference is dated, `DTM+171`.
pub(crate) fn reference(
    w: &mut Writer,
    code: &str,
    r: &Reference,
    ctx: &Ctx,
) -> Result<(), WriteError> {
    w.segment("RFF").el(code).comp(&r.value).end();
    if let Some(date) = &r.date {
        dtm(w, "171", date, ctx)?;
    }
    Ok(())
}

/// Writes every reference whose kind has an RFF code, `first` kinds first.
pub(crate) fn references(
    w: &mut Writer,
    refs: &[Reference],
    first: &[&str],
    ctx: &Ctx,
) -> Result<(), WriteError> {
    for kind in first {
        for r in refs.iter().filter(|r| r.kind == *kind) {
            if let Some(code) = reference_code(&r.kind) {
                reference(w, code, r, ctx)?;
            }
        }
    }
    for r in refs.iter().filter(|r| !first.contains(&r.kind.as_str())) {
        if let Some(code) = reference_code(&r.kind) {
            reference(w, code, r, ctx)?;
        }
    }
    Ok(())
}

/// Splits `text` into chunks of at most `max` characters.
pub(crate) fn chunks(text: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(max.max(1))
        .map(|c| c.iter().collect())
        .collect()
}

/// Writes a party: `NAD+<qualifier>+<id>::<agency>++<name>+<street>+<city>+
/// <region>+<postcode>+<country>`, then its references (RFF+VA VAT id,
/// RFF+XA SIRET/SIREN, others by kind) and contacts (CTA/COM).
pub(crate) fn party(
    w: &mut Writer,
    p: &Party,
    qualifier: &str,
    ctx: &Ctx,
) -> Result<(), WriteError> {
    w.segment("NAD").el(qualifier);
    match (&p.gln, &p.id) {
        (Some(gln), _) => {
            w.el(gln).comp("").comp("9");
        }
        (None, Some(id)) => {
            w.el(id).comp("").comp_opt(p.id_agency.as_deref());
        }
        (None, None) => {
            w.element();
        }
    }
    w.element(); // C058 name and address (unstructured): not used.
    w.element();
    if let Some(name) = &p.name {
        for (i, part) in chunks(name, 35).iter().take(5).enumerate() {
            if i > 0 {
                w.component();
            }
            w.text(part);
        }
    }
    w.element();
    for (i, street) in p.address.street.iter().take(4).enumerate() {
        if i > 0 {
            w.component();
        }
        w.text(street);
    }
    w.el_opt(p.address.city.as_deref())
        .el_opt(p.address.region.as_deref())
        .el_opt(p.address.postal_code.as_deref())
        .el_opt(p.address.country.as_deref())
        .end();
    if let Some(vat) = &p.vat_id {
        w.segment("RFF").el("VA").comp(vat).end();
    }
    if let Some(siret) = &p.siret {
        w.segment("RFF").el("XA").comp(siret).end();
    }
    for r in &p.references {
        if let Some(code) = reference_code(&r.kind) {
            reference(w, code, r, ctx)?;
        }
    }
    for c in &p.contacts {
        w.segment("CTA")
            .el(c.function.as_deref().unwrap_or("IC"))
            .element()
            .comp_opt(c.name.as_deref())
            .end();
        for (number, channel) in [(&c.phone, "TE"), (&c.email, "EM"), (&c.fax, "FX")] {
            if let Some(n) = number {
                w.segment("COM").el(n).comp(channel).end();
            }
        }
    }
    Ok(())
}

/// Writes all parties with their conventional NAD qualifiers.
pub(crate) fn parties(w: &mut Writer, doc: &Document, ctx: &Ctx) -> Result<(), WriteError> {
    for p in &doc.parties {
        party(w, p, p.role.edifact_qualifier(), ctx)?;
    }
    Ok(())
}

/// Writes `CUX+2:<currency>:<usage>` (6343: `9` order, `4` invoicing).
pub(crate) fn currency(w: &mut Writer, doc: &Document, usage: &str) {
    if let Some(c) = &doc.currency {
        w.segment("CUX").el("2").comp(c).comp(usage).end();
    }
}

/// Writes `TOD+6++<incoterm>` when the document has delivery terms.
pub(crate) fn delivery_terms(w: &mut Writer, doc: &Document) {
    if let Some(t) = &doc.delivery_terms {
        w.segment("TOD").el("6").element().el(t).end();
    }
}

/// Writes `FTX+<subject>+++<text>` in 70-character components, five per
/// segment (D.96A 4440 is an..70), repeating the segment for longer text.
pub(crate) fn free_text(w: &mut Writer, subject: &str, text: &str) {
    let parts = chunks(text, 70);
    for group in parts.chunks(5) {
        w.segment("FTX").el(subject).element().element().element();
        for (i, part) in group.iter().enumerate() {
            if i > 0 {
                w.component();
            }
            w.text(part);
        }
        w.end();
    }
}

/// Writes the document notes as FTX (subject `AAI` general information
/// when none is given).
pub(crate) fn notes(w: &mut Writer, notes: &[Note]) {
    for n in notes {
        free_text(w, n.subject.as_deref().unwrap_or("AAI"), &n.text);
    }
}

/// Writes `MOA+<code>:<amount>`.
pub(crate) fn moa(w: &mut Writer, code: &str, amount: Decimal) {
    w.segment("MOA").el(code).comp_decimal(amount).end();
}

/// Writes `MOA+<code>:<amount>` when the amount is present.
pub(crate) fn moa_opt(w: &mut Writer, code: &str, amount: Option<Decimal>) {
    if let Some(a) = amount {
        moa(w, code, a);
    }
}

/// Writes `TAX+7+VAT+++:::<rate>+<category>` when either is known.
pub(crate) fn tax(w: &mut Writer, category: Option<&str>, rate: Option<Decimal>) {
    if category.is_none() && rate.is_none() {
        return;
    }
    w.segment("TAX")
        .el("7")
        .el("VAT")
        .element()
        .element()
        .element()
        .comp("")
        .comp("")
        .comp_decimal_opt(rate)
        .el_opt(category)
        .end();
}

/// Writes an allowance or charge: `ALC+A|C+++<sequence>+<reason>:::<text>`,
/// `PCD+1|2:<percent>`, `MOA+204|23:<amount>`, `MOA+25:<base>`, `TAX`.
pub(crate) fn allowance_charge(w: &mut Writer, ac: &AllowanceCharge) {
    let (flag, pcd, amount_code) = match ac.kind {
        AllowanceChargeKind::Allowance => ("A", "1", "204"),
        AllowanceChargeKind::Charge => ("C", "2", "23"),
    };
    let seq = ac.sequence.map(|s| s.to_string());
    w.segment("ALC")
        .el(flag)
        .element()
        .element()
        .el_opt(seq.as_deref())
        .el_opt(ac.reason_code.as_deref())
        .comp("")
        .comp("")
        .comp_opt(ac.description.as_deref())
        .end();
    if let Some(p) = ac.percentage {
        w.segment("PCD").el(pcd).comp_decimal(p).end();
    }
    moa_opt(w, amount_code, ac.amount);
    moa_opt(w, "25", ac.base_amount);
    tax(w, ac.tax_category.as_deref(), ac.tax_rate);
}

/// QTY qualifier (6063) for a canonical quantity kind.
pub(crate) fn quantity_code(kind: &str) -> Option<&str> {
    if let Some(code) = kind.strip_prefix("qty:") {
        return (!code.is_empty()).then_some(code);
    }
    Some(match kind {
        "despatched" => "12",
        "ordered" => "21",
        "delivered" => "46",
        "invoiced" => "47",
        "units_per_pack" => "59",
        "back_ordered" | "backordered" => "83",
        "to_be_delivered" | "confirmed" => "113",
        "free_goods" => "192",
        "in_transit" => "77",
        "available" => "198",
        _ => return None,
    })
}

/// Writes `QTY+<code>:<value>:<unit>`.
pub(crate) fn qty(w: &mut Writer, code: &str, q: &Quantity) {
    w.segment("QTY")
        .el(code)
        .comp_decimal(q.value)
        .comp_opt(q.unit.as_deref())
        .end();
}

/// Writes the line's main quantity with `default_code` (or the code its
/// own kind names) and the other quantities whose kind has a code.
pub(crate) fn quantities(w: &mut Writer, line: &Line, default_code: &str) {
    if let Some(q) = &line.quantity {
        let code = q
            .kind
            .as_deref()
            .and_then(quantity_code)
            .unwrap_or(default_code);
        qty(w, code, q);
    }
    for q in &line.other_quantities {
        if let Some(code) = q.kind.as_deref().and_then(quantity_code) {
            qty(w, code, q);
        }
    }
}

/// The line number: as sent, else its 1-based position.
pub(crate) fn line_number(line: &Line, index: usize) -> String {
    line.line_number
        .clone()
        .unwrap_or_else(|| (index + 1).to_string())
}

/// Writes `LIN+<n>+<action>+<gtin>:SRV+1:<parent>`.
pub(crate) fn lin(w: &mut Writer, line: &Line, index: usize, action: bool) {
    let n = line_number(line, index);
    w.segment("LIN")
        .el(&n)
        .el_opt(if action { line.action.as_deref() } else { None });
    match &line.gtin {
        Some(g) => {
            w.el(g).comp("SRV");
        }
        None => {
            w.element();
        }
    }
    if let Some(parent) = &line.parent_line {
        w.el("1").comp(parent);
    }
    w.end();
}

/// PIA item number type (7143) for a canonical item id kind.
fn item_id_code(kind: &str) -> Option<&str> {
    if let Some(code) = kind.strip_prefix("pia:") {
        return (!code.is_empty()).then_some(code);
    }
    Some(match kind {
        "seller" | "supplier" => "SA",
        "buyer" => "IN",
        "batch" => "NB",
        "serial" => "SN",
        "promotional_variant" => "PV",
        _ => return None,
    })
}

/// Writes `PIA+1+<seller>:SA+<buyer>:IN…` (or `PIA+5` when the line has no
/// GTIN, the first id then being the main identification), five ids per
/// segment; the batch number is written as `:NB`.
pub(crate) fn pia(w: &mut Writer, line: &Line) {
    let mut ids: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = &line.seller_item_code {
        ids.push((s, "SA"));
    }
    if let Some(b) = &line.buyer_item_code {
        ids.push((b, "IN"));
    }
    for r in &line.item_ids {
        if let Some(code) = item_id_code(&r.kind) {
            ids.push((&r.value, code));
        }
    }
    if let Some(b) = &line.batch {
        ids.push((b, "NB"));
    }
    let function = if line.gtin.is_some() { "1" } else { "5" };
    for group in ids.chunks(5) {
        w.segment("PIA").el(function);
        for (value, code) in group {
            w.el(value).comp(code);
        }
        w.end();
    }
}

/// Writes `IMD+F++:::<text>:<text>`, 35 characters per component, as many
/// segments as the description needs.
pub(crate) fn imd(w: &mut Writer, line: &Line) {
    let Some(d) = &line.description else { return };
    let parts = chunks(d, 35);
    for pair in parts.chunks(2) {
        w.segment("IMD")
            .el("F")
            .element()
            .element()
            .comp("")
            .comp("");
        for part in pair {
            w.comp(part);
        }
        w.end();
    }
}

/// Writes `PRI+AAA:<net>` and `PRI+AAB:<gross>`, with the price basis
/// quantity and the unit of the line quantity when a basis is given.
pub(crate) fn prices(w: &mut Writer, line: &Line) {
    let unit = line.quantity.as_ref().and_then(|q| q.unit.as_deref());
    for (code, price) in [("AAA", line.net_unit_price), ("AAB", line.gross_unit_price)] {
        let Some(p) = price else { continue };
        w.segment("PRI").el(code).comp_decimal(p);
        if let Some(basis) = line.price_basis_quantity {
            w.comp("").comp("").comp_decimal(basis).comp_opt(unit);
        }
        w.end();
    }
}

/// Writes `UNS+S` and `CNT+2:<number of lines>`.
pub(crate) fn summary(w: &mut Writer, doc: &Document, uns: bool) {
    if uns {
        w.segment("UNS").el("S").end();
    }
    w.segment("CNT")
        .el("2")
        .comp(&doc.lines.len().to_string())
        .end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_to_edifact() {
        let e = |s: &str| edifact_date(s).map(|(d, f)| format!("{d}:{f}"));
        assert_eq!(e("2024-03-01").as_deref(), Some("20240301:102"));
        assert_eq!(e("2024-03-01T14:30").as_deref(), Some("202403011430:203"));
        assert_eq!(
            e("2024-03-01T14:30:00Z").as_deref(),
            Some("202403011430:203")
        );
        assert_eq!(
            e("2024-03-01T14:30:15+01:00").as_deref(),
            Some("20240301143015:204")
        );
        assert_eq!(
            e("2024-03-01/2024-03-31").as_deref(),
            Some("20240301-20240331:718")
        );
        assert_eq!(e("20240301").as_deref(), Some("20240301:102"));
        assert_eq!(e("1st of March"), None);
        assert_eq!(e("2024-03-xx"), None);
    }

    #[test]
    fn chunking_counts_characters_not_bytes() {
        let c = chunks(&"é".repeat(40), 35);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].chars().count(), 35);
        assert!(chunks("", 35).is_empty());
    }
}
