//! Canonical documents → X12: 855 (order response), 856 (despatch advice),
//! 810 (invoice, credit note as BIG07 `CR`) and 997/999 (syntax
//! acknowledgement), in one interchange with one functional group per
//! consecutive run of the same functional identifier.
//!
//! Control numbers: ISA13 is [`X12OutboundOptions::interchange_control`],
//! GS06 starts at [`X12OutboundOptions::group_control`] and increases per
//! group, ST02 restarts at `0001` in each group; SE01, GE01 and IEA01 are
//! counted by the [`X12Writer`]. Every message written here reads back
//! through [`super::inbound`] with no diagnostics (see the tests).

use chrono::NaiveDateTime;
use rust_decimal::Decimal;

use super::lexer::X12Delimiters;
use super::writer::{IsaFields, X12WriteError, X12Writer};
use crate::model::{
    AckStatus, AllowanceChargeKind, Document, DocumentType, Line, MessageFunction, Party, PartyRole,
};

/// Interchange settings for outbound X12.
#[derive(Debug, Clone)]
pub struct X12OutboundOptions {
    pub sender_qualifier: String,
    pub sender: String,
    pub receiver_qualifier: String,
    pub receiver: String,
    /// ISA13.
    pub interchange_control: u32,
    /// GS06 of the first group.
    pub group_control: u32,
    /// GS08 version (`004010`, `005010`); ISA12 follows (`00401`, `00501`).
    pub version: String,
    /// Syntax acknowledgements as `997` (default) or `999`.
    pub acknowledgement: String,
    pub test: bool,
    pub ack_requested: bool,
    pub prepared: NaiveDateTime,
    pub delimiters: X12Delimiters,
    /// A line feed after each segment terminator.
    pub newline: bool,
}

impl Default for X12OutboundOptions {
    fn default() -> X12OutboundOptions {
        X12OutboundOptions {
            sender_qualifier: "ZZ".into(),
            sender: String::new(),
            receiver_qualifier: "ZZ".into(),
            receiver: String::new(),
            interchange_control: 1,
            group_control: 1,
            version: "004010".into(),
            acknowledgement: "997".into(),
            test: false,
            ack_requested: false,
            prepared: chrono::DateTime::UNIX_EPOCH.naive_utc(),
            delimiters: X12Delimiters::new(b'*', b'>', Some(b'^'), b"~"),
            newline: true,
        }
    }
}

/// (transaction set, functional identifier) for a document, `None` when
/// Comptoir does not write this family as X12.
pub fn transaction_set_for(doc: &Document, ack: &str) -> Option<(&'static str, &'static str)> {
    Some(match doc.document_type {
        DocumentType::OrderResponse => ("855", "PR"),
        DocumentType::DespatchAdvice => ("856", "SH"),
        DocumentType::Invoice | DocumentType::CreditNote => ("810", "IN"),
        DocumentType::SyntaxAcknowledgement if ack == "999" => ("999", "FA"),
        DocumentType::SyntaxAcknowledgement => ("997", "FA"),
        _ => return None,
    })
}

fn functional_id_of(transaction_set: &str) -> &'static str {
    match transaction_set {
        "850" => "PO",
        "855" => "PR",
        "856" => "SH",
        "810" => "IN",
        "846" => "IB",
        "832" => "SC",
        "861" => "RC",
        "997" | "999" => "FA",
        "860" => "PC",
        "940" => "OW",
        _ => "",
    }
}

fn purpose(f: &Option<MessageFunction>) -> &'static str {
    match f {
        Some(MessageFunction::Cancellation) => "01",
        Some(MessageFunction::Change) => "04",
        Some(MessageFunction::Replace) => "05",
        Some(MessageFunction::Duplicate) => "07",
        _ => "00",
    }
}

fn yyyymmdd(iso: &str) -> String {
    iso.get(..10)
        .map(|d| d.replace('-', ""))
        .unwrap_or_default()
}

