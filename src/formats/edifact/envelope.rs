//! Envelopes: interchanges (UNB…UNZ), optional groups (UNG…UNE) and
//! messages (UNH…UNT), with their control checks.
//!
//! [`Reader`] drives the [`Lexer`](super::Lexer) and turns its tokens into
//! [`Event`]s: the start and end of each interchange, group and message, and
//! the message's own segments with their position. Checks that real
//! partners get wrong (UNT/UNE/UNZ counts, matching control references,
//! junk before UNB, a missing UNZ at the end of the file) follow an
//! [`EnvelopePolicy`]; structural errors (a message outside any
//! interchange, a new UNB inside an open interchange, a duplicate message
//! reference) are always errors. Problems are collected as
//! [`Diagnostic`]s that the caller drains after each event.

use std::collections::{HashSet, VecDeque};
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use super::{Charset, Delimiters, Lexer, Segment, Token};
use crate::diagnostics::{Action, Diagnostic, Location, Severity};

/// What to do with the envelope checks partners get wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvelopePolicy {
    /// UNT segment count, UNE/UNZ message or group counts.
    pub control_counts: Action,
    /// UNT/UNE/UNZ references equal to UNH/UNG/UNB's.
    pub control_references: Action,
    /// Non-EDIFACT bytes before the first UNA/UNB.
    pub leading_garbage: Action,
    /// No UNZ at the end of the input.
    pub missing_trailer: Action,
    /// Bytes outside the repertoire declared in UNB.
    pub charset: Action,
}

impl Default for EnvelopePolicy {
    fn default() -> EnvelopePolicy {
        EnvelopePolicy {
            control_counts: Action::Warn,
            control_references: Action::Warn,
            leading_garbage: Action::Reject,
            missing_trailer: Action::Warn,
            charset: Action::Warn,
        }
    }
}

/// Data of a UNB segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterchangeHeader {
    /// 1-based index of the interchange in the input.
    pub index: u32,
    /// Syntax identifier (`UNOC`).
    pub syntax_id: String,
    /// Syntax version number (1–4); 0 when absent.
    pub syntax_version: u8,
    pub sender: String,
    pub sender_qualifier: Option<String>,
    pub recipient: String,
    pub recipient_qualifier: Option<String>,
    /// Preparation date and time as ISO 8601 (`2024-03-01T14:30`).
    pub prepared_at: Option<String>,
    pub control_ref: String,
    pub application_ref: Option<String>,
    /// Acknowledgement request (0031 = 1).
    pub ack_requested: bool,
    pub test: bool,
    pub delimiters: Delimiters,
    pub charset: Charset,
    pub offset: u64,
    pub line: u32,
}

/// Data of a UNG segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupHeader {
    pub message_type: Option<String>,
    pub control_ref: String,
}

/// Data of a UNH segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageHeader {
    /// 1-based index of the message in its interchange.
    pub index: u32,
    /// Message reference number (0062).
    pub reference: String,
    /// Message type (0065), e.g. `ORDERS`.
    pub message_type: String,
    /// Version (0052), e.g. `D`.
    pub version: String,
    /// Release (0054), e.g. `96A`.
    pub release: String,
    /// Controlling agency (0051), e.g. `UN`.
    pub agency: String,
    /// Association assigned code (0057), e.g. `EAN008`.
    pub association: Option<String>,
    pub offset: u64,
    pub line: u32,
}

impl MessageHeader {
    /// Directory as usually written: `D96A`, or `4:1` for service messages.
    pub fn directory(&self) -> String {
        if self.version == "D" {
            format!("D{}", self.release)
        } else {
            format!("{}:{}", self.version, self.release)
        }
    }
}

