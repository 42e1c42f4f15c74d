//! The [`Document`] itself: header, parties, references, dates, terms,
//! totals, lines, and where it came from.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Acknowledgement, AllowanceCharge, Line, Package, Party, PartyRole};

/// The business document family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// Purchase order (EDIFACT ORDERS, X12 850, UBL Order).
    Order,
    /// Order response (EDIFACT ORDRSP, X12 855, UBL OrderResponse).
    OrderResponse,
    /// Despatch advice (EDIFACT DESADV, X12 856, UBL DespatchAdvice).
    DespatchAdvice,
    /// Invoice (EDIFACT INVOIC 380, X12 810, UBL Invoice, CII).
    Invoice,
    /// Credit note (EDIFACT INVOIC 381, UBL CreditNote).
    CreditNote,
    /// Stock / inventory report (EDIFACT INVRPT, X12 846).
    StockReport,
    /// Sales report (EDIFACT SLSRPT, X12 852).
    SalesReport,
    /// Price catalogue (EDIFACT PRICAT, X12 832, UBL Catalogue).
    PriceCatalogue,
    /// Syntax acknowledgement (EDIFACT CONTRL, X12 997/999).
    SyntaxAcknowledgement,
    /// Application acknowledgement or error (EDIFACT APERAK, X12 824).
    ApplicationAcknowledgement,
    /// A message family Comptoir has no specific mapping for; only the
    /// generic header, parties and lines are mapped.
    Other,
}

impl DocumentType {
    /// The stable snake_case name used in JSON, config files and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentType::Order => "order",
            DocumentType::OrderResponse => "order_response",
            DocumentType::DespatchAdvice => "despatch_advice",
            DocumentType::Invoice => "invoice",
            DocumentType::CreditNote => "credit_note",
            DocumentType::StockReport => "stock_report",
            DocumentType::SalesReport => "sales_report",
            DocumentType::PriceCatalogue => "price_catalogue",
            DocumentType::SyntaxAcknowledgement => "syntax_acknowledgement",
            DocumentType::ApplicationAcknowledgement => "application_acknowledgement",
            DocumentType::Other => "other",
        }
    }

    /// Parses the snake_case name used in JSON and config files.
    pub fn from_name(name: &str) -> Option<DocumentType> {
        Some(match name {
            "order" => DocumentType::Order,
            "order_response" => DocumentType::OrderResponse,
            "despatch_advice" => DocumentType::DespatchAdvice,
            "invoice" => DocumentType::Invoice,
            "credit_note" => DocumentType::CreditNote,
            "stock_report" => DocumentType::StockReport,
            "sales_report" => DocumentType::SalesReport,
            "price_catalogue" => DocumentType::PriceCatalogue,
            "syntax_acknowledgement" => DocumentType::SyntaxAcknowledgement,
            "application_acknowledgement" => DocumentType::ApplicationAcknowledgement,
            "other" => DocumentType::Other,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DocumentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the document does to an earlier one (EDIFACT BGM 1225).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageFunction {
    /// `9`: an original.
    Original,
    /// `1`: cancels the document with the same number.
    Cancellation,
    /// `5`: replaces the document with the same number.
    Replace,
    /// `4`: changes the document with the same number.
    Change,
    /// `7`: a duplicate of an already sent document.
    Duplicate,
    /// `31`: a copy, for information.
    Copy,
    /// Any other code, kept as sent.
    Other(String),
}

impl MessageFunction {
    /// Reads an EDIFACT 1225 code.
    pub fn from_code(code: &str) -> MessageFunction {
        match code {
            "9" => MessageFunction::Original,
            "1" => MessageFunction::Cancellation,
            "5" => MessageFunction::Replace,
            "4" => MessageFunction::Change,
            "7" => MessageFunction::Duplicate,
            "31" => MessageFunction::Copy,
            other => MessageFunction::Other(other.to_string()),
        }
    }

    /// The EDIFACT 1225 code.
    pub fn code(&self) -> &str {
        match self {
            MessageFunction::Original => "9",
            MessageFunction::Cancellation => "1",
            MessageFunction::Replace => "5",
            MessageFunction::Change => "4",
            MessageFunction::Duplicate => "7",
            MessageFunction::Copy => "31",
            MessageFunction::Other(code) => code,
        }
    }
}

/// A dated event: document date, requested delivery, invoice period…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DateEntry {
    /// Canonical name (`document`, `requested_delivery`, `earliest_delivery`,
    /// `latest_delivery`, `despatch`, `delivery`, `due`, …) or, for a
    /// qualifier the mapping does not name, `dtm:<code>`.
    pub kind: String,
    /// ISO 8601: `2024-03-01`, `2024-03-01T14:30`, or a range
    /// `2024-03-01/2024-03-31`; kept as sent when the format is unknown.
    pub value: String,
}

impl DateEntry {
    /// The calendar date at the start of `value`, when it has one.
    pub fn date(&self) -> Option<NaiveDate> {
        let head = self.value.get(..10)?;
        NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
    }
}

/// A reference to another document or identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reference {
    /// Canonical name (`order`, `contract`, `promotion`, `despatch_advice`,
    /// `invoice`, `delivery_note`, …) or `rff:<code>` for an unnamed qualifier.
    pub kind: String,
    pub value: String,
    /// Date of the referenced document, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Payment terms (EDIFACT PAT/DTM/PCD/MOA, UBL PaymentTerms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentTerms {
    /// Payment terms type (EDIFACT 4279: `1` basic, `22` discount, `20` penalty…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Number of days after the reference date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    /// The count starts at the end of the month of the reference date.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub end_of_month: bool,
    /// Due date, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// Discount (or penalty) percentage attached to these terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub percentage: Option<Decimal>,
    /// Amount attached to these terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub amount: Option<Decimal>,
}

/// VAT breakdown for one category and rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TaxSubtotal {
    /// UNCL 5305 category: `S`, `Z`, `E`, `AE` (reverse charge), `K`
    /// (intra-EU), `G` (export), `O`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub rate: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub taxable_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<String>,
}