fn dec(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

/// An implied-decimal (N2) amount: 160.00 → `16000`.
fn n2(d: Decimal) -> String {
    (d * Decimal::ONE_HUNDRED).round().normalize().to_string()
}

fn role_code(role: &PartyRole) -> Option<&str> {
    Some(match role {
        PartyRole::Buyer => "BY",
        PartyRole::Supplier => "SU",
        PartyRole::DeliveryParty => "ST",
        PartyRole::Invoicee => "BT",
        PartyRole::ShipFrom => "SF",
        PartyRole::Payer => "PR",
        PartyRole::UltimateConsignee => "UC",
        PartyRole::MessageParty => return None,
        PartyRole::Other(c) if (2..=3).contains(&c.len()) => c,
        PartyRole::Other(_) => return None,
    })
}

fn item_pairs(line: &Line) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(g) = &line.gtin {
        let q = match g.len() {
            12 => "UP",
            14 => "UK",
            _ => "EN",
        };
        out.extend([q.to_string(), g.clone()]);
    }
    if let Some(v) = &line.seller_item_code {
        out.extend(["VN".to_string(), v.clone()]);
    }
    if let Some(v) = &line.buyer_item_code {
        out.extend(["BP".to_string(), v.clone()]);
    }
    for r in &line.item_ids {
        let q = match r.kind.as_str() {
            "sku" => "SK",
            "isbn" => "IB",
            k => match k.strip_prefix("id:") {
                Some(q) => q,
                None => continue,
            },
        };
        out.extend([q.to_string(), r.value.clone()]);
    }
    out
}

struct Ctx<'a> {
    w: X12Writer,
    doc: &'a Document,
}

