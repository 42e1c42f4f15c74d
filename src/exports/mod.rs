//! Exports: documents read from the ERP and sent to partners — the return
//! direction of the pipeline (ERP → partner), next to the inbound one
//! (partner → ERP).
//!
//! An `[[export]]` section names an Odoo sink (its server, credentials and
//! lookup settings), the partners served and what to send: order responses
//! for confirmed sale orders, despatch advices for validated deliveries,
//! invoices for posted customer invoices and credit notes (EDIFACT, UBL or
//! CII), inventory reports of on-hand stock. [`run_pass`] does one pass;
//! the daemon runs one every `interval_secs` ([`run_schedule`]) and
//! `comptoir export run` runs one on demand.
//!
//! Each document is sent once:
//! 1. records are read by partner (its GLN identifiers find the Odoo
//!    customer and its contacts) and by business state, changed since the
//!    export's watermark (Odoo `write_date`), and each gets a key such as
//!    `ordrsp:sale.order:42`;
//! 2. a key already `sent` in the journal's `exports` table is skipped;
//! 3. otherwise the row is recorded *before* anything is rendered or sent;
//!    its id is the interchange control reference, and the rendered bytes
//!    are stored before the send, so a send repeated after a crash is the
//!    same interchange;
//! 4. the partner's outbound channel (a file, SFTP or AMQP sink) takes the
//!    file, and only then the row becomes `sent`. A failed send stays
//!    `pending` and is retried at the start of the next pass, up to
//!    `max_attempts` (then `dead`, for an operator: `comptoir export retry`).
//!
//! The watermark moves only after a pass that read every partner without
//! error, and trails the pass start by a safety margin; records read twice
//! are recognised by their key. Without `since`, the very first pass sends
//! no history: it only starts the watermark.

pub mod odoo;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::config::{ExportConfig, ExportDocument, ExportFormat, PartnerConfig};
use crate::journal::{ExportState, Journal, JournalError};
use crate::model::Document;
use crate::pipeline::Runtime;
use crate::sinks::odoo::OdooError;
use crate::sinks::{Answer, Sink, SinkError};

use odoo::{m2o_id, text, OdooReader, Parties, Record, Tax};

/// How far behind the pass start the watermark is set: records written
/// by transactions still open when the pass read are read again next time.
const WATERMARK_MARGIN_SECS: i64 = 300;

/// Why a pass could not run (a failing partner or document does not stop a
/// pass: it is reported in [`PassReport::problems`]).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export {export}: {message}")]
    Config { export: String, message: String },
    #[error("export {export}: {source}")]
    Journal {
        export: String,
        #[source]
        source: JournalError,
    },
}

/// One document sent (or attempted) by a pass.
#[derive(Debug, Clone)]
pub struct Sent {
    pub partner: String,
    pub kind: &'static str,
    pub number: String,
    pub file_name: String,
    pub state: ExportState,
    pub error: Option<String>,
}

/// What a pass did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub export: String,
    /// Documents sent or attempted, in order.
    pub sent: Vec<Sent>,
    /// Records skipped because they were sent before.
    pub already_sent: usize,
    /// What went wrong without stopping the pass (Odoo errors, partners not
    /// found, documents that cannot be written).
    pub problems: Vec<String>,
}

impl PassReport {
    /// Documents that reached `sent` in this pass.
    pub fn sent_count(&self) -> usize {
        self.sent
            .iter()
            .filter(|s| s.state == ExportState::Sent)
            .count()
    }
}

/// A document ready to record and send.
struct Pending {
    key: String,
    kind: ExportDocument,
    doc: Document,
}

/// The partners an export serves.
fn partners_of<'c>(rt: &'c Runtime, export: &ExportConfig) -> Vec<&'c PartnerConfig> {
    rt.config
        .partners
        .iter()
        .filter(|p| {
            p.outbound_channel.is_some()
                && !p.identifiers.is_empty()
                && (export.partners.is_empty() || export.partners.contains(&p.id))
        })
        .collect()
}

