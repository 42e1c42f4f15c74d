//! File → canonical documents: the entry point shared by the CLI and the
//! daemon.
//!
//! [`Translator`] detects the format, drives the syntax layer and runs the
//! mapping for each message, streaming an [`Outcome`] per message to a
//! callback: memory stays bounded by the largest single document, whatever
//! the size of the input. A message is rejected when it, or the interchange
//! around it, has an error; its diagnostics say exactly where and why.

use std::io::{self, BufRead, BufReader, Read};

use crate::diagnostics::{Diagnostic, Location, Severity};
use crate::formats::edifact::{
    EnvelopePolicy, Event, GroupHeader, InterchangeHeader, MessageHeader, Reader,
};
use crate::mapping::{MessageMapper, Registry};
use crate::model::Document;

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Edifact,
    X12,
    Xml,
    /// SAP flat (fixed-width) IDoc: an `EDI_DC40` control record first.
    Idoc,
    Csv,
}

impl Format {
    /// Name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Edifact => "edifact",
            Format::X12 => "x12",
            Format::Xml => "xml",
            Format::Idoc => "idoc",
            Format::Csv => "csv",
        }
    }

    /// Parses a command-line name.
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s {
            "edifact" => Format::Edifact,
            "x12" => Format::X12,
            "xml" => Format::Xml,
            "idoc" => Format::Idoc,
            "csv" => Format::Csv,
            _ => return None,
        })
    }
}

/// Guesses the format from the first bytes of the input.
pub fn detect(head: &[u8]) -> Format {
    let mut h = head;
    if h.starts_with(&[0xEF, 0xBB, 0xBF]) {
        h = &h[3..];
    }
    let start = h
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(h.len());
    let h = &h[start..];
    if h.starts_with(b"UNA") || h.starts_with(b"UNB") || h.starts_with(b"UNH") {
        Format::Edifact
    } else if h.starts_with(b"ISA") || h.starts_with(&[0xC9, 0xE2, 0xC1]) {
        Format::X12
    } else if h.starts_with(b"<") {
        Format::Xml
    } else if h.starts_with(b"EDI_DC40") {
        Format::Idoc
    } else if memchr::memmem::find(head, b"UNB+").is_some()
        || memchr::memmem::find(head, b"UNH+").is_some()
    {
        // Junk before the envelope: still EDIFACT, the reader reports it.
        Format::Edifact
    } else {
        Format::Csv
    }
}

/// What happened to one message.
#[derive(Debug)]
pub enum Outcome {
    /// Mapped; `diagnostics` holds warnings only.
    Document {
        document: Box<Document>,
        diagnostics: Vec<Diagnostic>,
    },
    /// Rejected: at least one error in `diagnostics`. `document` is what
    /// could be mapped, for ops to look at, when the message was mapped.
    Rejected {
        location: Location,
        document: Option<Box<Document>>,
        diagnostics: Vec<Diagnostic>,
    },
}

/// What a syntax acknowledgement (CONTRL) of one received interchange
/// needs: its header, its own errors and each message's header and errors.
#[derive(Debug, Clone)]
pub struct InterchangeReport {
    pub header: InterchangeHeader,
    pub diagnostics: Vec<Diagnostic>,
    pub messages: Vec<(MessageHeader, Vec<Diagnostic>)>,
}

/// Counts and file-level diagnostics of a run.
#[derive(Debug, Default)]
pub struct Summary {
    pub bytes: u64,
    pub interchanges: u32,
    pub messages: u64,
    pub documents: u64,
    pub rejected: u64,
    /// Diagnostics not tied to one message (envelope, file).
    pub diagnostics: Vec<Diagnostic>,
    /// Per-interchange reports, when [`Options::reports`] asked for them.
    pub reports: Vec<InterchangeReport>,
}