impl Ctx<'_> {
    fn seg(&mut self, tag: &str, elements: &[&str]) -> Result<(), X12WriteError> {
        self.w.segment(tag, elements)
    }

    fn parties(&mut self) -> Result<(), X12WriteError> {
        for p in &self.doc.parties {
            self.party(p)?;
        }
        Ok(())
    }

    fn party(&mut self, p: &Party) -> Result<(), X12WriteError> {
        let Some(code) = role_code(&p.role) else {
            return Ok(());
        };
        let (qual, id) = match (&p.gln, &p.id) {
            (Some(g), _) => ("UL".to_string(), g.clone()),
            (None, Some(id)) => (
                p.id_agency
                    .clone()
                    .filter(|a| (1..=2).contains(&a.len()))
                    .unwrap_or_else(|| "92".into()),
                id.clone(),
            ),
            _ => (String::new(), String::new()),
        };
        let name = p.name.clone().unwrap_or_default();
        self.seg("N1", &[code, &name, &qual, &id])?;
        for pair in p.address.street.chunks(2) {
            let a = pair.first().map(String::as_str).unwrap_or_default();
            let b = pair.get(1).map(String::as_str).unwrap_or_default();
            self.seg("N3", &[a, b])?;
        }
        let a = &p.address;
        if a.city.is_some() || a.postal_code.is_some() || a.country.is_some() {
            let s = |o: &Option<String>| o.clone().unwrap_or_default();
            self.seg(
                "N4",
                &[
                    &s(&a.city),
                    &s(&a.region),
                    &s(&a.postal_code),
                    &s(&a.country),
                ],
            )?;
        }
        Ok(())
    }

    fn references(&mut self, skip: &[&str]) -> Result<(), X12WriteError> {
        for r in &self.doc.references {
            if skip.contains(&r.kind.as_str()) {
                continue;
            }
            let q = match r.kind.as_str() {
                "order" => "PO",
                "supplier_order" => "VN",
                "contract" => "CT",
                "promotion" => "PD",
                "invoice" => "IV",
                "bill_of_lading" => "BM",
                "department" => "DP",
                k => match k.strip_prefix("ref:") {
                    Some(q) => q,
                    None => continue,
                },
            };
            self.seg("REF", &[q, &r.value])?;
        }
        Ok(())
    }

    fn line_items(&mut self, tag: &str, line: &Line, n: usize) -> Result<(), X12WriteError> {
        let number = line.line_number.clone().unwrap_or_else(|| n.to_string());
        let (qty, unit) = match &line.quantity {
            Some(q) => (
                dec(Some(q.value)),
                q.unit.clone().unwrap_or_else(|| "EA".into()),
            ),
            None => (String::new(), String::new()),
        };
        let price = dec(line.net_unit_price.or(line.gross_unit_price));
        let pairs = item_pairs(line);
        let mut els: Vec<&str> = vec![&number, &qty, &unit, &price, ""];
        els.extend(pairs.iter().map(String::as_str));
        self.seg(tag, &els)?;
        if let Some(d) = &line.description {
            self.seg("PID", &["F", "", "", "", d])?;
        }
        Ok(())
    }

    fn po_ack(&mut self) -> Result<(), X12WriteError> {
        let d = self.doc;
        let order_date = d
            .date("order")
            .or(d.date("document"))
            .map(|e| yyyymmdd(&e.value))
            .unwrap_or_default();
        let response = d.response_code.clone().unwrap_or_else(|| "AC".into());
        let supplier_order = d
            .reference("supplier_order")
            .map(|r| r.value.clone())
            .unwrap_or_default();
        self.seg(
            "BAK",
            &[
                purpose(&d.function),
                &response,
                &d.number,
                &order_date,
                "",
                "",
                "",
                &supplier_order,
            ],
        )?;
        if let Some(c) = &d.currency {
            self.seg("CUR", &["SE", c])?;
        }
        self.references(&["order", "supplier_order"])?;
        self.parties()?;
        for (i, line) in d.lines.iter().enumerate() {
            self.line_items("PO1", line, i + 1)?;
            let status = match line.action.as_deref() {
                Some("5") | None => "IA".to_string(),
                Some("3") => "IC".into(),
                Some("7") => "IR".into(),
                Some(other) => other.to_string(),
            };
            let (qty, unit) = match &line.quantity {
                Some(q) => (
                    dec(Some(q.value)),
                    q.unit.clone().unwrap_or_else(|| "EA".into()),
                ),
                None => (String::new(), String::new()),
            };
            self.seg("ACK", &[&status, &qty, &unit])?;
        }
        self.seg("CTT", &[&d.lines.len().to_string()])
    }

    fn ship_notice(&mut self, prepared: &NaiveDateTime) -> Result<(), X12WriteError> {
        let d = self.doc;
        let date = d
            .date("document")
            .map(|e| yyyymmdd(&e.value))
            .unwrap_or_else(|| prepared.format("%Y%m%d").to_string());
        let time = prepared.format("%H%M").to_string();
        self.seg("BSN", &[purpose(&d.function), &d.number, &date, &time])?;
        let mut hl = 1u32;
        self.seg("HL", &["1", "", "S"])?;
        if let Some(e) = d.date("despatch") {
            self.seg("DTM", &["011", &yyyymmdd(&e.value)])?;
        }
        self.references(&["order"])?;
        self.parties()?;
        hl += 1;
        let order_hl = hl;
        self.seg("HL", &[&order_hl.to_string(), "1", "O"])?;
        if let Some(r) = d.reference("order") {
            self.seg("PRF", &[&r.value])?;
        }
        // Packages first, then items under their package (or the order).
        let mut package_hl: Vec<(String, u32)> = Vec::new();
        for p in &d.packages {
            hl += 1;
            let parent = p
                .parent_id
                .as_ref()
                .and_then(|pid| package_hl.iter().find(|(id, _)| id == pid))
                .map_or(order_hl, |(_, h)| *h);
            self.seg("HL", &[&hl.to_string(), &parent.to_string(), "P"])?;
            for s in &p.sscc {
                self.seg("MAN", &["GM", s])?;
            }
            package_hl.push((p.id.clone(), hl));
        }
        for (i, line) in d.lines.iter().enumerate() {
            hl += 1;
            let parent = line
                .package_id
                .as_ref()
                .or(line.parent_line.as_ref())
                .and_then(|pid| package_hl.iter().find(|(id, _)| id == pid))
                .map_or(order_hl, |(_, h)| *h);
            self.seg("HL", &[&hl.to_string(), &parent.to_string(), "I"])?;
            let number = line
                .line_number
                .clone()
                .unwrap_or_else(|| (i + 1).to_string());
            let pairs = item_pairs(line);
            let mut els: Vec<&str> = vec![&number];
            els.extend(pairs.iter().map(String::as_str));
            self.seg("LIN", &els)?;
            if let Some(q) = &line.quantity {
                let unit = q.unit.clone().unwrap_or_else(|| "EA".into());
                self.seg("SN1", &["", &dec(Some(q.value)), &unit])?;
            }
            if let Some(desc) = &line.description {
                self.seg("PID", &["F", "", "", "", desc])?;
            }
        }
        self.seg("CTT", &[&hl.to_string()])
    }

    fn invoice(&mut self) -> Result<(), X12WriteError> {
        let d = self.doc;
        let date = d
            .date("document")
            .map(|e| yyyymmdd(&e.value))
            .unwrap_or_default();
        let order = d.reference("order");
        let order_no = order.map(|r| r.value.clone()).unwrap_or_default();
        let order_date = order
            .and_then(|r| r.date.as_deref())
            .map(yyyymmdd)
            .unwrap_or_default();
        let kind = if d.document_type == DocumentType::CreditNote {
            "CR"
        } else {
            "DI"
        };
        self.seg(
            "BIG",
            &[&date, &d.number, &order_date, &order_no, "", "", kind],
        )?;
        if let Some(c) = &d.currency {
            self.seg("CUR", &["SE", c])?;
        }
        self.references(&["order"])?;
        self.parties()?;
        for t in &d.payment_terms {
            let ty = t.terms_type.clone().unwrap_or_else(|| "01".into());
            let ty = if ty.len() == 2 { ty } else { "01".into() };
            let days = t.days.map(|n| n.to_string()).unwrap_or_default();
            let pct = dec(t.percentage);
            let desc = t.description.clone().unwrap_or_default();
            self.seg(
                "ITD",
                &[&ty, "3", &pct, "", "", "", &days, "", "", "", "", &desc],
            )?;
        }
        for (i, line) in d.lines.iter().enumerate() {
            self.line_items("IT1", line, i + 1)?;
            if let Some(rate) = line.tax_rate {
                let cat = line.tax_category.clone().unwrap_or_else(|| "VA".into());
                self.seg("TXI", &[&cat, "", &dec(Some(rate))])?;
            }
        }
        let total = d
            .totals
            .payable
            .or(d.totals.tax_inclusive)
            .or(d.totals.tax_exclusive);
        if let Some(t) = total {
            self.seg("TDS", &[&n2(t)])?;
        }
        for t in &d.tax_subtotals {
            let cat = t.category.clone().unwrap_or_else(|| "VA".into());
            self.seg("TXI", &[&cat, &dec(t.tax_amount), &dec(t.rate)])?;
        }
        for ac in &d.allowances_charges {
            let ind = match ac.kind {
                AllowanceChargeKind::Allowance => "A",
                AllowanceChargeKind::Charge => "C",
            };
            let reason = ac.reason_code.clone().unwrap_or_default();
            let amount = ac.amount.map(n2).unwrap_or_default();
            let pct = dec(ac.percentage);
            let desc = ac.description.clone().unwrap_or_default();
            let (pq, pct) = if pct.is_empty() {
                ("", pct)
            } else {
                ("3", pct)
            };
            self.seg(
                "SAC",
                &[
                    ind, &reason, "", "", &amount, pq, &pct, "", "", "", "", "", "", "", &desc,
                ],
            )?;
        }
        self.seg("CTT", &[&d.lines.len().to_string()])
    }

    fn functional_ack(&mut self, set: &str) -> Result<(), X12WriteError> {
        let d = self.doc;
        let Some(ack) = &d.acknowledgement else {
            return Err(X12WriteError::Document {
                document: d.number.clone(),
                reason: "a syntax acknowledgement needs its acknowledgement section".into(),
            });
        };
        let code = |s: AckStatus| match s {
            AckStatus::Accepted | AckStatus::Received => "A",
            AckStatus::PartiallyAccepted => "E",
            AckStatus::Rejected => "R",
        };
        let group = ack.interchange_ref.clone().unwrap_or_default();
        let fid = ack
            .messages
            .iter()
            .filter_map(|m| m.message_type.as_deref())
            .map(functional_id_of)
            .find(|f| !f.is_empty())
            .unwrap_or("PO");
        self.seg("AK1", &[fid, &group])?;
        let (seg_tag, el_tag, set_tag) = if set == "999" {
            ("IK3", "IK4", "IK5")
        } else {
            ("AK3", "AK4", "AK5")
        };
        let mut accepted = 0;
        for m in &ack.messages {
            let ty = m.message_type.clone().unwrap_or_default();
            self.seg("AK2", &[&ty, &m.reference])?;
            for i in ack
                .issues
                .iter()
                .filter(|i| i.message_ref.as_deref() == Some(m.reference.as_str()))
            {
                let tag = i.segment_tag.clone().unwrap_or_default();
                let pos = i
                    .segment_position
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                if i.element_position.is_none() {
                    let code = i.code.clone().unwrap_or_else(|| "8".into());
                    self.seg(seg_tag, &[&tag, &pos, "", &code])?;
                } else {
                    self.seg(seg_tag, &[&tag, &pos, "", "8"])?;
                    let e = i
                        .element_position
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                    let c = i
                        .component_position
                        .map(|p| p.to_string())
                        .unwrap_or_default();
                    let code = i.code.clone().unwrap_or_else(|| "7".into());
                    let text = i.text.clone().unwrap_or_default();
                    self.w
                        .segment_parts(el_tag, &[&[&e, &c], &[""], &[&code], &[&text]])?;
                }
            }
            if m.status != AckStatus::Rejected {
                accepted += 1;
            }
            self.seg(set_tag, &[code(m.status)])?;
        }
        let n = ack.messages.len().to_string();
        self.seg("AK9", &[code(ack.status), &n, &n, &accepted.to_string()])
    }
}