/// Writes `doc` in the export's format; (bytes, file extension).
fn render(
    export: &ExportConfig,
    kind: ExportDocument,
    doc: &Document,
    partner_gln: &str,
    control_ref: &str,
) -> Result<(Vec<u8>, &'static str), String> {
    use crate::formats::edifact::{write_documents, OutboundOptions};
    use crate::formats::xml::{write_cii_invoice, write_ubl_invoice, write_ubl_order_response};
    let format = match kind {
        ExportDocument::Ordrsp => export.ordrsp_format,
        ExportDocument::Invoice => export.invoice_format,
        ExportDocument::Desadv | ExportDocument::Stock => ExportFormat::Edifact,
    };
    let xml = |r: Result<Vec<u8>, crate::formats::xml::WriteError>| {
        r.map(|b| (b, "xml")).map_err(|e| e.to_string())
    };
    // An EN 16931 invoice a partner's platform would reject is not sent:
    // the rules broken say what to fix in Odoo.
    let en16931 = || {
        let v = crate::formats::xml::check_en16931(doc);
        if v.is_empty() {
            Ok(())
        } else {
            Err(v
                .iter()
                .map(|v| format!("{} {}: {}", v.rule, v.path, v.message))
                .collect::<Vec<_>>()
                .join("; "))
        }
    };
    match (format, kind) {
        (ExportFormat::Ubl, ExportDocument::Ordrsp) => xml(write_ubl_order_response(doc)),
        (ExportFormat::Ubl, _) => {
            en16931()?;
            xml(write_ubl_invoice(doc))
        }
        (ExportFormat::Cii, _) => {
            en16931()?;
            xml(write_cii_invoice(doc))
        }
        (ExportFormat::Edifact, _) => {
            let mut oo = OutboundOptions::new(
                export.company.gln.clone(),
                partner_gln.to_string(),
                control_ref.to_string(),
            );
            oo.sender_qualifier = Some("14".into());
            oo.recipient_qualifier = Some("14".into());
            oo.una = true;
            oo.newline = true;
            write_documents(std::slice::from_ref(doc), &oo)
                .map(|b| (b, "edi"))
                .map_err(|e| e.to_string())
        }
    }
}

/// A file name made of safe characters only.
fn file_name(kind: ExportDocument, number: &str, id: i64, ext: &str) -> String {
    let clean: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{clean}-{id}.{ext}", kind.as_str())
}

/// Sends one stored export through the partner's channel (blocking I/O on
/// a blocking thread).
async fn send(
    rt: &Arc<Runtime>,
    channel: &str,
    partner: &str,
    kind: &'static str,
    id: i64,
    name: String,
    bytes: Vec<u8>,
) -> Result<(), SinkError> {
    let rt = Arc::clone(rt);
    let channel = channel.to_string();
    let answer = Answer {
        message_id: id,
        partner: Some(partner.to_string()),
        kind,
        index: 1,
        bytes,
        name: Some(name),
    };
    tokio::task::spawn_blocking(move || match rt.sinks.get(&channel) {
        Some(s) => s.deliver_answer(&answer),
        None => Err(SinkError::Permanent(format!("no sink named {channel}"))),
    })
    .await
    .map_err(|e| SinkError::Transient(format!("send task: {e}")))?
}

