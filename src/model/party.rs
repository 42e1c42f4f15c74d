//! Parties: buyer, supplier, delivery party, invoicee… with their identifiers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The role a party plays in a document.
///
/// The EDIFACT NAD qualifier (3035) and its equivalents in other formats are
/// mapped onto these; anything not listed is kept as [`PartyRole::Other`]
/// with the original code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// Buyer (NAD+BY).
    Buyer,
    /// Supplier / seller (NAD+SU, NAD+SE).
    Supplier,
    /// Delivery party / ship-to (NAD+DP, NAD+ST).
    DeliveryParty,
    /// Invoicee / bill-to (NAD+IV).
    Invoicee,
    /// Ship-from / consignor (NAD+SF, NAD+SH).
    ShipFrom,
    /// Payer (NAD+PR, NAD+PE).
    Payer,
    /// Ultimate consignee / store (NAD+UC).
    UltimateConsignee,
    /// Message sender or recipient acting as a party (NAD+MS / NAD+MR).
    MessageParty,
    /// Any other role, with its original code.
    Other(String),
}

impl PartyRole {
    /// The EDIFACT NAD 3035 qualifier conventionally used for this role.
    pub fn edifact_qualifier(&self) -> &str {
        match self {
            PartyRole::Buyer => "BY",
            PartyRole::Supplier => "SU",
            PartyRole::DeliveryParty => "DP",
            PartyRole::Invoicee => "IV",
            PartyRole::ShipFrom => "SF",
            PartyRole::Payer => "PR",
            PartyRole::UltimateConsignee => "UC",
            PartyRole::MessageParty => "MS",
            PartyRole::Other(code) => code,
        }
    }

    /// Parses a role name as used in mapping files (`buyer`, `supplier`, …),
    /// falling back to [`PartyRole::Other`].
    pub fn from_name(name: &str) -> PartyRole {
        match name {
            "buyer" => PartyRole::Buyer,
            "supplier" => PartyRole::Supplier,
            "delivery_party" => PartyRole::DeliveryParty,
            "invoicee" => PartyRole::Invoicee,
            "ship_from" => PartyRole::ShipFrom,
            "payer" => PartyRole::Payer,
            "ultimate_consignee" => PartyRole::UltimateConsignee,
            "message_party" => PartyRole::MessageParty,
            other => PartyRole::Other(other.to_string()),
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Address {
    /// Street and number lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub street: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Country subdivision (state, region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.street.is_empty()
            && self.city.is_none()
            && self.postal_code.is_none()
            && self.region.is_none()
            && self.country.is_none()
    }
}

/// A contact person or department with its communication numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    /// Contact function code (CTA 3139), e.g. `OC` order contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
}

/// A party to a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Party {
    pub role: PartyRole,
    /// GS1 Global Location Number (13 digits) when the party is identified by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
    /// Party identifier that is not a GLN, with its code list (`id_agency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Code list responsible agency of `id` (EDIFACT 3055: 9 = GS1, 91/92 = assigned by seller/buyer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Address::is_empty")]
    pub address: Address,
    /// VAT identification number (RFF+VA), e.g. `FR12345678901`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    /// French SIRET (14 digits) or SIREN (9 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub siret: Option<String>,
    /// Other party references (qualifier, value), e.g. internal customer number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<super::Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
}

impl Party {
    /// A party with only its role set.
    pub fn new(role: PartyRole) -> Party {
        Party {
            role,
            gln: None,
            id: None,
            id_agency: None,
            name: None,
            address: Address::default(),
            vat_id: None,
            siret: None,
            references: Vec::new(),
            contacts: Vec::new(),
        }
    }

    /// The best identifier of this party: its GLN, else its other id.
    pub fn identifier(&self) -> Option<&str> {
        self.gln.as_deref().or(self.id.as_deref())
    }
}
