//! VAT: destination of a sale, category and rate of each line, VAT id
//! syntax checks.
//!
//! The engine asks [`destination`] once per document (from the seller
//! country of `pricing.toml` and the buyer, invoicee and delivery parties),
//! then [`line_vat`] per line with the product's domestic rate:
//! - same country as the seller: the domestic rate, category `S` (`Z` at 0 %);
//! - another EU member state and a syntactically valid VAT id of another
//!   member state: intra-community supply, category `K`, rate 0
//!   (EN 16931; the buyer self-assesses);
//! - another EU member state without a valid foreign VAT id: domestic VAT;
//! - outside the EU: export, category `G`, rate 0.
//!
//! VAT ids are checked for their per-country format, and for France and
//! Belgium for their check digits. Nothing here asks VIES: validity in the
//! sense of "registered today" is out of reach of a pure function.

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{Document, PartyRole};

/// EN 16931 / UNCL 5305 VAT category of a line or charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub enum VatCategory {
    /// Standard (any non-zero domestic rate).
    S,
    /// Zero-rated goods.
    Z,
    /// Intra-community supply (reverse charge by the buyer).
    K,
    /// Export outside the EU.
    G,
}

impl VatCategory {
    /// The UNCL 5305 code.
    pub fn code(self) -> &'static str {
        match self {
            VatCategory::S => "S",
            VatCategory::Z => "Z",
            VatCategory::K => "K",
            VatCategory::G => "G",
        }
    }

    /// Exemption reason text for zero-rated categories (EN 16931 BT-120).
    pub fn exemption_reason(self) -> Option<&'static str> {
        match self {
            VatCategory::K => Some("Intra-community supply: VAT reverse charged to the buyer (art. 138 Directive 2006/112/EC)"),
            VatCategory::G => Some("Export outside the EU: VAT exempt (art. 146 Directive 2006/112/EC)"),
            _ => None,
        }
    }
}

/// Where the goods go, for VAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Destination {
    Domestic,
    /// Another EU member state, B2B with a valid VAT id: reverse charge.
    IntraEu {
        country: String,
        vat_id: String,
    },
    /// Outside the EU.
    Export {
        country: String,
    },
}

/// EU member states (ISO 3166 alpha-2).
const EU: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// True when `country` (ISO alpha-2; `EL` accepted for Greece) is an EU member state.
pub fn is_eu(country: &str) -> bool {
    let c = if country == "EL" { "GR" } else { country };
    EU.contains(&c)
}

/// Country (ISO alpha-2) of a VAT id prefix.
fn prefix_country(prefix: &str) -> &str {
    if prefix == "EL" {
        "GR"
    } else {
        prefix
    }
}

/// Per-country formats of the part after the prefix: `9` a digit, `A` a
/// letter, `X` a letter or digit, anything else itself.
fn formats(prefix: &str) -> &'static [&'static str] {
    match prefix {
        "AT" => &["U99999999"],
        "BE" => &["9999999999"],
        "BG" => &["999999999", "9999999999"],
        "CY" => &["99999999A"],
        "CZ" => &["99999999", "999999999", "9999999999"],
        "DE" | "EE" | "EL" | "PT" => &["999999999"],
        "DK" | "FI" | "HU" | "LU" | "MT" | "SI" => &["99999999"],
        "ES" => &["X9999999X"],
        "FR" => &["XX999999999"],
        "HR" | "IT" | "LV" => &["99999999999"],
        "IE" => &["9X99999A", "9999999A", "9999999AA"],
        "LT" => &["999999999", "999999999999"],
        "NL" => &["999999999B99"],
        "PL" | "SK" => &["9999999999"],
        "RO" => &[
            "99",
            "999",
            "9999",
            "99999",
            "999999",
            "9999999",
            "99999999",
            "999999999",
            "9999999999",
        ],
        "SE" => &["999999999999"],
        _ => &[],
    }
}

fn matches_format(body: &str, format: &str) -> bool {
    body.len() == format.len()
        && body.bytes().zip(format.bytes()).all(|(c, f)| match f {
            b'9' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'X' => c.is_ascii_uppercase() || c.is_ascii_digit(),
            lit => c == lit,
        })
}

/// Checks the syntax (and, for FR and BE, the check digits) of an EU VAT
/// id; returns its ISO country on success, a reason otherwise. Spaces, dots
/// and dashes are ignored.
pub fn validate_vat_id(raw: &str) -> Result<String, String> {
    let id: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    if id.len() < 4 || !id.is_ascii() {
        return Err(format!("`{raw}` is too short to be a VAT id"));
    }
    let (prefix, body) = id.split_at(2);
    let fmts = formats(prefix);
    if fmts.is_empty() {
        return Err(format!("`{raw}`: `{prefix}` is not an EU VAT prefix"));
    }
    if !fmts.iter().any(|f| matches_format(body, f)) {
        return Err(format!(
            "`{raw}` does not have the format of a {prefix} VAT id"
        ));
    }
    match prefix {
        "FR" => {
            let key = &body[..2];
            let siren: u64 = body[2..]
                .parse()
                .map_err(|_| format!("`{raw}`: bad SIREN"))?;
            if key.bytes().all(|b| b.is_ascii_digit()) {
                let expected = (12 + 3 * (siren % 97)) % 97;
                let got: u64 = key.parse().map_err(|_| format!("`{raw}`: bad key"))?;
                if got != expected {
                    return Err(format!("`{raw}`: key {got:02} does not match SIREN {siren} (expected {expected:02})"));
                }
            } else if key.contains('I') || key.contains('O') {
                return Err(format!(
                    "`{raw}`: letters I and O are not used in French VAT keys"
                ));
            }
        }
        "BE" => {
            let n: u64 = body.parse().map_err(|_| format!("`{raw}`: not numeric"))?;
            if !(body.starts_with('0') || body.starts_with('1')) || 97 - (n / 100) % 97 != n % 100 {
                return Err(format!("`{raw}`: check digits do not match"));
            }
        }
        _ => {}
    }
    Ok(prefix_country(prefix).to_string())
}

