//! The mapping file format, as read from `mappings/` (TOML).
//!
//! Three kinds of files, all deserialised into [`MappingFile`]:
//!
//! - a **message mapping** (`mappings/eancom/d96a/ORDERS.toml`) names the
//!   message type and directories it applies to, the canonical document type,
//!   and the message structure: header and summary segments and the segment
//!   groups, each with its trigger segment, parent and member segments;
//! - a **rules file** (`mappings/eancom/rules/ORDERS.toml`), included by the
//!   message mappings of every directory, holds the rules: *at* a segment in
//!   a group, *when* some elements have some values, *set* canonical fields
//!   from elements; and code tables that turn qualifiers into canonical names;
//! - a **partner override** (`mappings/partners/<id>.toml`) adds or replaces
//!   rules by id, disables rules, extends code tables, sets defaults and the
//!   envelope policy for one trading partner.
//!
//! See `mappings/README.md` for the full reference with examples.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::formats::edifact::EnvelopePolicy;

/// One mapping file; which sections are present depends on its kind.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Message mapping header.
    pub message: Option<MessageSpec>,
    /// Message structure.
    pub structure: Option<StructureSpec>,
    /// Segment groups, in any order (parents are named).
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupSpec>,
    /// Other files to read, relative to this one: rules and code tables.
    #[serde(default)]
    pub include: Vec<String>,
    /// Code tables: table name → code → canonical name.
    #[serde(default)]
    pub codes: BTreeMap<String, BTreeMap<String, String>>,
    /// Mapping rules.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    /// Value checks (code lists).
    #[serde(default, rename = "check")]
    pub checks: Vec<CheckSpec>,
    /// Partner override header.
    pub partner: Option<PartnerSpec>,
    /// Rule ids to disable (partner overrides).
    #[serde(default)]
    pub disable: Vec<String>,
    /// Defaults applied after mapping when a field is still empty.
    #[serde(default)]
    pub defaults: DefaultsSpec,
    /// Envelope policy (partner overrides).
    pub envelope: Option<EnvelopePolicy>,
}

/// Which messages a message mapping applies to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Message type (UNH 0065), e.g. `ORDERS`.
    #[serde(rename = "type")]
    pub message_type: String,
    /// Directories (`D96A`, `D01B`); `*` for any.
    pub directories: Vec<String>,
    /// Use this mapping for directories no other mapping of the same type
    /// names (e.g. D96A structures for a D93A INVOIC).
    #[serde(default)]
    pub fallback: bool,
    /// Canonical document type (`order`, `invoice` …).
    pub document_type: String,
    /// Document type by document name code (BGM 1001), e.g. `381` →
    /// `credit_note`.
    #[serde(default)]
    pub document_type_by_code: BTreeMap<String, String>,
    /// Human description.
    #[serde(default)]
    pub description: Option<String>,
}

/// The message structure: root segments and the group separator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureSpec {
    /// Segments allowed at root level before the separator.
    #[serde(default)]
    pub header: Vec<String>,
    /// Section separator (UNS), after which only summary segments and
    /// summary groups are allowed at root level.
    #[serde(default)]
    pub separator: Option<String>,
    /// Segments allowed at root level after the separator.
    #[serde(default)]
    pub summary: Vec<String>,
    /// Segments that must be present.
    #[serde(default)]
    pub required: Vec<String>,
    /// Root-level segments that may occur only once.
    #[serde(default)]
    pub once: Vec<String>,
    /// Segments the structure does not place are taken as members of the
    /// current group without a warning (generic mappings).
    #[serde(default)]
    pub lenient: bool,
}

/// A segment group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Name used by rules (`party`, `line`, `line_price` …).
    pub name: String,
    /// The standard's group number, for reference (`SG2`).
    #[serde(default)]
    pub sg: Option<u32>,
    /// The segment that opens an instance of the group.
    pub trigger: String,
    /// Parent group; root when absent.
    #[serde(default)]
    pub parent: Option<String>,
    /// Other segments of the group (sub-group triggers excluded).
    #[serde(default)]
    pub members: Vec<String>,
    /// A root group of the summary section (after the separator).
    #[serde(default)]
    pub summary: bool,
}

/// A value source or a list of sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Sources {
    One(String),
    Many(Vec<String>),
}

impl Sources {
    /// The sources as a slice-like list.
    pub fn list(&self) -> Vec<&str> {
        match self {
            Sources::One(s) => vec![s.as_str()],
            Sources::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// A condition value: one accepted value or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Accepted {
    One(String),
    Many(Vec<String>),
}

/// A mapping rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Identifier, unique in the mapping; partner overrides replace or
    /// disable rules by id.
    #[serde(default)]
    pub id: Option<String>,
    /// Only for this message type (partner overrides and shared files).
    #[serde(default)]
    pub message: Option<String>,
    /// `TAG` at root level, `group/TAG` in a group, `*/TAG` anywhere.
    pub at: String,
    /// Conditions: element path (`1.1`) → accepted value(s); `""` accepts
    /// an absent or empty value.
    #[serde(default)]
    pub when: BTreeMap<String, Accepted>,
    /// Negative conditions: the rule does not apply when the element has
    /// one of these values (`""` = absent or empty).
    #[serde(default)]
    pub unless: BTreeMap<String, Accepted>,
    /// Creates a new object before setting fields: `party`, `line`,
    /// `allowance`, `line.allowance`, `payment_terms`, `tax_subtotal`,
    /// `package`, `contact`, `note`, `line.note`, `ack.message`, `ack.issue`.
    #[serde(default)]
    pub new: Option<String>,
    /// Canonical target → source: `E.C` element/component path, `=literal`,
    /// or `@table(E.C)` for a code looked up in a code table.
    #[serde(default)]
    pub set: BTreeMap<String, Sources>,
    /// What an unreadable value (not a number, not a date) does: `reject`
    /// (default) the message, or `warn` and leave the field empty, for
    /// fields that are only informative in this message.
    #[serde(default)]
    pub invalid: crate::diagnostics::Action,
    /// Element holding the date/time format code (EDIFACT 2379) for date
    /// targets; format 102 when absent.
    #[serde(default)]
    pub format: Option<String>,
}

/// A check on an element's value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub at: String,
    /// Element path.
    pub element: String,
    /// Code table the value must belong to.
    #[serde(default)]
    pub codes: Option<String>,
    /// Maximum length in characters (the standard's `an..3`).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The value must be numeric.
    #[serde(default)]
    pub numeric: bool,
    /// Also reject an absent value.
    #[serde(default)]
    pub required: bool,
}

/// Partner override header.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Partner id used in config and on the CLI (`--partner`).
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Interchange sender identifiers (UNB 0004) that select this partner
    /// automatically.
    #[serde(default)]
    pub identifiers: Vec<String>,
}

/// Defaults applied after mapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsSpec {
    /// Currency when the message names none.
    #[serde(default)]
    pub currency: Option<String>,
    /// Unit when a quantity has none.
    #[serde(default)]
    pub unit: Option<String>,
}
