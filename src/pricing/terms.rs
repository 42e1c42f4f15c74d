//! Typed serde structures of the pricing terms files, exactly as written on
//! disk under `config/pricing/`.
//!
//! These are the *raw* shapes: optional fields stay optional and nothing is
//! resolved or indexed. [`super::load`] reads them (TOML via `toml`, large
//! lists via `csv`), validates them with file/line/field errors and compiles
//! them into the indexed [`super::Terms`] the engine prices against.
//!
//! Files of a terms directory:
//! - `pricing.toml` (required): `[settings]`, `[vat]`, `[currencies]`,
//!   `[price_check]` defaults;
//! - `clients.toml`: `[[group]]` and `[[client]]` entries;
//! - `rules.toml`: `[[rule]]` entries (net prices, promotions, discounts,
//!   volume tiers);
//! - `products.csv`: the product catalogue (family, brand, tax category);
//! - `price_lists/*.csv`: base list prices;
//! - `net_prices/*.csv`: client or group contract net prices in bulk.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// `pricing.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingFile {
    #[serde(default)]
    pub settings: SettingsDef,
    #[serde(default)]
    pub vat: VatDef,
    /// Minor units of currencies missing from the built-in ISO 4217 table.
    #[serde(default)]
    pub currencies: BTreeMap<String, u32>,
    /// Default price-check policy for clients and groups that set none.
    #[serde(default)]
    pub price_check: Option<PriceCheckDef>,
}

/// `[settings]` of `pricing.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDef {
    /// ISO 3166 alpha-2 country of the seller (domestic VAT), default `FR`.
    pub seller_country: Option<String>,
    /// Currency used when neither the document nor the client gives one.
    pub currency: Option<String>,
    /// Price list used by clients and groups that name none; default `general`.
    pub price_list: Option<String>,
    /// Precedence of price sources, highest first.
    pub precedence: Option<Vec<String>>,
    /// `first_match` or `best_price`.
    pub mode: Option<String>,
    pub payment_terms: Option<PaymentTermsDef>,
    /// What to do with payment terms beyond the French legal caps:
    /// `warn` (default), `refuse` (load error) or `off`.
    pub legal_payment_cap: Option<String>,
    /// Unit assumed for order lines that state none; default `PCE`.
    pub default_unit: Option<String>,
}

/// `[vat]` of `pricing.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatDef {
    /// Domestic rate per product tax category name (`standard = "20"` …).
    #[serde(default)]
    pub rates: BTreeMap<String, Decimal>,
    /// Tax category of products that set none; default `standard`.
    pub default_category: Option<String>,
    /// Tax category applied to shipping and other charges; default `standard`.
    pub charge_category: Option<String>,
}

/// Payment terms: `days` after the invoice date, or after it and then to
/// the end of that month when `end_of_month` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentTermsDef {
    pub days: u32,
    #[serde(default)]
    pub end_of_month: bool,
    /// `days_then_eom` (default: add the days, then go to the end of that
    /// month) or `eom_then_days` (go to the end of the month, then add).
    pub eom_mode: Option<String>,
}

/// Early-payment discount: `percent` off when paid within `days`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyPaymentDef {
    pub days: u32,
    pub percent: Decimal,
}

/// Price-check policy for a partner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceCheckDef {
    /// `accept_buyer`, `override`, `hold` or `reject`.
    pub policy: String,
    /// Absolute tolerance on the unit price, in the document currency.
    pub tolerance_abs: Option<Decimal>,
    /// Relative tolerance, in percent of our net price.
    pub tolerance_pct: Option<Decimal>,
}

/// `clients.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsFile {
    #[serde(default)]
    pub group: Vec<toml::Spanned<ClientDef>>,
    #[serde(default)]
    pub client: Vec<toml::Spanned<ClientDef>>,
}

/// A client or a client group. A client inherits every unset field from
/// its group, then from `pricing.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDef {
    pub id: String,
    pub name: Option<String>,
    /// Group of a client (ignored on groups).
    pub group: Option<String>,
    /// Other identifiers that designate this client (GLNs, ERP numbers).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub currency: Option<String>,
    pub price_list: Option<String>,
    pub precedence: Option<Vec<String>>,
    pub mode: Option<String>,
    pub minimum_order: Option<Decimal>,
    /// When set, an order below `minimum_order` is charged this fee instead
    /// of being held.
    pub minimum_order_fee: Option<Decimal>,
    /// Free-shipping threshold (franco) on the order's line total.
    pub franco: Option<Decimal>,
    /// Shipping charge applied below `franco`.
    pub shipping_charge: Option<Decimal>,
    pub payment_terms: Option<PaymentTermsDef>,
    pub early_payment: Option<EarlyPaymentDef>,
    /// Authorised outstanding (encours autorisé).
    pub credit_limit: Option<Decimal>,
    /// Current outstanding, as last synchronised from the ERP.
    pub outstanding: Option<Decimal>,
    pub price_check: Option<PriceCheckDef>,
}

/// `rules.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    #[serde(default)]
    pub rule: Vec<toml::Spanned<RuleDef>>,
}

/// One commercial rule.
///
/// `kind` is `net_price` (with `price`), `promotion` (with `price` or
/// `percent`), `discount` (with `percent` or a `cascade` of percentages) or
/// `tiers` (with `tiers`, on the `line` quantity or the cumulative `family`
/// quantity of the order). `client` or `group` restrict who gets it (none:
/// everyone); `product`, `family` or `brand` what it applies to (none:
/// every product).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    pub kind: String,
    pub description: Option<String>,
    pub client: Option<String>,
    pub group: Option<String>,
    pub product: Option<String>,
    pub family: Option<String>,
    pub brand: Option<String>,
    pub unit: Option<String>,
    pub currency: Option<String>,
    pub price: Option<Decimal>,
    pub percent: Option<Decimal>,
    #[serde(default)]
    pub cascade: Vec<Decimal>,
    #[serde(default)]
    pub tiers: Vec<TierDef>,
    /// `line` (default) or `family`.
    pub basis: Option<String>,
    /// Order of application among discounts (ascending), default 100.
    pub sequence: Option<u32>,
    #[serde(default, deserialize_with = "opt_date")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_date")]
    pub valid_to: Option<NaiveDate>,
}

/// One volume tier: applies `from` a quantity (inclusive) or `above` it
/// (exclusive), with a discount `percent` or a unit `price`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDef {
    pub from: Option<Decimal>,
    pub above: Option<Decimal>,
    pub percent: Option<Decimal>,
    pub price: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DateInput {
    Toml(toml::value::Datetime),
    Text(String),
}

/// Accepts a TOML date (`2024-01-31`) or a string holding one.
fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    use serde::de::Error;
    let input = Option::<DateInput>::deserialize(d)?;
    match input {
        None => Ok(None),
        Some(DateInput::Text(s)) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map(Some)
            .map_err(|_| D::Error::custom(format!("invalid date `{s}`, expected YYYY-MM-DD"))),
        Some(DateInput::Toml(dt)) => {
            let date = dt
                .date
                .ok_or_else(|| D::Error::custom("expected a date, got a time"))?;
            NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .map(Some)
            .ok_or_else(|| D::Error::custom("invalid calendar date"))
        }
    }
}