/// The destination of a document for VAT, with a note when a foreign EU
/// buyer has no valid VAT id (domestic VAT then applies).
pub fn destination(seller_country: &str, doc: &Document) -> (Destination, Option<String>) {
    let country_of = |role: PartyRole| {
        doc.party(&role)
            .and_then(|p| p.address.country.as_deref())
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
    };
    let vat_id = doc
        .party(&PartyRole::Invoicee)
        .and_then(|p| p.vat_id.as_deref())
        .or_else(|| {
            doc.party(&PartyRole::Buyer)
                .and_then(|p| p.vat_id.as_deref())
        })
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let vat_country = vat_id.and_then(|v| validate_vat_id(v).ok());
    let country = country_of(PartyRole::DeliveryParty)
        .or_else(|| country_of(PartyRole::Buyer))
        .or_else(|| country_of(PartyRole::Invoicee))
        .or_else(|| vat_country.clone());
    let country = match country {
        None => return (Destination::Domestic, None),
        Some(c) if c == "EL" => "GR".to_string(),
        Some(c) => c,
    };
    if country == seller_country {
        return (Destination::Domestic, None);
    }
    if !is_eu(&country) {
        return (Destination::Export { country }, None);
    }
    match (vat_id, vat_id.map(validate_vat_id)) {
        (Some(id), Some(Ok(vc))) if vc != seller_country && is_eu(&vc) => (
            Destination::IntraEu {
                country,
                vat_id: id.to_string(),
            },
            None,
        ),
        (Some(_), Some(Err(why))) => (
            Destination::Domestic,
            Some(format!(
                "buyer in {country} without a valid EU VAT id ({why}): domestic VAT applied"
            )),
        ),
        _ => (
            Destination::Domestic,
            Some(format!(
                "buyer in {country} without a foreign EU VAT id: domestic VAT applied"
            )),
        ),
    }
}

/// Category and rate of a line (or charge) whose domestic rate is `rate`.
pub fn line_vat(dest: &Destination, rate: Decimal) -> (VatCategory, Decimal) {
    match dest {
        Destination::Domestic if rate.is_zero() => (VatCategory::Z, Decimal::ZERO),
        Destination::Domestic => (VatCategory::S, rate),
        Destination::IntraEu { .. } => (VatCategory::K, Decimal::ZERO),
        Destination::Export { .. } => (VatCategory::G, Decimal::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Party;

    #[test]
    fn french_key_arithmetic() {
        assert_eq!(validate_vat_id("FR40303265045").as_deref(), Ok("FR"));
        assert_eq!(validate_vat_id("FR 44 732 829 320").as_deref(), Ok("FR"));
        assert!(validate_vat_id("FR41303265045").is_err());
        assert!(validate_vat_id("FR4030326504").is_err());
        assert!(validate_vat_id("FRAB303265045").is_ok());
        assert!(validate_vat_id("FRIO303265045").is_err());
    }

    #[test]
    fn other_formats() {
        assert_eq!(validate_vat_id("BE0403123684").as_deref(), Ok("BE"));
        assert!(validate_vat_id("BE0403123685").is_err());
        assert_eq!(validate_vat_id("DE123456789").as_deref(), Ok("DE"));
        assert_eq!(validate_vat_id("EL123456789").as_deref(), Ok("GR"));
        assert_eq!(validate_vat_id("NL123456789B01").as_deref(), Ok("NL"));
        assert!(validate_vat_id("DE12345678").is_err());
        assert!(validate_vat_id("US123456789").is_err());
        assert!(validate_vat_id("").is_err());
        assert!(validate_vat_id("ÉÉÉÉÉ").is_err());
    }

    fn doc_with(country: &str, vat: Option<&str>) -> Document {
        let mut d = Document::new(crate::model::DocumentType::Order, "1");
        let mut p = Party::new(PartyRole::Buyer);
        p.address.country = Some(country.into());
        p.vat_id = vat.map(String::from);
        d.parties.push(p);
        d
    }

    #[test]
    fn destinations() {
        assert_eq!(
            destination("FR", &doc_with("FR", None)).0,
            Destination::Domestic
        );
        assert!(matches!(
            destination("FR", &doc_with("BE", Some("BE0403123684"))).0,
            Destination::IntraEu { .. }
        ));
        let (d, note) = destination("FR", &doc_with("BE", Some("BE0403123685")));
        assert_eq!(d, Destination::Domestic);
        assert!(note.is_some());
        assert!(matches!(
            destination("FR", &doc_with("CH", None)).0,
            Destination::Export { .. }
        ));
        let (cat, rate) = line_vat(&Destination::Domestic, Decimal::new(55, 1));
        assert_eq!((cat, rate), (VatCategory::S, Decimal::new(55, 1)));
    }
}