/// The ERP time `secs` seconds before `t`, in Odoo's `write_date` format.
fn odoo_time(t: DateTime<Utc>, secs: i64) -> String {
    (t - chrono::Duration::seconds(secs))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// Runs one pass of `export`: resends what is pending, then reads, records
/// and sends what is new. `now` dates the documents and the watermark.
pub async fn run_pass(
    rt: Arc<Runtime>,
    journal: &Journal,
    export: &ExportConfig,
    now: DateTime<Utc>,
) -> Result<PassReport, ExportError> {
    let cfg_err = |message: String| ExportError::Config {
        export: export.name.clone(),
        message,
    };
    let jerr = |source: JournalError| ExportError::Journal {
        export: export.name.clone(),
        source,
    };
    let orders = match rt.sinks.get(&export.odoo) {
        Some(Sink::Odoo(s)) => s.orders().cloned().ok_or_else(|| {
            cfg_err(format!(
                "the Odoo sink {:?} cannot connect (see its password_env)",
                export.odoo
            ))
        })?,
        _ => return Err(cfg_err(format!("no Odoo sink named {:?}", export.odoo))),
    };
    let reader = OdooReader {
        client: &orders.client,
        cfg: orders.config(),
    };
    let mut report = PassReport {
        export: export.name.clone(),
        ..PassReport::default()
    };
    let partners = partners_of(&rt, export);

    // 1. What a previous pass could not send.
    for row in journal.exports_pending(&export.name).await.map_err(jerr)? {
        let (Some(name), Some(bytes)) = (row.file_name.clone(), row.bytes.clone()) else {
            continue;
        };
        let Some(p) = partners.iter().find(|p| p.id == row.partner) else {
            continue;
        };
        let Some(channel) = p.outbound_channel.as_deref() else {
            continue;
        };
        let kind = kind_name(&row.kind);
        let r = send(&rt, channel, &p.id, kind, row.id, name.clone(), bytes).await;
        let err = r.err().map(|e| e.to_string());
        let state = journal
            .export_outcome(
                row.id,
                err.as_deref().map_or(Ok(()), Err),
                export.max_attempts,
            )
            .await
            .map_err(jerr)?;
        report.sent.push(Sent {
            partner: p.id.clone(),
            kind,
            number: row.number.clone(),
            file_name: name,
            state,
            error: err,
        });
    }

    // 2. What is new.
    let today = now.date_naive();
    let mut read_ok = true;
    for p in &partners {
        let docs = match collect(&reader, journal, export, p, now, today).await {
            Ok(d) => d,
            Err(Problem::Odoo(e)) => {
                read_ok = false;
                report
                    .problems
                    .push(format!("partner {}: reading Odoo failed: {e}", p.id));
                continue;
            }
            Err(Problem::Journal(e)) => return Err(jerr(e)),
            Err(Problem::Note(n)) => {
                report.problems.push(format!("partner {}: {n}", p.id));
                continue;
            }
        };
        for item in docs.items {
            deliver_new(&rt, journal, export, p, item, &mut report).await?;
        }
        report.already_sent += docs.already_sent;
        report.problems.extend(docs.problems);
    }
    if read_ok {
        let since = odoo_time(now, WATERMARK_MARGIN_SECS);
        for kind in &export.documents {
            journal
                .set_export_watermark(&export.name, kind.as_str(), &since)
                .await
                .map_err(jerr)?;
        }
    }
    Ok(report)
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "ordrsp" => "ordrsp",
        "desadv" => "desadv",
        "invoice" => "invoice",
        _ => "stock",
    }
}

/// Records, renders and sends one new document.
async fn deliver_new(
    rt: &Arc<Runtime>,
    journal: &Journal,
    export: &ExportConfig,
    p: &PartnerConfig,
    item: Pending,
    report: &mut PassReport,
) -> Result<(), ExportError> {
    let jerr = |source: JournalError| ExportError::Journal {
        export: export.name.clone(),
        source,
    };
    let kind = item.kind.as_str();
    let row = journal
        .export_begin(&export.name, &item.key, &p.id, kind, &item.doc.number)
        .await
        .map_err(jerr)?;
    if row.state == ExportState::Sent {
        report.already_sent += 1;
        return Ok(());
    }
    let partner_gln = p
        .identifiers
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let (name, bytes) = match (row.file_name.clone(), row.bytes.clone()) {
        (Some(n), Some(b)) => (n, b),
        _ => match render(
            export,
            item.kind,
            &item.doc,
            partner_gln,
            &format!("E{}", row.id),
        ) {
            Ok((bytes, ext)) => {
                let name = file_name(item.kind, &item.doc.number, row.id, ext);
                journal
                    .export_store(row.id, &name, &bytes)
                    .await
                    .map_err(jerr)?;
                (name, bytes)
            }
            Err(e) => {
                // Rendering is deterministic: it fails again until the
                // record changes in Odoo (which brings it back).
                let why = format!("cannot write {kind} {}: {e}", item.doc.number);
                let state = journal
                    .export_outcome(row.id, Err(&why), 1)
                    .await
                    .map_err(jerr)?;
                report.problems.push(format!("partner {}: {why}", p.id));
                report.sent.push(Sent {
                    partner: p.id.clone(),
                    kind: item.kind.as_str(),
                    number: item.doc.number.clone(),
                    file_name: String::new(),
                    state,
                    error: Some(why),
                });
                return Ok(());
            }
        },
    };
    let channel = p.outbound_channel.as_deref().unwrap_or_default();
    let r = send(
        rt,
        channel,
        &p.id,
        item.kind.as_str(),
        row.id,
        name.clone(),
        bytes,
    )
    .await;
    let err = r.as_ref().err().map(|e| e.to_string());
    let state = journal
        .export_outcome(
            row.id,
            err.as_deref().map_or(Ok(()), Err),
            export.max_attempts,
        )
        .await
        .map_err(jerr)?;
    match &err {
        Some(e) => {
            tracing::warn!(export = %export.name, partner = %p.id, kind, "export not sent: {e}")
        }
        None => {
            tracing::info!(export = %export.name, partner = %p.id, kind, file = %name, "export sent")
        }
    }
    report.sent.push(Sent {
        partner: p.id.clone(),
        kind: item.kind.as_str(),
        number: item.doc.number.clone(),
        file_name: name,
        state,
        error: err,
    });
    Ok(())
}

