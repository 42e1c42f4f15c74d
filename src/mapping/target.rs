//! Canonical targets: the fixed vocabulary of fields a rule can set.
//!
//! Rule files name targets as text (`party.gln`, `date:@dates(1.1)`,
//! `totals:@totals(1.1)`); they are parsed once, when the mapping is loaded,
//! into [`Target`] so that mapping a segment is a match, not a string lookup.

use super::compile::Path;

/// Where a kind name (date kind, reference kind…) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Written in the rule: `date:document`.
    Fixed(String),
    /// Looked up: `date:@dates(1.1)` reads element 1.1 and translates it
    /// through code table `dates`.
    Table(usize, Path),
}

/// A canonical field a rule can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Number,
    DocumentCode,
    Function,
    ResponseCode,
    Currency,
    DeliveryTerms,
    Date(Kind),
    LineDate(Kind),
    Reference(Kind),
    LineReference(Kind),
    ReferenceDate,
    Note,
    NoteSubject,
    LineNote,
    Totals(Kind),
    PartyRole,
    PartyGln,
    PartyId,
    PartyIdAgency,
    PartyName,
    PartyStreet,
    PartyCity,
    PartyPostalCode,
    PartyRegion,
    PartyCountry,
    PartyVatId,
    PartySiret,
    PartyReference(Kind),
    ContactFunction,
    ContactName,
    ContactComm(Kind),
    LineNumber,
    LineParent,
    LineAction,
    LineItem(Kind),
    LineDescription,
    LineQuantity(Kind),
    QuantityUnit,
    LinePrice(Kind),
    LinePriceBasis,
    LineAmount,
    LineTaxCategory,
    LineTaxRate,
    LineBatch,
    AllowanceKind,
    AllowanceReason,
    AllowanceDescription,
    AllowanceSequence,
    AllowancePercentage,
    AllowanceAmount,
    AllowanceBase,
    AllowanceTaxCategory,
    AllowanceTaxRate,
    PaymentType,
    PaymentDescription,
    PaymentDays,
    PaymentBasis,
    PaymentDueDate,
    PaymentPercentage,
    PaymentAmount,
    TaxCategory,
    TaxRate,
    TaxTaxable,
    TaxAmount,
    TaxExemption,
    PackageId,
    PackageParent,
    PackageCount,
    PackageType,
    PackageSscc,
    PackageWeight,
    AckStatus,
    AckInterchangeRef,
    AckSender,
    AckRecipient,
    AckDocumentRef,
    AckMessageRef,
    AckMessageType,
    AckMessageStatus,
    AckIssueSegment,
    AckIssueTag,
    AckIssueElement,
    AckIssueComponent,
    AckIssueCode,
    AckIssueText,
}

/// What a target's value must be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Decimal,
    Integer,
    Date,
}