/// Writes `docs` as one X12 interchange.
pub fn write_documents(
    docs: &[Document],
    opts: &X12OutboundOptions,
) -> Result<Vec<u8>, X12WriteError> {
    let isa_version = if opts.version.as_str() >= "005010" {
        "00501"
    } else {
        "00401"
    };
    let mut w = X12Writer::new(opts.delimiters, opts.newline);
    w.isa(&IsaFields {
        sender_qualifier: opts.sender_qualifier.clone(),
        sender: opts.sender.clone(),
        receiver_qualifier: opts.receiver_qualifier.clone(),
        receiver: opts.receiver.clone(),
        date: opts.prepared.format("%y%m%d").to_string(),
        time: opts.prepared.format("%H%M").to_string(),
        version: isa_version.into(),
        control_number: opts.interchange_control,
        ack_requested: opts.ack_requested,
        test: opts.test,
    })?;
    let date = opts.prepared.format("%Y%m%d").to_string();
    let time = opts.prepared.format("%H%M").to_string();
    let mut ctx_w = Some(w);
    let mut current_fid: Option<&str> = None;
    let mut group_control = opts.group_control;
    let mut st_control = 0u32;
    for doc in docs {
        let Some((set, fid)) = transaction_set_for(doc, &opts.acknowledgement) else {
            return Err(X12WriteError::Document {
                document: doc.number.clone(),
                reason: format!("no X12 transaction set for a {}", doc.document_type),
            });
        };
        let mut w = ctx_w.take().ok_or(X12WriteError::Order("ST"))?;
        if current_fid != Some(fid) {
            if current_fid.is_some() {
                w.ge()?;
                group_control += 1;
            }
            w.gs(
                fid,
                &opts.sender,
                &opts.receiver,
                &date,
                &time,
                group_control,
                &opts.version,
            )?;
            current_fid = Some(fid);
            st_control = 0;
        }
        st_control += 1;
        w.st(set, &format!("{st_control:04}"))?;
        let mut ctx = Ctx { w, doc };
        match set {
            "855" => ctx.po_ack()?,
            "856" => ctx.ship_notice(&opts.prepared)?,
            "810" => ctx.invoice()?,
            _ => ctx.functional_ack(set)?,
        }
        ctx.w.se()?;
        ctx_w = Some(ctx.w);
    }
    let mut w = ctx_w.ok_or(X12WriteError::Order("IEA"))?;
    if current_fid.is_some() {
        w.ge()?;
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Registry;
    use crate::model::{
        AckIssue, AckedMessage, Acknowledgement, DateEntry, Package, Quantity, Reference,
    };
    use crate::translate::{Options, Outcome, Translator};

    fn registry() -> Registry {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings");
        Registry::load(&dir).unwrap()
    }

    fn read_back(bytes: &[u8]) -> Vec<Document> {
        let reg = registry();
        let mut docs = Vec::new();
        let summary = Translator::new(&reg)
            .translate(bytes, &Options::default(), &mut |o| match o {
                Outcome::Document {
                    document,
                    diagnostics,
                } => {
                    assert!(diagnostics.is_empty(), "{diagnostics:?}");
                    docs.push(*document);
                }
                Outcome::Rejected { diagnostics, .. } => panic!("rejected: {diagnostics:?}"),
            })
            .unwrap();
        assert!(summary.diagnostics.is_empty(), "{:?}", summary.diagnostics);
        docs
    }

    fn line(n: &str, gtin: &str, qty: i64, price: &str) -> Line {
        Line {
            line_number: Some(n.into()),
            gtin: Some(gtin.into()),
            quantity: Some(Quantity {
                kind: None,
                value: Decimal::from(qty),
                unit: Some("EA".into()),
            }),
            net_unit_price: Some(price.parse().unwrap()),
            description: Some(format!("Item {n}")),
            ..Line::default()
        }
    }

    fn party(role: PartyRole, gln: &str) -> Party {
        let mut p = Party::new(role);
        p.gln = Some(gln.into());
        p.name = Some("ACME".into());
        p
    }

    fn opts() -> X12OutboundOptions {
        X12OutboundOptions {
            sender: "SUPPLIER".into(),
            receiver: "BUYER".into(),
            interchange_control: 123,
            group_control: 900,
            ..X12OutboundOptions::default()
        }
    }

    #[test]
    fn order_response_invoice_despatch_round_trip() {
        let mut ordrsp = Document::new(DocumentType::OrderResponse, "PO-77");
        ordrsp.response_code = Some("AC".into());
        ordrsp.currency = Some("USD".into());
        ordrsp.dates.push(DateEntry {
            kind: "order".into(),
            value: "2024-03-01".into(),
        });
        ordrsp
            .parties
            .push(party(PartyRole::Buyer, "5412345000013"));
        let mut l1 = line("1", "4000862141404", 48, "5.25");
        l1.action = Some("5".into());
        let mut l2 = line("2", "4000862141405", 0, "55");
        l2.action = Some("7".into());
        ordrsp.lines = vec![l1, l2];

        let mut inv = Document::new(DocumentType::Invoice, "INV-1");
        inv.dates.push(DateEntry {
            kind: "document".into(),
            value: "2024-03-05".into(),
        });
        inv.references.push(Reference {
            kind: "order".into(),
            value: "PO-77".into(),
            date: Some("2024-03-01".into()),
        });
        inv.parties
            .push(party(PartyRole::Supplier, "5412345000020"));
        inv.lines = vec![line("1", "4000862141404", 48, "5.25")];
        inv.totals.payable = Some("252.00".parse().unwrap());
        let mut credit = inv.clone();
        credit.document_type = DocumentType::CreditNote;
        credit.number = "CN-1".into();

        let mut desadv = Document::new(DocumentType::DespatchAdvice, "ASN-9");
        desadv.references.push(Reference {
            kind: "order".into(),
            value: "PO-77".into(),
            date: None,
        });
        desadv.packages.push(Package {
            id: "P1".into(),
            sscc: vec!["003123450000000017".into()],
            ..Package::default()
        });
        let mut dl = line("1", "4000862141404", 48, "5.25");
        dl.package_id = Some("P1".into());
        desadv.lines = vec![dl];

        let docs = vec![ordrsp, inv, credit, desadv];
        let bytes = write_documents(&docs, &opts()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("GS*PR*SUPPLIER*BUYER*19700101*0000*900*X*004010~"));
        assert!(text.contains("GE*1*900~"));
        assert!(text.contains("GE*2*901~"), "{text}");
        assert!(text.contains("GE*1*902~"));
        assert!(text.contains("IEA*3*000000123~"));
        let back = read_back(&bytes);
        assert_eq!(back.len(), 4);
        assert_eq!(back[0].document_type, DocumentType::OrderResponse);
        assert_eq!(back[0].number, "PO-77");
        assert_eq!(back[0].lines.len(), 2);
        assert_eq!(back[0].lines[1].action.as_deref(), Some("7"));
        assert_eq!(back[0].lines[0].gtin.as_deref(), Some("4000862141404"));
        assert_eq!(
            back[0]
                .party(&PartyRole::Buyer)
                .and_then(|p| p.gln.as_deref()),
            Some("5412345000013")
        );
        assert_eq!(back[1].number, "INV-1");
        assert_eq!(back[1].document_type, DocumentType::Invoice);
        assert_eq!(
            back[1].lines[0].net_unit_price,
            Some("5.25".parse().unwrap())
        );
        assert_eq!(back[2].document_type, DocumentType::CreditNote);
        assert_eq!(back[3].number, "ASN-9");
        assert_eq!(back[3].packages[0].sscc, vec!["003123450000000017"]);
        assert_eq!(
            back[3].lines[0].quantity.as_ref().unwrap().value,
            Decimal::from(48)
        );
        assert_eq!(
            back[3].lines[0].parent_line.as_deref(),
            Some(back[3].packages[0].id.as_str())
        );
        assert_eq!(back[3].origin.format, "x12");
    }

    #[test]
    fn functional_acknowledgements() {
        let mut ack = Acknowledgement::new(AckStatus::PartiallyAccepted);
        ack.interchange_ref = Some("3314".into());
        ack.messages.push(AckedMessage {
            reference: "0001".into(),
            message_type: Some("850".into()),
            status: AckStatus::Accepted,
        });
        ack.messages.push(AckedMessage {
            reference: "0002".into(),
            message_type: Some("850".into()),
            status: AckStatus::Rejected,
        });
        ack.issues.push(AckIssue {
            message_ref: Some("0002".into()),
            segment_position: Some(3),
            segment_tag: Some("BEG".into()),
            element_position: Some(3),
            code: Some("1".into()),
            ..AckIssue::default()
        });
        let mut doc = Document::new(DocumentType::SyntaxAcknowledgement, "");
        doc.acknowledgement = Some(ack);
        for set in ["997", "999"] {
            let o = X12OutboundOptions {
                acknowledgement: set.into(),
                version: if set == "999" {
                    "005010X231A1"
                } else {
                    "004010"
                }
                .into(),
                ..opts()
            };
            let bytes = write_documents(std::slice::from_ref(&doc), &o).unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert!(text.contains("AK1*PO*3314~"), "{text}");
            assert!(text.contains("AK9*E*2*2*1~"), "{text}");
            let back = read_back(&bytes);
            let a = back[0].acknowledgement.as_ref().unwrap();
            assert_eq!(back[0].number, "0001");
            assert_eq!(a.status, AckStatus::PartiallyAccepted);
            assert_eq!(a.interchange_ref.as_deref(), Some("3314"));
            assert_eq!(a.messages.len(), 2);
            assert_eq!(a.messages[1].status, AckStatus::Rejected);
            assert_eq!(a.issues[0].segment_tag.as_deref(), Some("BEG"));
            assert_eq!(a.issues[0].element_position, Some(3));
        }
    }

    #[test]
    fn orders_are_not_written() {
        let doc = Document::new(DocumentType::Order, "X");
        assert!(write_documents(&[doc], &opts()).is_err());
    }
}
