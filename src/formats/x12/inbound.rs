//! X12 file → canonical documents: drives the envelope [`Reader`] and the
//! declarative mapping engine, one [`Outcome`] per transaction set.
//!
//! Mappings are looked up by transaction set (`850`) and version (GS08,
//! e.g. `004010`) in the same [`Registry`] as EDIFACT (files under
//! `mappings/x12/`); a transaction set without a mapping of its own uses
//! `mappings/x12/generic.toml` (message type `x12:*`). The documents'
//! `origin` says `x12`, with ISA/GS/ST data. A transaction set is rejected
//! when it, or its interchange, has an error.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::OnceLock;

use super::envelope::{default_policy, Event, GroupHeader, InterchangeHeader, Reader};
use crate::diagnostics::{Diagnostic, Location};
use crate::formats::edifact::{self, EnvelopePolicy};
use crate::mapping::{CompiledMapping, MessageMapper, Partner, Registry};
use crate::translate::{Format, Options, Outcome, Summary, TranslateError, Translator};

/// Message type of the X12 fallback mapping.
pub const GENERIC_X12: &str = "x12:*";

/// The mapping for a transaction set: its own, else the X12 generic one.
pub fn find_mapping<'r>(
    registry: &'r Registry,
    transaction_set: &str,
    version: &str,
    partner: Option<&Partner>,
) -> Option<&'r CompiledMapping> {
    let dir = version.get(..6).unwrap_or(version);
    match registry.mapping(transaction_set, dir, partner) {
        Some(m) if m.message_type != "*" => Some(m),
        other => registry.mapping(GENERIC_X12, "*", partner).or(other),
    }
}

fn edifact_headers(
    ih: &InterchangeHeader,
    gh: Option<&GroupHeader>,
) -> (edifact::InterchangeHeader, Option<edifact::GroupHeader>) {
    let e_ih = edifact::InterchangeHeader {
        index: ih.index,
        syntax_id: "X12".into(),
        sender: ih.sender.clone(),
        sender_qualifier: (!ih.sender_qualifier.is_empty()).then(|| ih.sender_qualifier.clone()),
        recipient: ih.receiver.clone(),
        recipient_qualifier: (!ih.receiver_qualifier.is_empty())
            .then(|| ih.receiver_qualifier.clone()),
        prepared_at: ih.prepared_at(),
        control_ref: ih.control_number.clone(),
        ack_requested: ih.ack_requested,
        test: ih.test,
        offset: ih.offset,
        line: ih.line,
        ..edifact::InterchangeHeader::default()
    };
    let e_gh = gh.map(|g| edifact::GroupHeader {
        message_type: Some(g.functional_id.clone()),
        control_ref: g.control_number.clone(),
    });
    (e_ih, e_gh)
}