impl Summary {
    /// True when nothing was rejected and no file-level error was found.
    pub fn is_clean(&self) -> bool {
        self.rejected == 0 && !self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Options of a translation.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Partner id; when absent, the partner is found from the interchange
    /// sender (partner files' `identifiers`).
    pub partner: Option<String>,
    /// Envelope policy when the partner sets none.
    pub policy: EnvelopePolicy,
    /// Name of the input in diagnostics.
    pub file_name: Option<String>,
    /// Format; detected when absent.
    pub format: Option<Format>,
    /// Keep an [`InterchangeReport`] per interchange (to answer with a
    /// CONTRL). Costs memory per message: off for large streams.
    pub reports: bool,
    /// CSV layout name (a file under `mappings/csv/`); when absent, the
    /// layout whose header matches the first row is used.
    pub layout: Option<String>,
    /// The input's size in bytes, when known (a journaled message): read
    /// buffers are sized to it instead of 256 KiB.
    pub size_hint: Option<usize>,
}

/// Why a translation could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TranslateError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file}: {format} input is not supported yet")]
    Unsupported { file: String, format: &'static str },
    #[error("unknown partner {0:?}: no mappings/partners file has this id")]
    UnknownPartner(String),
}

/// Sends diagnostics the envelope reader raised where they belong: to the
/// open message when they are about it, else to the run's file-level list
/// (errors also to `envelope_errors`, which reject the interchange's
/// messages) and to the current interchange report. Shared by every
/// segment-based format.
pub(crate) fn route(
    diags: Vec<Diagnostic>,
    in_message: bool,
    message_diags: &mut Vec<Diagnostic>,
    envelope_errors: &mut Vec<Diagnostic>,
    summary: &mut Summary,
) {
    for d in diags {
        if in_message && d.location.message.is_some() {
            message_diags.push(d);
        } else {
            if d.is_error() {
                envelope_errors.push(d.clone());
            }
            if let Some(r) = summary.reports.last_mut() {
                if d.location.interchange == Some(r.header.index) {
                    r.diagnostics.push(d.clone());
                }
            }
            summary.diagnostics.push(d);
        }
    }
}

/// Emits the outcome of one message: rejected when it could not be mapped,
/// when it has an error, or when its envelope has one (`envelope_errors`
/// are then repeated in its diagnostics); a document otherwise. Shared by
/// every segment-based format.
pub(crate) fn emit(
    summary: &mut Summary,
    sink: &mut dyn FnMut(Outcome),
    envelope_errors: &[Diagnostic],
    location: Location,
    document: Option<Box<Document>>,
    diags: Vec<Diagnostic>,
) {
    let rejected = document.is_none()
        || !envelope_errors.is_empty()
        || diags.iter().any(|d| d.severity == Severity::Error);
    match document {
        Some(document) if !rejected => {
            summary.documents += 1;
            sink(Outcome::Document {
                document,
                diagnostics: diags,
            });
        }
        document => {
            summary.rejected += 1;
            let mut all = envelope_errors.to_vec();
            all.extend(diags);
            sink(Outcome::Rejected {
                location,
                document,
                diagnostics: all,
            });
        }
    }
}

/// Translates inputs with a set of mappings.
pub struct Translator<'r> {
    registry: &'r Registry,
    /// XML mappings (`<mappings>/xml`, else the built-in copies), loaded on
    /// first use.
    xml: std::sync::OnceLock<Result<crate::formats::xml::XmlMappings, String>>,
}

