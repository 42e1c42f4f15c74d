//! Document lines, quantities, allowances/charges and despatch packages.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DateEntry, Reference};

/// A quantity with its UN/ECE Recommendation 20 unit code (`PCE`, `KGM`, `CT`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Quantity {
    /// What the quantity counts, when it is not the line's main quantity:
    /// a canonical name (`free_goods`, `delivered`, …) or the raw qualifier
    /// code (EDIFACT 6063) prefixed by `qty:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[schemars(with = "String")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub value: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl Quantity {
    /// A quantity of `value` with no unit and no kind.
    pub fn new(value: Decimal) -> Quantity {
        Quantity {
            kind: None,
            value,
            unit: None,
        }
    }
}

/// Whether an [`AllowanceCharge`] lowers or raises the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceChargeKind {
    Allowance,
    Charge,
}

/// An allowance (discount) or a charge, on a line or on the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AllowanceCharge {
    pub kind: AllowanceChargeKind,
    /// Reason code (EDIFACT 7161, e.g. `DI` discount, `FC` freight, `ABG` …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Calculation sequence (EDIFACT 1227): cascading discounts apply in
    /// ascending sequence, each on the result of the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
    /// Percentage (`10` for 10 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub percentage: Option<Decimal>,
    /// Amount of the allowance or charge, always positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub amount: Option<Decimal>,
    /// Amount the percentage applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub base_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_rate: Option<Decimal>,
}

impl AllowanceCharge {
    /// An allowance or charge with only its kind set.
    pub fn new(kind: AllowanceChargeKind) -> AllowanceCharge {
        AllowanceCharge {
            kind,
            reason_code: None,
            description: None,
            sequence: None,
            percentage: None,
            amount: None,
            base_amount: None,
            tax_category: None,
            tax_rate: None,
        }
    }
}

/// One line of a document: an ordered, confirmed, despatched, invoiced,
/// stocked or catalogued item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Line {
    /// Line number as sent (EDIFACT LIN 1082).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<String>,
    /// Line number of the parent line, for sub-lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_line: Option<String>,
    /// Line action code (EDIFACT 1229): in an order response `5` accepted
    /// without amendment, `3` changed, `7` not accepted…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// GTIN (EAN/UPC) of the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// The supplier's article number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_item_code: Option<String>,
    /// The buyer's article number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_item_code: Option<String>,
    /// Other item identifiers: (`kind`, value), e.g. promotional variant, batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub item_ids: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The line's main quantity: ordered, confirmed, despatched, invoiced or in stock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
    /// Further quantities (free goods, back-ordered, delivered…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_quantities: Vec<Quantity>,
    /// Gross unit price, before allowances (EDIFACT PRI+AAB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub gross_unit_price: Option<Decimal>,
    /// Net unit price, after allowances (EDIFACT PRI+AAA). On an incoming
    /// order this is the price the buyer expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub net_unit_price: Option<Decimal>,
    /// Quantity the unit prices apply to (EDIFACT PRI 5284), 1 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub price_basis_quantity: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowances_charges: Vec<AllowanceCharge>,
    /// VAT category (EN 16931 / UNCL 5305: `S`, `Z`, `E`, `AE`, `K`, `G`, `O`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub tax_rate: Option<Decimal>,
    /// Line amount excluding VAT (EDIFACT MOA+203).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub line_amount: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<DateEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// Despatch advice: the package (see [`Package::id`]) this line is packed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    /// Batch or lot number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A package level in a despatch advice (EDIFACT CPS/PAC/GIN hierarchy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Package {
    /// Hierarchical id (EDIFACT CPS 7164).
    pub id: String,
    /// Parent hierarchical id (EDIFACT CPS 7166).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Number of packages (EDIFACT PAC 7224).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub count: Option<Decimal>,
    /// Package type code (EDIFACT 7065, e.g. `201` pallet, `CT` carton).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_type: Option<String>,
    /// Serial Shipping Container Codes (EDIFACT GIN+BJ).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sscc: Vec<String>,
    /// Gross weight in kilograms, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub gross_weight_kg: Option<Decimal>,
}
