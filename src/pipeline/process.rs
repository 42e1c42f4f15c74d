//! Processing of one journaled message: parse → map → route → (price) →
//! sinks, producing the journal [`Update`] that records the outcome.
//!
//! Processing always starts again from the raw bytes (it is cheap and
//! deterministic), so a message resumed after a crash or a failed delivery
//! goes through the mappings and terms in force. Sinks already delivered
//! since the last replay are skipped; the others are idempotent by message
//! id. Nothing here panics on data: every problem ends in a state with an
//! error text.
//!
//! [`process`] does it all in one blocking call. The daemon splits it in
//! three so that a batch's AMQP publisher confirms are awaited together:
//! [`begin`] (blocking: parse, map, price, start every sink), then
//! [`InFlight::settle`] (async: await the confirms), then [`finish`]
//! (blocking: record each delivery's outcome, settle the state, send the
//! partner's answers). A delivery is recorded as done only once its
//! confirm has arrived.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;

use crate::config::{Config, PartnerConfig};
use crate::journal::{now_ms, Delivery, Message, State, Update};
use crate::mapping::Registry;
use crate::model::Document;
use crate::pricing::{price_order, DocStatus, PricedDocument, Terms};
use crate::sinks::{Answer, Payload, Sink, SinkError, Started};
use crate::translate::{detect, Options, Outcome, Translator};

/// Everything processing needs, swapped as a whole on reload (SIGHUP):
/// in-flight work keeps the snapshot it started with.
#[derive(Debug)]
pub struct Runtime {
    pub config: Config,
    pub registry: Registry,
    pub terms: Arc<Terms>,
    pub sinks: HashMap<String, Sink>,
}

impl Runtime {
    /// Builds the sinks of `config`.
    pub fn new(config: Config, registry: Registry, terms: Arc<Terms>) -> Runtime {
        let sinks = config
            .sinks
            .iter()
            .map(|s| (s.name.clone(), Sink::from_config(s)))
            .collect();
        Runtime {
            config,
            registry,
            terms,
            sinks,
        }
    }
}

/// A small PRNG for retry jitter (no cryptographic use).
fn unit_random(seed: i64) -> f64 {
    let mut x = (seed as u64) ^ (now_ms() as u64).rotate_left(17) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn join_diagnostics<'a>(d: impl Iterator<Item = &'a crate::diagnostics::Diagnostic>) -> String {
    let all: Vec<String> = d.filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    let n = all.len();
    let mut s = all.into_iter().take(5).collect::<Vec<_>>().join("; ");
    if n > 5 {
        s.push_str(&format!("; … {} more", n - 5));
    }
    s
}

/// `value` as JSON, written into a buffer of `capacity` bytes to start with.
fn to_json<T: serde::Serialize + ?Sized>(
    value: &T,
    capacity: usize,
) -> Result<String, serde_json::Error> {
    let mut buf = Vec::with_capacity(capacity.min(16 << 20));
    serde_json::to_writer(&mut buf, value)?;
    // serde_json writes UTF-8 only; the check is kept (it is cheap) rather
    // than an unchecked conversion.
    String::from_utf8(buf).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// The partner of a message: the one its source named, else the one whose
/// identifiers include the interchange sender.
pub fn partner_of<'c>(config: &'c Config, msg: &Message) -> Option<&'c PartnerConfig> {
    msg.partner
        .as_deref()
        .and_then(|p| config.partner(p))
        .or_else(|| {
            msg.sender
                .as_deref()
                .and_then(|s| config.partner_for_sender(s))
        })
}

/// Processes one message. `delivered` lists sinks that already have it
/// (and answers already sent, as `answer:<kind>@<channel>`). Blocking
/// (sinks do I/O): call from a blocking thread. The same as [`begin`],
/// [`InFlight::settle`] and [`finish`] in a row.
pub fn process(rt: &Runtime, msg: &Message, delivered: &[String], today: NaiveDate) -> Update {
    let f = begin(rt, msg, delivered, today);
    let settled = match tokio::runtime::Handle::try_current() {
        Ok(h) if !f.is_settled() => h.block_on(f.settle()),
        // Nothing to wait for: the future is ready at its first poll.
        _ => futures_lite::future::block_on(f.settle()),
    };
    finish(rt, msg, delivered, today, settled)
}

/// A message processed up to its deliveries: parsed, mapped, priced, and
/// every sink started (file sinks written, AMQP publishes sent). Its
/// outcome is not known before [`InFlight::settle`] has awaited the
/// publisher confirms and [`finish`] has recorded them.
#[derive(Debug)]
pub struct InFlight {
    update: Update,
    ctx: AnswerContext,
    deliveries: Deliveries<Started>,
}

