//! The pricing engine: prices a canonical order, or builds an invoice from
//! an order or a despatch advice, against loaded [`Terms`].
//!
//! Per line: find the product (GTIN, else seller code), its list price (the
//! client's price list, else the default list; unit, currency and validity
//! date must match), the rules that apply (client, then group, then
//! everyone; product, family, brand, then all products), then walk the
//! client's precedence (default: contract net price > promotion >
//! discounts on the list price > list price) in `first_match` or
//! `best_price` mode. Discounts (percentages, cascades and volume tiers)
//! apply successively in ascending `sequence`, never summed. Every step is
//! recorded in the line's trail with the rule id and its file and line.
//!
//! Rounding: unit prices are rounded half-up to 4 decimals after each step;
//! line amounts half-up to the currency's minor unit; totals are sums of
//! rounded line amounts; VAT is computed per (category, rate) on the sum of
//! the amounts of that group, then rounded.
//!
//! Problems with a line (unknown product, no valid price, currency or unit
//! mismatch, missing or negative quantity) reject that line with a reason;
//! only document-level problems (unknown client, unsupported document type,
//! unknown currency) are [`PricingError`]s. Nothing here panics on input.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;

use super::catalog::{
    Client, FastMap, Level, Mode, PriceEntry, Rule, RuleAction, ScopeRules, SharedStr, SourceRef,
    Target, Terms, TierBasis,
};
use super::check::{self, CheckOutcome, PriceCheck};
use super::credit::{self, CreditCheck};
use super::fixed;
use super::payment;
use super::vat::{self, Destination, VatCategory};
use crate::model::{
    AllowanceCharge, AllowanceChargeKind, DateEntry, Document, DocumentType, Line, Origin,
    PaymentTerms, Reference, TaxSubtotal, Totals,
};

/// A document-level pricing failure.
#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    #[error("unknown client `{0}`: not an id or alias in clients.toml")]
    UnknownClient(String),
    #[error("cannot price a {found} document: expected {expected}")]
    UnsupportedDocument {
        found: DocumentType,
        expected: &'static str,
    },
    #[error("unknown currency `{0}`: add its minor unit under [currencies] in pricing.toml")]
    UnknownCurrency(String),
}

/// What kind of rule produced a trail step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    ListPrice,
    NetPrice,
    Promotion,
    Discount,
    Tier,
    PriceCheck,
    Charge,
}

/// The effect of one step on the unit price (or, for charges, the amount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Effect {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub before: Option<Decimal>,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub after: Decimal,
    /// Discount percentage applied by this step.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub percent: Option<Decimal>,
}

/// One step of a line's "why this price" trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AppliedRule {
    #[schemars(with = "String")]
    pub rule_id: SharedStr,
    pub kind: RuleKind,
    pub source: SourceRef,
    #[schemars(with = "String")]
    pub description: SharedStr,
    pub effect: Effect,
}

/// A discount percentage applied to a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AppliedDiscount {
    #[schemars(with = "String")]
    pub rule_id: SharedStr,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub percent: Decimal,
}

/// Whether a line was priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Priced,
    Rejected,
}

/// Why a line was rejected or a document held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    NoProductId,
    UnknownProduct,
    MissingQuantity,
    NegativeQuantity,
    NoListPrice,
    PriceExpired,
    PriceNotYetValid,
    CurrencyMismatch,
    UnitMismatch,
    PriceMismatch,
    MinimumOrder,
    CreditLimit,
    AmountTooLarge,
}

/// A reason, located on a line (0-based index in the source document) or
/// on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Reason {
    pub code: ReasonCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PricedLine {
    /// 0-based index of the line in the source document.
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_number: Option<String>,
    /// The product's key (GTIN, else seller code), as known to the terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub product: Option<SharedStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub quantity: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub unit: Option<SharedStr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub list_price: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub net_unit_price: Option<Decimal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discounts: Vec<AppliedDiscount>,
    /// Overall discount off the list price, in percent (a 10 % then 5 %
    /// cascade gives 14.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub total_discount_percent: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vat_category: Option<VatCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::model::decimal_json::serialize_option")]
    pub vat_rate: Option<Decimal>,
    pub price_check: PriceCheck,
    pub status: LineStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub trail: Vec<AppliedRule>,
}

impl PricedLine {
    /// A blank line, to be filled by the engine.
    fn empty() -> PricedLine {
        PricedLine {
            index: 0,
            line_number: None,
            product: None,
            quantity: None,
            unit: None,
            list_price: None,
            net_unit_price: None,
            discounts: Vec::new(),
            total_discount_percent: None,
            amount: None,
            vat_category: None,
            vat_rate: None,
            price_check: PriceCheck::NOT_CHECKED,
            status: LineStatus::Priced,
            reason: None,
            trail: Vec::new(),
        }
    }
}

/// A document-level charge (shipping below franco, minimum-order fee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Charge {
    #[schemars(with = "String")]
    pub rule_id: SharedStr,
    /// UNCL 7161 reason code (`FC` freight, `SAA` small-order fee).
    pub reason_code: String,
    pub description: String,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub amount: Decimal,
    pub vat_category: VatCategory,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub vat_rate: Decimal,
    pub source: SourceRef,
}

/// VAT for one (category, rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VatBreakdown {
    pub category: VatCategory,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub rate: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub taxable_amount: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub tax_amount: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption_reason: Option<String>,
}

/// Document totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PricedTotals {
    /// Sum of the rounded amounts of priced lines.
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub line_total: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub allowance_total: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub charge_total: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub tax_exclusive: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub tax_total: Decimal,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub grand_total: Decimal,
}

/// Payment terms applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PaymentInfo {
    pub terms: String,
    pub due_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_payment: Option<EarlyPaymentInfo>,
}

/// An early-payment discount offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EarlyPaymentInfo {
    pub pay_by: NaiveDate,
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub percent: Decimal,
    /// Discount on the grand total when paid by `pay_by`.
    #[serde(serialize_with = "crate::model::decimal_json::serialize")]
    pub discount_amount: Decimal,
}

/// Overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Every line priced, nothing to review.
    Ok,
    /// Held for review (see `reasons`).
    Held,
    /// Some lines were rejected (see `reasons`); the rest is priced.
    LinesRejected,
}

