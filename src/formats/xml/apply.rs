//! Running a compiled XML mapping over the element stream of one document.
//!
//! [`Applier`] is the [`Handler`] the reader (or the flat IDoc reader)
//! drives. It picks the mapping from the root element, follows each
//! element down the active object's path trie, opens canonical objects
//! where the mapping says so, and sets fields when elements close. Values
//! that do not convert (a quantity that is not a number) become warnings
//! located by element path and line; the document is still produced.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::mapping::{NewKind, Rule, XTarget, XmlMapping, XmlMappings};
use super::reader::{Attr, Handler};
use super::XmlError;
use crate::diagnostics::{Diagnostic, Location};
use crate::mapping::target::{Kind, Target, ValueType};
use crate::model::{
    AllowanceCharge, AllowanceChargeKind, Contact, DateEntry, Document, DocumentType,
    MessageFunction, Note, Package, Party, PartyRole, PaymentTerms, Quantity, TaxSubtotal,
};

#[derive(Debug, Clone, Copy)]
enum AcRef {
    Doc(usize),
    Line(usize, usize),
}

#[derive(Debug, Clone)]
enum Obj {
    Party(usize),
    Line(usize),
    Allowance(AcRef),
    Payment(usize),
    Tax(usize),
    Package(usize),
    Note(usize),
    Contact(usize, usize),
    Qualified {
        def: usize,
        qualifier: Option<String>,
        value: Option<String>,
        line: u32,
    },
}

#[derive(Debug)]
struct Frame {
    node: Option<u32>,
    opened: bool,
    qname: String,
    index: u32,
    children: Vec<(String, u32)>,
    attrs: Vec<Attr>,
}

/// Builds one [`Document`] from an element stream.
pub struct Applier<'m> {
    maps: &'m XmlMappings,
    mapping: Option<&'m XmlMapping>,
    doc: Document,
    frames: Vec<Frame>,
    objs: Vec<Obj>,
    diags: Vec<Diagnostic>,
    file: Option<String>,
    /// Element path and line where each line starts.
    line_locs: Vec<(String, u32)>,
    last_qty: Option<(usize, Option<usize>)>,
    root_line: u32,
    pub(crate) format: &'static str,
}

fn parse_decimal(s: &str) -> Option<Decimal> {
    let t = s.trim();
    // SAP writes negative numbers with a trailing minus.
    let (neg, t) = match t.strip_suffix('-') {
        Some(rest) => (true, rest.trim()),
        None => (false, t),
    };
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() {
        return None;
    }
    let d = Decimal::from_str(t).ok()?;
    Some(if neg { -d } else { d })
}

/// `20240301` → `2024-03-01`; ISO values are kept; anything else as sent.
fn normalize_date(s: &str) -> String {
    let t = s.trim();
    let b = t.as_bytes();
    if b.len() >= 8 && b[..8].iter().all(u8::is_ascii_digit) {
        let mut out = format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..8]);
        if b.len() >= 12 && b[8..12].iter().all(u8::is_ascii_digit) {
            out.push_str(&format!("T{}:{}", &t[8..10], &t[10..12]));
        }
        return out;
    }
    t.to_string()
}

