//! Running a compiled mapping over one message, segment by segment.
//!
//! [`MessageMapper`] is fed the segments of one message as the envelope
//! reader produces them. For each segment it finds the segment's place in
//! the group structure (staying in the current group, opening a sub-group,
//! or closing groups until one accepts the tag), runs the rules indexed by
//! `(group, tag)` whose conditions hold, and writes into the [`Document`]
//! under construction. Objects a rule creates (a party at NAD, a line at
//! LIN…) stay current while their group instance is open, so a line's
//! PIA/QTY/PRI/MOA land on that line and nowhere else. Nothing is buffered
//! but the document itself: memory follows the document, not the input.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::compile::{CompiledMapping, NewKind, Resolution, Rule, Source, Tag, ONCE};
use super::convert;
use super::target::{Kind, Target, ValueType};
use crate::diagnostics::{Diagnostic, Location, Severity};
use crate::formats::edifact::{GroupHeader, InterchangeHeader, MessageHeader, Segment};
use crate::model::{
    AckIssue, AckStatus, AckedMessage, Acknowledgement, AllowanceCharge, AllowanceChargeKind,
    Contact, DateEntry, Document, MessageFunction, Note, Package, Party, PartyRole, PaymentTerms,
    Quantity, TaxSubtotal,
};

/// An object created by a rule and still open, with the depth of the group
/// frame that created it (it closes with that frame).
#[derive(Debug, Clone, Copy)]
struct Cur<T: Copy> {
    value: T,
    depth: usize,
}

#[derive(Debug, Clone, Copy)]
enum AcRef {
    Doc(usize),
    Line(usize, usize),
}

#[derive(Debug, Clone, Copy)]
enum RefRef {
    Doc(usize),
    Line(usize, usize),
    Party(usize, usize),
}

#[derive(Debug, Clone, Copy)]
enum QtyRef {
    Main(usize),
    Other(usize, usize),
}

#[derive(Debug, Default, Clone, Copy)]
struct Currents {
    party: Option<Cur<usize>>,
    contact: Option<Cur<(usize, usize)>>,
    line: Option<Cur<usize>>,
    allowance: Option<Cur<AcRef>>,
    payment: Option<Cur<usize>>,
    tax: Option<Cur<usize>>,
    package: Option<Cur<usize>>,
    reference: Option<Cur<RefRef>>,
    quantity: Option<Cur<QtyRef>>,
    note: Option<Cur<usize>>,
    ack_message: Option<Cur<usize>>,
    ack_issue: Option<Cur<usize>>,
}

macro_rules! close_deeper {
    ($c:expr, $len:expr, $($f:ident),*) => {
        $( if $c.$f.is_some_and(|x| x.depth >= $len) { $c.$f = None; } )*
    };
}

impl Currents {
    fn close_from(&mut self, len: usize) {
        close_deeper!(
            self,
            len,
            party,
            contact,
            line,
            allowance,
            payment,
            tax,
            package,
            reference,
            quantity,
            note,
            ack_message,
            ack_issue
        );
    }
}

/// Maps one message. Create it at UNH, feed it every segment, finish at UNT.
pub struct MessageMapper<'m> {
    mapping: &'m CompiledMapping,
    doc: Document,
    /// Open group frames; frame 0 is the root.
    stack: Vec<u16>,
    /// 0 = header/detail, 1 = after the separator (UNS).
    section: u8,
    cur: Currents,
    counts: Vec<(Tag, u32)>,
    diagnostics: Vec<Diagnostic>,
    base: Location,
}

/// True when none of `sources` can give a value: each reads an element or
/// component that is absent or empty in `seg` (a literal always gives one).
#[inline]
fn all_absent(seg: &Segment<'_>, sources: &[Source]) -> bool {
    sources.iter().all(|src| match src {
        Source::Path(p) | Source::Table(_, p) => {
            seg.raw(p.element as usize, p.component as usize).is_none()
        }
        Source::Literal(_) => false,
    })
}

fn tag_of(seg: &Segment<'_>) -> Tag {
    match seg.tag_bytes() {
        [a, b, c] => [*a, *b, *c],
        // X12 2-character tags, padded like `compile::tag3`.
        [a, b] => [*a, *b, b' '],
        _ => [0; 3],
    }
}