impl Target {
    /// Parses a target name. `kind` parses the `:…` suffix.
    pub fn parse(
        name: &str,
        kind: &mut dyn FnMut(&str) -> Result<Kind, String>,
    ) -> Result<Target, String> {
        let (base, suffix) = match name.split_once(':') {
            Some((b, s)) => (b, Some(s)),
            None => (name, None),
        };
        let mut k = || -> Result<Kind, String> {
            match suffix {
                Some(s) => kind(s),
                None => Err(format!("target {name:?} needs a kind: {base}:<kind>")),
            }
        };
        use Target::*;
        let t = match base {
            "number" => Number,
            "document_code" => DocumentCode,
            "function" => Function,
            "response_code" => ResponseCode,
            "currency" => Currency,
            "delivery_terms" => DeliveryTerms,
            "date" => Date(k()?),
            "line.date" => LineDate(k()?),
            "reference" => Reference(k()?),
            "line.reference" => LineReference(k()?),
            "reference.date" => ReferenceDate,
            "note" => Note,
            "note.subject" => NoteSubject,
            "line.note" => LineNote,
            "totals" => Totals(k()?),
            "party.role" => PartyRole,
            "party.gln" => PartyGln,
            "party.id" => PartyId,
            "party.id_agency" => PartyIdAgency,
            "party.name" => PartyName,
            "party.street" => PartyStreet,
            "party.city" => PartyCity,
            "party.postal_code" => PartyPostalCode,
            "party.region" => PartyRegion,
            "party.country" => PartyCountry,
            "party.vat_id" => PartyVatId,
            "party.siret" => PartySiret,
            "party.reference" => PartyReference(k()?),
            "contact.function" => ContactFunction,
            "contact.name" => ContactName,
            "contact.comm" => ContactComm(k()?),
            "line.number" => LineNumber,
            "line.parent" => LineParent,
            "line.action" => LineAction,
            "line.item" => LineItem(k()?),
            "line.description" => LineDescription,
            "line.quantity" => LineQuantity(k()?),
            "quantity.unit" => QuantityUnit,
            "line.price" => LinePrice(k()?),
            "line.price_basis" => LinePriceBasis,
            "line.amount" => LineAmount,
            "line.tax.category" => LineTaxCategory,
            "line.tax.rate" => LineTaxRate,
            "line.batch" => LineBatch,
            "allowance.kind" => AllowanceKind,
            "allowance.reason" => AllowanceReason,
            "allowance.description" => AllowanceDescription,
            "allowance.sequence" => AllowanceSequence,
            "allowance.percentage" => AllowancePercentage,
            "allowance.amount" => AllowanceAmount,
            "allowance.base_amount" => AllowanceBase,
            "allowance.tax.category" => AllowanceTaxCategory,
            "allowance.tax.rate" => AllowanceTaxRate,
            "payment_terms.type" => PaymentType,
            "payment_terms.description" => PaymentDescription,
            "payment_terms.days" => PaymentDays,
            "payment_terms.basis" => PaymentBasis,
            "payment_terms.due_date" => PaymentDueDate,
            "payment_terms.percentage" => PaymentPercentage,
            "payment_terms.amount" => PaymentAmount,
            "tax.category" => TaxCategory,
            "tax.rate" => TaxRate,
            "tax.taxable_amount" => TaxTaxable,
            "tax.amount" => TaxAmount,
            "tax.exemption_reason" => TaxExemption,
            "package.id" => PackageId,
            "package.parent_id" => PackageParent,
            "package.count" => PackageCount,
            "package.type" => PackageType,
            "package.sscc" => PackageSscc,
            "package.gross_weight_kg" => PackageWeight,
            "ack.status" => AckStatus,
            "ack.interchange_ref" => AckInterchangeRef,
            "ack.interchange_sender" => AckSender,
            "ack.interchange_recipient" => AckRecipient,
            "ack.document_ref" => AckDocumentRef,
            "ack.message.reference" => AckMessageRef,
            "ack.message.type" => AckMessageType,
            "ack.message.status" => AckMessageStatus,
            "ack.issue.segment_position" => AckIssueSegment,
            "ack.issue.segment_tag" => AckIssueTag,
            "ack.issue.element_position" => AckIssueElement,
            "ack.issue.component_position" => AckIssueComponent,
            "ack.issue.code" => AckIssueCode,
            "ack.issue.text" => AckIssueText,
            _ => return Err(format!("unknown target {name:?}")),
        };
        if suffix.is_some() && !t.has_kind() {
            return Err(format!(
                "target {base:?} takes no kind (\":{}\")",
                suffix.unwrap_or_default()
            ));
        }
        Ok(t)
    }

    fn has_kind(&self) -> bool {
        self.kind().is_some()
    }

    /// The kind part of the target, if it has one.
    pub fn kind(&self) -> Option<&Kind> {
        use Target::*;
        match self {
            Date(k) | LineDate(k) | Reference(k) | LineReference(k) | Totals(k)
            | PartyReference(k) | ContactComm(k) | LineItem(k) | LineQuantity(k) | LinePrice(k) => {
                Some(k)
            }
            _ => None,
        }
    }

    /// What the source text is converted to.
    pub fn value_type(&self) -> ValueType {
        use Target::*;
        match self {
            Totals(_) | LineQuantity(_) | LinePrice(_) | LinePriceBasis | LineAmount
            | LineTaxRate | AllowancePercentage | AllowanceAmount | AllowanceBase
            | AllowanceTaxRate | PaymentPercentage | PaymentAmount | TaxRate | TaxTaxable
            | TaxAmount | PackageCount | PackageWeight => ValueType::Decimal,
            PaymentDays | AllowanceSequence | AckIssueSegment | AckIssueElement
            | AckIssueComponent => ValueType::Integer,
            Date(_) | LineDate(_) | ReferenceDate | PaymentDueDate => ValueType::Date,
            _ => ValueType::Text,
        }
    }

    /// True for targets that refine an object another target of the same
    /// rule creates (a quantity's unit, a reference's date): they run last.
    pub fn is_modifier(&self) -> bool {
        matches!(self, Target::QuantityUnit | Target::ReferenceDate)
    }

    /// True when several sources append several values (street lines,
    /// SSCCs) rather than being joined into one text.
    pub fn is_list(&self) -> bool {
        matches!(self, Target::PartyStreet | Target::PackageSscc)
    }
}