/// Document totals (EDIFACT MOA in the summary section, UBL LegalMonetaryTotal).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Totals {
    /// Sum of line amounts (MOA+79, BT-106).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub line_total: Option<Decimal>,
    /// Sum of document-level allowances (MOA+260, BT-107).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub allowance_total: Option<Decimal>,
    /// Sum of document-level charges (MOA+259, BT-108).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub charge_total: Option<Decimal>,
    /// Total without VAT (MOA+125, BT-109).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_exclusive: Option<Decimal>,
    /// Total VAT (MOA+176/124/150, BT-110).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_total: Option<Decimal>,
    /// Total with VAT (MOA+77/86, BT-112).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_inclusive: Option<Decimal>,
    /// Amount already paid (MOA+113, BT-113).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub prepaid: Option<Decimal>,
    /// Amount due for payment (MOA+9, BT-115).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub payable: Option<Decimal>,
}

impl Totals {
    /// True when no total is set.
    pub fn is_empty(&self) -> bool {
        *self == Totals::default()
    }
}

/// Where a document came from: the envelope data needed to answer it,
/// recognise duplicates and show it to ops.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Origin {
    /// Syntax family: `edifact`, `x12`, `csv`, `xml`, `json`.
    pub format: String,
    /// Message type as named by its standard (`ORDERS`, `850`, `Invoice` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// Directory or version (`D96A`, `004010`, `2.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Association-assigned code / profile (`EAN008`, a CII guideline id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Interchange sender identification (UNB 0004, ISA06).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Code qualifier of `sender` (UNB 0007, ISA05), e.g. `14` for a GLN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_qualifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_qualifier: Option<String>,
    /// Interchange control reference (UNB 0020, ISA13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange_ref: Option<String>,
    /// Functional group reference (UNG 0048, GS06).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ref: Option<String>,
    /// Message reference (UNH 0062, ST02).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ref: Option<String>,
    /// Interchange preparation date and time, ISO 8601.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_at: Option<String>,
    /// The interchange is a test (UNB 0035 = 1, ISA15 = T).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// 1-based index of the interchange within its file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange_index: Option<u32>,
    /// 1-based index of the message within its interchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_index: Option<u32>,
}

/// A free-text note with its subject (EDIFACT FTX 4451).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
}

/// One canonical business document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Document {
    pub document_type: DocumentType,
    /// The business document number (EDIFACT BGM 1004, X12 BEG03/BIG02,
    /// UBL cbc:ID). For messages without one (CONTRL), the message reference.
    pub number: String,
    /// Document name code as sent (EDIFACT BGM 1001: `220`, `380`, `381`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<MessageFunction>,
    /// Response type (EDIFACT BGM 4343, e.g. `AC` accepted with change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<String>,
    /// ISO 4217 currency of the amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DateEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    /// Delivery terms: Incoterms code (EDIFACT TOD 4053).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_terms: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_terms: Vec<PaymentTerms>,
    /// Document-level allowances and charges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowances_charges: Vec<AllowanceCharge>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tax_subtotals: Vec<TaxSubtotal>,
    #[serde(default, skip_serializing_if = "Totals::is_empty")]
    pub totals: Totals,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    /// The document lines; empty (never absent) when there are none.
    pub lines: Vec<Line>,
    /// Despatch advice package hierarchy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    /// Acknowledgement details, for syntax and application acknowledgements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<Acknowledgement>,
    pub origin: Origin,
}

impl Document {
    /// An empty document of the given type and number.
    pub fn new(document_type: DocumentType, number: impl Into<String>) -> Document {
        Document {
            document_type,
            number: number.into(),
            document_code: None,
            function: None,
            response_code: None,
            currency: None,
            dates: Vec::new(),
            references: Vec::new(),
            parties: Vec::new(),
            delivery_terms: None,
            payment_terms: Vec::new(),
            allowances_charges: Vec::new(),
            tax_subtotals: Vec::new(),
            totals: Totals::default(),
            notes: Vec::new(),
            lines: Vec::new(),
            packages: Vec::new(),
            acknowledgement: None,
            origin: Origin::default(),
        }
    }

    /// The first party with `role`.
    pub fn party(&self, role: &PartyRole) -> Option<&Party> {
        self.parties.iter().find(|p| &p.role == role)
    }

    /// The first date of the given kind.
    pub fn date(&self, kind: &str) -> Option<&DateEntry> {
        self.dates.iter().find(|d| d.kind == kind)
    }

    /// The first reference of the given kind.
    pub fn reference(&self, kind: &str) -> Option<&Reference> {
        self.references.iter().find(|r| r.kind == kind)
    }
}