impl<'r> Translator<'r> {
    /// A translator over `registry`.
    pub fn new(registry: &'r Registry) -> Translator<'r> {
        Translator {
            registry,
            xml: std::sync::OnceLock::new(),
        }
    }

    fn xml_mappings(&self) -> Result<&crate::formats::xml::XmlMappings, String> {
        use crate::formats::xml::XmlMappings;
        self.xml
            .get_or_init(|| {
                let dir = self.registry.root().join("xml");
                let loaded = if dir.is_dir() {
                    XmlMappings::load(&dir)
                } else {
                    XmlMappings::builtin()
                };
                loaded.map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// One XML document or flat IDoc per input.
    fn xml<R: Read>(
        &self,
        mut input: R,
        opts: &Options,
        sink: &mut dyn FnMut(Outcome),
    ) -> io::Result<Summary> {
        use crate::formats::xml::{read_document, ReadResult};
        let maps = self
            .xml_mappings()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut bytes = Vec::new();
        input.read_to_end(&mut bytes)?;
        let mut summary = Summary {
            bytes: bytes.len() as u64,
            messages: 1,
            ..Summary::default()
        };
        let base = Location {
            file: opts.file_name.clone(),
            message: Some(1),
            ..Location::default()
        };
        match read_document(&bytes, maps, opts.file_name.clone()) {
            ReadResult::Document {
                document,
                diagnostics,
            } => {
                if diagnostics.iter().any(Diagnostic::is_error) {
                    summary.rejected += 1;
                    sink(Outcome::Rejected {
                        location: Location {
                            message_ref: Some(document.number.clone()),
                            ..base
                        },
                        document: Some(document),
                        diagnostics,
                    });
                } else {
                    summary.documents += 1;
                    sink(Outcome::Document {
                        document,
                        diagnostics,
                    });
                }
            }
            ReadResult::Failed(e) => {
                summary.rejected += 1;
                sink(Outcome::Rejected {
                    location: Location {
                        line: e.line(),
                        ..base
                    },
                    document: None,
                    diagnostics: vec![e.diagnostic(opts.file_name.clone())],
                });
            }
        }
        Ok(summary)
    }

    /// Translates `input`, calling `sink` once per message.
    pub fn translate<R: Read>(
        &self,
        input: R,
        opts: &Options,
        sink: &mut dyn FnMut(Outcome),
    ) -> Result<Summary, TranslateError> {
        let file = opts.file_name.clone().unwrap_or_else(|| "-".into());
        let io_err = |source| TranslateError::Io {
            file: file.clone(),
            source,
        };
        let capacity = crate::formats::edifact::read_buffer_size(opts.size_hint);
        let mut input = BufReader::with_capacity(capacity, input);
        let format = match opts.format {
            Some(f) => f,
            None => detect(input.fill_buf().map_err(io_err)?),
        };
        match format {
            Format::Edifact => self.edifact(input, capacity, opts, sink).map_err(io_err),
            Format::Xml | Format::Idoc => self.xml(input, opts, sink).map_err(io_err),
            Format::X12 => {
                let head = input.fill_buf().map_err(io_err)?;
                if crate::formats::x12::is_ebcdic_x12(head) {
                    let ebcdic = crate::formats::x12::EbcdicReader::new(input);
                    crate::formats::x12::inbound::translate(self.registry, ebcdic, opts, sink)
                } else {
                    crate::formats::x12::inbound::translate(self.registry, input, opts, sink)
                }
                .map_err(io_err)
            }
            Format::Csv => {
                crate::formats::csv::inbound::translate(self.registry, input, opts, sink)
                    .map_err(io_err)
            }
        }
    }

    fn edifact<R: Read>(
        &self,
        input: R,
        capacity: usize,
        opts: &Options,
        sink: &mut dyn FnMut(Outcome),
    ) -> io::Result<Summary> {
        let fixed_partner = match &opts.partner {
            Some(id) => match self.registry.partner(id) {
                Some(p) => Some(p),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        TranslateError::UnknownPartner(id.clone()),
                    ))
                }
            },
            None => None,
        };
        let policy = fixed_partner
            .and_then(|p| p.envelope())
            .unwrap_or(opts.policy);
        let mut reader = Reader::with_capacity(input, opts.file_name.clone(), policy, capacity);
        let mut summary = Summary::default();
        let mut interchange = InterchangeHeader::default();
        let mut group: Option<GroupHeader> = None;
        let mut partner = fixed_partner;
        // Errors of the current interchange (or before it) reject its messages.
        let mut envelope_errors: Vec<Diagnostic> = Vec::new();
        let mut message_diags: Vec<Diagnostic> = Vec::new();
        let mut mapper: Option<MessageMapper<'_>> = None;
        let mut in_message = false;
        // Lines of the previous document (up to 1024): room reserved in
        // the next one.
        let mut last_lines = 0;

        loop {
            // A MessageEnd's own diagnostics were raised before it is read:
            // route them while the message is still open. (Most segments
            // raise none: nothing to take then.)
            if reader.has_diagnostics() {
                let pending = reader.take_diagnostics();
                route(
                    pending,
                    in_message,
                    &mut message_diags,
                    &mut envelope_errors,
                    &mut summary,
                );
            }
            let Some(event) = reader.next_event()? else {
                break;
            };
            match event {
                Event::InterchangeStart(h) => {
                    interchange = h.clone();
                    if opts.reports {
                        summary.reports.push(InterchangeReport {
                            header: h.clone(),
                            diagnostics: Vec::new(),
                            messages: Vec::new(),
                        });
                    }
                    summary.interchanges += 1;
                    if fixed_partner.is_none() {
                        partner = self.registry.partner_for_sender(&h.sender);
                    }
                    let p = partner.and_then(|p| p.envelope()).unwrap_or(opts.policy);
                    // Keep errors raised before this interchange (junk at
                    // the top of the file) for its messages.
                    envelope_errors.retain(|d| d.location.interchange.is_none());
                    reader.set_policy(p);
                }
                Event::GroupStart(g) => group = Some(g.clone()),
                Event::GroupEnd => group = None,
                Event::MessageStart(m) => {
                    in_message = true;
                    summary.messages += 1;
                    message_diags.clear();
                    let base = Location {
                        file: opts.file_name.clone(),
                        interchange: Some(interchange.index),
                        message: Some(m.index),
                        message_ref: Some(m.reference.clone()),
                        ..Location::default()
                    };
                    let dir = m.directory();
                    match self.registry.mapping(&m.message_type, &dir, partner) {
                        Some(mapping) => {
                            let mut mp = MessageMapper::new(mapping, base);
                            mp.reserve_lines(last_lines);
                            mapper = Some(mp);
                        }
                        None => {
                            mapper = None;
                            message_diags.push(
                                Diagnostic::error(
                                    "no-mapping",
                                    Location {
                                        segment: Some(1),
                                        tag: Some("UNH".into()),
                                        element: Some(2),
                                        component: Some(1),
                                        line: Some(m.line),
                                        offset: Some(m.offset),
                                        ..base
                                    },
                                    format!(
                                        "no mapping for message type {} {dir}: add one under mappings/",
                                        m.message_type
                                    ),
                                )
                                .with_syntax_error("14"),
                            );
                        }
                    }
                }
                Event::Segment { segment, position } => {
                    if let Some(mp) = mapper.as_mut() {
                        mp.segment(&segment, position);
                    }
                }
                Event::MessageEnd(m) => {
                    let m = m.clone();
                    let pending = reader.take_diagnostics();
                    route(
                        pending,
                        true,
                        &mut message_diags,
                        &mut envelope_errors,
                        &mut summary,
                    );
                    in_message = false;
                    let mut diags = std::mem::take(&mut message_diags);
                    let document = mapper.take().map(|mp| {
                        let (doc, mut d) = mp.finish(&interchange, group.as_ref(), &m);
                        last_lines = doc.lines.len().min(1024);
                        diags.append(&mut d);
                        Box::new(doc)
                    });
                    if let Some(r) = summary.reports.last_mut() {
                        r.messages.push((m.clone(), diags.clone()));
                    }
                    let location = Location {
                        file: opts.file_name.clone(),
                        interchange: Some(interchange.index),
                        message: Some(m.index),
                        message_ref: Some(m.reference.clone()),
                        line: Some(m.line),
                        offset: Some(m.offset),
                        ..Location::default()
                    };
                    emit(
                        &mut summary,
                        sink,
                        &envelope_errors,
                        location,
                        document,
                        diags,
                    );
                }
                Event::InterchangeEnd(_) => {
                    group = None;
                }
            }
        }
        summary.bytes = reader.bytes_read();
        Ok(summary)
    }
}
