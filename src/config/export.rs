//! Settings of the exports from the ERP back to partners (`[[export]]`):
//! which Odoo server to read, which documents to send, in which format,
//! how often. The exporter itself is [`crate::exports`].
//!
//! Every field is documented in `config/comptoir.example.toml`.

use serde::Deserialize;

use super::{Config, SinkKind};

/// What an export reads from the ERP and sends to partners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportDocument {
    /// Confirmed sale orders (`sale.order` in state `sale`) → order responses.
    Ordrsp,
    /// Validated deliveries (`stock.picking`, outgoing, `done`) → despatch advices.
    Desadv,
    /// Posted customer invoices and credit notes (`account.move`
    /// `out_invoice` / `out_refund`) → invoices.
    Invoice,
    /// On-hand stock (`stock.quant` in internal locations) → inventory reports.
    Stock,
}

impl ExportDocument {
    /// The name used in journal keys, file names and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportDocument::Ordrsp => "ordrsp",
            ExportDocument::Desadv => "desadv",
            ExportDocument::Invoice => "invoice",
            ExportDocument::Stock => "stock",
        }
    }
}

/// Syntax of the exported order responses and invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// EANCOM D.96A (ORDRSP, DESADV, INVOIC, INVRPT).
    #[default]
    Edifact,
    /// UBL 2.1 (Invoice, CreditNote, OrderResponse).
    Ubl,
    /// UN/CEFACT CII (Factur-X / ZUGFeRD XML), invoices only.
    Cii,
}

/// Our own company, as written in the exported documents (seller,
/// supplier, UNB sender).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportCompany {
    /// Our GLN: UNB sender and the seller/supplier party.
    pub gln: String,
    #[serde(default)]
    pub name: Option<String>,
    /// VAT identification number (needed by EN 16931 invoices).
    #[serde(default)]
    pub vat_id: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default)]
    pub country: Option<String>,
}

/// `[[export]]`: one scheduled export from an Odoo server to partners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    pub name: String,
    /// The Odoo sink (`[[sink]] type = "odoo"`) whose server, credentials,
    /// protocol, version and partner lookup fields are used.
    pub odoo: String,
    /// What to send.
    pub documents: Vec<ExportDocument>,
    /// Partners served (their `identifiers` find them in Odoo and their
    /// `outbound_channel` carries the files); empty: every partner with an
    /// outbound channel.
    #[serde(default)]
    pub partners: Vec<String>,
    /// Seconds between two passes of the daemon; 0: only on demand
    /// (`comptoir export run`).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Seconds between two inventory reports to the same partner.
    #[serde(default = "default_stock_interval")]
    pub stock_interval_secs: u64,
    /// Records dated before this day (`YYYY-MM-DD`: order date, delivery
    /// date, invoice date) are never sent; the first pass sends what is
    /// dated from then on (a backfill). Absent: the first pass sends no
    /// history at all, only what changes from then on.
    #[serde(default)]
    pub since: Option<String>,
    /// Syntax of order responses (`edifact` or `ubl`).
    #[serde(default)]
    pub ordrsp_format: ExportFormat,
    /// Syntax of invoices (`edifact`, `ubl` or `cii`).
    #[serde(default)]
    pub invoice_format: ExportFormat,
    /// Sends of one document before it is given up (state `dead`).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    pub company: ExportCompany,
}

fn default_interval() -> u64 {
    300
}

fn default_stock_interval() -> u64 {
    86_400
}

fn default_attempts() -> u32 {
    10
}

/// Checks the `[[export]]` sections against the rest of the configuration.
pub(super) fn validate(config: &Config, push: &mut impl FnMut(String, String)) {
    let mut seen = std::collections::HashSet::new();
    for (i, e) in config.exports.iter().enumerate() {
        let at = |f: &str| format!("export[{i}].{f}");
        if !seen.insert(e.name.as_str()) {
            push(at("name"), format!("duplicate export name {:?}", e.name));
        }
        match config.sinks.iter().find(|s| s.name == e.odoo) {
            Some(s) if matches!(s.kind, SinkKind::Odoo(_)) => {}
            Some(_) => push(at("odoo"), format!("sink {:?} is not an Odoo sink", e.odoo)),
            None => push(at("odoo"), format!("unknown sink {:?}", e.odoo)),
        }
        if e.documents.is_empty() {
            push(
                at("documents"),
                "name at least one of ordrsp, desadv, invoice, stock".into(),
            );
        }
        for p in &e.partners {
            match config.partners.iter().find(|c| &c.id == p) {
                None => push(at("partners"), format!("unknown partner {p:?}")),
                Some(c) if c.outbound_channel.is_none() => push(
                    at("partners"),
                    format!("partner {p:?} has no outbound_channel to send through"),
                ),
                Some(c) if c.identifiers.is_empty() => push(
                    at("partners"),
                    format!("partner {p:?} has no identifiers (GLN) to find it in Odoo"),
                ),
                Some(_) => {}
            }
        }
        if e.ordrsp_format == ExportFormat::Cii {
            push(
                at("ordrsp_format"),
                "cii carries invoices only: use edifact or ubl".into(),
            );
        }
        if e.max_attempts == 0 {
            push(at("max_attempts"), "must be at least 1".into());
        }
        if e.company.gln.trim().is_empty() {
            push(at("company.gln"), "our GLN is required".into());
        }
        if let Some(s) = &e.since {
            if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_err() {
                push(at("since"), format!("{s:?}: expected YYYY-MM-DD"));
            }
        }
        if e.stock_interval_secs == 0 {
            push(at("stock_interval_secs"), "must be at least 1".into());
        }
    }
}