/// An [`InFlight`] message whose deliveries all have an outcome.
#[derive(Debug)]
pub struct Settled {
    update: Update,
    ctx: AnswerContext,
    deliveries: Deliveries<Result<(), SinkError>>,
}

/// The deliveries of one message: per sink, in route order, how it went.
#[derive(Debug)]
struct Deliveries<T> {
    /// False when processing stopped before delivering (rejected, held …).
    reached: bool,
    /// Every sink the message is routed to (those already delivered too).
    sinks: Vec<String>,
    /// The sinks delivered now.
    started: Vec<(String, T)>,
}

impl<T> Default for Deliveries<T> {
    fn default() -> Self {
        Deliveries {
            reached: false,
            sinks: Vec::new(),
            started: Vec::new(),
        }
    }
}

impl InFlight {
    /// True when no delivery waits for a confirm.
    pub fn is_settled(&self) -> bool {
        self.deliveries.started.iter().all(|(_, s)| s.is_done())
    }

    /// Awaits the confirms of the message's deliveries.
    pub async fn settle(self) -> Settled {
        let mut started = Vec::with_capacity(self.deliveries.started.len());
        for (sink, s) in self.deliveries.started {
            started.push((sink, s.settle().await));
        }
        Settled {
            update: self.update,
            ctx: self.ctx,
            deliveries: Deliveries {
                reached: self.deliveries.reached,
                sinks: self.deliveries.sinks,
                started,
            },
        }
    }
}

/// First half of [`process`]: parse, map, route, price, and start the
/// deliveries (blocking).
pub fn begin(rt: &Runtime, msg: &Message, delivered: &[String], today: NaiveDate) -> InFlight {
    let mut ctx = AnswerContext::default();
    let mut deliveries = Deliveries::default();
    let update = process_core(rt, msg, delivered, today, &mut ctx, &mut deliveries);
    InFlight {
        update,
        ctx,
        deliveries,
    }
}

/// Second half of [`process`]: records the deliveries' outcomes, settles
/// the state (delivered, retry, dead) and sends the partner's answers
/// (blocking).
pub fn finish(
    rt: &Runtime,
    msg: &Message,
    delivered: &[String],
    today: NaiveDate,
    s: Settled,
) -> Update {
    let mut u = s.update;
    if s.deliveries.reached {
        record_deliveries(rt, msg, &mut u, s.deliveries);
    }
    send_answers(rt, msg, delivered, today, &s.ctx, &mut u);
    u
}

/// What the answers to a partner are built from.
#[derive(Debug, Default)]
struct AnswerContext {
    reports: Vec<crate::translate::InterchangeReport>,
    /// Mapped documents (only when the partner wants APERAK or ORDRSP).
    documents: Vec<Document>,
    /// Rejected messages: what could be mapped (or a stand-in), and why.
    rejected: Vec<(Document, Vec<crate::diagnostics::Diagnostic>)>,
}