impl<'m> MessageMapper<'m> {
    /// Starts mapping a message. `base` locates the message (file,
    /// interchange, message index and reference) for diagnostics.
    pub fn new(mapping: &'m CompiledMapping, base: Location) -> MessageMapper<'m> {
        let mut stack = Vec::with_capacity(8);
        stack.push(0);
        MessageMapper {
            mapping,
            doc: Document::new(mapping.document_type, String::new()),
            stack,
            section: 0,
            cur: Currents::default(),
            counts: Vec::new(),
            diagnostics: Vec::new(),
            base,
        }
    }

    /// Reserves room for `n` lines, e.g. as many as the previous message
    /// of the stream had: the lines vector then grows (and moves its
    /// lines) once rather than at every doubling.
    pub fn reserve_lines(&mut self, n: usize) {
        self.doc.lines.reserve(n);
    }

    fn loc(&self, seg: &Segment<'_>, position: u32) -> Location {
        Location {
            segment: Some(position),
            tag: Some(seg.tag().into_owned()),
            line: Some(seg.line),
            offset: Some(seg.offset),
            ..self.base.clone()
        }
    }

    /// Places `tag` (dense id `id`, `None` when the mapping does not know
    /// the tag) in the structure; returns the group it belongs to.
    fn resolve(&mut self, tag: Tag, id: Option<usize>) -> Option<u16> {
        let m = self.mapping;
        if m.separator == Some(tag) {
            self.stack.truncate(1);
            self.cur.close_from(1);
            self.section = 1;
            return Some(0);
        }
        let id = id?;
        let d = &m.dense;
        let n = d.tags.len();
        let summary_level = m.groups.len();
        for depth in (0..self.stack.len()).rev() {
            let g = self.stack[depth];
            let level = if g == 0 && self.section == 1 {
                summary_level
            } else {
                g as usize
            };
            if let Some(r) = d.resolution[level * n + id] {
                // Objects of a frame close with it (nothing is deeper
                // than the top frame, so staying there closes nothing).
                if depth + 1 < self.stack.len() {
                    self.stack.truncate(depth + 1);
                    self.cur.close_from(depth + 1);
                }
                return Some(match r {
                    Resolution::Member => g,
                    Resolution::Child(c) => {
                        self.stack.push(c);
                        c
                    }
                });
            }
        }
        // A message without a section separator (D.96A DESADV: CNT right
        // after the last line group) enters its summary at the first
        // summary segment the open groups do not take.
        if m.separator.is_none() && self.section == 0 {
            if let Some(r) = d.resolution[summary_level * n + id] {
                self.stack.truncate(1);
                self.cur.close_from(1);
                self.section = 1;
                return Some(match r {
                    Resolution::Member => 0,
                    Resolution::Child(c) => {
                        self.stack.push(c);
                        c
                    }
                });
            }
        }
        None
    }

    /// Maps one segment of the message; `position` is its position in the
    /// message (UNH = 1).
    pub fn segment(&mut self, seg: &Segment<'_>, position: u32) {
        let tag = tag_of(seg);
        let m = self.mapping;
        let id = m.dense.tags.get(tag);
        let group = match self.resolve(tag, id) {
            Some(g) => g,
            None if m.lenient => self.stack.last().copied().unwrap_or(0),
            None => {
                let g = self.stack.last().copied().unwrap_or(0);
                let where_ = if g == 0 {
                    "at message level".to_string()
                } else {
                    format!("in group {:?}", m.groups[g as usize].name)
                };
                let loc = self.loc(seg, position);
                self.diagnostics.push(
                    Diagnostic::warning(
                        "unexpected-segment",
                        loc,
                        format!(
                            "segment {} is not expected {where_} by the {} structure; its data is not mapped",
                            seg.tag(),
                            m.message_type
                        ),
                    )
                    .with_syntax_error("15"),
                );
                g
            }
        };
        let flags = id.map_or(0, |id| m.dense.flags[id]);
        if flags != 0 {
            let count = match self.counts.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    self.counts.push((tag, 1));
                    1
                }
            };
            if flags & ONCE != 0 && count == 2 {
                let loc = self.loc(seg, position);
                self.diagnostics.push(
                    Diagnostic::error(
                        "repeated-segment",
                        loc,
                        format!("segment {} may occur only once in a message", seg.tag()),
                    )
                    .with_syntax_error("35"),
                );
            }
        }
        let actions = id
            .map(|id| m.dense.actions[group as usize * m.dense.tags.len() + id])
            .filter(|&i| i != u32::MAX)
            .map(|i| &m.actions[group as usize][i as usize].1);
        if let Some(actions) = actions {
            for c in &actions.checks {
                self.check(seg, position, c);
            }
            for &ri in &actions.rules {
                let rule = &m.rules[ri as usize];
                if self.matches(rule, seg) {
                    self.apply(rule, seg, position);
                }
            }
        }
    }

    fn check(&mut self, seg: &Segment<'_>, position: u32, c: &super::compile::Check) {
        let path = c.path;
        let value = seg.text(path.element as usize, path.component as usize);
        let problem = match &value {
            None if c.required => Some(("13", "a required value is missing".to_string())),
            None => None,
            Some(v) => {
                if let Some(max) = c.max_length.filter(|&max| v.chars().count() > max) {
                    Some((
                        "39",
                        format!("{v:?} is longer than the {max} characters allowed"),
                    ))
                } else if c.numeric && crate::formats::edifact::parse_decimal(v.as_bytes()).is_err()
                {
                    Some(("12", format!("not a number: {v:?}")))
                } else {
                    c.table
                        .filter(|&t| self.code(t, v.as_ref()).is_none())
                        .map(|t| {
                            (
                                "12",
                                format!(
                                    "code {v:?} is not in the code list {}",
                                    self.table_name(t)
                                ),
                            )
                        })
                }
            }
        };
        if let Some((syntax, msg)) = problem {
            let loc = self
                .loc(seg, position)
                .at_element(u32::from(path.element), Some(u32::from(path.component)));
            self.diagnostics
                .push(Diagnostic::error("invalid-value", loc, msg).with_syntax_error(syntax));
        }
    }

    fn table_name(&self, table: usize) -> String {
        self.mapping
            .spec
            .codes
            .keys()
            .nth(table)
            .cloned()
            .unwrap_or_default()
    }

    fn matches(&self, rule: &Rule, seg: &Segment<'_>) -> bool {
        rule.conds.iter().all(|c| {
            let hit = match seg.raw(c.path.element as usize, c.path.component as usize) {
                None => c.empty_ok,
                Some(raw) => c.accepted.iter().any(|a| a.as_slice() == raw),
            };
            hit != c.negate
        })
    }

    /// The canonical name of `code` in `table`, without the `*` template.
    fn code(&self, table: usize, code: &str) -> Option<&'m str> {
        let t: &'m [(String, String)] = &self.mapping.tables[table];
        t.binary_search_by(|(k, _)| k.as_str().cmp(code))
            .ok()
            .map(|i| t[i].1.as_str())
    }

    /// The canonical name of `code` in `table`, the `*` template applied
    /// to codes the table does not list.
    fn lookup(&self, table: usize, code: &str) -> Option<Cow<'m, str>> {
        if let Some(v) = self.code(table, code) {
            return Some(Cow::Borrowed(v));
        }
        self.code(table, "*")
            .map(|tpl| Cow::Owned(tpl.replace("{}", code)))
    }

    fn source_text<'s>(&self, seg: &Segment<'s>, src: &'s Source) -> Option<Cow<'s, str>>
    where
        'm: 's,
    {
        match src {
            Source::Literal(s) => Some(Cow::Borrowed(s.as_str())),
            Source::Path(p) => seg.text(p.element as usize, p.component as usize),
            Source::Table(t, p) => self.coded(seg, *t, *p),
        }
    }

    /// The code at `p` looked up in `table`. Codes are short and ASCII:
    /// the common case compares the raw bytes without decoding them.
    fn coded(
        &self,
        seg: &Segment<'_>,
        table: usize,
        p: super::compile::Path,
    ) -> Option<Cow<'m, str>> {
        let raw = seg.raw(p.element as usize, p.component as usize)?;
        if raw.is_ascii() && !seg.has_release(raw) {
            let t: &'m [(String, String)] = &self.mapping.tables[table];
            let found = match self.mapping.code_index[table].get(raw) {
                Some(hit) => hit,
                None => t.binary_search_by(|(k, _)| k.as_bytes().cmp(raw)).ok(),
            };
            if let Some(i) = found {
                return Some(Cow::Borrowed(t[i].1.as_str()));
            }
        }
        let code = seg.text(p.element as usize, p.component as usize)?;
        self.lookup(table, &code)
    }

    fn kind(&self, seg: &Segment<'_>, kind: &'m Kind) -> Option<Cow<'m, str>> {
        match kind {
            Kind::Fixed(s) => Some(Cow::Borrowed(s.as_str())),
            Kind::Table(t, p) => self.coded(seg, *t, *p),
        }
    }

    fn create(&mut self, new: NewKind) {
        let depth = self.stack.len() - 1;
        let doc = &mut self.doc;
        let c = &mut self.cur;
        match new {
            NewKind::Party => {
                doc.parties
                    .push(Party::new(PartyRole::Other(String::new())));
                c.party = Some(Cur {
                    value: doc.parties.len() - 1,
                    depth,
                });
            }
            NewKind::Contact => {
                let p = self.ensure_party();
                let doc = &mut self.doc;
                doc.parties[p].contacts.push(Contact::default());
                let i = doc.parties[p].contacts.len() - 1;
                self.cur.contact = Some(Cur {
                    value: (p, i),
                    depth,
                });
            }
            NewKind::Line => {
                let package_id = c
                    .package
                    .and_then(|pk| doc.packages.get(pk.value).map(|p| p.id.clone()));
                // Built in place (a line is large: no copy through the stack).
                doc.lines.push(crate::model::Line {
                    package_id,
                    ..crate::model::Line::default()
                });
                c.line = Some(Cur {
                    value: doc.lines.len() - 1,
                    depth,
                });
                c.quantity = None;
            }
            NewKind::Allowance => {
                doc.allowances_charges
                    .push(AllowanceCharge::new(AllowanceChargeKind::Allowance));
                c.allowance = Some(Cur {
                    value: AcRef::Doc(doc.allowances_charges.len() - 1),
                    depth,
                });
            }
            NewKind::LineAllowance => {
                let l = self.ensure_line();
                let acs = &mut self.doc.lines[l].allowances_charges;
                acs.push(AllowanceCharge::new(AllowanceChargeKind::Allowance));
                self.cur.allowance = Some(Cur {
                    value: AcRef::Line(l, acs.len() - 1),
                    depth,
                });
            }
            NewKind::PaymentTerms => {
                doc.payment_terms.push(PaymentTerms::default());
                c.payment = Some(Cur {
                    value: doc.payment_terms.len() - 1,
                    depth,
                });
            }
            NewKind::TaxSubtotal => {
                doc.tax_subtotals.push(TaxSubtotal {
                    category: None,
                    rate: None,
                    taxable_amount: None,
                    tax_amount: None,
                    exemption_reason: None,
                });
                c.tax = Some(Cur {
                    value: doc.tax_subtotals.len() - 1,
                    depth,
                });
            }
            NewKind::Package => {
                doc.packages.push(Package::default());
                c.package = Some(Cur {
                    value: doc.packages.len() - 1,
                    depth,
                });
            }
            NewKind::Note => {
                doc.notes.push(Note {
                    subject: None,
                    text: String::new(),
                });
                c.note = Some(Cur {
                    value: doc.notes.len() - 1,
                    depth,
                });
            }
            NewKind::AckMessage => {
                let ack = self.ack();
                ack.messages.push(AckedMessage {
                    reference: String::new(),
                    message_type: None,
                    status: AckStatus::Received,
                });
                let i = ack.messages.len() - 1;
                self.cur.ack_message = Some(Cur { value: i, depth });
            }
            NewKind::AckIssue => {
                let msg_ref = self
                    .cur
                    .ack_message
                    .and_then(|m| self.doc.acknowledgement.as_ref()?.messages.get(m.value))
                    .map(|m| m.reference.clone());
                let ack = self.ack();
                ack.issues.push(AckIssue {
                    message_ref: msg_ref,
                    ..AckIssue::default()
                });
                let i = ack.issues.len() - 1;
                self.cur.ack_issue = Some(Cur { value: i, depth });
            }
        }
    }

    fn ack(&mut self) -> &mut Acknowledgement {
        self.doc
            .acknowledgement
            .get_or_insert_with(|| Acknowledgement::new(AckStatus::Received))
    }

    fn ensure_party(&mut self) -> usize {
        match self.cur.party {
            Some(p) => p.value,
            None => {
                self.create(NewKind::Party);
                self.doc.parties.len() - 1
            }
        }
    }

    fn ensure_line(&mut self) -> usize {
        match self.cur.line {
            Some(l) => l.value,
            None => {
                self.create(NewKind::Line);
                self.doc.lines.len() - 1
            }
        }
    }

    fn allowance(&mut self) -> &mut AllowanceCharge {
        let r = match self.cur.allowance {
            Some(a) => a.value,
            None => {
                self.create(NewKind::Allowance);
                AcRef::Doc(self.doc.allowances_charges.len() - 1)
            }
        };
        match r {
            AcRef::Doc(i) => &mut self.doc.allowances_charges[i],
            AcRef::Line(l, i) => &mut self.doc.lines[l].allowances_charges[i],
        }
    }

    fn payment(&mut self) -> &mut PaymentTerms {
        let i = match self.cur.payment {
            Some(p) => p.value,
            None => {
                self.create(NewKind::PaymentTerms);
                self.doc.payment_terms.len() - 1
            }
        };
        &mut self.doc.payment_terms[i]
    }

    fn tax(&mut self) -> &mut TaxSubtotal {
        let i = match self.cur.tax {
            Some(p) => p.value,
            None => {
                self.create(NewKind::TaxSubtotal);
                self.doc.tax_subtotals.len() - 1
            }
        };
        &mut self.doc.tax_subtotals[i]
    }

    fn package(&mut self) -> &mut Package {
        let i = match self.cur.package {
            Some(p) => p.value,
            None => {
                self.create(NewKind::Package);
                self.doc.packages.len() - 1
            }
        };
        &mut self.doc.packages[i]
    }

    fn contact(&mut self) -> &mut Contact {
        let (p, i) = match self.cur.contact {
            Some(c) => c.value,
            None => {
                self.create(NewKind::Contact);
                let p = self.ensure_party();
                (p, self.doc.parties[p].contacts.len() - 1)
            }
        };
        &mut self.doc.parties[p].contacts[i]
    }

    fn ack_message(&mut self) -> &mut AckedMessage {
        let i = match self.cur.ack_message {
            Some(m) => m.value,
            None => {
                self.create(NewKind::AckMessage);
                self.ack().messages.len() - 1
            }
        };
        &mut self.ack().messages[i]
    }

    fn ack_issue(&mut self) -> &mut AckIssue {
        let i = match self.cur.ack_issue {
            Some(m) => m.value,
            None => {
                self.create(NewKind::AckIssue);
                self.ack().issues.len() - 1
            }
        };
        &mut self.ack().issues[i]
    }

    fn value_error(
        &mut self,
        rule: &Rule,
        seg: &Segment<'_>,
        position: u32,
        src: &Source,
        msg: String,
        syntax: &str,
    ) {
        let Some(severity) = rule.invalid.severity() else {
            return;
        };
        let loc = match src {
            Source::Path(p) | Source::Table(_, p) => self
                .loc(seg, position)
                .at_element(u32::from(p.element), Some(u32::from(p.component))),
            Source::Literal(_) => self.loc(seg, position),
        };
        let mut d = Diagnostic::error("invalid-value", loc, msg).with_syntax_error(syntax);
        d.severity = severity;
        self.diagnostics.push(d);
    }

    fn apply(&mut self, rule: &'m Rule, seg: &Segment<'_>, position: u32) {
        if let Some(new) = rule.new {
            self.create(new);
        }
        for (target, sources) in &rule.sets {
            // Elements the segment does not have give nothing: skip the set
            // before its kind is looked up (a PIA rule lists five item
            // identifiers; a segment usually carries one).
            if all_absent(seg, sources) {
                continue;
            }
            let value_type = target.value_type();
            // Fast path: a number read from one element is parsed straight
            // from its bytes, with no text allocated.
            if value_type == ValueType::Decimal {
                if let [src @ Source::Path(p)] = sources.as_slice() {
                    let Some(raw) = seg.value(p.element as usize, p.component as usize) else {
                        continue;
                    };
                    let kind = match target.kind() {
                        Some(k) => match self.kind(seg, k) {
                            Some(k) => Some(k),
                            None => continue,
                        },
                        None => None,
                    };
                    match crate::formats::edifact::parse_decimal(&raw) {
                        Ok(d) => self.set_decimal(target, kind, d),
                        Err(_) => self.value_error(
                            rule,
                            seg,
                            position,
                            src,
                            format!("not a number: {:?}", seg.charset().decode(&raw)),
                            "12",
                        ),
                    }
                    continue;
                }
            }
            let kind = match target.kind() {
                Some(k) => match self.kind(seg, k) {
                    Some(k) => Some(k),
                    None => continue,
                },
                None => None,
            };
            if target.is_list() {
                for src in sources {
                    if let Some(v) = self.source_text(seg, src) {
                        self.set_text(target, None, v.into_owned());
                    }
                }
                continue;
            }
            // Join several text sources; numbers and dates take the first.
            let mut text: Option<String> = None;
            let mut first_src = &sources[0];
            for src in sources {
                if let Some(v) = self.source_text(seg, src) {
                    match &mut text {
                        None => {
                            text = Some(v.into_owned());
                            first_src = src;
                        }
                        Some(t) => {
                            t.push(' ');
                            t.push_str(&v);
                        }
                    }
                }
                if value_type != ValueType::Text && text.is_some() {
                    break;
                }
            }
            let Some(text) = text else { continue };
            match value_type {
                ValueType::Text => self.set_text(target, kind, text),
                ValueType::Decimal => match crate::formats::edifact::parse_decimal(text.as_bytes())
                {
                    Ok(d) => self.set_decimal(target, kind, d),
                    Err(_) => self.value_error(
                        rule,
                        seg,
                        position,
                        first_src,
                        format!("not a number: {text:?}"),
                        "12",
                    ),
                },
                ValueType::Integer => match text.trim().parse::<u32>() {
                    Ok(n) => self.set_integer(target, n),
                    Err(_) => self.value_error(
                        rule,
                        seg,
                        position,
                        first_src,
                        format!("not a whole number: {text:?}"),
                        "12",
                    ),
                },
                ValueType::Date => {
                    let format = rule
                        .format
                        .and_then(|p| seg.text(p.element as usize, p.component as usize))
                        .map(Cow::into_owned);
                    match convert::edifact_date(&text, format.as_deref()) {
                        Ok(iso) => self.set_date(target, kind, iso),
                        Err(why) => {
                            let loc = match first_src {
                                Source::Path(p) | Source::Table(_, p) => self
                                    .loc(seg, position)
                                    .at_element(u32::from(p.element), Some(u32::from(p.component))),
                                Source::Literal(_) => self.loc(seg, position),
                            };
                            self.diagnostics.push(
                                Diagnostic::warning("invalid-date", loc, why)
                                    .with_syntax_error("12"),
                            );
                            self.set_date(target, kind, text);
                        }
                    }
                }
            }
        }
    }

    fn set_text(&mut self, target: &Target, kind: Option<Cow<'_, str>>, v: String) {
        use Target::*;
        let depth = self.stack.len() - 1;
        // The kind is only allocated where it is stored.
        let kind = kind.unwrap_or(Cow::Borrowed(""));
        match target {
            Number => self.doc.number = v,
            DocumentCode => self.doc.document_code = Some(v),
            Function => self.doc.function = Some(MessageFunction::from_code(&v)),
            ResponseCode => self.doc.response_code = Some(v),
            Currency if self.doc.currency.is_none() => self.doc.currency = Some(v),
            DeliveryTerms => self.doc.delivery_terms = Some(v),
            Reference(_) => {
                self.doc.references.push(crate::model::Reference {
                    kind: kind.into_owned(),
                    value: v,
                    date: None,
                });
                self.cur.reference = Some(Cur {
                    value: RefRef::Doc(self.doc.references.len() - 1),
                    depth,
                });
            }
            LineReference(_) => {
                let l = self.ensure_line();
                let refs = &mut self.doc.lines[l].references;
                refs.push(crate::model::Reference {
                    kind: kind.into_owned(),
                    value: v,
                    date: None,
                });
                self.cur.reference = Some(Cur {
                    value: RefRef::Line(l, refs.len() - 1),
                    depth,
                });
            }
            PartyReference(_) => {
                let p = self.ensure_party();
                let party = &mut self.doc.parties[p];
                match kind.as_ref() {
                    "vat_id" => party.vat_id = Some(v),
                    "siret" => party.siret = Some(v),
                    _ => {
                        party.references.push(crate::model::Reference {
                            kind: kind.into_owned(),
                            value: v,
                            date: None,
                        });
                        let i = party.references.len() - 1;
                        self.cur.reference = Some(Cur {
                            value: RefRef::Party(p, i),
                            depth,
                        });
                    }
                }
            }
            Note => {
                let i = match self.cur.note {
                    Some(n) => n.value,
                    None => {
                        self.create(NewKind::Note);
                        self.doc.notes.len() - 1
                    }
                };
                let n = &mut self.doc.notes[i];
                if !n.text.is_empty() {
                    n.text.push(' ');
                }
                n.text.push_str(&v);
            }
            NoteSubject => {
                let i = match self.cur.note {
                    Some(n) => n.value,
                    None => {
                        self.create(NewKind::Note);
                        self.doc.notes.len() - 1
                    }
                };
                self.doc.notes[i].subject = Some(v);
            }
            LineNote => {
                let l = self.ensure_line();
                self.doc.lines[l].notes.push(v);
            }
            PartyRole => {
                let p = self.ensure_party();
                self.doc.parties[p].role = crate::model::PartyRole::from_name(&v);
            }
            PartyGln | PartyId | PartyIdAgency | PartyName | PartyStreet | PartyCity
            | PartyPostalCode | PartyRegion | PartyCountry | PartyVatId | PartySiret => {
                let p = self.ensure_party();
                let party = &mut self.doc.parties[p];
                match target {
                    PartyGln => party.gln = Some(v),
                    PartyId => party.id = Some(v),
                    PartyIdAgency => party.id_agency = Some(v),
                    PartyName => party.name = Some(v),
                    PartyStreet => party.address.street.push(v),
                    PartyCity => party.address.city = Some(v),
                    PartyPostalCode => party.address.postal_code = Some(v),
                    PartyRegion => party.address.region = Some(v),
                    PartyCountry => party.address.country = Some(v),
                    PartyVatId => party.vat_id = Some(v),
                    _ => party.siret = Some(v),
                }
            }
            ContactFunction => self.contact().function = Some(v),
            ContactName => self.contact().name = Some(v),
            ContactComm(_) => {
                let c = self.contact();
                match kind.as_ref() {
                    "phone" => c.phone = Some(v),
                    "email" => c.email = Some(v),
                    "fax" => c.fax = Some(v),
                    _ => {}
                }
            }
            LineNumber | LineParent | LineAction | LineItem(_) | LineDescription
            | LineTaxCategory | LineBatch => {
                let l = self.ensure_line();
                let line = &mut self.doc.lines[l];
                match target {
                    LineNumber => line.line_number = Some(v),
                    LineParent => line.parent_line = Some(v),
                    LineAction => line.action = Some(v),
                    LineDescription => match &mut line.description {
                        Some(d) => {
                            d.push(' ');
                            d.push_str(&v);
                        }
                        None => line.description = Some(v),
                    },
                    LineTaxCategory => line.tax_category = Some(v),
                    LineBatch => line.batch = Some(v),
                    _ => match kind.as_ref() {
                        "gtin" => line.gtin = Some(v),
                        "seller_item_code" => line.seller_item_code = Some(v),
                        "buyer_item_code" => line.buyer_item_code = Some(v),
                        _ => line.item_ids.push(crate::model::Reference {
                            kind: kind.into_owned(),
                            value: v,
                            date: None,
                        }),
                    },
                }
            }
            QuantityUnit => match self.cur.quantity.map(|q| q.value) {
                Some(QtyRef::Main(l)) => {
                    if let Some(q) = self.doc.lines.get_mut(l).and_then(|l| l.quantity.as_mut()) {
                        q.unit = Some(v);
                    }
                }
                Some(QtyRef::Other(l, i)) => {
                    if let Some(q) = self
                        .doc
                        .lines
                        .get_mut(l)
                        .and_then(|l| l.other_quantities.get_mut(i))
                    {
                        q.unit = Some(v);
                    }
                }
                None => {}
            },
            AllowanceKind => {
                self.allowance().kind = if v == "charge" {
                    AllowanceChargeKind::Charge
                } else {
                    AllowanceChargeKind::Allowance
                }
            }
            AllowanceReason => self.allowance().reason_code = Some(v),
            AllowanceDescription => self.allowance().description = Some(v),
            AllowanceTaxCategory => self.allowance().tax_category = Some(v),
            PaymentType => self.payment().terms_type = Some(v),
            PaymentDescription => self.payment().description = Some(v),
            PaymentBasis if v == "end_of_month" => self.payment().end_of_month = true,
            TaxCategory => self.tax().category = Some(v),
            TaxExemption => self.tax().exemption_reason = Some(v),
            PackageId => {
                self.package().id = v;
            }
            PackageParent => self.package().parent_id = Some(v),
            PackageType => {
                let p = self.package();
                if p.package_type.is_none() {
                    p.package_type = Some(v);
                }
            }
            PackageSscc => self.package().sscc.push(v),
            AckStatus => {
                if let Some(s) = convert::ack_status(&v) {
                    self.ack().status = s;
                }
            }
            AckInterchangeRef => self.ack().interchange_ref = Some(v),
            AckSender => self.ack().interchange_sender = Some(v),
            AckRecipient => self.ack().interchange_recipient = Some(v),
            AckDocumentRef => self.ack().document_ref = Some(v),
            AckMessageRef => {
                let m = self.ack_message();
                m.reference = v;
            }
            AckMessageType => self.ack_message().message_type = Some(v),
            AckMessageStatus => {
                if let Some(s) = convert::ack_status(&v) {
                    self.ack_message().status = s;
                }
            }
            AckIssueTag => self.ack_issue().segment_tag = Some(v),
            AckIssueCode => self.ack_issue().code = Some(v),
            AckIssueText => {
                let i = self.ack_issue();
                match &mut i.text {
                    Some(t) => {
                        t.push(' ');
                        t.push_str(&v);
                    }
                    None => i.text = Some(v),
                }
            }
            _ => {}
        }
    }

    fn set_decimal(&mut self, target: &Target, kind: Option<Cow<'_, str>>, d: Decimal) {
        use Target::*;
        let depth = self.stack.len() - 1;
        let kind = kind.unwrap_or(Cow::Borrowed(""));
        match target {
            Totals(_) => {
                let t = &mut self.doc.totals;
                let slot = match kind.as_ref() {
                    "line_total" => &mut t.line_total,
                    "allowance_total" => &mut t.allowance_total,
                    "charge_total" => &mut t.charge_total,
                    "tax_exclusive" => &mut t.tax_exclusive,
                    "tax_total" => &mut t.tax_total,
                    "tax_inclusive" => &mut t.tax_inclusive,
                    "prepaid" => &mut t.prepaid,
                    "payable" => &mut t.payable,
                    _ => return,
                };
                if slot.is_none() {
                    *slot = Some(d);
                }
            }
            LineQuantity(_) => {
                let l = self.ensure_line();
                let line = &mut self.doc.lines[l];
                if kind == "main" {
                    line.quantity = Some(Quantity::new(d));
                    self.cur.quantity = Some(Cur {
                        value: QtyRef::Main(l),
                        depth,
                    });
                } else {
                    line.other_quantities.push(Quantity {
                        kind: Some(kind.into_owned()),
                        value: d,
                        unit: None,
                    });
                    let i = line.other_quantities.len() - 1;
                    self.cur.quantity = Some(Cur {
                        value: QtyRef::Other(l, i),
                        depth,
                    });
                }
            }
            LinePrice(_) | LinePriceBasis | LineAmount | LineTaxRate => {
                let l = self.ensure_line();
                let line = &mut self.doc.lines[l];
                match target {
                    LinePrice(_) => match kind.as_ref() {
                        "net" => line.net_unit_price = Some(d),
                        "gross" => line.gross_unit_price = Some(d),
                        _ => {}
                    },
                    LinePriceBasis => line.price_basis_quantity = Some(d),
                    LineAmount => line.line_amount = Some(d),
                    _ => line.tax_rate = Some(d),
                }
            }
            AllowancePercentage => self.allowance().percentage = Some(d),
            AllowanceAmount => self.allowance().amount = Some(d.abs()),
            AllowanceBase => self.allowance().base_amount = Some(d),
            AllowanceTaxRate => self.allowance().tax_rate = Some(d),
            PaymentPercentage => self.payment().percentage = Some(d),
            PaymentAmount => self.payment().amount = Some(d),
            TaxRate => self.tax().rate = Some(d),
            TaxTaxable => self.tax().taxable_amount = Some(d),
            TaxAmount => self.tax().tax_amount = Some(d),
            PackageCount => {
                let p = self.package();
                if p.count.is_none() {
                    p.count = Some(d);
                }
            }
            PackageWeight => self.package().gross_weight_kg = Some(d),
            _ => {}
        }
    }

    fn set_integer(&mut self, target: &Target, n: u32) {
        use Target::*;
        match target {
            PaymentDays => self.payment().days = Some(n),
            AllowanceSequence => self.allowance().sequence = Some(n),
            AckIssueSegment => self.ack_issue().segment_position = Some(n),
            AckIssueElement => self.ack_issue().element_position = Some(n),
            AckIssueComponent => self.ack_issue().component_position = Some(n),
            _ => {}
        }
    }

    fn set_date(&mut self, target: &Target, kind: Option<Cow<'_, str>>, iso: String) {
        use Target::*;
        let kind: String = kind.map(Cow::into_owned).unwrap_or_default();
        match target {
            Date(_) => self.doc.dates.push(DateEntry { kind, value: iso }),
            LineDate(_) => {
                let l = self.ensure_line();
                self.doc.lines[l].dates.push(DateEntry { kind, value: iso });
            }
            ReferenceDate => match self.cur.reference.map(|r| r.value) {
                Some(RefRef::Doc(i)) => {
                    if let Some(r) = self.doc.references.get_mut(i) {
                        r.date = Some(iso);
                    }
                }
                Some(RefRef::Line(l, i)) => {
                    if let Some(r) = self
                        .doc
                        .lines
                        .get_mut(l)
                        .and_then(|l| l.references.get_mut(i))
                    {
                        r.date = Some(iso);
                    }
                }
                Some(RefRef::Party(p, i)) => {
                    if let Some(r) = self
                        .doc
                        .parties
                        .get_mut(p)
                        .and_then(|p| p.references.get_mut(i))
                    {
                        r.date = Some(iso);
                    }
                }
                None => self.doc.dates.push(DateEntry {
                    kind: "reference".into(),
                    value: iso,
                }),
            },
            PaymentDueDate => self.payment().due_date = Some(iso),
            _ => {}
        }
    }

    /// Ends the message: checks required segments, applies defaults and
    /// fills the document's origin. Returns the document and every
    /// diagnostic raised while mapping it.
    pub fn finish(
        mut self,
        interchange: &InterchangeHeader,
        group: Option<&GroupHeader>,
        message: &MessageHeader,
    ) -> (Document, Vec<Diagnostic>) {
        let m = self.mapping;
        for tag in &m.required {
            if !self.counts.iter().any(|(t, n)| t == tag && *n > 0) {
                let tag = String::from_utf8_lossy(tag).trim_end().to_string();
                let loc = Location {
                    segment: Some(1),
                    tag: Some("UNH".into()),
                    line: Some(message.line),
                    offset: Some(message.offset),
                    ..self.base.clone()
                };
                self.diagnostics.push(
                    Diagnostic::error(
                        "missing-segment",
                        loc,
                        format!(
                            "required segment {tag} is missing from this {} message",
                            m.message_type
                        ),
                    )
                    .with_syntax_error("13"),
                );
            }
        }
        let doc = &mut self.doc;
        if let Some(t) = doc
            .document_code
            .as_ref()
            .and_then(|c| m.type_by_code.get(c))
        {
            doc.document_type = *t;
        }
        if doc.number.is_empty() {
            doc.number.clone_from(&message.reference);
        }
        if doc.currency.is_none() {
            doc.currency.clone_from(&m.defaults.currency);
        }
        if let Some(unit) = &m.defaults.unit {
            for q in doc.lines.iter_mut().filter_map(|l| l.quantity.as_mut()) {
                if q.unit.is_none() {
                    q.unit = Some(unit.clone());
                }
            }
        }
        doc.origin = crate::model::Origin {
            format: "edifact".into(),
            message_type: Some(message.message_type.clone()),
            version: Some(message.directory()),
            profile: message.association.clone(),
            sender: (!interchange.sender.is_empty()).then(|| interchange.sender.clone()),
            sender_qualifier: interchange.sender_qualifier.clone(),
            recipient: (!interchange.recipient.is_empty()).then(|| interchange.recipient.clone()),
            recipient_qualifier: interchange.recipient_qualifier.clone(),
            interchange_ref: (!interchange.control_ref.is_empty())
                .then(|| interchange.control_ref.clone()),
            group_ref: group.map(|g| g.control_ref.clone()),
            message_ref: Some(message.reference.clone()),
            prepared_at: interchange.prepared_at.clone(),
            test: interchange.test,
            interchange_index: Some(interchange.index),
            message_index: Some(message.index),
        };
        for d in &mut self.diagnostics {
            if d.severity == Severity::Error && d.location.message_ref.is_none() {
                d.location.message_ref = Some(message.reference.clone());
            }
        }
        (self.doc, self.diagnostics)
    }
}