/// The pricing of an order or invoice, without the canonical document:
/// per-line results with their trail, charges, VAT breakdown, totals,
/// payment terms, credit check, status and reasons.
///
/// [`Pricer::price_order`] and [`price_lines`] return this alone (the
/// fast path, when the caller does not need the filled canonical
/// document); [`price_order`] and [`invoice_from`] wrap it in a
/// [`PricedDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PricedOrder {
    #[schemars(with = "String")]
    pub client_id: SharedStr,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub client_group: Option<SharedStr>,
    pub currency: String,
    pub pricing_date: NaiveDate,
    pub destination: Destination,
    pub lines: Vec<PricedLine>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub charges: Vec<Charge>,
    pub vat_breakdown: Vec<VatBreakdown>,
    pub totals: PricedTotals,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit: Option<CreditCheck>,
    pub status: DocStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Reason>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl PricedOrder {
    /// An empty result, to be filled by the engine.
    fn empty() -> PricedOrder {
        PricedOrder {
            client_id: SharedStr::from(""),
            client_group: None,
            currency: String::new(),
            pricing_date: NaiveDate::default(),
            destination: Destination::Domestic,
            lines: Vec::new(),
            charges: Vec::new(),
            vat_breakdown: Vec::new(),
            totals: PricedTotals::default(),
            due_date: None,
            payment: None,
            credit: None,
            status: DocStatus::Ok,
            reasons: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// A priced order or invoice: the canonical document with its pricing
/// fields filled, plus the pricing details (a [`PricedOrder`], whose
/// fields are reachable directly: `priced.lines`, `priced.totals` …, and
/// serialized inline next to `document`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PricedDocument {
    /// The canonical document, with net prices, line amounts, VAT, charges,
    /// totals and due date filled.
    pub document: Document,
    /// The pricing details.
    #[serde(flatten)]
    pub pricing: PricedOrder,
}

impl std::ops::Deref for PricedDocument {
    type Target = PricedOrder;
    fn deref(&self) -> &PricedOrder {
        &self.pricing
    }
}

impl std::ops::DerefMut for PricedDocument {
    fn deref_mut(&mut self) -> &mut PricedOrder {
        &mut self.pricing
    }
}

const HUNDRED: Decimal = Decimal::ONE_HUNDRED;

/// Largest line amount accepted (10^15): keeps every sum far from the
/// `Decimal` range, so totals can never overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(2_764_472_320, 232_830, 0, false, 0);

/// [`MAX_AMOUNT`] as an integer.
const MAX_AMOUNT_INT: u64 = 1_000_000_000_000_000;

#[inline]
fn round4(d: Decimal) -> Decimal {
    fixed::round_half_up(d, 4)
}

#[inline]
fn round_money(d: Decimal, minor: u32) -> Decimal {
    fixed::round_half_up(d, minor)
}

/// `price` less a discount, given the discount's precomputed factor.
#[inline]
fn discounted(price: Decimal, factor: Decimal) -> Decimal {
    fixed::mul_round(price, factor, 4)
}

fn check_order(doc: &Document) -> Result<(), PricingError> {
    if matches!(
        doc.document_type,
        DocumentType::Order | DocumentType::OrderResponse
    ) {
        Ok(())
    } else {
        Err(PricingError::UnsupportedDocument {
            found: doc.document_type,
            expected: "an order",
        })
    }
}

/// Prices a canonical order for `client_id` on `today`: the pricing
/// details and a copy of the order with its pricing fields filled.
///
/// To price many orders when the filled canonical document is not needed,
/// a [`Pricer`] gives the same [`PricedOrder`] faster.
pub fn price_order(
    terms: &Terms,
    client_id: &str,
    doc: &Document,
    today: NaiveDate,
) -> Result<PricedDocument, PricingError> {
    check_order(doc)?;
    let session = Session::new(terms, client_id, doc, today)?;
    let mut pricing = PricedOrder::empty();
    session.run(doc, Purpose::Order, &mut Scratch::default(), &mut pricing);
    let mut priced = PricedDocument {
        document: doc.clone(),
        pricing,
    };
    fill_document(&mut priced, &session, false);
    Ok(priced)
}

/// Prices a canonical order for `client_id` on `today`, without copying
/// and filling the canonical document: the same [`PricedOrder`] as
/// `price_order(..).pricing`.
pub fn price_lines(
    terms: &Terms,
    client_id: &str,
    doc: &Document,
    today: NaiveDate,
) -> Result<PricedOrder, PricingError> {
    check_order(doc)?;
    let session = Session::new(terms, client_id, doc, today)?;
    let mut pricing = PricedOrder::empty();
    session.run(doc, Purpose::Order, &mut Scratch::default(), &mut pricing);
    Ok(pricing)
}

/// Prices order after order against the same terms, reusing its buffers:
/// once warmed up, pricing a line allocates nothing (the per-line trail,
/// discount and line-number buffers of the previous order are reused).
///
/// ```no_run
/// # use comptoir::pricing::{Pricer, Terms};
/// # fn f(terms: &Terms, orders: &[comptoir::model::Document], today: chrono::NaiveDate) {
/// let mut pricer = Pricer::new(terms);
/// for doc in orders {
///     match pricer.price_order("ACME", doc, today) {
///         Ok(priced) => println!("{} {}", doc.number, priced.totals.grand_total),
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// # }
/// ```
pub struct Pricer<'t> {
    terms: &'t Terms,
    scratch: Scratch,
    out: PricedOrder,
}

impl<'t> Pricer<'t> {
    /// A pricer for `terms`.
    pub fn new(terms: &'t Terms) -> Pricer<'t> {
        Pricer {
            terms,
            scratch: Scratch::default(),
            out: PricedOrder::empty(),
        }
    }

    /// The terms priced against.
    pub fn terms(&self) -> &'t Terms {
        self.terms
    }

    /// Prices a canonical order for `client_id` on `today`: the same result
    /// as [`price_lines`] (and as `price_order(..).pricing`). The result
    /// lives in the pricer's buffers until the next call; clone it to keep
    /// it.
    pub fn price_order(
        &mut self,
        client_id: &str,
        doc: &Document,
        today: NaiveDate,
    ) -> Result<&PricedOrder, PricingError> {
        check_order(doc)?;
        let session = Session::new(self.terms, client_id, doc, today)?;
        session.run(doc, Purpose::Order, &mut self.scratch, &mut self.out);
        Ok(&self.out)
    }
}

impl std::fmt::Debug for Pricer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pricer").finish_non_exhaustive()
    }
}