/// What the reader produces.
#[derive(Debug)]
pub enum Event<'a> {
    InterchangeStart(&'a InterchangeHeader),
    GroupStart(&'a GroupHeader),
    MessageStart(&'a MessageHeader),
    /// A segment of the current message (UNH and UNT excluded), with its
    /// position in the message (UNH = 1).
    Segment {
        segment: Segment<'a>,
        position: u32,
    },
    /// The current message ended (at UNT, or where it was cut short).
    MessageEnd(&'a MessageHeader),
    GroupEnd,
    InterchangeEnd(&'a InterchangeHeader),
}

#[derive(Debug, Default)]
struct OpenMessage {
    header: MessageHeader,
    /// Segments so far, UNH included.
    segments: u32,
}

#[derive(Debug, Default)]
struct OpenGroup {
    header: GroupHeader,
    messages: u32,
}

/// An event owed to the caller, emitted before reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Queued {
    InterchangeStart,
    GroupStart,
    MessageStart,
    MessageEnd,
    GroupEnd,
    InterchangeEnd,
}

/// Streaming envelope reader.
pub struct Reader<R> {
    lexer: Lexer<R>,
    policy: EnvelopePolicy,
    file: Option<String>,
    diagnostics: Vec<Diagnostic>,
    interchange: Option<InterchangeHeader>,
    interchange_count: u32,
    una: Option<Delimiters>,
    group: Option<OpenGroup>,
    groups_in_interchange: u32,
    messages_in_interchange: u32,
    message: Option<OpenMessage>,
    /// Header of the message that just ended, for `MessageEnd`.
    ended: MessageHeader,
    /// Header of the interchange that just ended, for `InterchangeEnd`.
    ended_interchange: InterchangeHeader,
    refs_seen: HashSet<String>,
    charset_warned: bool,
    queue: VecDeque<Queued>,
    /// Set when an interchange was opened implicitly for bare messages.
    done: bool,
}

fn owned(seg: &Segment<'_>, e: usize, c: usize) -> Option<String> {
    seg.text(e, c).map(|t| t.into_owned())
}

fn iso_datetime(date: Option<String>, time: Option<String>) -> Option<String> {
    let date = date?;
    if !date.is_ascii() {
        return Some(date);
    }
    let d = match date.len() {
        6 => format!("20{}-{}-{}", &date[0..2], &date[2..4], &date[4..6]),
        8 => format!("{}-{}-{}", &date[0..4], &date[4..6], &date[6..8]),
        _ => return Some(date),
    };
    match time {
        Some(t) if t.len() == 4 && t.is_ascii() => Some(format!("{d}T{}:{}", &t[0..2], &t[2..4])),
        _ => Some(d),
    }
}

/// Owned copy of what a service segment says, read before acting on it.
struct ServiceInfo {
    loc: Location,
    /// Values of the requested (element, component) pairs, in order.
    values: Vec<Option<String>>,
}

impl<R: Read> Reader<R> {
    /// A reader over `input`; `file` names it in diagnostics.
    pub fn new(input: R, file: Option<String>, policy: EnvelopePolicy) -> Reader<R> {
        Reader::with_capacity(input, file, policy, super::lexer::INITIAL_BUFFER)
    }

    /// The same with the lexer's buffer sized for input of about
    /// `capacity` bytes ([`Lexer::with_capacity`]).
    pub fn with_capacity(
        input: R,
        file: Option<String>,
        policy: EnvelopePolicy,
        capacity: usize,
    ) -> Reader<R> {
        Reader {
            lexer: Lexer::with_capacity(input, capacity),
            policy,
            file,
            diagnostics: Vec::new(),
            interchange: None,
            interchange_count: 0,
            una: None,
            group: None,
            groups_in_interchange: 0,
            messages_in_interchange: 0,
            message: None,
            ended: MessageHeader::default(),
            ended_interchange: InterchangeHeader::default(),
            refs_seen: HashSet::new(),
            charset_warned: false,
            queue: VecDeque::new(),
            done: false,
        }
    }

    /// Bytes consumed from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.lexer.bytes_read()
    }

    /// Changes the policy, e.g. once the interchange sender identified a
    /// partner with its own policy.
    pub fn set_policy(&mut self, policy: EnvelopePolicy) {
        self.policy = policy;
    }

    /// Takes the diagnostics raised since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    /// True when diagnostics are waiting.
    pub fn has_diagnostics(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    /// The interchange currently open.
    pub fn interchange(&self) -> Option<&InterchangeHeader> {
        self.interchange.as_ref()
    }

    /// The name given to the input in diagnostics.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    fn push(
        &mut self,
        severity: Option<Severity>,
        code: &str,
        syntax: Option<&str>,
        mut loc: Location,
        msg: String,
    ) {
        let Some(severity) = severity else { return };
        loc.file.clone_from(&self.file);
        self.diagnostics.push(Diagnostic {
            severity,
            code: code.to_string(),
            syntax_error: syntax.map(str::to_string),
            location: loc,
            message: msg,
        });
    }

    fn message_loc(&self, position: u32, tag: &str, line: u32, offset: u64) -> Location {
        let m = self.message.as_ref();
        Location {
            interchange: self.interchange.as_ref().map(|h| h.index),
            message: m.map(|m| m.header.index),
            message_ref: m.map(|m| m.header.reference.clone()),
            segment: Some(position),
            tag: Some(tag.to_string()),
            line: Some(line),
            offset: Some(offset),
            ..Location::default()
        }
    }

    /// Closes the open message without UNT (cut short).
    fn cut_message(&mut self, at: &Location, why: &str) {
        if let Some(m) = self.message.take() {
            let loc = Location {
                interchange: self.interchange.as_ref().map(|h| h.index),
                message: Some(m.header.index),
                message_ref: Some(m.header.reference.clone()),
                segment: Some(m.segments + 1),
                tag: at.tag.clone(),
                line: at.line,
                offset: at.offset,
                ..Location::default()
            };
            self.push(
                Some(Severity::Error),
                "missing-unt",
                Some("13"),
                loc,
                format!("message {} has no UNT trailer: {why}", m.header.reference),
            );
            self.ended = m.header;
            self.queue.push_back(Queued::MessageEnd);
        }
    }

    /// Closes the open interchange without UNZ.
    fn cut_interchange(&mut self, at: &Location, why: &str, sev: Option<Severity>) {
        if self.group.take().is_some() {
            self.queue.push_back(Queued::GroupEnd);
        }
        if let Some(ih) = self.interchange.take() {
            let loc = Location {
                interchange: Some(ih.index),
                ..at.clone()
            };
            self.push(
                sev,
                "missing-unz",
                Some("13"),
                loc,
                format!("interchange {} has no UNZ trailer: {why}", ih.control_ref),
            );
            self.ended_interchange = ih;
            self.queue.push_back(Queued::InterchangeEnd);
        }
    }

    fn read_service(&self, fields: &[(usize, usize)]) -> ServiceInfo {
        let seg = self.lexer.segment();
        ServiceInfo {
            loc: Location {
                interchange: self.interchange.as_ref().map(|h| h.index),
                tag: Some(seg.tag().into_owned()),
                line: Some(seg.line),
                offset: Some(seg.offset),
                ..Location::default()
            },
            values: fields.iter().map(|&(e, c)| owned(&seg, e, c)).collect(),
        }
    }

    fn check(
        &mut self,
        action: Action,
        ok: bool,
        code: &str,
        syntax: &str,
        loc: Location,
        msg: String,
    ) {
        if !ok {
            self.push(action.severity(), code, Some(syntax), loc, msg);
        }
    }

    fn on_unb(&mut self) {
        // Delimiters: from UNA, else sniffed from the UNB bytes.
        let from_una = self.una.is_some();
        let d0 = match self.una.take() {
            Some(d) => d,
            None => {
                let bytes = self.lexer.segment().bytes().to_vec();
                let d = Delimiters::sniff_from_unb(&bytes);
                if d != self.lexer.delimiters() {
                    self.lexer.set_delimiters(d);
                    self.lexer.resplit();
                }
                d
            }
        };
        let info = self.read_service(&[
            (1, 1),
            (1, 2),
            (2, 1),
            (2, 2),
            (3, 1),
            (3, 2),
            (4, 1),
            (4, 2),
            (5, 1),
            (7, 1),
            (9, 1),
            (11, 1),
        ]);
        let v = |i: usize| info.values.get(i).cloned().flatten();
        if self.message.is_some() {
            self.cut_message(&info.loc, "a new interchange (UNB) started");
        }
        if self.interchange.is_some() {
            self.cut_interchange(
                &info.loc,
                "a new interchange (UNB) started",
                Some(Severity::Error),
            );
        }
        self.interchange_count += 1;
        let syntax_id = v(0).unwrap_or_default();
        let syntax_version = v(1).and_then(|s| s.parse::<u8>().ok()).unwrap_or(0);
        let d = d0.with_version_defaults(syntax_version, from_una);
        self.lexer.set_delimiters(d);
        let charset = Charset::from_syntax_identifier(&syntax_id);
        let mut loc = info.loc.clone();
        loc.interchange = Some(self.interchange_count);
        if charset.is_none() {
            self.push(
                Some(Severity::Warning),
                "unknown-syntax-id",
                Some("2"),
                loc.at_element(1, Some(1)),
                format!("unknown syntax identifier {syntax_id:?}; values read as UTF-8"),
            );
        }
        let charset = charset.unwrap_or(Charset::Utf8);
        self.lexer.set_charset(charset);
        let header = InterchangeHeader {
            index: self.interchange_count,
            syntax_id,
            syntax_version,
            sender: v(2).unwrap_or_default(),
            sender_qualifier: v(3),
            recipient: v(4).unwrap_or_default(),
            recipient_qualifier: v(5),
            prepared_at: iso_datetime(v(6), v(7)),
            control_ref: v(8).unwrap_or_default(),
            application_ref: v(9),
            ack_requested: v(10).as_deref() == Some("1"),
            test: v(11).as_deref() == Some("1"),
            delimiters: d,
            charset,
            offset: loc.offset.unwrap_or(0),
            line: loc.line.unwrap_or(0),
        };
        for (ok, el, what) in [
            (
                !header.sender.is_empty(),
                2,
                "interchange sender (S002/0004)",
            ),
            (
                !header.recipient.is_empty(),
                3,
                "interchange recipient (S003/0010)",
            ),
            (
                !header.control_ref.is_empty(),
                5,
                "interchange control reference (0020)",
            ),
        ] {
            if !ok {
                self.push(
                    Some(Severity::Error),
                    "missing-element",
                    Some("13"),
                    loc.at_element(el, Some(1)),
                    format!("UNB has no {what}"),
                );
            }
        }
        self.interchange = Some(header);
        self.groups_in_interchange = 0;
        self.messages_in_interchange = 0;
        self.refs_seen.clear();
        self.charset_warned = false;
        self.queue.push_back(Queued::InterchangeStart);
    }

    fn on_ung(&mut self) {
        let info = self.read_service(&[(1, 1), (5, 1)]);
        if self.interchange.is_none() {
            self.push(
                Some(Severity::Error),
                "no-interchange",
                Some("14"),
                info.loc.clone(),
                "UNG outside an interchange (no UNB before it)".into(),
            );
        }
        if self.message.is_some() {
            self.cut_message(&info.loc, "a group (UNG) started");
        }
        if self.group.take().is_some() {
            self.push(
                Some(Severity::Error),
                "missing-une",
                Some("13"),
                info.loc.clone(),
                "previous group has no UNE trailer".into(),
            );
            self.queue.push_back(Queued::GroupEnd);
        }
        self.groups_in_interchange += 1;
        self.group = Some(OpenGroup {
            header: GroupHeader {
                message_type: info.values[0].clone(),
                control_ref: info.values[1].clone().unwrap_or_default(),
            },
            messages: 0,
        });
        self.queue.push_back(Queued::GroupStart);
    }

    fn on_une(&mut self) {
        let info = self.read_service(&[(1, 1), (2, 1)]);
        if self.message.is_some() {
            self.cut_message(&info.loc, "group trailer (UNE) reached");
        }
        match self.group.take() {
            None => self.push(
                Some(Severity::Error),
                "unexpected-une",
                Some("14"),
                info.loc,
                "UNE without a matching UNG".into(),
            ),
            Some(g) => {
                let count = info.values[0].clone().unwrap_or_default();
                let r = info.values[1].clone().unwrap_or_default();
                self.check(
                    self.policy.control_counts,
                    count.parse::<u32>().ok() == Some(g.messages),
                    "une-count",
                    "29",
                    info.loc.at_element(1, Some(1)),
                    format!(
                        "UNE says {count:?} messages but the group holds {}",
                        g.messages
                    ),
                );
                self.check(
                    self.policy.control_references,
                    r == g.header.control_ref,
                    "une-reference",
                    "28",
                    info.loc.at_element(2, Some(1)),
                    format!(
                        "UNE reference {r:?} differs from UNG reference {:?}",
                        g.header.control_ref
                    ),
                );
                self.queue.push_back(Queued::GroupEnd);
            }
        }
    }

    fn on_unz(&mut self) {
        let info = self.read_service(&[(1, 1), (2, 1)]);
        if self.message.is_some() {
            self.cut_message(&info.loc, "interchange trailer (UNZ) reached");
        }
        if self.group.take().is_some() {
            self.push(
                Some(Severity::Error),
                "missing-une",
                Some("13"),
                info.loc.clone(),
                "group has no UNE trailer before UNZ".into(),
            );
            self.queue.push_back(Queued::GroupEnd);
        }
        let Some(ih) = self.interchange.take() else {
            self.push(
                Some(Severity::Error),
                "unexpected-unz",
                Some("14"),
                info.loc,
                "UNZ without a matching UNB".into(),
            );
            return;
        };
        let count = info.values[0].clone().unwrap_or_default();
        let r = info.values[1].clone().unwrap_or_default();
        let expected = if self.groups_in_interchange > 0 {
            self.groups_in_interchange
        } else {
            self.messages_in_interchange
        };
        let what = if self.groups_in_interchange > 0 {
            "groups"
        } else {
            "messages"
        };
        let mut loc = info.loc;
        loc.interchange = Some(ih.index);
        self.check(
            self.policy.control_counts,
            count.parse::<u32>().ok() == Some(expected),
            "unz-count",
            "29",
            loc.at_element(1, Some(1)),
            format!("UNZ says {count:?} {what} but the interchange holds {expected}"),
        );
        self.check(
            self.policy.control_references,
            r == ih.control_ref,
            "unz-reference",
            "28",
            loc.at_element(2, Some(1)),
            format!(
                "UNZ reference {r:?} differs from UNB reference {:?}",
                ih.control_ref
            ),
        );
        self.ended_interchange = ih;
        self.queue.push_back(Queued::InterchangeEnd);
    }

    fn on_unh(&mut self) {
        let info = self.read_service(&[(1, 1), (2, 1), (2, 2), (2, 3), (2, 4), (2, 5)]);
        if self.message.is_some() {
            self.cut_message(&info.loc, "a new message (UNH) started");
        }
        if self.interchange.is_none() {
            // Bare messages: open an implicit interchange so that they are
            // still read, but reject them.
            self.interchange_count += 1;
            let mut loc = info.loc.clone();
            loc.interchange = Some(self.interchange_count);
            self.push(
                Some(Severity::Error),
                "no-interchange",
                Some("14"),
                loc.clone(),
                "message outside an interchange: no UNB before UNH".into(),
            );
            let d = self.lexer.delimiters();
            self.interchange = Some(InterchangeHeader {
                index: self.interchange_count,
                delimiters: d,
                charset: Charset::Utf8,
                offset: loc.offset.unwrap_or(0),
                line: loc.line.unwrap_or(0),
                ..InterchangeHeader::default()
            });
            self.messages_in_interchange = 0;
            self.groups_in_interchange = 0;
            self.refs_seen.clear();
            self.queue.push_back(Queued::InterchangeStart);
        }
        self.messages_in_interchange += 1;
        if let Some(g) = self.group.as_mut() {
            g.messages += 1;
        }
        let v = |i: usize| info.values.get(i).cloned().flatten();
        let header = MessageHeader {
            index: self.messages_in_interchange,
            reference: v(0).unwrap_or_default(),
            message_type: v(1).unwrap_or_default(),
            version: v(2).unwrap_or_default(),
            release: v(3).unwrap_or_default(),
            agency: v(4).unwrap_or_default(),
            association: v(5),
            offset: info.loc.offset.unwrap_or(0),
            line: info.loc.line.unwrap_or(0),
        };
        self.message = Some(OpenMessage {
            header,
            segments: 1,
        });
        let loc = self.message_loc(
            1,
            "UNH",
            info.loc.line.unwrap_or(0),
            info.loc.offset.unwrap_or(0),
        );
        let reference = v(0).unwrap_or_default();
        if reference.is_empty() {
            self.push(
                Some(Severity::Error),
                "missing-element",
                Some("13"),
                loc.at_element(1, Some(1)),
                "UNH has no message reference number (0062)".into(),
            );
        } else if !self.refs_seen.insert(reference.clone()) {
            self.push(
                self.policy.control_references.severity(),
                "duplicate-message-ref",
                Some("26"),
                loc.at_element(1, Some(1)),
                format!("message reference {reference:?} is used twice in this interchange"),
            );
        }
        if v(1).is_none() {
            self.push(
                Some(Severity::Error),
                "missing-element",
                Some("13"),
                loc.at_element(2, Some(1)),
                "UNH has no message type (0065)".into(),
            );
        }
        self.queue.push_back(Queued::MessageStart);
    }

    fn on_unt(&mut self) {
        let info = self.read_service(&[(1, 1), (2, 1)]);
        let Some(mut m) = self.message.take() else {
            self.push(
                Some(Severity::Error),
                "unexpected-unt",
                Some("14"),
                info.loc,
                "UNT without a matching UNH".into(),
            );
            return;
        };
        m.segments += 1;
        self.message = Some(m);
        let (segments, reference) = match &self.message {
            Some(m) => (m.segments, m.header.reference.clone()),
            None => (0, String::new()),
        };
        let loc = self.message_loc(
            segments,
            "UNT",
            info.loc.line.unwrap_or(0),
            info.loc.offset.unwrap_or(0),
        );
        let count = info.values[0].clone().unwrap_or_default();
        let r = info.values[1].clone().unwrap_or_default();
        self.check(
            self.policy.control_counts,
            count.parse::<u32>().ok() == Some(segments),
            "unt-count",
            "29",
            loc.at_element(1, Some(1)),
            format!("UNT says {count:?} segments but the message has {segments}"),
        );
        self.check(
            self.policy.control_references,
            r == reference,
            "unt-reference",
            "28",
            loc.at_element(2, Some(1)),
            format!("UNT reference {r:?} differs from UNH reference {reference:?}"),
        );
        if let Some(m) = self.message.take() {
            self.ended = m.header;
        }
        self.queue.push_back(Queued::MessageEnd);
    }

    /// UNO starts an object package (ISO 9735-8): its last element is the
    /// object's length in octets, which follow raw and are skipped; UNP
    /// closes it.
    fn on_uno(&mut self) -> io::Result<()> {
        let seg = self.lexer.segment();
        let n = seg.element_count();
        let length = seg.text(n, 1).and_then(|t| t.trim().parse::<usize>().ok());
        let loc = Location {
            interchange: self.interchange.as_ref().map(|h| h.index),
            tag: Some("UNO".into()),
            line: Some(seg.line),
            offset: Some(seg.offset),
            ..Location::default()
        };
        match length {
            Some(len) => self.lexer.skip_raw(len)?,
            None => self.push(
                Some(Severity::Error),
                "invalid-value",
                Some("12"),
                loc.at_element(n as u32, Some(1)),
                "UNO object length (0810) is missing or not a number".into(),
            ),
        }
        Ok(())
    }

    fn on_stray(&mut self) {
        let seg = self.lexer.segment();
        let tag = seg.tag().into_owned();
        let valid = seg.has_valid_tag();
        let loc = Location {
            interchange: self.interchange.as_ref().map(|h| h.index),
            tag: Some(tag.clone()),
            line: Some(seg.line),
            offset: Some(seg.offset),
            ..Location::default()
        };
        let msg = if !valid {
            format!("{tag:?} is not a segment tag; expected UNA, UNB or UNH")
        } else if self.interchange.is_none() {
            format!("segment {tag} outside an interchange; expected UNA or UNB")
        } else {
            format!("segment {tag} outside a message; expected UNH, UNG, UNE or UNZ")
        };
        self.push(
            Some(Severity::Error),
            "unexpected-segment",
            Some("14"),
            loc,
            msg,
        );
    }

    fn check_charset(&mut self, position: u32) {
        let seg = self.lexer.segment();
        if self.charset_warned || seg.bytes().is_ascii() {
            return;
        }
        let cs = seg.charset;
        if cs.accepts(seg.bytes()) {
            return;
        }
        let tag = seg.tag().into_owned();
        let (line, offset) = (seg.line, seg.offset);
        self.charset_warned = true;
        let id = self
            .interchange
            .as_ref()
            .map(|h| h.syntax_id.clone())
            .unwrap_or_default();
        let loc = self.message_loc(position, &tag, line, offset);
        self.push(
            self.policy.charset.severity(),
            "charset",
            Some("21"),
            loc,
            format!("bytes outside the {id} repertoire declared in UNB (first here); UTF-8 sequences are read as UTF-8"),
        );
    }

    fn queued_event(&self, q: Queued) -> Event<'_> {
        match (q, &self.interchange, &self.group, &self.message) {
            (Queued::InterchangeStart, Some(h), _, _) => Event::InterchangeStart(h),
            (Queued::GroupStart, _, Some(g), _) => Event::GroupStart(&g.header),
            (Queued::MessageStart, _, _, Some(m)) => Event::MessageStart(&m.header),
            (Queued::MessageEnd, ..) => Event::MessageEnd(&self.ended),
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
                    Queued::MessageStart => self.message.is_some(),
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
                let (offset, line) = self.lexer.position();
                let loc = Location {
                    line: Some(line),
                    offset: Some(offset),
                    ..Location::default()
                };
                if self.message.is_some() {
                    self.cut_message(&loc, "end of input");
                }
                if self.interchange.is_some() {
                    let sev = self.policy.missing_trailer.severity();
                    self.cut_interchange(&loc, "end of input", sev);
                }
                continue;
            };
            match token {
                Token::Garbage { offset, line, len } => {
                    let loc = Location {
                        line: Some(line),
                        offset: Some(offset),
                        ..Location::default()
                    };
                    self.push(
                        self.policy.leading_garbage.severity(),
                        "leading-garbage",
                        None,
                        loc,
                        format!("{len} bytes of non-EDIFACT data before the first UNA/UNB skipped"),
                    );
                }
                Token::Una {
                    delimiters,
                    offset,
                    line,
                } => {
                    let loc = Location {
                        tag: Some("UNA".into()),
                        line: Some(line),
                        offset: Some(offset),
                        ..Location::default()
                    };
                    if self.message.is_some() {
                        self.cut_message(&loc, "a new interchange (UNA) started");
                    }
                    if self.interchange.is_some() {
                        self.cut_interchange(
                            &loc,
                            "a new interchange (UNA) started",
                            Some(Severity::Error),
                        );
                    }
                    self.una = Some(delimiters);
                }
                Token::Segment => {
                    let tag: [u8; 3] = match self.lexer.segment().tag_bytes() {
                        [a, b, c] => [*a, *b, *c],
                        _ => [0; 3],
                    };
                    match &tag {
                        b"UNB" => self.on_unb(),
                        b"UNG" => self.on_ung(),
                        b"UNE" => self.on_une(),
                        b"UNZ" => self.on_unz(),
                        b"UNH" => self.on_unh(),
                        b"UNT" => self.on_unt(),
                        b"UNO" => self.on_uno()?,
                        b"UNP" => {}
                        _ if self.message.is_some() => {
                            let position = match self.message.as_mut() {
                                Some(m) => {
                                    m.segments += 1;
                                    m.segments
                                }
                                None => 0,
                            };
                            self.check_charset(position);
                            let segment = self.lexer.segment();
                            return Ok(Some(Event::Segment { segment, position }));
                        }
                        _ => self.on_stray(),
                    }
                }
            }
        }
    }
}