fn process_core(
    rt: &Runtime,
    msg: &Message,
    delivered: &[String],
    today: NaiveDate,
    ctx: &mut AnswerContext,
    out: &mut Deliveries<Started>,
) -> Update {
    let mut u = Update::new(msg.id, State::Received, msg.attempts);
    let partner = partner_of(&rt.config, msg);
    let acks = partner
        .map(|p| p.acknowledgements.clone())
        .unwrap_or_default();
    let keep_docs = acks.aperak || acks.ordrsp;
    let partner_id = partner
        .map(|p| p.id.clone())
        .or_else(|| msg.partner.clone());
    u.partner = partner_id.clone();
    u.format = Some(detect(&msg.raw).name().to_string());

    // Parse and map.
    let opts = Options {
        partner: partner.and_then(|p| p.mapping_partner.clone()),
        file_name: msg.source_ref.clone(),
        reports: acks.contrl,
        size_hint: Some(msg.raw.len()),
        ..Options::default()
    };
    let answer_docs = &mut ctx.documents;
    let answer_rejected = &mut ctx.rejected;
    let mut docs: Vec<Document> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    let result = Translator::new(&rt.registry).translate(&msg.raw[..], &opts, &mut |o| match o {
        Outcome::Document { document, .. } => {
            if keep_docs {
                answer_docs.push((*document).clone());
            }
            docs.push(*document)
        }
        Outcome::Rejected {
            location,
            diagnostics,
            document,
        } => {
            rejected.push(format!(
                "{location}: {}",
                join_diagnostics(diagnostics.iter())
            ));
            if acks.aperak {
                let doc = document.map(|d| *d).unwrap_or_else(|| {
                    Document::new(
                        crate::model::DocumentType::Other,
                        location.message_ref.clone().unwrap_or_default(),
                    )
                });
                answer_rejected.push((doc, diagnostics));
            }
        }
    });
    let mut summary = match result {
        Ok(s) => s,
        Err(e) => {
            u.state = State::Rejected;
            u.error = Some(e.to_string());
            u.events.push((State::Rejected, e.to_string()));
            return u;
        }
    };
    ctx.reports = std::mem::take(&mut summary.reports);
    u.events.push((
        State::Parsed,
        format!(
            "{} interchange(s), {} message(s), {} bytes",
            summary.interchanges, summary.messages, summary.bytes
        ),
    ));
    let file_errors = join_diagnostics(summary.diagnostics.iter());
    if docs.is_empty() {
        let mut why = rejected.join(" | ");
        if !file_errors.is_empty() {
            why = if why.is_empty() {
                file_errors
            } else {
                format!("{file_errors} | {why}")
            };
        }
        if why.is_empty() {
            why = "no business message found".into();
        }
        u.state = State::Rejected;
        u.error = Some(why.clone());
        u.events.push((State::Rejected, why));
        return u;
    }
    if !rejected.is_empty() {
        let why = format!(
            "{} message(s) rejected: {}",
            rejected.len(),
            rejected.join(" | ")
        );
        u.error = Some(why);
    }
    let numbers: Vec<&str> = docs.iter().map(|d| d.number.as_str()).collect();
    u.business_keys = Some(numbers.join(","));
    let mut types: Vec<&str> = docs.iter().map(|d| d.document_type.as_str()).collect();
    types.dedup();
    u.document_type = Some(types.join(","));
    // Canonical JSON is ≈ 2–3× the EDIFACT size, priced JSON ≈ 10× the
    // canonical one (the trail of rules per line): buffers sized so that
    // they do not grow (and copy) a dozen times.
    let canonical_capacity = msg.raw.len().saturating_mul(3);
    u.canonical_json = match to_json(&docs, canonical_capacity) {
        Ok(s) => Some(s),
        Err(e) => {
            u.state = State::Held;
            u.error = Some(format!("cannot serialise documents: {e}"));
            return u;
        }
    };
    u.events.push((
        State::Mapped,
        format!("{} document(s): {}", docs.len(), numbers.join(",")),
    ));

    // Route and price.
    let mut held: Vec<String> = Vec::new();
    let mut priced: Vec<PricedDocument> = Vec::new();
    // sink name → indexes of its documents (and of their priced versions).
    let mut per_sink: Vec<(String, Vec<usize>, Vec<usize>)> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let Some(route) = rt
            .config
            .route_for(partner_id.as_deref(), doc.document_type)
        else {
            held.push(format!(
                "{} {}: no route for partner {} and type {}",
                doc.document_type,
                doc.number,
                partner_id.as_deref().unwrap_or("(unknown)"),
                doc.document_type
            ));
            continue;
        };
        let mut priced_idx = None;
        if route.price {
            match partner.and_then(|p| p.pricing_client.as_deref()) {
                None => held.push(format!(
                    "{}: route {} prices but partner {} has no pricing_client",
                    doc.number,
                    route.name,
                    partner_id.as_deref().unwrap_or("(unknown)")
                )),
                Some(client) => match price_order(&rt.terms, client, doc, today) {
                    Ok(pd) => {
                        if pd.status == DocStatus::Held {
                            let reasons: Vec<&str> =
                                pd.reasons.iter().map(|r| r.message.as_str()).collect();
                            held.push(format!(
                                "{}: held by pricing: {}",
                                doc.number,
                                reasons.join("; ")
                            ));
                        }
                        priced.push(pd);
                        priced_idx = Some(priced.len() - 1);
                    }
                    Err(e) => held.push(format!("{}: {e}", doc.number)),
                },
            }
        }
        for s in &route.sinks {
            let entry = match per_sink.iter_mut().find(|(n, _, _)| n == s) {
                Some(e) => e,
                None => {
                    per_sink.push((s.clone(), Vec::new(), Vec::new()));
                    let last = per_sink.len() - 1;
                    &mut per_sink[last]
                }
            };
            entry.1.push(i);
            entry.2.extend(priced_idx);
        }
    }
    if !priced.is_empty() {
        match to_json(&priced, canonical_capacity.saturating_mul(10)) {
            Ok(s) => u.priced_json = Some(s),
            Err(e) => held.push(format!("cannot serialise priced documents: {e}")),
        }
        u.events.push((
            State::Priced,
            format!("{} document(s) priced", priced.len()),
        ));
    }
    if !held.is_empty() {
        let why = held.join(" | ");
        u.state = State::Held;
        u.error = Some(match u.error.take() {
            Some(e) => format!("{why} | {e}"),
            None => why.clone(),
        });
        u.events.push((State::Held, why));
        return u;
    }

    // Deliver (the outcomes are recorded by `record_deliveries`).
    out.reached = true;
    out.sinks = per_sink.iter().map(|(n, _, _)| n.clone()).collect();
    for (sink_name, doc_idx, priced_idx) in &per_sink {
        if delivered.iter().any(|d| d == sink_name) {
            continue;
        }
        let canonical: Cow<'_, str> = if doc_idx.len() == docs.len() {
            Cow::Borrowed(u.canonical_json.as_deref().unwrap_or_default())
        } else {
            let subset: Vec<&Document> = doc_idx.iter().map(|&i| &docs[i]).collect();
            Cow::Owned(serde_json::to_string(&subset).unwrap_or_default())
        };
        let priced_json: Option<Cow<'_, str>> = if priced_idx.is_empty() {
            None
        } else if priced_idx.len() == priced.len() {
            u.priced_json.as_deref().map(Cow::Borrowed)
        } else {
            let subset: Vec<&PricedDocument> = priced_idx.iter().map(|&i| &priced[i]).collect();
            serde_json::to_string(&subset).ok().map(Cow::Owned)
        };
        let payload = Payload {
            message_id: msg.id,
            partner: partner_id.clone(),
            canonical_json: canonical,
            priced_json,
        };
        let started = match rt.sinks.get(sink_name) {
            Some(s) => s.start(&payload),
            None => Started::Done(Err(SinkError::Permanent(format!(
                "no sink named {sink_name}"
            )))),
        };
        out.started.push((sink_name.clone(), started));
    }
    u
}