/// Builds an invoice numbered `invoice_number`, dated `today`, from an order
/// or a despatch advice (whose quantities are then the despatched ones).
pub fn invoice_from(
    terms: &Terms,
    client_id: &str,
    source: &Document,
    invoice_number: &str,
    today: NaiveDate,
) -> Result<PricedDocument, PricingError> {
    if !matches!(
        source.document_type,
        DocumentType::Order | DocumentType::DespatchAdvice
    ) {
        return Err(PricingError::UnsupportedDocument {
            found: source.document_type,
            expected: "an order or a despatch advice",
        });
    }
    let session = Session::new(terms, client_id, source, today)?;
    let mut pricing = PricedOrder::empty();
    session.run(
        source,
        Purpose::Invoice,
        &mut Scratch::default(),
        &mut pricing,
    );
    let mut inv = Document::new(DocumentType::Invoice, invoice_number);
    inv.document_code = Some("380".into());
    inv.dates.push(DateEntry {
        kind: "document".into(),
        value: today.to_string(),
    });
    let kind = if source.document_type == DocumentType::Order {
        "order"
    } else {
        "despatch_advice"
    };
    inv.references.push(Reference {
        kind: kind.into(),
        value: source.number.clone(),
        date: source.date("document").map(|d| d.value.clone()),
    });
    if source.document_type == DocumentType::DespatchAdvice {
        if let Some(r) = source.reference("order") {
            inv.references.push(r.clone());
        }
    }
    inv.parties = source.parties.clone();
    inv.delivery_terms = source.delivery_terms.clone();
    inv.lines = source.lines.clone();
    inv.origin = Origin {
        format: "comptoir".into(),
        ..Origin::default()
    };
    let mut priced = PricedDocument {
        document: inv,
        pricing,
    };
    fill_document(&mut priced, &session, true);
    Ok(priced)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Order,
    Invoice,
}

/// What pricing one document needs to know: the client, its rule scopes,
/// the currency, the day and the VAT destination.
struct Session<'t> {
    terms: &'t Terms,
    client: &'t Client,
    /// The client's non-empty scopes, in precedence order: its own, its
    /// group's, everyone's (see [`Terms::scopes`]).
    scopes: [Option<&'t ScopeRules>; 3],
    currency: String,
    minor: u32,
    today: NaiveDate,
    dest: Destination,
    dest_note: Option<String>,
}

/// Rules found for a line, by level.
#[derive(Default)]
struct Found {
    net: Option<u32>,
    promos: Vec<u32>,
    discounts: Vec<u32>,
}

impl Found {
    /// Whether `level` has something to evaluate (a level without rules,
    /// or discounts without a list price, gives no price and no step).
    #[inline]
    fn may_apply(&self, level: Level, list: Option<&PriceEntry>) -> bool {
        match level {
            Level::NetPrice => self.net.is_some(),
            Level::Promotion => !self.promos.is_empty(),
            Level::Discount => !self.discounts.is_empty() && list.is_some(),
            Level::List => list.is_some(),
        }
    }
}

/// Working buffers of the engine, kept across documents by a [`Pricer`].
#[derive(Default)]
struct Scratch {
    /// Product of each line.
    pids: Vec<Option<u32>>,
    /// Quantity per family, for family-basis tiers.
    family_qty: FastMap<u32, Decimal>,
    found: Found,
    /// Trail and discounts of the level being evaluated, and of the best
    /// level so far (`best_price` mode).
    level_trail: Vec<AppliedRule>,
    level_discounts: Vec<AppliedDiscount>,
    best_trail: Vec<AppliedRule>,
    best_discounts: Vec<AppliedDiscount>,
    /// Σ amounts of the priced lines so far, and whether there is one.
    line_sum: fixed::DecimalSum,
    any_priced: bool,
    /// Taxable amount per (category, rate) of the lines priced so far.
    vat_groups: Vec<VatGroup>,
}

/// The taxable amount of one (category, rate) of a document.
struct VatGroup {
    category: VatCategory,
    /// The normalized rate.
    rate: Decimal,
    /// The representation of the first rate seen (see [`add_vat`]).
    bits: u128,
    taxable: fixed::DecimalSum,
}

/// Adds `amount` to the group of (`category`, `rate`) in `groups`,
/// creating it when new. Groups are distinct by value; the same
/// representation is the same value, so the bits are compared first.
#[inline]
fn add_vat(groups: &mut Vec<VatGroup>, category: VatCategory, rate: Decimal, amount: Decimal) {
    let bits = u128::from_le_bytes(rate.serialize());
    for g in groups.iter_mut() {
        if g.bits == bits && g.category == category {
            g.taxable.add(amount);
            return;
        }
    }
    add_vat_by_value(groups, category, rate, amount);
}

/// [`add_vat`] for a rate whose representation matched no group.
#[inline(never)]
fn add_vat_by_value(
    groups: &mut Vec<VatGroup>,
    category: VatCategory,
    rate: Decimal,
    amount: Decimal,
) {
    match groups
        .iter_mut()
        .find(|g| g.category == category && g.rate == rate)
    {
        Some(g) => g.taxable.add(amount),
        None => groups.push(VatGroup {
            category,
            rate: rate.normalize(),
            bits: u128::from_le_bytes(rate.serialize()),
            taxable: fixed::DecimalSum::new(amount),
        }),
    }
}