impl<'m> Applier<'m> {
    /// A new applier over `maps`.
    pub fn new(maps: &'m XmlMappings, file: Option<String>) -> Applier<'m> {
        Applier {
            maps,
            mapping: None,
            doc: Document::new(DocumentType::Other, ""),
            frames: Vec::new(),
            objs: Vec::new(),
            diags: Vec::new(),
            file,
            line_locs: Vec::new(),
            last_qty: None,
            root_line: 1,
            format: "xml",
        }
    }

    /// The element path of the innermost open element, with 1-based
    /// indexes on repeated siblings: `/Invoice/cac:InvoiceLine[3]/cbc:ID`.
    fn path(&self) -> String {
        let mut out = String::new();
        for f in &self.frames {
            out.push('/');
            out.push_str(&f.qname);
            if f.index > 1 {
                out.push_str(&format!("[{}]", f.index));
            }
        }
        out
    }

    fn loc(&self, path: String, line: u32) -> Location {
        Location {
            file: self.file.clone(),
            tag: Some(path),
            line: Some(line),
            ..Location::default()
        }
    }

    fn open(&mut self, def: usize, line: u32) {
        let Some(m) = self.mapping else { return };
        let Some(d) = m.objects.get(def) else { return };
        let Some(kind) = d.new else { return };
        let cur_line = self.cur_line();
        let doc = &mut self.doc;
        let obj = match kind {
            NewKind::Party => {
                doc.parties
                    .push(Party::new(PartyRole::Other(String::new())));
                Obj::Party(doc.parties.len() - 1)
            }
            NewKind::Line => {
                doc.lines.push(crate::model::Line::default());
                self.last_qty = None;
                let path = self.path();
                self.line_locs.push((path, line));
                Obj::Line(self.doc.lines.len() - 1)
            }
            NewKind::Allowance => match cur_line {
                Some(l) => {
                    let acs = &mut doc.lines[l].allowances_charges;
                    acs.push(AllowanceCharge::new(AllowanceChargeKind::Allowance));
                    Obj::Allowance(AcRef::Line(l, acs.len() - 1))
                }
                None => {
                    doc.allowances_charges
                        .push(AllowanceCharge::new(AllowanceChargeKind::Allowance));
                    Obj::Allowance(AcRef::Doc(doc.allowances_charges.len() - 1))
                }
            },
            NewKind::PaymentTerms => {
                doc.payment_terms.push(PaymentTerms::default());
                Obj::Payment(doc.payment_terms.len() - 1)
            }
            NewKind::Tax => {
                doc.tax_subtotals.push(TaxSubtotal {
                    category: None,
                    rate: None,
                    taxable_amount: None,
                    tax_amount: None,
                    exemption_reason: None,
                });
                Obj::Tax(doc.tax_subtotals.len() - 1)
            }
            NewKind::Package => {
                doc.packages.push(Package::default());
                Obj::Package(doc.packages.len() - 1)
            }
            NewKind::Note => {
                doc.notes.push(Note {
                    subject: None,
                    text: String::new(),
                });
                Obj::Note(doc.notes.len() - 1)
            }
            NewKind::Contact => match self.cur_party() {
                Some(p) => {
                    self.doc.parties[p].contacts.push(Contact::default());
                    Obj::Contact(p, self.doc.parties[p].contacts.len() - 1)
                }
                None => return,
            },
            NewKind::Qualified => Obj::Qualified {
                def,
                qualifier: None,
                value: None,
                line,
            },
        };
        self.objs.push(obj);
        let sets = d.set.clone();
        for (t, v) in sets {
            self.set(&t, None, v, line);
        }
    }

    fn close(&mut self) {
        let Some(obj) = self.objs.pop() else { return };
        match obj {
            Obj::Note(i) if self.doc.notes.get(i).is_some_and(|n| n.text.is_empty()) => {
                self.doc.notes.remove(i);
            }
            Obj::Qualified {
                def,
                qualifier,
                value,
                line,
            } => {
                let (Some(m), Some(q), Some(v)) = (self.mapping, qualifier, value) else {
                    return;
                };
                let Some(d) = m.objects.get(def) else { return };
                let Some(t) = d.qualified_table else { return };
                let Some(mapped) = m.lookup(t, &q) else {
                    return;
                };
                let name = match &d.qualified_base {
                    Some(base) => format!("{base}:{mapped}"),
                    None => mapped.to_string(),
                };
                if let Ok(target) = Target::parse(&name, &mut |k| Ok(Kind::Fixed(k.into()))) {
                    self.set(&XTarget::Canonical(target), None, v, line);
                }
            }
            _ => {}
        }
    }

    fn find<T>(&self, f: impl Fn(&Obj) -> Option<T>) -> Option<T> {
        self.objs.iter().rev().find_map(f)
    }

    fn cur_line(&self) -> Option<usize> {
        self.find(|o| match o {
            Obj::Line(l) => Some(*l),
            _ => None,
        })
    }

    fn cur_party(&self) -> Option<usize> {
        self.find(|o| match o {
            Obj::Party(p) => Some(*p),
            _ => None,
        })
    }

    fn allowance(&mut self) -> Option<&mut AllowanceCharge> {
        let r = self.find(|o| match o {
            Obj::Allowance(a) => Some(*a),
            _ => None,
        })?;
        match r {
            AcRef::Doc(i) => self.doc.allowances_charges.get_mut(i),
            AcRef::Line(l, i) => self.doc.lines.get_mut(l)?.allowances_charges.get_mut(i),
        }
    }

    fn payment(&mut self) -> Option<&mut PaymentTerms> {
        let i = self.find(|o| match o {
            Obj::Payment(i) => Some(*i),
            _ => None,
        })?;
        self.doc.payment_terms.get_mut(i)
    }

    fn tax(&mut self) -> Option<&mut TaxSubtotal> {
        let i = self.find(|o| match o {
            Obj::Tax(i) => Some(*i),
            _ => None,
        })?;
        self.doc.tax_subtotals.get_mut(i)
    }

    fn package(&mut self) -> Option<&mut Package> {
        let i = self.find(|o| match o {
            Obj::Package(i) => Some(*i),
            _ => None,
        })?;
        self.doc.packages.get_mut(i)
    }

    fn contact(&mut self) -> Option<&mut Contact> {
        let (p, i) = self.find(|o| match o {
            Obj::Contact(p, i) => Some((*p, *i)),
            _ => None,
        })?;
        self.doc.parties.get_mut(p)?.contacts.get_mut(i)
    }

    fn party(&mut self) -> Option<&mut Party> {
        let p = self.cur_party()?;
        self.doc.parties.get_mut(p)
    }

    fn line(&mut self) -> Option<&mut crate::model::Line> {
        let l = self.cur_line()?;
        self.doc.lines.get_mut(l)
    }

    fn warn(&mut self, code: &str, line: u32, msg: String) {
        let loc = self.loc(self.path(), line);
        self.diags.push(Diagnostic::warning(code, loc, msg));
    }

    fn apply_rule(&mut self, rule: &Rule, text: &str, attrs: &[Attr], line: u32) {
        let get = |name: &str| {
            attrs
                .iter()
                .find(|a| a.local == name)
                .map(|a| a.value.as_str())
        };
        for (a, values) in &rule.when {
            match get(a) {
                Some(v) if values.iter().any(|x| x == v) => {}
                _ => return,
            }
        }
        for (a, values) in &rule.unless {
            if let Some(v) = get(a) {
                if values.iter().any(|x| x == v) {
                    return;
                }
            }
        }
        let raw = match &rule.attr {
            Some(a) => match get(a) {
                Some(v) => v.trim(),
                None => return,
            },
            None => text,
        };
        if raw.is_empty() {
            return;
        }
        let value = match rule.table {
            Some(t) => match self.mapping.and_then(|m| m.lookup(t, raw)) {
                Some(v) => v.to_string(),
                None => {
                    if rule.target == XTarget::DocumentType {
                        return;
                    }
                    raw.to_string()
                }
            },
            None => raw.to_string(),
        };
        self.set(&rule.target, None, value, line);
    }

    fn set(&mut self, target: &XTarget, _kind: Option<String>, v: String, line: u32) {
        match target {
            XTarget::DocumentType => {
                if let Some(t) = DocumentType::from_name(&v) {
                    self.doc.document_type = t;
                }
            }
            XTarget::OriginVersion => self.doc.origin.version = Some(v),
            XTarget::OriginProfile => self.doc.origin.profile = Some(v),
            XTarget::OriginSender => self.doc.origin.sender = Some(v),
            XTarget::OriginRecipient => self.doc.origin.recipient = Some(v),
            XTarget::OriginMessageRef => self.doc.origin.message_ref = Some(v),
            XTarget::Qualifier | XTarget::Value => {
                if let Some(Obj::Qualified {
                    qualifier, value, ..
                }) = self.objs.last_mut()
                {
                    if *target == XTarget::Qualifier {
                        *qualifier = Some(v);
                    } else {
                        *value = Some(v);
                    }
                }
            }
            XTarget::Canonical(t) => {
                let kind = match t.kind() {
                    Some(Kind::Fixed(k)) => k.clone(),
                    _ => String::new(),
                };
                match t.value_type() {
                    ValueType::Text => self.set_text(t, kind, v),
                    ValueType::Date => self.set_date(t, kind, normalize_date(&v)),
                    ValueType::Decimal => match parse_decimal(&v) {
                        Some(d) => self.set_decimal(t, kind, d),
                        None => self.warn("invalid-value", line, format!("not a number: {v:?}")),
                    },
                    ValueType::Integer => match v.trim().parse::<u32>() {
                        Ok(n) => self.set_integer(t, n),
                        Err(_) => {
                            self.warn("invalid-value", line, format!("not a whole number: {v:?}"))
                        }
                    },
                }
            }
        }
    }

    fn set_text(&mut self, t: &Target, kind: String, v: String) {
        use Target::*;
        match t {
            Number => self.doc.number = v,
            DocumentCode => self.doc.document_code = Some(v),
            Function => self.doc.function = Some(MessageFunction::from_code(&v)),
            ResponseCode => self.doc.response_code = Some(v),
            Currency if self.doc.currency.is_none() => self.doc.currency = Some(v),
            DeliveryTerms => self.doc.delivery_terms = Some(v),
            Reference(_) => self.doc.references.push(crate::model::Reference {
                kind,
                value: v,
                date: None,
            }),
            LineReference(_) => {
                if let Some(l) = self.line() {
                    l.references.push(crate::model::Reference {
                        kind,
                        value: v,
                        date: None,
                    });
                }
            }
            Note => {
                let open = self.find(|o| match o {
                    Obj::Note(i) => Some(*i),
                    _ => None,
                });
                match open.and_then(|i| self.doc.notes.get_mut(i)) {
                    Some(n) => {
                        if !n.text.is_empty() {
                            n.text.push(' ');
                        }
                        n.text.push_str(&v);
                    }
                    None => self.doc.notes.push(crate::model::Note {
                        subject: None,
                        text: v,
                    }),
                }
            }
            NoteSubject => {
                let open = self.find(|o| match o {
                    Obj::Note(i) => Some(*i),
                    _ => None,
                });
                if let Some(n) = open.and_then(|i| self.doc.notes.get_mut(i)) {
                    n.subject = Some(v);
                }
            }
            LineNote => {
                if let Some(l) = self.line() {
                    l.notes.push(v);
                }
            }
            PartyRole => {
                if let Some(p) = self.party() {
                    p.role = crate::model::PartyRole::from_name(&v);
                }
            }
            PartyGln | PartyId | PartyIdAgency | PartyName | PartyStreet | PartyCity
            | PartyPostalCode | PartyRegion | PartyCountry | PartyVatId | PartySiret
            | PartyReference(_) => {
                let Some(p) = self.party() else { return };
                match t {
                    PartyGln => p.gln = Some(v),
                    PartyId => {
                        if p.id.is_none() {
                            p.id = Some(v)
                        }
                    }
                    PartyIdAgency => p.id_agency = Some(v),
                    PartyName => {
                        if p.name.is_none() {
                            p.name = Some(v)
                        }
                    }
                    PartyStreet => p.address.street.push(v),
                    PartyCity => p.address.city = Some(v),
                    PartyPostalCode => p.address.postal_code = Some(v),
                    PartyRegion => p.address.region = Some(v),
                    PartyCountry => p.address.country = Some(v),
                    PartyVatId => {
                        if p.vat_id.is_none() {
                            p.vat_id = Some(v)
                        }
                    }
                    PartySiret => p.siret = Some(v),
                    _ => p.references.push(crate::model::Reference {
                        kind,
                        value: v,
                        date: None,
                    }),
                }
            }
            ContactFunction | ContactName | ContactComm(_) => {
                let Some(c) = self.contact() else { return };
                match t {
                    ContactFunction => c.function = Some(v),
                    ContactName => c.name = Some(v),
                    _ => match kind.as_str() {
                        "phone" => c.phone = Some(v),
                        "email" => c.email = Some(v),
                        "fax" => c.fax = Some(v),
                        _ => {}
                    },
                }
            }
            LineNumber | LineParent | LineAction | LineItem(_) | LineDescription
            | LineTaxCategory | LineBatch => {
                let Some(line) = self.line() else { return };
                match t {
                    LineNumber => line.line_number = Some(v),
                    LineParent => line.parent_line = Some(v),
                    LineAction => line.action = Some(v),
                    LineDescription => {
                        if line.description.is_none() {
                            line.description = Some(v)
                        }
                    }
                    LineTaxCategory => line.tax_category = Some(v),
                    LineBatch => line.batch = Some(v),
                    _ => match kind.as_str() {
                        "gtin" => line.gtin = Some(v),
                        "seller_item_code" => line.seller_item_code = Some(v),
                        "buyer_item_code" => line.buyer_item_code = Some(v),
                        _ => line.item_ids.push(crate::model::Reference {
                            kind,
                            value: v,
                            date: None,
                        }),
                    },
                }
            }
            QuantityUnit => {
                if let Some((l, other)) = self.last_qty {
                    if let Some(line) = self.doc.lines.get_mut(l) {
                        let q = match other {
                            None => line.quantity.as_mut(),
                            Some(i) => line.other_quantities.get_mut(i),
                        };
                        if let Some(q) = q {
                            q.unit = Some(v);
                        }
                    }
                }
            }
            AllowanceKind => {
                let charge = matches!(v.as_str(), "true" | "charge" | "C" | "1");
                if let Some(a) = self.allowance() {
                    a.kind = if charge {
                        AllowanceChargeKind::Charge
                    } else {
                        AllowanceChargeKind::Allowance
                    };
                }
            }
            AllowanceReason => {
                if let Some(a) = self.allowance() {
                    a.reason_code = Some(v)
                }
            }
            AllowanceDescription => {
                if let Some(a) = self.allowance() {
                    a.description = Some(v)
                }
            }
            AllowanceTaxCategory => {
                if let Some(a) = self.allowance() {
                    a.tax_category = Some(v)
                }
            }
            PaymentType => {
                if let Some(p) = self.payment() {
                    p.terms_type = Some(v)
                }
            }
            PaymentDescription => {
                if let Some(p) = self.payment() {
                    match &mut p.description {
                        Some(d) => {
                            d.push(' ');
                            d.push_str(&v);
                        }
                        None => p.description = Some(v),
                    }
                }
            }
            PaymentBasis => {
                if let Some(p) = self.payment() {
                    p.end_of_month = v == "end_of_month";
                }
            }
            TaxCategory => {
                if let Some(x) = self.tax() {
                    x.category = Some(v)
                }
            }
            TaxExemption => {
                if let Some(x) = self.tax() {
                    x.exemption_reason = Some(v)
                }
            }
            PackageId => {
                if let Some(p) = self.package() {
                    p.id = v
                }
            }
            PackageParent => {
                if let Some(p) = self.package() {
                    p.parent_id = Some(v)
                }
            }
            PackageType => {
                if let Some(p) = self.package() {
                    p.package_type = Some(v)
                }
            }
            PackageSscc => {
                if let Some(p) = self.package() {
                    p.sscc.push(v)
                }
            }
            AckStatus => {
                if let Some(s) = crate::mapping::convert::ack_status(&v) {
                    self.doc
                        .acknowledgement
                        .get_or_insert_with(|| crate::model::Acknowledgement::new(s))
                        .status = s;
                }
            }
            AckDocumentRef => {
                self.doc
                    .acknowledgement
                    .get_or_insert_with(|| {
                        crate::model::Acknowledgement::new(crate::model::AckStatus::Received)
                    })
                    .document_ref = Some(v);
            }
            AckIssueText | AckIssueCode => {
                let ack = self.doc.acknowledgement.get_or_insert_with(|| {
                    crate::model::Acknowledgement::new(crate::model::AckStatus::Received)
                });
                if *t == AckIssueCode || ack.issues.is_empty() {
                    ack.issues.push(crate::model::AckIssue::default());
                }
                if let Some(i) = ack.issues.last_mut() {
                    if *t == AckIssueCode {
                        i.code = Some(v);
                    } else {
                        i.text = Some(v);
                    }
                }
            }
            _ => {}
        }
    }

    fn set_decimal(&mut self, t: &Target, kind: String, d: Decimal) {
        use Target::*;
        match t {
            Totals(_) => {
                let x = &mut self.doc.totals;
                let slot = match kind.as_str() {
                    "line_total" => &mut x.line_total,
                    "allowance_total" => &mut x.allowance_total,
                    "charge_total" => &mut x.charge_total,
                    "tax_exclusive" => &mut x.tax_exclusive,
                    "tax_total" => &mut x.tax_total,
                    "tax_inclusive" => &mut x.tax_inclusive,
                    "prepaid" => &mut x.prepaid,
                    "payable" => &mut x.payable,
                    _ => return,
                };
                if slot.is_none() {
                    *slot = Some(d);
                }
            }
            LineQuantity(_) => {
                let Some(l) = self.cur_line() else { return };
                let Some(line) = self.doc.lines.get_mut(l) else {
                    return;
                };
                if kind == "main" {
                    line.quantity = Some(Quantity::new(d));
                    self.last_qty = Some((l, None));
                } else {
                    line.other_quantities.push(Quantity {
                        kind: Some(kind),
                        value: d,
                        unit: None,
                    });
                    self.last_qty = Some((l, Some(line.other_quantities.len() - 1)));
                }
            }
            LinePrice(_) | LinePriceBasis | LineAmount | LineTaxRate => {
                let Some(line) = self.line() else { return };
                match t {
                    LinePrice(_) => match kind.as_str() {
                        "net" => line.net_unit_price = Some(d),
                        "gross" => line.gross_unit_price = Some(d),
                        _ => {}
                    },
                    LinePriceBasis => line.price_basis_quantity = Some(d),
                    LineAmount => {
                        if line.line_amount.is_none() {
                            line.line_amount = Some(d)
                        }
                    }
                    _ => line.tax_rate = Some(d),
                }
            }
            AllowancePercentage | AllowanceAmount | AllowanceBase | AllowanceTaxRate => {
                let Some(a) = self.allowance() else { return };
                match t {
                    AllowancePercentage => a.percentage = Some(d),
                    AllowanceAmount => a.amount = Some(d.abs()),
                    AllowanceBase => a.base_amount = Some(d),
                    _ => a.tax_rate = Some(d),
                }
            }
            PaymentPercentage => {
                if let Some(p) = self.payment() {
                    p.percentage = Some(d)
                }
            }
            PaymentAmount => {
                if let Some(p) = self.payment() {
                    p.amount = Some(d)
                }
            }
            TaxRate | TaxTaxable | TaxAmount => {
                let Some(x) = self.tax() else { return };
                match t {
                    TaxRate => x.rate = Some(d),
                    TaxTaxable => x.taxable_amount = Some(d),
                    _ => x.tax_amount = Some(d),
                }
            }
            PackageCount => {
                if let Some(p) = self.package() {
                    p.count = Some(d)
                }
            }
            PackageWeight => {
                if let Some(p) = self.package() {
                    p.gross_weight_kg = Some(d)
                }
            }
            _ => {}
        }
    }

    fn set_integer(&mut self, t: &Target, n: u32) {
        match t {
            Target::PaymentDays => {
                if let Some(p) = self.payment() {
                    p.days = Some(n)
                }
            }
            Target::AllowanceSequence => {
                if let Some(a) = self.allowance() {
                    a.sequence = Some(n)
                }
            }
            _ => {}
        }
    }

    fn set_date(&mut self, t: &Target, kind: String, iso: String) {
        match t {
            Target::Date(_) if !self.doc.dates.iter().any(|d| d.kind == kind) => {
                self.doc.dates.push(DateEntry { kind, value: iso });
            }
            Target::LineDate(_) => {
                if let Some(l) = self.line() {
                    l.dates.push(DateEntry { kind, value: iso });
                }
            }
            Target::ReferenceDate => {
                if let Some(r) = self.doc.references.last_mut() {
                    r.date = Some(iso);
                }
            }
            Target::PaymentDueDate => {
                if let Some(p) = self.payment() {
                    p.due_date = Some(iso);
                }
            }
            _ => {}
        }
    }

    /// The document and its diagnostics. Checks that every sub-line's
    /// parent line exists and comes before it.
    pub fn finish(mut self) -> Result<(Document, Vec<Diagnostic>), XmlError> {
        let Some(m) = self.mapping else {
            return Err(XmlError::NoRoot);
        };
        self.doc.origin.format = self.format.to_string();
        self.doc.origin.message_type = Some(m.message_type.clone());
        if self.doc.origin.profile.is_none() {
            self.doc.origin.profile = m.standard.clone();
        }
        // Empty objects a mapping opened but filled nothing in.
        self.doc.parties.retain(|p| {
            p.role != PartyRole::Other(String::new())
                || p.name.is_some()
                || p.identifier().is_some()
        });
        let mut seen: Vec<&str> = Vec::new();
        let mut errors = Vec::new();
        for (i, l) in self.doc.lines.iter().enumerate() {
            if let Some(parent) = &l.parent_line {
                if !seen.contains(&parent.as_str()) {
                    let later = self.doc.lines[i + 1..]
                        .iter()
                        .any(|x| x.line_number.as_deref() == Some(parent.as_str()));
                    let (path, line) = self.line_locs.get(i).cloned().unwrap_or_default();
                    let why = if later {
                        "comes after it: a parent line must precede its sub-lines"
                    } else {
                        "does not exist"
                    };
                    errors.push(Diagnostic::error(
                        "unresolved-parent-line",
                        Location {
                            file: self.file.clone(),
                            tag: Some(path),
                            line: Some(line),
                            ..Location::default()
                        },
                        format!(
                            "line {}: parent line {parent:?} {why}",
                            l.line_number.as_deref().unwrap_or("?")
                        ),
                    ));
                }
            }
            if let Some(n) = &l.line_number {
                seen.push(n);
            }
        }
        self.diags.extend(errors);
        if self.doc.number.is_empty() {
            let loc = self.loc(
                format!("/{}", m.roots.first().map(|r| r.1.as_str()).unwrap_or("")),
                self.root_line,
            );
            self.diags.push(Diagnostic::error(
                "missing-number",
                loc,
                "the document has no number (ID)",
            ));
        }
        Ok((self.doc, self.diags))
    }
}

impl Handler for Applier<'_> {
    fn start(
        &mut self,
        ns: &str,
        local: &str,
        qname: &str,
        attrs: &[Attr],
        line: u32,
    ) -> Result<(), XmlError> {
        let index = match self.frames.last_mut() {
            Some(parent) => match parent.children.iter_mut().find(|(n, _)| n == qname) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    parent.children.push((qname.to_string(), 1));
                    1
                }
            },
            None => 1,
        };
        let Some(m) = self.mapping else {
            // The root element picks the mapping.
            let m = self
                .maps
                .for_root(ns, local)
                .ok_or_else(|| XmlError::UnknownRoot {
                    namespace: ns.to_string(),
                    local: local.to_string(),
                    line,
                })?;
            self.mapping = Some(m);
            self.doc.document_type = m.document_type;
            self.root_line = line;
            self.frames.push(Frame {
                node: Some(0),
                opened: false,
                qname: qname.to_string(),
                index,
                children: Vec::new(),
                attrs: attrs.to_vec(),
            });
            return Ok(());
        };
        let parent = self.frames.last().and_then(|f| f.node);
        let child = parent.and_then(|p| m.child(p, m.ns_id(ns), local));
        let mut frame = Frame {
            node: child,
            opened: false,
            qname: qname.to_string(),
            index,
            children: Vec::new(),
            attrs: Vec::new(),
        };
        if let Some(c) = child {
            let node = &m.nodes[c as usize];
            if !node.rules.is_empty() {
                frame.attrs = attrs.to_vec();
            }
            if let Some(def) = node.open {
                frame.opened = true;
                frame.node = m.objects.get(def).map(|d| d.root);
                self.frames.push(frame);
                self.open(def, line);
                return Ok(());
            }
        }
        self.frames.push(frame);
        Ok(())
    }

    fn end(&mut self, text: &str, line: u32) -> Result<(), XmlError> {
        let Some(m) = self.mapping else {
            return Ok(());
        };
        let Some(frame) = self.frames.last() else {
            return Ok(());
        };
        if !frame.opened {
            if let Some(n) = frame.node {
                let rules = &m.nodes[n as usize].rules;
                if !rules.is_empty() {
                    let attrs = frame.attrs.clone();
                    for pass_attr in [false, true] {
                        for r in rules.iter().filter(|r| r.attr.is_some() == pass_attr) {
                            self.apply_rule(r, text, &attrs, line);
                        }
                    }
                }
            }
        }
        if let Some(f) = self.frames.pop() {
            if f.opened {
                self.close();
            }
        }
        Ok(())
    }
}