/// Why reading one partner's documents stopped.
enum Problem {
    Odoo(OdooError),
    Journal(JournalError),
    Note(String),
}

impl From<OdooError> for Problem {
    fn from(e: OdooError) -> Problem {
        Problem::Odoo(e)
    }
}

impl From<JournalError> for Problem {
    fn from(e: JournalError) -> Problem {
        Problem::Journal(e)
    }
}

/// The new documents of one partner.
#[derive(Default)]
struct Collected {
    items: Vec<Pending>,
    already_sent: usize,
    problems: Vec<String>,
}

/// `base` with the watermark and `since` terms of one kind; `None` on the
/// export's very first pass for that kind when no `since` is configured:
/// switching exports on must not send a partner years of history, so that
/// pass only starts the watermark (records changed from a few minutes
/// before it on are sent by the next pass).
async fn domain(
    journal: &Journal,
    export: &ExportConfig,
    kind: ExportDocument,
    date_field: &str,
    mut base: Vec<Value>,
) -> Result<Option<Value>, JournalError> {
    let watermark = journal
        .export_watermark(&export.name, kind.as_str())
        .await?;
    match &export.since {
        Some(s) => base.push(json!([date_field, ">=", s])),
        None if watermark.is_none() => {
            tracing::info!(
                export = %export.name,
                kind = kind.as_str(),
                "first pass without `since`: nothing dated before now is sent (set `since` to send older records)"
            );
            return Ok(None);
        }
        None => {}
    }
    // A row recorded but never rendered (the render failed, an operator
    // asked for a retry) needs its record again: read past the watermark.
    let rescan = journal
        .export_has_unrendered(&export.name, &format!("{}:", kind.as_str()))
        .await?;
    if !rescan {
        if let Some(w) = watermark {
            base.push(json!(["write_date", ">=", w]));
        }
    }
    Ok(Some(Value::Array(base)))
}

fn ids_of(records: &[Record]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_i64))
        .collect()
}

/// Reads the partner's new documents of every kind the export sends.
async fn collect(
    reader: &OdooReader<'_>,
    journal: &Journal,
    export: &ExportConfig,
    p: &PartnerConfig,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Collected, Problem> {
    let customers = reader.customers(&p.identifiers).await?;
    if customers.is_empty() {
        return Err(Problem::Note(format!(
            "no res.partner with {} in {}",
            p.identifiers.join(" or "),
            reader.cfg.partner_fields.join(", ")
        )));
    }
    let info = reader.partners(customers.iter().copied()).await?;
    let main = customers
        .iter()
        .filter_map(|c| info.get(c))
        .find(|i| {
            i.gln
                .as_deref()
                .is_some_and(|g| p.identifiers.iter().any(|x| x == g))
        })
        .cloned()
        .unwrap_or_default();
    let parties = Parties {
        company: export.company.clone(),
        partner_gln: p.identifiers.first().cloned().unwrap_or_default(),
        partner: main,
    };
    let mut out = Collected::default();
    for kind in &export.documents {
        let prefix = format!("{}:", kind.as_str());
        let scope = Scope {
            reader,
            journal,
            export,
            customers: &customers,
            parties: &parties,
            done: journal.export_done_keys(&export.name, &prefix).await?,
            today,
        };
        match kind {
            ExportDocument::Ordrsp => scope.ordrsp(&mut out).await?,
            ExportDocument::Desadv => scope.desadv(&mut out).await?,
            ExportDocument::Invoice => scope.invoices(&mut out).await?,
            ExportDocument::Stock => scope.stock(p, now, &mut out).await?,
        }
    }
    Ok(out)
}

/// Groups `lines` by their many2one `field` (the parent record's id).
fn by_parent(lines: Vec<Record>, field: &str) -> HashMap<i64, Vec<Record>> {
    let mut m: HashMap<i64, Vec<Record>> = HashMap::new();
    for l in lines {
        if let Some(p) = m2o_id(l.get(field)) {
            m.entry(p).or_default().push(l);
        }
    }
    m
}

fn product_ids<'a>(lines: impl Iterator<Item = &'a Record>) -> BTreeSet<i64> {
    lines.filter_map(|l| m2o_id(l.get("product_id"))).collect()
}