impl<'t> Session<'t> {
    fn new(
        terms: &'t Terms,
        client_id: &str,
        doc: &Document,
        today: NaiveDate,
    ) -> Result<Session<'t>, PricingError> {
        let client = terms
            .client(client_id)
            .ok_or_else(|| PricingError::UnknownClient(client_id.to_string()))?;
        let currency = doc
            .currency
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .or_else(|| client.currency.clone())
            .unwrap_or_else(|| terms.settings.currency.clone());
        let minor = terms
            .minor_unit(&currency)
            .ok_or_else(|| PricingError::UnknownCurrency(currency.clone()))?;
        let mut scopes = [None; 3];
        let group_scope = client.group.map(|g| terms.groups[g as usize].scope);
        let mut n = 0;
        for s in [Some(client.scope), group_scope, Some(0)]
            .into_iter()
            .flatten()
        {
            if let Some(r) = terms.scopes.get(s as usize) {
                if !r.is_empty() {
                    scopes[n] = Some(r);
                    n += 1;
                }
            }
        }
        let (dest, dest_note) = vat::destination(&terms.settings.seller_country, doc);
        Ok(Session {
            terms,
            client,
            scopes,
            currency,
            minor,
            today,
            dest,
            dest_note,
        })
    }

    fn rule_applies(&self, r: &Rule, unit: &str) -> bool {
        if !super::catalog::valid_on(r.valid_from, r.valid_to, self.today) {
            return false;
        }
        if r.unit.as_deref().is_some_and(|u| u != unit) {
            return false;
        }
        let absolute = matches!(
            r.action,
            RuleAction::NetPrice(_) | RuleAction::PromoPrice(_)
        ) || matches!(&r.action, RuleAction::Tiers { tiers, .. } if tiers.iter().any(|t| t.price.is_some()));
        match r.currency.as_deref() {
            Some(c) => c == self.currency,
            None => !absolute || self.terms.settings.currency == self.currency,
        }
    }

    /// The rules that apply to product `pid` in `unit`, by level: the
    /// client's scopes in order (client, group, everyone), and in each the
    /// product's, family's, brand's and every product's rules (a key the
    /// scope's filter rules out is not looked up).
    #[inline(always)]
    fn collect(&self, pid: u32, unit: &str, found: &mut Found) {
        found.net = None;
        found.promos.clear();
        found.discounts.clear();
        let p = &self.terms.products[pid as usize];
        for scope in self.scopes.iter().flatten() {
            let f = &scope.filter;
            if f.may_contain(Target::Product, pid) {
                if let Some(bucket) = scope.by_product.get(&pid) {
                    self.take(bucket, unit, found);
                }
            }
            if let Some(id) = p.family {
                if f.may_contain(Target::Family, id) {
                    if let Some(bucket) = scope.by_family.get(&id) {
                        self.take(bucket, unit, found);
                    }
                }
            }
            if let Some(id) = p.brand {
                if f.may_contain(Target::Brand, id) {
                    if let Some(bucket) = scope.by_brand.get(&id) {
                        self.take(bucket, unit, found);
                    }
                }
            }
            if !scope.all.is_empty() {
                self.take(&scope.all, unit, found);
            }
        }
        if found.discounts.len() > 1 {
            let rules = &self.terms.rules;
            found
                .discounts
                .sort_by_key(|&ri| rules[ri as usize].sequence);
        }
    }

    /// Adds the rules of `bucket` that apply in `unit` to `found`, in order.
    fn take(&self, bucket: &[u32], unit: &str, found: &mut Found) {
        for &ri in bucket {
            let r = &self.terms.rules[ri as usize];
            if !self.rule_applies(r, unit) {
                continue;
            }
            match r.action.level() {
                Level::NetPrice => {
                    if found.net.is_none() {
                        found.net = Some(ri);
                    }
                }
                Level::Promotion => found.promos.push(ri),
                Level::Discount => found.discounts.push(ri),
                Level::List => {}
            }
        }
    }

    fn list_entry(&self, pid: u32, unit: &str) -> Option<&'t PriceEntry> {
        let entries = &self.terms.prices[pid as usize];
        let own = self.client.price_list;
        if let Some(e) = self.best_entry(entries, own, unit) {
            return Some(e);
        }
        match self.terms.default_list {
            Some(list) if list != own => self.best_entry(entries, list, unit),
            _ => None,
        }
    }

    /// The entry of `list` in `unit` and the session's currency valid
    /// today that starts last (the first of them on a tie).
    #[inline(always)]
    fn best_entry(
        &self,
        entries: &'t [PriceEntry],
        list: u32,
        unit: &str,
    ) -> Option<&'t PriceEntry> {
        let mut best: Option<&PriceEntry> = None;
        for e in entries {
            if e.list == list
                && fixed::short_eq(e.unit.as_str(), unit)
                && fixed::short_eq(e.currency.as_str(), &self.currency)
                && e.valid_on(self.today)
                && best.is_none_or(|b| e.valid_from > b.valid_from)
            {
                best = Some(e);
            }
        }
        best
    }

    /// Why there is no list price for this product, unit and currency today.
    fn no_price_reason(&self, pid: u32, unit: &str) -> (ReasonCode, String) {
        let p = &self.terms.products[pid as usize];
        let entries = &self.terms.prices[pid as usize];
        let same =
            |e: &&PriceEntry| e.unit.as_str() == unit && e.currency.as_str() == self.currency;
        if let Some(e) = entries
            .iter()
            .filter(same)
            .filter_map(|e| e.valid_to.filter(|&t| t < self.today).map(|t| (t, e)))
            .max_by_key(|(t, _)| *t)
        {
            return (
                ReasonCode::PriceExpired,
                format!(
                    "no valid list price for {} on {}: the price at {} expired on {}",
                    p.key, self.today, e.1.source, e.0
                ),
            );
        }
        if let Some(e) = entries
            .iter()
            .filter(same)
            .filter_map(|e| e.valid_from.filter(|&f| f > self.today).map(|f| (f, e)))
            .min_by_key(|(f, _)| *f)
        {
            return (
                ReasonCode::PriceNotYetValid,
                format!(
                    "no valid list price for {} on {}: the price at {} starts on {}",
                    p.key, self.today, e.1.source, e.0
                ),
            );
        }
        if entries.iter().any(|e| e.unit.as_str() == unit) {
            let others: Vec<&str> = entries.iter().map(|e| e.currency.as_str()).collect();
            return (
                ReasonCode::CurrencyMismatch,
                format!(
                    "no list price for {} in {} (prices exist in {})",
                    p.key,
                    self.currency,
                    dedup_join(others)
                ),
            );
        }
        if !entries.is_empty() {
            let others: Vec<&str> = entries.iter().map(|e| e.unit.as_str()).collect();
            return (
                ReasonCode::UnitMismatch,
                format!(
                    "no list price for {} per {unit} (prices exist per {})",
                    p.key,
                    dedup_join(others)
                ),
            );
        }
        (
            ReasonCode::NoListPrice,
            format!("no list price and no contract price for {}", p.key),
        )
    }

    fn list_step(&self, e: &PriceEntry) -> AppliedRule {
        AppliedRule {
            rule_id: self.terms.lists.name(e.list).clone(),
            kind: RuleKind::ListPrice,
            source: e.source.clone(),
            description: self.terms.list_labels[e.list as usize].clone(),
            effect: Effect {
                before: None,
                after: e.price,
                percent: None,
            },
        }
    }

    /// Rewrites `step` (a trail step of a previous line) into the list
    /// step of `e`, as [`Session::list_step`] builds it, without touching
    /// the reference counts of the strings it already shares.
    fn set_list_step(&self, step: &mut AppliedRule, e: &PriceEntry) {
        step.rule_id.clone_from(self.terms.lists.name(e.list));
        step.kind = RuleKind::ListPrice;
        step.source.file.clone_from(&e.source.file);
        step.source.line = e.source.line;
        step.description
            .clone_from(&self.terms.list_labels[e.list as usize]);
        step.effect = Effect {
            before: None,
            after: e.price,
            percent: None,
        };
    }

    /// Evaluates one precedence level; appends its steps to `trail` and
    /// `discounts` and returns the resulting unit price when the level applies.
    #[allow(clippy::too_many_arguments)]
    fn eval_level(
        &self,
        level: Level,
        list: Option<&PriceEntry>,
        found: &Found,
        qty: Decimal,
        family_qty: &FastMap<u32, Decimal>,
        trail: &mut Vec<AppliedRule>,
        discounts: &mut Vec<AppliedDiscount>,
    ) -> Option<Decimal> {
        let rules = &self.terms.rules;
        let step = |r: &Rule,
                    kind: RuleKind,
                    desc: &SharedStr,
                    before: Option<Decimal>,
                    after: Decimal,
                    percent: Option<Decimal>| AppliedRule {
            rule_id: r.id.clone(),
            kind,
            source: r.source.clone(),
            description: desc.clone(),
            effect: Effect {
                before,
                after,
                percent,
            },
        };
        let list_price = list.map(|e| e.price);
        match level {
            Level::List => list_price,
            Level::NetPrice => {
                let r = &rules[found.net? as usize];
                let RuleAction::NetPrice(p) = r.action else {
                    return None;
                };
                trail.push(step(
                    r,
                    RuleKind::NetPrice,
                    &r.description,
                    list_price,
                    p,
                    None,
                ));
                Some(p)
            }
            Level::Promotion => {
                let mut best: Option<(Decimal, &Rule, Option<Decimal>)> = None;
                for &ri in &found.promos {
                    let r = &rules[ri as usize];
                    let (price, pct) = match r.action {
                        RuleAction::PromoPrice(p) => (p, None),
                        RuleAction::PromoPercent(pc, f) => match list_price {
                            Some(l) => (discounted(l, f), Some(pc)),
                            None => continue,
                        },
                        _ => continue,
                    };
                    if best.as_ref().is_none_or(|(b, _, _)| price < *b) {
                        best = Some((price, r, pct));
                    }
                }
                let (price, r, pct) = best?;
                trail.push(step(
                    r,
                    RuleKind::Promotion,
                    &r.description,
                    list_price,
                    price,
                    pct,
                ));
                if let Some(pc) = pct {
                    discounts.push(AppliedDiscount {
                        rule_id: r.id.clone(),
                        percent: pc,
                    });
                }
                Some(price)
            }
            Level::Discount => {
                let mut price = list_price?;
                let mut applied = false;
                for &ri in &found.discounts {
                    let r = &rules[ri as usize];
                    match &r.action {
                        RuleAction::Discount(steps) => {
                            for &(pc, f) in steps {
                                let after = discounted(price, f);
                                trail.push(step(
                                    r,
                                    RuleKind::Discount,
                                    &r.description,
                                    Some(price),
                                    after,
                                    Some(pc),
                                ));
                                discounts.push(AppliedDiscount {
                                    rule_id: r.id.clone(),
                                    percent: pc,
                                });
                                price = after;
                                applied = true;
                            }
                        }
                        RuleAction::Tiers { basis, tiers } => {
                            let basis_qty = match basis {
                                TierBasis::Line => qty,
                                TierBasis::Family => r
                                    .family
                                    .and_then(|f| family_qty.get(&f).copied())
                                    .unwrap_or(qty),
                            };
                            let Some(t) = tiers.iter().rev().find(|t| t.reached(basis_qty)) else {
                                continue;
                            };
                            let (after, pct) = match (t.percent, t.factor, t.price) {
                                (Some(pc), Some(f), _) => (discounted(price, f), Some(pc)),
                                (_, _, Some(p)) => (p, None),
                                _ => continue,
                            };
                            trail.push(step(
                                r,
                                RuleKind::Tier,
                                &t.description,
                                Some(price),
                                after,
                                pct,
                            ));
                            if let Some(pc) = pct {
                                discounts.push(AppliedDiscount {
                                    rule_id: r.id.clone(),
                                    percent: pc,
                                });
                            }
                            price = after;
                            applied = true;
                        }
                        _ => {}
                    }
                }
                applied.then_some(price)
            }
        }
    }

    fn reject(
        &self,
        pl: &mut PricedLine,
        code: ReasonCode,
        msg: String,
        reasons: &mut Vec<Reason>,
    ) {
        reasons.push(Reason {
            code,
            line: Some(pl.index),
            message: format!(
                "line {}: {msg}",
                pl.line_number
                    .as_deref()
                    .unwrap_or(&(pl.index + 1).to_string())
            ),
        });
        pl.status = LineStatus::Rejected;
        pl.amount = None;
        pl.reason = Some(msg);
    }

    /// Prices line `index` into `pl`, whose buffers (trail, discounts, line
    /// number) are reused.
    // Called once per line from `run`'s loop: inlined there, it saves a
    // call and the saving of registers per line.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn price_line(
        &self,
        index: usize,
        line: &Line,
        pid: Option<u32>,
        sc: &mut Scratch,
        pl: &mut PricedLine,
        reasons: &mut Vec<Reason>,
        holds: &mut Vec<Reason>,
    ) {
        pl.index = index;
        copy_short(&mut pl.line_number, &line.line_number);
        pl.quantity = line.quantity.as_ref().map(|q| q.value);
        pl.list_price = None;
        pl.net_unit_price = None;
        pl.discounts.clear();
        pl.total_discount_percent = None;
        pl.amount = None;
        pl.vat_category = None;
        pl.vat_rate = None;
        if pl.price_check.outcome != CheckOutcome::NotChecked {
            // Only `NOT_CHECKED` has this outcome.
            pl.price_check = PriceCheck::NOT_CHECKED;
        }
        pl.status = LineStatus::Priced;
        pl.reason = None;
        // `unit` and `trail` are rewritten below (the list step and the
        // unit usually repeat from line to line); cleared on early rejects.
        let Some(pid) = pid else {
            pl.product = None;
            pl.unit = None;
            pl.trail.clear();
            let raw = line.gtin.as_deref().or(line.seller_item_code.as_deref());
            match raw {
                None => self.reject(
                    pl,
                    ReasonCode::NoProductId,
                    "no GTIN and no seller item code".into(),
                    reasons,
                ),
                Some(k) => {
                    pl.product = Some(SharedStr::from(k));
                    self.reject(
                        pl,
                        ReasonCode::UnknownProduct,
                        format!("unknown product `{k}`"),
                        reasons,
                    )
                }
            }
            return;
        };
        let terms = self.terms;
        let product = &terms.products[pid as usize];
        pl.product = Some(product.key.clone());
        let Some(q) = &line.quantity else {
            pl.unit = None;
            pl.trail.clear();
            return self.reject(
                pl,
                ReasonCode::MissingQuantity,
                "no quantity".into(),
                reasons,
            );
        };
        let qty = q.value;
        if qty.is_sign_negative() && !qty.is_zero() {
            pl.unit = None;
            pl.trail.clear();
            return self.reject(
                pl,
                ReasonCode::NegativeQuantity,
                format!("negative quantity {qty} (only credit notes carry negative amounts)"),
                reasons,
            );
        }
        let unit_owned;
        let unit: &str = match q.unit.as_deref().map(fixed::trim) {
            Some(u) if !u.is_empty() => {
                if u.bytes().any(|b| b.is_ascii_lowercase()) {
                    unit_owned = u.to_ascii_uppercase();
                    &unit_owned
                } else {
                    u
                }
            }
            _ => terms.settings.default_unit.as_str(),
        };
        let list = self.list_entry(pid, unit);
        match (&mut pl.unit, list) {
            (Some(u), Some(e)) => u.clone_from(&e.unit),
            (slot, Some(e)) => *slot = Some(e.unit.clone()),
            (slot, None) => *slot = Some(SharedStr::from(unit)),
        }
        pl.list_price = list.map(|e| e.price);
        self.collect(pid, unit, &mut sc.found);

        match list {
            Some(e) => {
                pl.trail.truncate(1);
                match pl.trail.first_mut() {
                    Some(step) => self.set_list_step(step, e),
                    None => pl.trail.push(self.list_step(e)),
                }
            }
            None => pl.trail.clear(),
        }
        let found = &sc.found;
        let family_qty = &sc.family_qty;
        let net = match self.client.mode {
            Mode::FirstMatch => {
                let mut net = None;
                for &level in &self.client.precedence {
                    if level == Level::List {
                        if let Some(e) = list {
                            net = Some(e.price);
                            break;
                        }
                        continue;
                    }
                    if !found.may_apply(level, list) {
                        continue;
                    }
                    let mark = pl.trail.len();
                    if let Some(p) = self.eval_level(
                        level,
                        list,
                        found,
                        qty,
                        family_qty,
                        &mut pl.trail,
                        &mut pl.discounts,
                    ) {
                        net = Some(p);
                        break;
                    }
                    pl.trail.truncate(mark);
                    pl.discounts.clear();
                }
                net
            }
            Mode::BestPrice => {
                let mut best: Option<Decimal> = None;
                for &level in &self.client.precedence {
                    if !found.may_apply(level, list) {
                        continue;
                    }
                    sc.level_trail.clear();
                    sc.level_discounts.clear();
                    if let Some(p) = self.eval_level(
                        level,
                        list,
                        found,
                        qty,
                        family_qty,
                        &mut sc.level_trail,
                        &mut sc.level_discounts,
                    ) {
                        if best.is_none_or(|b| p < b) {
                            best = Some(p);
                            std::mem::swap(&mut sc.level_trail, &mut sc.best_trail);
                            std::mem::swap(&mut sc.level_discounts, &mut sc.best_discounts);
                        }
                    }
                }
                if best.is_some() {
                    pl.trail.append(&mut sc.best_trail);
                    pl.discounts.append(&mut sc.best_discounts);
                }
                sc.best_trail.clear();
                sc.best_discounts.clear();
                best
            }
        };
        let Some(mut net) = net else {
            let (code, msg) = self.no_price_reason(pid, unit);
            return self.reject(pl, code, msg, reasons);
        };
        net = round4(net);
        if let (Some(l), false) = (pl.list_price, pl.discounts.is_empty()) {
            if !l.is_zero() {
                pl.total_discount_percent = fixed::discount_percent(l, net);
            }
        }
        // Price check against the buyer's price (per one unit).
        let buyer = line
            .net_unit_price
            .map(|p| match line.price_basis_quantity {
                Some(b) if b > Decimal::ZERO => round4(p / b),
                _ => p,
            });
        if buyer.is_some() {
            pl.price_check = check::check(&self.client.price_check, buyer, net);
        }
        let outcome = pl.price_check.outcome;
        if outcome != CheckOutcome::NotChecked && outcome != CheckOutcome::WithinTolerance {
            let b = buyer.unwrap_or(net);
            let (desc, after) = match outcome {
                CheckOutcome::AcceptedBuyerPrice => (
                    format!("buyer's price {b} accepted (ours {net}, policy accept_buyer)"),
                    b,
                ),
                CheckOutcome::Overridden => (
                    format!("buyer's price {b} replaced by ours {net} (policy override)"),
                    net,
                ),
                CheckOutcome::Held => (
                    format!("buyer's price {b} differs from ours {net}: held for review"),
                    net,
                ),
                _ => (
                    format!("buyer's price {b} differs from ours {net}: line rejected"),
                    net,
                ),
            };
            pl.trail.push(AppliedRule {
                rule_id: SharedStr::from(format!("price_check:{}", self.client.id)),
                kind: RuleKind::PriceCheck,
                source: self.client.source.clone(),
                description: SharedStr::from(desc.as_str()),
                effect: Effect {
                    before: Some(net),
                    after,
                    percent: None,
                },
            });
            match outcome {
                CheckOutcome::AcceptedBuyerPrice => net = after,
                CheckOutcome::Held => holds.push(Reason {
                    code: ReasonCode::PriceMismatch,
                    line: Some(index),
                    message: format!(
                        "line {}: {desc}",
                        line.line_number
                            .as_deref()
                            .unwrap_or(&(index + 1).to_string())
                    ),
                }),
                _ => {}
            }
        }
        let rejected = outcome == CheckOutcome::Rejected;
        pl.net_unit_price = Some(net);
        let (cat, rate) = vat::line_vat(&self.dest, product.vat_rate);
        pl.vat_category = Some(cat);
        pl.vat_rate = Some(rate);
        if rejected {
            let msg = format!(
                "buyer's price {} differs from ours {net} beyond tolerance",
                buyer.unwrap_or(net)
            );
            return self.reject(pl, ReasonCode::PriceMismatch, msg, reasons);
        }
        match fixed::checked_mul_round(net, qty, MAX_AMOUNT_INT, self.minor) {
            Some(a) => {
                pl.amount = Some(a);
                // Summed here, in line order, as the totals and VAT need.
                sc.line_sum.add(a);
                sc.any_priced = true;
                add_vat(&mut sc.vat_groups, cat, rate, a);
            }
            None => {
                let msg = format!("amount {net} × {qty} exceeds the accepted maximum {MAX_AMOUNT}");
                self.reject(pl, ReasonCode::AmountTooLarge, msg, reasons);
            }
        }
    }

    /// Prices `doc` into `out`, reusing its buffers and those of `sc`.
    fn run(&self, doc: &Document, purpose: Purpose, sc: &mut Scratch, out: &mut PricedOrder) {
        let terms = self.terms;
        let mut pids = std::mem::take(&mut sc.pids);
        pids.clear();
        pids.extend(doc.lines.iter().map(|l| {
            l.gtin
                .as_deref()
                .and_then(|g| terms.product(fixed::trim(g)))
                .or_else(|| {
                    l.seller_item_code
                        .as_deref()
                        .and_then(|c| terms.product(fixed::trim(c)))
                })
        }));
        sc.family_qty.clear();
        if terms.has_family_tiers {
            for (l, pid) in doc.lines.iter().zip(&pids) {
                let fam = pid.and_then(|p| terms.products[p as usize].family);
                if let (Some(f), Some(q)) = (fam, &l.quantity) {
                    if q.value > Decimal::ZERO {
                        let e = sc.family_qty.entry(f).or_default();
                        *e = e.checked_add(q.value).unwrap_or(Decimal::MAX);
                    }
                }
            }
        }
        sc.line_sum = fixed::DecimalSum::default();
        sc.any_priced = false;
        sc.vat_groups.clear();
        let mut reasons = Vec::new();
        out.reasons.clear();
        let holds = &mut out.reasons;
        let lines = &mut out.lines;
        lines.truncate(doc.lines.len());
        lines.reserve(doc.lines.len() - lines.len());
        for (i, (l, &pid)) in doc.lines.iter().zip(&pids).enumerate() {
            if i == lines.len() {
                lines.push(PricedLine::empty());
            }
            self.price_line(i, l, pid, sc, &mut lines[i], &mut reasons, holds);
        }
        sc.pids = pids;
        out.warnings.clone_from(&terms.warnings);
        if let Some(n) = &self.dest_note {
            out.warnings.push(n.clone());
        }

        let lines = &out.lines;
        // Σ amounts of the priced lines, in line order, exactly as `Decimal`
        // sums them (`fixed::DecimalSum`), summed by `price_line`.
        let any_priced = sc.any_priced;
        let line_total = sc.line_sum.value();
        let charges = &mut out.charges;
        charges.clear();
        let client = self.client;
        let charge_rate = terms
            .settings
            .vat_rates
            .get(terms.settings.charge_tax_category.as_str())
            .copied()
            .unwrap_or_default();
        let (charge_cat, charge_vat) = vat::line_vat(&self.dest, charge_rate);
        let charge = |id: &str, code: &str, desc: String, amount: Decimal| Charge {
            rule_id: SharedStr::from(format!("{}:{id}", client.id)),
            reason_code: code.into(),
            description: desc,
            amount: round_money(amount, self.minor),
            vat_category: charge_cat,
            vat_rate: charge_vat,
            source: client.source.clone(),
        };
        if any_priced {
            if let Some(min) = client.minimum_order {
                if line_total < min {
                    match client.minimum_order_fee {
                        Some(fee) => charges.push(charge(
                            "minimum_order_fee",
                            "SAA",
                            format!("small-order fee: order {line_total} below minimum {min} {}", self.currency),
                            fee,
                        )),
                        None if purpose == Purpose::Order => holds.push(Reason {
                            code: ReasonCode::MinimumOrder,
                            line: None,
                            message: format!("order value {line_total} {} is below the minimum order value {min} {}", self.currency, self.currency),
                        }),
                        None => {}
                    }
                }
            }
            if let Some(fee) = client.shipping_charge {
                match client.franco {
                    Some(franco) if line_total >= franco => {}
                    Some(franco) => charges.push(charge(
                        "shipping",
                        "FC",
                        format!("shipping: order {line_total} below the free-shipping threshold {franco} {}", self.currency),
                        fee,
                    )),
                    None => charges.push(charge("shipping", "FC", "shipping".into(), fee)),
                }
            }
        }
        let charge_total: Decimal = charges.iter().map(|c| c.amount).sum();

        // VAT per (category, rate) on the sum of net amounts: the lines'
        // amounts were added to their group by `price_line`, in line order;
        // then the charges. Few groups, sorted by (category, rate).
        let groups = &mut sc.vat_groups;
        for c in charges.iter() {
            add_vat(groups, c.vat_category, c.vat_rate, c.amount);
        }
        groups.sort_unstable_by_key(|g| (g.category, g.rate));
        out.vat_breakdown.clear();
        out.vat_breakdown.extend(groups.iter().map(|g| {
            let taxable = g.taxable.value();
            VatBreakdown {
                category: g.category,
                rate: g.rate,
                taxable_amount: taxable,
                tax_amount: round_money(taxable * g.rate / HUNDRED, self.minor),
                exemption_reason: g.category.exemption_reason().map(String::from),
            }
        }));
        let tax_total: Decimal = out.vat_breakdown.iter().map(|v| v.tax_amount).sum();
        let tax_exclusive = line_total + charge_total;
        let grand_total = tax_exclusive + tax_total;
        out.totals = PricedTotals {
            line_total,
            allowance_total: Decimal::ZERO,
            charge_total,
            tax_exclusive,
            tax_total,
            grand_total,
        };

        out.payment = client.payment_terms.as_ref().and_then(|t| {
            let due = payment::due_date(t, self.today)?;
            let early_payment = client.early_payment.as_ref().and_then(|e| {
                Some(EarlyPaymentInfo {
                    pay_by: self
                        .today
                        .checked_add_days(chrono::Days::new(u64::from(e.days)))?,
                    percent: e.percent,
                    discount_amount: round_money(grand_total * e.percent / HUNDRED, self.minor),
                })
            });
            Some(PaymentInfo {
                terms: payment::describe(t),
                due_date: due,
                early_payment,
            })
        });

        out.credit = match (purpose, client.credit_limit) {
            (Purpose::Order, Some(limit)) => {
                let c = credit::check(limit, client.outstanding.unwrap_or_default(), grand_total);
                if let Some(msg) = c.reason(&self.currency) {
                    holds.push(Reason {
                        code: ReasonCode::CreditLimit,
                        line: None,
                        message: msg,
                    });
                }
                Some(c)
            }
            _ => None,
        };

        out.status = if !holds.is_empty() {
            DocStatus::Held
        } else if lines.iter().any(|l| l.status == LineStatus::Rejected) {
            DocStatus::LinesRejected
        } else {
            DocStatus::Ok
        };
        holds.append(&mut reasons);
        out.client_id = client.id.clone();
        out.client_group = client.group.map(|g| terms.groups[g as usize].id.clone());
        out.currency.clone_from(&self.currency);
        out.pricing_date = self.today;
        out.destination.clone_from(&self.dest);
        out.due_date = out.payment.as_ref().map(|p| p.due_date);
    }
}