/// Translates X12 `input` (EBCDIC already converted) with `registry`.
pub(crate) fn translate<R: Read>(
    registry: &Registry,
    input: R,
    opts: &Options,
    sink: &mut dyn FnMut(Outcome),
) -> io::Result<Summary> {
    let fixed_partner = match &opts.partner {
        Some(id) => match registry.partner(id) {
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
    let base_policy = if opts.policy == EnvelopePolicy::default() {
        default_policy()
    } else {
        opts.policy
    };
    let policy = fixed_partner
        .and_then(|p| p.envelope())
        .unwrap_or(base_policy);
    let mut reader = Reader::new(input, opts.file_name.clone(), policy);
    let mut summary = Summary::default();
    let mut interchange = InterchangeHeader::default();
    let mut group: Option<GroupHeader> = None;
    let mut partner = fixed_partner;
    let mut envelope_errors: Vec<Diagnostic> = Vec::new();
    let mut message_diags: Vec<Diagnostic> = Vec::new();
    let mut mapper: Option<MessageMapper<'_>> = None;
    let mut in_message = false;

    loop {
        let pending = reader.take_diagnostics();
        crate::translate::route(
            pending,
            in_message,
            &mut message_diags,
            &mut envelope_errors,
            &mut summary,
        );
        let Some(event) = reader.next_event()? else {
            break;
        };
        match event {
            Event::InterchangeStart(h) => {
                interchange = h.clone();
                summary.interchanges += 1;
                if fixed_partner.is_none() {
                    partner = registry.partner_for_sender(&h.sender);
                }
                let p = partner.and_then(|p| p.envelope()).unwrap_or(base_policy);
                envelope_errors.retain(|d| d.location.interchange.is_none());
                reader.set_policy(p);
            }
            Event::GroupStart(g) => group = Some(g.clone()),
            Event::GroupEnd => group = None,
            Event::TransactionStart(t) => {
                in_message = true;
                summary.messages += 1;
                message_diags.clear();
                let base = Location {
                    file: opts.file_name.clone(),
                    interchange: Some(interchange.index),
                    message: Some(t.index),
                    message_ref: Some(t.control_number.clone()),
                    ..Location::default()
                };
                let version = group
                    .as_ref()
                    .map(|g| g.version.clone())
                    .unwrap_or_default();
                match find_mapping(registry, &t.transaction_set, &version, partner) {
                    Some(mapping) => mapper = Some(MessageMapper::new(mapping, base)),
                    None => {
                        mapper = None;
                        message_diags.push(Diagnostic::error(
                            "no-mapping",
                            Location {
                                segment: Some(1),
                                tag: Some("ST".into()),
                                element: Some(1),
                                line: Some(t.line),
                                offset: Some(t.offset),
                                ..base
                            },
                            format!(
                                "no mapping for transaction set {} {version}: add one under mappings/x12/",
                                t.transaction_set
                            ),
                        ));
                    }
                }
            }
            Event::Segment { segment, position } => {
                if let Some(mp) = mapper.as_mut() {
                    mp.segment(&segment, position);
                }
            }
            Event::TransactionEnd(t) => {
                let t = t.clone();
                let pending = reader.take_diagnostics();
                crate::translate::route(
                    pending,
                    true,
                    &mut message_diags,
                    &mut envelope_errors,
                    &mut summary,
                );
                in_message = false;
                let mut diags = std::mem::take(&mut message_diags);
                let (e_ih, e_gh) = edifact_headers(&interchange, group.as_ref());
                let version = group.as_ref().map(|g| g.version.clone());
                let e_mh = edifact::MessageHeader {
                    index: t.index,
                    reference: t.control_number.clone(),
                    message_type: t.transaction_set.clone(),
                    version: version.clone().unwrap_or_default(),
                    offset: t.offset,
                    line: t.line,
                    ..edifact::MessageHeader::default()
                };
                let document = mapper.take().map(|mp| {
                    let (mut doc, mut d) = mp.finish(&e_ih, e_gh.as_ref(), &e_mh);
                    for x in &mut d {
                        if x.location.tag.as_deref() == Some("UNH") {
                            x.location.tag = Some("ST".into());
                            x.message = x.message.replace("UNH", "ST");
                        }
                    }
                    diags.append(&mut d);
                    doc.origin.format = "x12".into();
                    doc.origin.version = version
                        .clone()
                        .filter(|v| !v.is_empty())
                        .or_else(|| Some(interchange.version.clone()));
                    doc.origin.profile.clone_from(&t.implementation);
                    Box::new(doc)
                });
                let location = Location {
                    file: opts.file_name.clone(),
                    interchange: Some(interchange.index),
                    message: Some(t.index),
                    message_ref: Some(t.control_number.clone()),
                    line: Some(t.line),
                    offset: Some(t.offset),
                    ..Location::default()
                };
                crate::translate::emit(
                    &mut summary,
                    sink,
                    &envelope_errors,
                    location,
                    document,
                    diags,
                );
            }
            Event::InterchangeEnd(_) => group = None,
        }
    }
    summary.bytes = reader.bytes_read();
    Ok(summary)
}

fn fuzz_registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings");
            Registry::load(&dir).ok()
        })
        .as_ref()
}

/// Fuzzing entry point: reads `data` as X12 through the envelope reader,
/// touching every element of every segment, then translates it with the
/// crate's own mappings. Must never panic, whatever the bytes.
pub fn fuzz_x12(data: &[u8]) {
    let mut reader = Reader::new(data, None, default_policy());
    while let Ok(Some(event)) = reader.next_event() {
        if let Event::Segment { segment, .. } = event {
            for e in 1..=segment.element_count() {
                for c in 1..=segment.component_count(e) {
                    let _ = segment.text(e, c);
                    let _ = segment.decimal(e, c);
                }
                let _ = segment.repetitions(e);
            }
        }
        let _ = reader.take_diagnostics();
    }
    if let Some(registry) = fuzz_registry() {
        let opts = Options {
            format: Some(Format::X12),
            ..Options::default()
        };
        let _ = Translator::new(registry).translate(data, &opts, &mut |_| {});
    }
}