/// Records the outcome of each delivery and settles the message's state:
/// delivered when every sink took it, else a retry with backoff or a dead
/// letter.
fn record_deliveries(
    rt: &Runtime,
    msg: &Message,
    u: &mut Update,
    deliveries: Deliveries<Result<(), SinkError>>,
) {
    let mut failures: Vec<(String, bool)> = Vec::new();
    let attempt = msg.attempts + 1;
    for (sink_name, result) in deliveries.started {
        let (outcome, detail) = match &result {
            Ok(()) => ("ok", None),
            Err(e) => ("error", Some(e.to_string())),
        };
        u.deliveries.push(Delivery {
            sink: sink_name.clone(),
            attempt,
            at: now_ms(),
            outcome: outcome.into(),
            detail: detail.clone(),
        });
        if let Err(e) = result {
            failures.push((
                format!("{sink_name}: {e}"),
                matches!(e, SinkError::Permanent(_)),
            ));
        }
    }
    if failures.is_empty() {
        u.state = State::Delivered;
        u.events
            .push((State::Delivered, deliveries.sinks.join(",")));
        return;
    }
    let why = failures
        .iter()
        .map(|(w, _)| w.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    let permanent = failures.iter().any(|(_, p)| *p);
    u.attempts = attempt;
    let retry = &rt.config.retry;
    if permanent || attempt >= i64::from(retry.max_attempts) {
        u.state = State::Dead;
        u.events
            .push((State::Dead, format!("after {attempt} attempt(s): {why}")));
    } else {
        let delay = retry.delay_ms(attempt as u32, unit_random(msg.id));
        u.state = State::Failed;
        u.next_attempt_at = now_ms() + delay as i64;
        u.events.push((
            State::Failed,
            format!("attempt {attempt} failed, next in {delay} ms: {why}"),
        ));
    }
    u.error = Some(why);
}

/// Builds the answers the partner wants (CONTRL for every received
/// interchange; APERAK for every message, accepted or rejected; ORDRSP
/// accepting each order once it is delivered), writes each kind as one
/// EDIFACT interchange and sends it through the partner's outbound channel.
/// Each is recorded as a delivery `answer:<kind>@<channel>`, so a message
/// processed again (retry, crash before the commit) does not answer twice.
/// A failed send is retried like a sink.
fn send_answers(
    rt: &Runtime,
    msg: &Message,
    delivered: &[String],
    today: NaiveDate,
    ctx: &AnswerContext,
    u: &mut Update,
) {
    let Some(partner) = partner_of(&rt.config, msg) else {
        return;
    };
    let acks = &partner.acknowledgements;
    if !(acks.contrl || acks.aperak || acks.ordrsp) {
        return;
    }
    let Some(channel) = partner.outbound_channel.as_deref() else {
        u.events.push((
            u.state,
            format!(
                "partner {} wants acknowledgements but has no outbound_channel",
                partner.id
            ),
        ));
        return;
    };
    let mut answers: Vec<(&'static str, Vec<Document>)> = Vec::new();
    if acks.contrl && !ctx.reports.is_empty() {
        answers.push(("contrl", crate::respond::syntax_acks(&ctx.reports)));
    }
    if acks.aperak {
        let mut docs: Vec<Document> = ctx
            .documents
            .iter()
            .map(|d| crate::respond::application_ack(d, &[], today))
            .collect();
        docs.extend(
            ctx.rejected
                .iter()
                .map(|(d, diags)| crate::respond::application_ack(d, diags, today)),
        );
        if !docs.is_empty() {
            answers.push(("aperak", docs));
        }
    }
    if acks.ordrsp && u.state == State::Delivered {
        let docs: Vec<Document> = ctx
            .documents
            .iter()
            .filter(|d| d.document_type == crate::model::DocumentType::Order)
            .map(|d| crate::respond::accept_order(d, today))
            .collect();
        if !docs.is_empty() {
            answers.push(("ordrsp", docs));
        }
    }
    let attempt = msg.attempts + 1;
    let mut failures = Vec::new();
    for (n, (kind, docs)) in answers.iter().enumerate() {
        let key = format!("answer:{kind}@{channel}");
        if delivered.iter().any(|d| d == &key) {
            continue;
        }
        let result = write_answer(msg.id, n, docs).and_then(|bytes| {
            let a = Answer {
                message_id: msg.id,
                partner: Some(partner.id.clone()),
                kind,
                index: 1,
                bytes,
                name: None,
            };
            match rt.sinks.get(channel) {
                Some(s) => s.deliver_answer(&a),
                None => Err(SinkError::Permanent(format!("no sink named {channel}"))),
            }
        });
        u.deliveries.push(Delivery {
            sink: key.clone(),
            attempt,
            at: now_ms(),
            outcome: if result.is_ok() { "ok" } else { "error" }.into(),
            detail: result.as_ref().err().map(|e| e.to_string()),
        });
        if let Err(e) = result {
            failures.push(format!("{key}: {e}"));
        }
    }
    if failures.is_empty() {
        return;
    }
    let why = failures.join(" | ");
    // A delivered or rejected message whose answer could not be sent runs
    // again (its sinks and answers already sent are skipped).
    if matches!(u.state, State::Delivered | State::Rejected) {
        let retry = &rt.config.retry;
        u.attempts = attempt;
        if attempt >= i64::from(retry.max_attempts) {
            u.state = State::Dead;
            u.events
                .push((State::Dead, format!("after {attempt} attempt(s): {why}")));
        } else {
            let delay = retry.delay_ms(attempt as u32, unit_random(msg.id));
            u.state = State::Failed;
            u.next_attempt_at = now_ms() + delay as i64;
            u.events.push((
                State::Failed,
                format!("answer not sent, next attempt in {delay} ms: {why}"),
            ));
        }
        u.error = Some(match u.error.take() {
            Some(e) => format!("{why} | {e}"),
            None => why,
        });
    } else {
        u.events.push((u.state, format!("answer not sent: {why}")));
    }
}

/// One interchange holding `docs`, addressed back to the sender of the
/// received interchange. The control reference is derived from the message
/// id and the answer's position, so a resend is the same interchange.
fn write_answer(id: i64, n: usize, docs: &[Document]) -> Result<Vec<u8>, SinkError> {
    use crate::formats::edifact::{write_documents, OutboundOptions};
    let Some(first) = docs.first() else {
        return Err(SinkError::Permanent("no answer to write".into()));
    };
    let origin = &first.origin;
    let sender = origin
        .recipient
        .clone()
        .unwrap_or_else(|| "COMPTOIR".into());
    let recipient = origin.sender.clone().unwrap_or_else(|| "UNKNOWN".into());
    let mut oo = OutboundOptions::new(sender, recipient, format!("{id}{n}"));
    oo.sender_qualifier.clone_from(&origin.recipient_qualifier);
    oo.recipient_qualifier.clone_from(&origin.sender_qualifier);
    oo.una = true;
    oo.newline = true;
    write_documents(docs, &oo)
        .map_err(|e| SinkError::Permanent(format!("cannot write the answer: {e}")))
}
