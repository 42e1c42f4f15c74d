//! X12 envelopes: interchanges (ISA…IEA), functional groups (GS…GE) and
//! transaction sets (ST…SE), with their control checks.
//!
//! [`Reader`] drives the X12 [`Lexer`] and yields [`Event`]s like the
//! EDIFACT envelope reader does. Checks that partners get wrong (SE01
//! segment count, GE01 transaction count, IEA01 group count: `control_counts`;
//! SE02 = ST02, GE02 = GS06, IEA02 = ISA13, duplicate ST02 in a group:
//! `control_references`; a missing IEA: `missing_trailer`; junk before the
//! first ISA: `leading_garbage`) follow the same
//! [`EnvelopePolicy`] as EDIFACT. Structural errors (a transaction set
//! outside a group, a segment outside a transaction set, a missing SE or GE)
//! are always errors. Every diagnostic carries file, interchange, message
//! index and reference, segment position and tag, element, line and offset.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Read};

use super::lexer::{Lexer, Token, X12Delimiters};
use crate::diagnostics::{Action, Diagnostic, Location, Severity};
use crate::formats::edifact::{EnvelopePolicy, Segment};

/// The envelope policy X12 uses when nobody configured one: control
/// numbers and a missing IEA are errors (a 997 would reject them), counts
/// only warn (real files get them wrong more often than not).
pub fn default_policy() -> EnvelopePolicy {
    EnvelopePolicy {
        control_counts: Action::Warn,
        control_references: Action::Reject,
        leading_garbage: Action::Reject,
        missing_trailer: Action::Reject,
        charset: Action::Warn,
    }
}

/// Data of an ISA segment (values trimmed of their padding).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterchangeHeader {
    /// 1-based index of the interchange in the input.
    pub index: u32,
    /// ISA05.
    pub sender_qualifier: String,
    /// ISA06.
    pub sender: String,
    /// ISA07.
    pub receiver_qualifier: String,
    /// ISA08.
    pub receiver: String,
    /// ISA09 YYMMDD.
    pub date: String,
    /// ISA10 HHMM.
    pub time: String,
    /// ISA12 interchange control version (`00401`, `00501`).
    pub version: String,
    /// ISA13.
    pub control_number: String,
    /// ISA14 = 1.
    pub ack_requested: bool,
    /// ISA15 = T.
    pub test: bool,
    pub delimiters: X12Delimiters,
    pub offset: u64,
    pub line: u32,
}

impl InterchangeHeader {
    /// Preparation date and time as ISO 8601 (`2024-03-01T12:00`).
    pub fn prepared_at(&self) -> Option<String> {
        let d = &self.date;
        if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let date = format!("20{}-{}-{}", &d[0..2], &d[2..4], &d[4..6]);
        let t = &self.time;
        if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
            Some(format!("{date}T{}:{}", &t[0..2], &t[2..4]))
        } else {
            Some(date)
        }
    }
}

/// Data of a GS segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupHeader {
    /// 1-based index of the group in its interchange.
    pub index: u32,
    /// GS01 functional identifier code (`PO`, `IN`, `SH`, `FA`…).
    pub functional_id: String,
    /// GS02 application sender's code.
    pub sender: String,
    /// GS03 application receiver's code.
    pub receiver: String,
    /// GS04 CCYYMMDD.
    pub date: String,
    /// GS05 HHMM[SS].
    pub time: String,
    /// GS06 group control number.
    pub control_number: String,
    /// GS08 version/release/industry identifier (`004010`, `005010X231A1`).
    pub version: String,
    pub offset: u64,
    pub line: u32,
}

/// Data of an ST segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionHeader {
    /// 1-based index of the transaction set in its interchange.
    pub index: u32,
    /// ST01 transaction set identifier (`850`).
    pub transaction_set: String,
    /// ST02 control number.
    pub control_number: String,
    /// ST03 implementation convention reference (5010).
    pub implementation: Option<String>,
    pub offset: u64,
    pub line: u32,
}