/// `dst.clone_from(src)` for short strings such as line numbers, which
/// usually repeat from one order to the next (line `i` of each order is
/// numbered `i + 1`): nothing to do when equal, else the characters are
/// copied one by one into the buffer `dst` already has, instead of calls
/// to `memcmp` and `memcpy`.
#[inline]
fn copy_short(dst: &mut Option<String>, src: &Option<String>) {
    match (dst, src) {
        (Some(d), Some(s)) if fixed::short_eq(d, s) => {}
        (Some(d), Some(s)) if s.len() <= 8 => {
            d.clear();
            for c in s.chars() {
                d.push(c);
            }
        }
        (dst, src) => dst.clone_from(src),
    }
}

fn dedup_join(mut v: Vec<&str>) -> String {
    v.sort_unstable();
    v.dedup();
    v.join(", ")
}

/// Writes the pricing results into the canonical fields of
/// `priced.document`, whose lines are those of the source document (an
/// invoice drops its rejected lines).
fn fill_document(priced: &mut PricedDocument, session: &Session<'_>, invoice: bool) {
    let PricedDocument {
        document: doc,
        pricing: priced,
    } = priced;
    doc.currency = Some(priced.currency.clone());
    for pl in &priced.lines {
        let Some(line) = doc.lines.get_mut(pl.index) else {
            continue;
        };
        match pl.status {
            LineStatus::Priced => {
                line.gross_unit_price = pl.list_price;
                line.net_unit_price = pl.net_unit_price;
                line.price_basis_quantity = None;
                line.line_amount = pl.amount;
                line.tax_category = pl.vat_category.map(|c| c.code().to_string());
                line.tax_rate = pl.vat_rate;
                if !invoice {
                    let changed = matches!(pl.price_check.outcome, CheckOutcome::Overridden);
                    line.action = Some(if changed { "3" } else { "5" }.into());
                }
            }
            LineStatus::Rejected => {
                line.action = Some("7".into());
                line.line_amount = None;
            }
        }
    }
    if invoice {
        let keep: Vec<bool> = priced
            .lines
            .iter()
            .map(|l| l.status == LineStatus::Priced)
            .collect();
        let mut i = 0;
        doc.lines.retain(|_| {
            let k = keep.get(i).copied().unwrap_or(false);
            i += 1;
            k
        });
    }
    doc.allowances_charges = priced
        .charges
        .iter()
        .map(|c| AllowanceCharge {
            reason_code: Some(c.reason_code.clone()),
            description: Some(c.description.clone()),
            amount: Some(c.amount),
            tax_category: Some(c.vat_category.code().into()),
            tax_rate: Some(c.vat_rate),
            ..AllowanceCharge::new(AllowanceChargeKind::Charge)
        })
        .collect();
    doc.tax_subtotals = priced
        .vat_breakdown
        .iter()
        .map(|v| TaxSubtotal {
            category: Some(v.category.code().into()),
            rate: Some(v.rate),
            taxable_amount: Some(v.taxable_amount),
            tax_amount: Some(v.tax_amount),
            exemption_reason: v.exemption_reason.clone(),
        })
        .collect();
    let t = &priced.totals;
    doc.totals = Totals {
        line_total: Some(t.line_total),
        allowance_total: Some(t.allowance_total),
        charge_total: Some(t.charge_total),
        tax_exclusive: Some(t.tax_exclusive),
        tax_total: Some(t.tax_total),
        tax_inclusive: Some(t.grand_total),
        prepaid: None,
        payable: Some(t.grand_total),
    };
    if let (Some(p), Some(spec)) = (&priced.payment, &session.client.payment_terms) {
        doc.payment_terms = vec![PaymentTerms {
            terms_type: Some("1".into()),
            description: Some(p.terms.clone()),
            days: Some(spec.days),
            end_of_month: spec.end_of_month,
            due_date: Some(p.due_date.to_string()),
            percentage: None,
            amount: None,
        }];
        if let Some(e) = &p.early_payment {
            doc.payment_terms.push(PaymentTerms {
                terms_type: Some("22".into()),
                description: Some(format!(
                    "{} % early-payment discount if paid by {}",
                    e.percent, e.pay_by
                )),
                days: session.client.early_payment.as_ref().map(|x| x.days),
                end_of_month: false,
                due_date: Some(e.pay_by.to_string()),
                percentage: Some(e.percent),
                amount: Some(e.discount_amount),
            });
        }
    }
}