/// What reading one kind of document for one partner needs.
struct Scope<'a> {
    reader: &'a OdooReader<'a>,
    journal: &'a Journal,
    export: &'a ExportConfig,
    /// The partner's `res.partner` ids (with its contacts).
    customers: &'a [i64],
    parties: &'a Parties,
    /// Keys of this kind a pass must not send again.
    done: HashSet<String>,
    today: NaiveDate,
}

/// The journal key of an exported record.
fn record_key(kind: ExportDocument, model: &str, id: i64) -> String {
    format!("{}:{model}:{id}", kind.as_str())
}

impl Scope<'_> {
    /// The records of `model` in the business state `base` describes,
    /// changed since the watermark and dated from `since` (on
    /// `date_field`), that were not sent before (those are counted in
    /// `out.already_sent`).
    async fn candidates(
        &self,
        kind: ExportDocument,
        model: &str,
        date_field: &str,
        base: Vec<Value>,
        fields: &[&str],
        out: &mut Collected,
    ) -> Result<Vec<Record>, Problem> {
        let Some(d) = domain(self.journal, self.export, kind, date_field, base).await? else {
            return Ok(Vec::new());
        };
        let records = self.reader.read(model, d, fields).await?;
        Ok(records
            .into_iter()
            .filter(|r| {
                let id = r.get("id").and_then(Value::as_i64).unwrap_or_default();
                let known = self.done.contains(&record_key(kind, model, id));
                if known {
                    out.already_sent += 1;
                }
                !known
            })
            .collect())
    }
    async fn ordrsp(&self, out: &mut Collected) -> Result<(), Problem> {
        let (reader, customers, parties, today) =
            (self.reader, self.customers, self.parties, self.today);
        let orders = self
            .candidates(
                ExportDocument::Ordrsp,
                "sale.order",
                "date_order",
                vec![
                    json!(["state", "in", ["sale", "done"]]),
                    json!(["partner_id", "in", customers]),
                    json!(["client_order_ref", "!=", false]),
                ],
                &[
                    "name",
                    "client_order_ref",
                    "date_order",
                    "commitment_date",
                    "currency_id",
                    "partner_shipping_id",
                    "amount_untaxed",
                    "amount_tax",
                    "amount_total",
                ],
                out,
            )
            .await?;
        let key = |id: i64| record_key(ExportDocument::Ordrsp, "sale.order", id);
        if orders.is_empty() {
            return Ok(());
        }
        let uom = reader.sale_uom_field();
        let lines = reader
            .read(
                "sale.order.line",
                json!([
                    ["order_id", "in", ids_of(&orders)],
                    ["display_type", "=", false]
                ]),
                &[
                    "order_id",
                    "product_id",
                    "name",
                    "product_uom_qty",
                    "price_unit",
                    "discount",
                    "price_subtotal",
                    uom,
                ],
            )
            .await?;
        let products = reader.products(product_ids(lines.iter())).await?;
        let shipping = reader
            .partners(
                orders
                    .iter()
                    .filter_map(|o| m2o_id(o.get("partner_shipping_id"))),
            )
            .await?;
        let mut lines = by_parent(lines, "order_id");
        for o in &orders {
            let id = o.get("id").and_then(Value::as_i64).unwrap_or_default();
            let ls = lines.remove(&id).unwrap_or_default();
            let delivery = m2o_id(o.get("partner_shipping_id")).and_then(|s| shipping.get(&s));
            let doc =
                odoo::order_response_document(reader, o, &ls, &products, delivery, parties, today);
            out.items.push(Pending {
                key: key(id),
                kind: ExportDocument::Ordrsp,
                doc,
            });
        }
        Ok(())
    }

    async fn desadv(&self, out: &mut Collected) -> Result<(), Problem> {
        let (reader, customers, parties, today) =
            (self.reader, self.customers, self.parties, self.today);
        let pickings = self
            .candidates(
                ExportDocument::Desadv,
                "stock.picking",
                "date_done",
                vec![
                    json!(["state", "=", "done"]),
                    json!(["picking_type_code", "=", "outgoing"]),
                    json!(["partner_id", "in", customers]),
                ],
                &["name", "date_done", "sale_id", "partner_id", "origin"],
                out,
            )
            .await?;
        let key = |id: i64| record_key(ExportDocument::Desadv, "stock.picking", id);
        if pickings.is_empty() {
            return Ok(());
        }
        let qty = reader.move_quantity_field();
        let moves = reader
            .read(
                "stock.move",
                json!([["picking_id", "in", ids_of(&pickings)]]),
                &["picking_id", "product_id", "product_uom", qty],
            )
            .await?;
        let products = reader.products(product_ids(moves.iter())).await?;
        let sale_ids: Vec<i64> = pickings
            .iter()
            .filter_map(|p| m2o_id(p.get("sale_id")))
            .collect();
        let refs: HashMap<i64, String> = if sale_ids.is_empty() {
            HashMap::new()
        } else {
            reader
                .read(
                    "sale.order",
                    json!([["id", "in", sale_ids]]),
                    &["client_order_ref"],
                )
                .await?
                .iter()
                .filter_map(|r| Some((r.get("id")?.as_i64()?, text(r.get("client_order_ref"))?)))
                .collect()
        };
        let delivered_to = reader
            .partners(pickings.iter().filter_map(|p| m2o_id(p.get("partner_id"))))
            .await?;
        let mut moves = by_parent(moves, "picking_id");
        for pk in &pickings {
            let id = pk.get("id").and_then(Value::as_i64).unwrap_or_default();
            let ms = moves.remove(&id).unwrap_or_default();
            let order_ref = m2o_id(pk.get("sale_id")).and_then(|s| refs.get(&s).cloned());
            let delivery = m2o_id(pk.get("partner_id")).and_then(|s| delivered_to.get(&s));
            let doc = odoo::despatch_document(
                reader, pk, &ms, &products, order_ref, delivery, parties, today,
            );
            if doc.lines.is_empty() {
                out.problems.push(format!(
                    "delivery {} has no done quantity: not sent",
                    doc.number
                ));
                continue;
            }
            out.items.push(Pending {
                key: key(id),
                kind: ExportDocument::Desadv,
                doc,
            });
        }
        Ok(())
    }

    async fn invoices(&self, out: &mut Collected) -> Result<(), Problem> {
        let (reader, customers, parties) = (self.reader, self.customers, self.parties);
        let moves = self
            .candidates(
                ExportDocument::Invoice,
                "account.move",
                "invoice_date",
                vec![
                    json!(["move_type", "in", ["out_invoice", "out_refund"]]),
                    json!(["state", "=", "posted"]),
                    json!(["partner_id", "in", customers]),
                ],
                &[
                    "name",
                    "move_type",
                    "invoice_date",
                    "invoice_date_due",
                    "ref",
                    "currency_id",
                    "partner_shipping_id",
                    "amount_untaxed",
                    "amount_tax",
                    "amount_total",
                ],
                out,
            )
            .await?;
        let key = |id: i64| record_key(ExportDocument::Invoice, "account.move", id);
        if moves.is_empty() {
            return Ok(());
        }
        let lines = reader
            .read(
                "account.move.line",
                json!([
                    ["move_id", "in", ids_of(&moves)],
                    ["display_type", "=", "product"]
                ]),
                &[
                    "move_id",
                    "product_id",
                    "name",
                    "quantity",
                    "price_unit",
                    "discount",
                    "price_subtotal",
                    "tax_ids",
                    "product_uom_id",
                ],
            )
            .await?;
        let products = reader.products(product_ids(lines.iter())).await?;
        let tax_ids: BTreeSet<i64> = lines
            .iter()
            .filter_map(|l| l.get("tax_ids").and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_i64)
            .collect();
        let taxes: HashMap<i64, Tax> = if tax_ids.is_empty() {
            HashMap::new()
        } else {
            let ids: Vec<i64> = tax_ids.into_iter().collect();
            reader
                .read(
                    "account.tax",
                    json!([["id", "in", ids], ["active", "in", [true, false]]]),
                    &["amount", "amount_type"],
                )
                .await?
                .iter()
                .filter(|t| {
                    t.get("amount_type")
                        .and_then(Value::as_str)
                        .unwrap_or("percent")
                        == "percent"
                })
                .filter_map(|t| {
                    Some((
                        t.get("id")?.as_i64()?,
                        Tax {
                            rate: odoo::dec(t.get("amount"))?,
                        },
                    ))
                })
                .collect()
        };
        let shipping = reader
            .partners(
                moves
                    .iter()
                    .filter_map(|m| m2o_id(m.get("partner_shipping_id"))),
            )
            .await?;
        let mut lines = by_parent(lines, "move_id");
        for m in &moves {
            let id = m.get("id").and_then(Value::as_i64).unwrap_or_default();
            let ls = lines.remove(&id).unwrap_or_default();
            let delivery = m2o_id(m.get("partner_shipping_id")).and_then(|s| shipping.get(&s));
            let doc = odoo::invoice_document(reader, m, &ls, &products, &taxes, delivery, parties);
            out.items.push(Pending {
                key: key(id),
                kind: ExportDocument::Invoice,
                doc,
            });
        }
        Ok(())
    }

    async fn stock(
        &self,
        p: &PartnerConfig,
        now: DateTime<Utc>,
        out: &mut Collected,
    ) -> Result<(), Problem> {
        let (reader, journal, export, parties, today) = (
            self.reader,
            self.journal,
            self.export,
            self.parties,
            self.today,
        );
        let prefix = format!("stock:{}:", p.id);
        let interval_ms = (export.stock_interval_secs.max(1) * 1000) as i64;
        if let Some(last) = journal.export_last_created(&export.name, &prefix).await? {
            if crate::journal::now_ms() - last < interval_ms {
                return Ok(());
            }
        }
        let quants = reader
            .read(
                "stock.quant",
                json!([["location_id.usage", "=", "internal"]]),
                &["product_id", "quantity", "reserved_quantity"],
            )
            .await?;
        let products = reader.products(product_ids(quants.iter())).await?;
        let number = format!("STK-{}", now.format("%Y%m%d%H%M"));
        let doc = odoo::stock_document(number, &quants, &products, parties, today);
        out.items.push(Pending {
            key: format!("{prefix}{}", now.timestamp_millis() / interval_ms),
            kind: ExportDocument::Stock,
            doc,
        });
        Ok(())
    }
}

/// Runs a pass of `export` every `interval_secs` until `shutdown` turns
/// true. `runtime` gives the configuration in force at each pass (SIGHUP
/// reloads apply to the next pass).
pub async fn run_schedule(
    export_name: String,
    runtime: impl Fn() -> Arc<Runtime> + Send + 'static,
    journal: Journal,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let rt = runtime();
        let Some(export) = rt
            .config
            .exports
            .iter()
            .find(|e| e.name == export_name)
            .cloned()
        else {
            tracing::info!(export = %export_name, "export removed from the configuration: stopping");
            return;
        };
        if export.interval_secs == 0 {
            return;
        }
        match run_pass(Arc::clone(&rt), &journal, &export, Utc::now()).await {
            Ok(r) => {
                for p in &r.problems {
                    tracing::warn!(export = %export.name, "{p}");
                }
                if !r.sent.is_empty() {
                    tracing::info!(export = %export.name, sent = r.sent_count(), attempted = r.sent.len(), "export pass");
                }
            }
            Err(e) => tracing::error!("{e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(export.interval_secs)) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