/// What the reader produces.
#[derive(Debug)]
pub enum Event<'a> {
    InterchangeStart(&'a InterchangeHeader),
    GroupStart(&'a GroupHeader),
    TransactionStart(&'a TransactionHeader),
    /// A segment of the current transaction set (ST and SE excluded), with
    /// its position in the set (ST = 1).
    Segment {
        segment: Segment<'a>,
        position: u32,
    },
    TransactionEnd(&'a TransactionHeader),
    GroupEnd,
    InterchangeEnd(&'a InterchangeHeader),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queued {
    InterchangeStart,
    GroupStart,
    TransactionStart,
    TransactionEnd,
    GroupEnd,
    InterchangeEnd,
}

struct OpenGroup {
    header: GroupHeader,
    transactions: u32,
    refs: HashSet<String>,
}

struct OpenTransaction {
    header: TransactionHeader,
    segments: u32,
}

/// Streaming X12 envelope reader.
pub struct Reader<R> {
    lexer: Lexer<R>,
    policy: EnvelopePolicy,
    file: Option<String>,
    diagnostics: Vec<Diagnostic>,
    interchange: Option<InterchangeHeader>,
    interchange_count: u32,
    groups_in_interchange: u32,
    transactions_in_interchange: u32,
    group: Option<OpenGroup>,
    transaction: Option<OpenTransaction>,
    ended: TransactionHeader,
    ended_interchange: InterchangeHeader,
    queue: VecDeque<Queued>,
    done: bool,
    /// Tag of the last segment (for errors at the end of input).
    last: [u8; 3],
}

fn owned(seg: &Segment<'_>, e: usize) -> String {
    seg.text(e, 1)
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

impl<R: Read> Reader<R> {
    /// A reader over `input`; `file` names it in diagnostics.
    pub fn new(input: R, file: Option<String>, policy: EnvelopePolicy) -> Reader<R> {
        Reader {
            lexer: Lexer::new(input),
            policy,
            file,
            diagnostics: Vec::new(),
            interchange: None,
            interchange_count: 0,
            groups_in_interchange: 0,
            transactions_in_interchange: 0,
            group: None,
            transaction: None,
            ended: TransactionHeader::default(),
            ended_interchange: InterchangeHeader::default(),
            queue: VecDeque::new(),
            done: false,
            last: [0; 3],
        }
    }

    /// Bytes consumed from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.lexer.bytes_read()
    }

    /// Changes the policy (once the sender identified a partner).
    pub fn set_policy(&mut self, policy: EnvelopePolicy) {
        self.policy = policy;
    }

    /// Takes the diagnostics raised since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    /// The open group, if any.
    pub fn group(&self) -> Option<&GroupHeader> {
        self.group.as_ref().map(|g| &g.header)
    }

    /// The open interchange, if any.
    pub fn interchange(&self) -> Option<&InterchangeHeader> {
        self.interchange.as_ref()
    }

    fn push(&mut self, severity: Option<Severity>, code: &str, mut loc: Location, msg: String) {
        let Some(severity) = severity else { return };
        loc.file.clone_from(&self.file);
        let syntax = match code {
            c if c.ends_with("-count") => Some("29"),
            c if c.ends_with("-reference") || c.starts_with("duplicate") => Some("28"),
            c if c.starts_with("missing") => Some("13"),
            "unexpected-segment" => Some("14"),
            _ => None,
        };
        self.diagnostics.push(Diagnostic {
            severity,
            code: code.to_string(),
            syntax_error: syntax.map(str::to_string),
            location: loc,
            message: msg,
        });
    }

    fn seg_loc(&self) -> Location {
        let seg = self.lexer.segment();
        let t = self.transaction.as_ref();
        Location {
            interchange: self.interchange.as_ref().map(|h| h.index),
            message: t.map(|t| t.header.index),
            message_ref: t.map(|t| t.header.control_number.clone()),
            segment: t.map(|t| t.segments),
            tag: Some(seg.tag().into_owned()),
            line: Some(seg.line),
            offset: Some(seg.offset),
            ..Location::default()
        }
    }

    fn end_loc(&self) -> Location {
        Location {
            interchange: self.interchange.as_ref().map(|h| h.index),
            tag: (self.last != [0; 3])
                .then(|| String::from_utf8_lossy(&self.last).trim_end().to_string()),
            line: Some(self.lexer.line()),
            offset: Some(self.lexer.offset()),
            ..Location::default()
        }
    }

    fn cut_transaction(&mut self, at: &Location, why: &str) {
        if let Some(t) = self.transaction.take() {
            let loc = Location {
                message: Some(t.header.index),
                message_ref: Some(t.header.control_number.clone()),
                segment: Some(t.segments + 1),
                ..at.clone()
            };
            self.push(
                Some(Severity::Error),
                "missing-se",
                loc,
                format!(
                    "transaction set {} {} has no SE trailer: {why}",
                    t.header.transaction_set, t.header.control_number
                ),
            );
            self.ended = t.header;
            self.queue.push_back(Queued::TransactionEnd);
        }
    }

    fn cut_group(&mut self, at: &Location, why: &str) {
        if let Some(g) = self.group.take() {
            self.push(
                Some(Severity::Error),
                "missing-ge",
                at.clone(),
                format!(
                    "functional group {} has no GE trailer: {why}",
                    g.header.control_number
                ),
            );
            self.queue.push_back(Queued::GroupEnd);
        }
    }

    fn cut_interchange(&mut self, at: &Location, why: &str, severity: Option<Severity>) {
        if let Some(ih) = self.interchange.take() {
            let loc = Location {
                interchange: Some(ih.index),
                ..at.clone()
            };
            self.push(
                severity,
                "missing-iea",
                loc,
                format!(
                    "interchange {} has no IEA trailer: {why}",
                    ih.control_number
                ),
            );
            self.ended_interchange = ih;
            self.queue.push_back(Queued::InterchangeEnd);
        }
    }

    fn check(&mut self, action: Action, ok: bool, code: &str, loc: Location, msg: String) {
        if !ok {
            self.push(action.severity(), code, loc, msg);
        }
    }

    fn on_isa(&mut self) {
        let loc = self.seg_loc();
        if self.transaction.is_some() {
            self.cut_transaction(&loc, "a new interchange (ISA) started");
        }
        if self.group.is_some() {
            self.cut_group(&loc, "a new interchange (ISA) started");
        }
        if self.interchange.is_some() {
            self.cut_interchange(
                &loc,
                "a new interchange (ISA) started",
                Some(Severity::Error),
            );
        }
        let seg = self.lexer.segment();
        self.interchange_count += 1;
        let header = InterchangeHeader {
            index: self.interchange_count,
            sender_qualifier: owned(&seg, 5),
            sender: owned(&seg, 6),
            receiver_qualifier: owned(&seg, 7),
            receiver: owned(&seg, 8),
            date: owned(&seg, 9),
            time: owned(&seg, 10),
            version: owned(&seg, 12),
            control_number: owned(&seg, 13),
            ack_requested: owned(&seg, 14) == "1",
            test: owned(&seg, 15) == "T",
            delimiters: self.lexer.delimiters().unwrap_or_default(),
            offset: seg.offset,
            line: seg.line,
        };
        let mut loc = loc;
        loc.interchange = Some(header.index);
        for (ok, el, what) in [
            (!header.sender.is_empty(), 6, "interchange sender (ISA06)"),
            (
                !header.receiver.is_empty(),
                8,
                "interchange receiver (ISA08)",
            ),
            (
                !header.control_number.is_empty(),
                13,
                "interchange control number (ISA13)",
            ),
        ] {
            if !ok {
                self.push(
                    Some(Severity::Error),
                    "missing-element",
                    loc.at_element(el, None),
                    format!("ISA has no {what}"),
                );
            }
        }
        self.groups_in_interchange = 0;
        self.transactions_in_interchange = 0;
        self.interchange = Some(header);
        self.queue.push_back(Queued::InterchangeStart);
    }

    fn on_gs(&mut self) {
        let loc = self.seg_loc();
        if self.transaction.is_some() {
            self.cut_transaction(&loc, "a new group (GS) started");
        }
        if self.group.is_some() {
            self.cut_group(&loc, "a new group (GS) started");
        }
        if self.interchange.is_none() {
            self.push(
                Some(Severity::Error),
                "unexpected-segment",
                loc,
                "GS outside an interchange: no ISA before it".into(),
            );
            return;
        }
        let seg = self.lexer.segment();
        self.groups_in_interchange += 1;
        let header = GroupHeader {
            index: self.groups_in_interchange,
            functional_id: owned(&seg, 1),
            sender: owned(&seg, 2),
            receiver: owned(&seg, 3),
            date: owned(&seg, 4),
            time: owned(&seg, 5),
            control_number: owned(&seg, 6),
            version: owned(&seg, 8),
            offset: seg.offset,
            line: seg.line,
        };
        self.group = Some(OpenGroup {
            header,
            transactions: 0,
            refs: HashSet::new(),
        });
        self.queue.push_back(Queued::GroupStart);
    }

    fn on_ge(&mut self) {
        let loc = self.seg_loc();
        if self.transaction.is_some() {
            self.cut_transaction(&loc, "group trailer (GE) reached");
        }
        let seg = self.lexer.segment();
        let (count, reference) = (owned(&seg, 1), owned(&seg, 2));
        let Some(g) = self.group.take() else {
            self.push(
                Some(Severity::Error),
                "unexpected-segment",
                loc,
                "GE without a matching GS".into(),
            );
            return;
        };
        self.check(
            self.policy.control_counts,
            count.parse::<u32>().ok() == Some(g.transactions),
            "ge-count",
            loc.at_element(1, None),
            format!(
                "GE01 says {count:?} transaction sets but the group holds {}",
                g.transactions
            ),
        );
        self.check(
            self.policy.control_references,
            reference == g.header.control_number,
            "ge-reference",
            loc.at_element(2, None),
            format!(
                "GE02 control number {reference:?} differs from GS06 {:?}",
                g.header.control_number
            ),
        );
        self.queue.push_back(Queued::GroupEnd);
    }

    fn on_iea(&mut self) {
        let loc = self.seg_loc();
        if self.transaction.is_some() {
            self.cut_transaction(&loc, "interchange trailer (IEA) reached");
        }
        if self.group.is_some() {
            self.cut_group(&loc, "interchange trailer (IEA) reached");
        }
        let seg = self.lexer.segment();
        let (count, reference) = (owned(&seg, 1), owned(&seg, 2));
        let Some(ih) = self.interchange.take() else {
            self.push(
                Some(Severity::Error),
                "unexpected-segment",
                loc,
                "IEA without a matching ISA".into(),
            );
            return;
        };
        let mut loc = loc;
        loc.interchange = Some(ih.index);
        self.check(
            self.policy.control_counts,
            count.parse::<u32>().ok() == Some(self.groups_in_interchange),
            "iea-count",
            loc.at_element(1, None),
            format!(
                "IEA01 says {count:?} functional groups but the interchange holds {}",
                self.groups_in_interchange
            ),
        );
        self.check(
            self.policy.control_references,
            reference == ih.control_number,
            "iea-reference",
            loc.at_element(2, None),
            format!(
                "IEA02 control number {reference:?} differs from ISA13 {:?}",
                ih.control_number
            ),
        );
        self.ended_interchange = ih;
        self.queue.push_back(Queued::InterchangeEnd);
    }

    fn on_st(&mut self) {
        let loc = self.seg_loc();
        if self.transaction.is_some() {
            self.cut_transaction(&loc, "a new transaction set (ST) started");
        }
        if self.interchange.is_none() || self.group.is_none() {
            let what = if self.interchange.is_none() {
                "no ISA"
            } else {
                "no GS"
            };
            self.push(
                Some(Severity::Error),
                "unexpected-segment",
                loc,
                format!("ST outside a functional group: {what} before it; the transaction set is skipped"),
            );
            return;
        }
        let seg = self.lexer.segment();
        self.transactions_in_interchange += 1;
        let header = TransactionHeader {
            index: self.transactions_in_interchange,
            transaction_set: owned(&seg, 1),
            control_number: owned(&seg, 2),
            implementation: seg.text(3, 1).map(|t| t.trim().to_string()),
            offset: seg.offset,
            line: seg.line,
        };
        let reference = header.control_number.clone();
        let ts = header.transaction_set.clone();
        let index = header.index;
        let fresh = match self.group.as_mut() {
            Some(g) => {
                g.transactions += 1;
                g.refs.insert(reference.clone())
            }
            None => true,
        };
        self.transaction = Some(OpenTransaction {
            header,
            segments: 1,
        });
        let loc = Location {
            message: Some(index),
            message_ref: Some(reference.clone()),
            segment: Some(1),
            ..loc
        };
        if ts.is_empty() {
            self.push(
                Some(Severity::Error),
                "missing-element",
                loc.at_element(1, None),
                "ST has no transaction set identifier (ST01)".into(),
            );
        }
        if reference.is_empty() {
            self.push(
                Some(Severity::Error),
                "missing-element",
                loc.at_element(2, None),
                "ST has no control number (ST02)".into(),
            );
        } else if !fresh {
            self.push(
                self.policy.control_references.severity(),
                "duplicate-st-reference",
                loc.at_element(2, None),
                format!("transaction set control number {reference:?} is used twice in this group"),
            );
        }
        self.queue.push_back(Queued::TransactionStart);
    }

    fn on_se(&mut self) {
        if let Some(t) = self.transaction.as_mut() {
            t.segments += 1;
        }
        let loc = self.seg_loc();
        let seg = self.lexer.segment();
        let (count, reference) = (owned(&seg, 1), owned(&seg, 2));
        let Some(t) = self.transaction.take() else {
            self.push(
                Some(Severity::Error),
                "unexpected-segment",
                loc,
                "SE without a matching ST".into(),
            );
            return;
        };
        self.check(
            self.policy.control_counts,
            count.parse::<u32>().ok() == Some(t.segments),
            "se-count",
            loc.at_element(1, None),
            format!(
                "SE01 says {count:?} segments but the transaction set has {}",
                t.segments
            ),
        );
        self.check(
            self.policy.control_references,
            reference == t.header.control_number,
            "se-reference",
            loc.at_element(2, None),
            format!(
                "SE02 control number {reference:?} differs from ST02 {:?}",
                t.header.control_number
            ),
        );
        self.ended = t.header;
        self.queue.push_back(Queued::TransactionEnd);
    }

    fn queued_event(&self, q: Queued) -> Event<'_> {
        match (q, &self.interchange, &self.group, &self.transaction) {
            (Queued::InterchangeStart, Some(h), _, _) => Event::InterchangeStart(h),
            (Queued::GroupStart, _, Some(g), _) => Event::GroupStart(&g.header),
            (Queued::TransactionStart, _, _, Some(t)) => Event::TransactionStart(&t.header),
            (Queued::TransactionEnd, ..) => Event::TransactionEnd(&self.ended),
            (Queued::InterchangeEnd, ..) => Event::InterchangeEnd(&self.ended_interchange),
            _ => Event::GroupEnd,
        }
    }

    /// The next event, `None` at end of input.
    pub fn next_event(&mut self) -> io::Result<Option<Event<'_>>> {
        loop {
            if let Some(q) = self.queue.pop_front() {
                let available = match q {
                    Queued::InterchangeStart => self.interchange.is_some(),
                    Queued::GroupStart => self.group.is_some(),
                    Queued::TransactionStart => self.transaction.is_some(),
                    _ => true,
                };
                if available {
                    return Ok(Some(self.queued_event(q)));
                }
                continue;
            }
            if self.done {
                return Ok(None);
            }
            let Some(token) = self.lexer.advance()? else {
                self.done = true;
                let loc = self.end_loc();
                if self.transaction.is_some() {
                    self.cut_transaction(&loc, "end of input");
                }
                if self.group.is_some() {
                    self.cut_group(&loc, "end of input");
                }
                if self.interchange.is_some() {
                    let sev = self.policy.missing_trailer.severity();
                    self.cut_interchange(&loc, "end of input", sev);
                }
                if self.interchange_count == 0 {
                    self.push(
                        Some(Severity::Error),
                        "no-interchange",
                        loc,
                        "no ISA interchange header found: this is not X12".into(),
                    );
                }
                continue;
            };
            match token {
                Token::Garbage { offset, line, len } => {
                    let loc = Location {
                        interchange: self.interchange.as_ref().map(|h| h.index),
                        line: Some(line),
                        offset: Some(offset),
                        ..Location::default()
                    };
                    let action = if self.interchange_count == 0 {
                        self.policy.leading_garbage
                    } else {
                        Action::Reject
                    };
                    self.push(
                        action.severity(),
                        "garbage",
                        loc,
                        format!(
                            "{len} bytes that are not X12 skipped (no readable ISA before them)"
                        ),
                    );
                }
                Token::BadIsa {
                    offset,
                    line,
                    reason,
                } => {
                    let loc = Location {
                        tag: Some("ISA".into()),
                        line: Some(line),
                        offset: Some(offset),
                        ..Location::default()
                    };
                    if self.transaction.is_some() {
                        self.cut_transaction(&loc, "an unreadable ISA follows");
                    }
                    if self.group.is_some() {
                        self.cut_group(&loc, "an unreadable ISA follows");
                    }
                    if self.interchange.is_some() {
                        self.cut_interchange(
                            &loc,
                            "an unreadable ISA follows",
                            Some(Severity::Error),
                        );
                    }
                    self.push(
                        Some(Severity::Error),
                        "bad-isa",
                        loc,
                        format!("unreadable ISA header: {reason}; skipped to the next ISA"),
                    );
                }
                Token::Segment => {
                    let seg = self.lexer.segment();
                    let tag: [u8; 3] = match seg.tag_bytes() {
                        [a, b, c] => [*a, *b, *c],
                        [a, b] => [*a, *b, b' '],
                        _ => [0; 3],
                    };
                    self.last = tag;
                    match &tag {
                        b"ISA" => self.on_isa(),
                        b"GS " => self.on_gs(),
                        b"GE " => self.on_ge(),
                        b"IEA" => self.on_iea(),
                        b"ST " => self.on_st(),
                        b"SE " => self.on_se(),
                        _ if self.transaction.is_some() => {
                            let position = match self.transaction.as_mut() {
                                Some(t) => {
                                    t.segments += 1;
                                    t.segments
                                }
                                None => 0,
                            };
                            let segment = self.lexer.segment();
                            return Ok(Some(Event::Segment { segment, position }));
                        }
                        _ => {
                            let loc = self.seg_loc();
                            let tag = loc.tag.clone().unwrap_or_default();
                            let msg = if self.interchange.is_none() {
                                format!("segment {tag:?} outside an interchange; expected ISA")
                            } else {
                                format!("segment {tag:?} outside a transaction set; expected ST, GS, GE or IEA")
                            };
                            self.push(Some(Severity::Error), "unexpected-segment", loc, msg);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISA: &str = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240301*1200*U*00401*000000001*0*P*>~";

    fn run(input: &str) -> (Vec<String>, Vec<Diagnostic>) {
        let mut r = Reader::new(input.as_bytes(), Some("t.x12".into()), default_policy());
        let mut ev = Vec::new();
        let mut diags = Vec::new();
        loop {
            diags.extend(r.take_diagnostics());
            let Some(e) = r.next_event().unwrap() else {
                break;
            };
            ev.push(match e {
                Event::InterchangeStart(h) => format!("ISA {}", h.control_number),
                Event::GroupStart(g) => format!("GS {}", g.functional_id),
                Event::TransactionStart(t) => {
                    format!("ST {} {}", t.transaction_set, t.control_number)
                }
                Event::Segment { segment, position } => format!("{}@{position}", segment.tag()),
                Event::TransactionEnd(_) => "SE".into(),
                Event::GroupEnd => "GE".into(),
                Event::InterchangeEnd(_) => "IEA".into(),
            });
        }
        diags.extend(r.take_diagnostics());
        (ev, diags)
    }

    #[test]
    fn clean_interchange() {
        let (ev, d) = run(&format!(
            "{ISA}GS*PO*A*B*20240301*1200*7*X*004010~ST*850*0001~BEG*00*SA*PO1**20240301~SE*3*0001~GE*1*7~IEA*1*000000001~"
        ));
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            ev,
            vec![
                "ISA 000000001",
                "GS PO",
                "ST 850 0001",
                "BEG@2",
                "SE",
                "GE",
                "IEA"
            ]
        );
    }

    #[test]
    fn control_mismatches_are_located() {
        let (_, d) = run(&format!(
            "{ISA}GS*PO*A*B*20240301*1200*7*X*004010~ST*850*0001~BEG*00*SA*PO1~SE*4*0002~GE*2*8~IEA*1*000000009~"
        ));
        let codes: Vec<_> = d.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            vec![
                "se-count",
                "se-reference",
                "ge-count",
                "ge-reference",
                "iea-reference"
            ]
        );
        let se = &d[1];
        assert!(se.is_error());
        assert_eq!(se.location.segment, Some(3));
        assert_eq!(se.location.element, Some(2));
        assert_eq!(se.location.tag.as_deref(), Some("SE"));
        assert_eq!(se.location.message_ref.as_deref(), Some("0001"));
        assert_eq!(se.location.file.as_deref(), Some("t.x12"));
        assert!(!d[0].is_error());
    }

    #[test]
    fn missing_trailers() {
        let (ev, d) = run(&format!("{ISA}GS*PO*A*B~ST*850*0001~BEG*00*SA*PO1~"));
        assert_eq!(ev.last().map(String::as_str), Some("IEA"));
        let codes: Vec<_> = d.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, vec!["missing-se", "missing-ge", "missing-iea"]);
        assert!(d
            .iter()
            .all(|d| d.location.line.is_some() && d.location.offset.is_some()));
    }

    #[test]
    fn not_x12() {
        let (_, d) = run("hello world");
        assert!(d.iter().any(|d| d.code == "garbage" && d.is_error()));
    }
}
