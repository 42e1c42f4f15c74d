//! The compiled, indexed form of the pricing terms: what the engine prices
//! against.
//!
//! [`super::load`] turns the raw files of [`super::terms`] into a [`Terms`]:
//! names are interned into small integers, products are reachable by GTIN or
//! seller code in one hash lookup, list prices are grouped per product, and
//! rules are bucketed per scope (client, group, everyone) and target
//! (product, family, brand, every product), each scope with a small
//! [`KeyFilter`] of its keys, so that pricing a line costs a few bit tests
//! and a hash lookup for the keys actually present, whatever the size of
//! the terms.
//!
//! Strings that end up in every priced line (rule ids, descriptions, file
//! names) are [`SharedStr`]s, so copying them into a trail is a reference
//! count increment, not an allocation.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// An immutable shared string: cheap to clone, serialized as a plain string.
#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedStr(Arc<str>);

impl Clone for SharedStr {
    #[inline]
    fn clone(&self) -> SharedStr {
        SharedStr(Arc::clone(&self.0))
    }

    /// Leaves the reference counts alone when both already share the
    /// string (the engine rewrites trails that mostly repeat).
    #[inline]
    fn clone_from(&mut self, source: &SharedStr) {
        if !Arc::ptr_eq(&self.0, &source.0) {
            self.0 = Arc::clone(&source.0);
        }
    }
}

impl SharedStr {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(s: &str) -> SharedStr {
        SharedStr(Arc::from(s))
    }
}

impl From<String> for SharedStr {
    fn from(s: String) -> SharedStr {
        SharedStr(Arc::from(s))
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SharedStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Where a rule or a price comes from: the terms file and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SourceRef {
    #[schemars(with = "String")]
    pub file: SharedStr,
    pub line: u32,
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A small, fast, non-cryptographic hasher (multiply-rotate, FxHash style)
/// for the terms indexes. Keys come from reviewed configuration and lookups
/// never insert, so collision attacks are not a concern.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHash;

/// State of [`FastHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// A hash map with the [`FastHash`] hasher.
pub type FastMap<K, V> = HashMap<K, V, FastHash>;

/// Interns names (price lists, families, brands) into dense ids.
#[derive(Debug, Default)]
pub struct Interner {
    ids: FastMap<Box<str>, u32>,
    names: Vec<SharedStr>,
}

impl Interner {
    /// The id of `name`, adding it when new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.into(), id);
        self.names.push(SharedStr::from(name));
        id
    }
    /// The id of `name`, when known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
    /// Number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// True when no name was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// The name of `id`.
    pub fn name(&self, id: u32) -> &SharedStr {
        &self.names[id as usize]
    }
}

/// A price source in the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    NetPrice,
    Promotion,
    Discount,
    List,
}

impl Level {
    pub(crate) fn parse(name: &str) -> Option<Level> {
        Some(match name {
            "net_price" => Level::NetPrice,
            "promotion" => Level::Promotion,
            "discount" | "discounts" => Level::Discount,
            "list" | "list_price" => Level::List,
            _ => return None,
        })
    }
}

/// How a client's price is chosen among the precedence levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The first level, in precedence order, that has a matching rule wins.
    FirstMatch,
    /// Every level is evaluated and the lowest net price wins (ties go to
    /// the level with the higher precedence).
    BestPrice,
}

/// What to do when the buyer's price differs from ours beyond tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckPolicy {
    AcceptBuyer,
    Override,
    Hold,
    Reject,
}

/// A partner's price-check settings.
#[derive(Debug, Clone)]
pub struct PriceCheckPolicy {
    pub policy: CheckPolicy,
    pub tolerance_abs: Option<Decimal>,
    pub tolerance_pct: Option<Decimal>,
}

/// Compiled payment terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTermsSpec {
    pub days: u32,
    pub end_of_month: bool,
    /// End of month first, then the days (instead of the days then the end of month).
    pub eom_first: bool,
}

/// Early-payment discount.
#[derive(Debug, Clone)]
pub struct EarlyPayment {
    pub days: u32,
    pub percent: Decimal,
}

/// Legal-cap policy for payment terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapPolicy {
    Off,
    Warn,
    Refuse,
}

/// Global settings of `pricing.toml`.
#[derive(Debug)]
pub struct Settings {
    pub seller_country: String,
    pub currency: String,
    pub default_unit: SharedStr,
    pub vat_rates: FastMap<Box<str>, Decimal>,
    pub default_tax_category: String,
    pub charge_tax_category: String,
    pub minor_units: FastMap<Box<str>, u32>,
    pub legal_cap: CapPolicy,
}

/// A client or a client group, with everything inherited resolved.
#[derive(Debug)]
pub struct Client {
    pub id: SharedStr,
    pub name: Option<String>,
    /// Index of the group in [`Terms::groups`].
    pub group: Option<u32>,
    /// Scope id of this client (see [`Terms::scopes`]).
    pub scope: u32,
    pub currency: Option<String>,
    pub price_list: u32,
    pub precedence: Vec<Level>,
    pub mode: Mode,
    pub minimum_order: Option<Decimal>,
    pub minimum_order_fee: Option<Decimal>,
    pub franco: Option<Decimal>,
    pub shipping_charge: Option<Decimal>,
    pub payment_terms: Option<PaymentTermsSpec>,
    pub early_payment: Option<EarlyPayment>,
    pub credit_limit: Option<Decimal>,
    pub outstanding: Option<Decimal>,
    pub price_check: PriceCheckPolicy,
    pub source: SourceRef,
}

/// A product of the catalogue.
#[derive(Debug)]
pub struct Product {
    /// GTIN, else seller code: how the product is named in trails.
    pub key: SharedStr,
    pub description: Option<String>,
    pub family: Option<u32>,
    pub brand: Option<u32>,
    /// Tax category name (`standard`, `reduced` …).
    pub tax_category: SharedStr,
    /// Domestic VAT rate of that category.
    pub vat_rate: Decimal,
}

/// One base list price.
#[derive(Debug)]
pub struct PriceEntry {
    pub list: u32,
    pub unit: SharedStr,
    pub currency: SharedStr,
    pub price: Decimal,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub source: SourceRef,
}

impl PriceEntry {
    /// The factor `(100 - percent) / 100` that applies a discount by multiplication.
    pub fn discount_factor(percent: Decimal) -> Decimal {
        (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED
    }

    pub(crate) fn valid_on(&self, day: NaiveDate) -> bool {
        valid_on(self.valid_from, self.valid_to, day)
    }
}

/// The factor `(100 - percent) / 100` that applies a discount by multiplication.
pub fn discount_factor(percent: Decimal) -> Decimal {
    (Decimal::ONE_HUNDRED - percent) / Decimal::ONE_HUNDRED
}

pub(crate) fn valid_on(from: Option<NaiveDate>, to: Option<NaiveDate>, day: NaiveDate) -> bool {
    from.is_none_or(|f| f <= day) && to.is_none_or(|t| day <= t)
}

/// What the quantity of a volume tier is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierBasis {
    /// The line's own quantity.
    Line,
    /// The sum of the quantities of every line of the same family in the order.
    Family,
}

/// One compiled volume tier.
#[derive(Debug)]
pub struct Tier {
    pub threshold: Decimal,
    /// `from` (inclusive) when true, `above` (exclusive) when false.
    pub inclusive: bool,
    pub percent: Option<Decimal>,
    /// `(100 - percent) / 100`, precomputed.
    pub factor: Option<Decimal>,
    pub price: Option<Decimal>,
    pub description: SharedStr,
}

impl Tier {
    pub(crate) fn reached(&self, qty: Decimal) -> bool {
        if self.inclusive {
            qty >= self.threshold
        } else {
            qty > self.threshold
        }
    }
}

/// What a rule does.
#[derive(Debug)]
pub enum RuleAction {
    NetPrice(Decimal),
    PromoPrice(Decimal),
    /// Percentage off the list price, with its multiplying factor.
    PromoPercent(Decimal, Decimal),
    /// One discount, or several applied successively (a cascade): each a
    /// percentage and its precomputed factor `(100 - p) / 100`.
    Discount(Vec<(Decimal, Decimal)>),
    Tiers {
        basis: TierBasis,
        tiers: Vec<Tier>,
    },
}

impl RuleAction {
    pub(crate) fn level(&self) -> Level {
        match self {
            RuleAction::NetPrice(_) => Level::NetPrice,
            RuleAction::PromoPrice(_) | RuleAction::PromoPercent(..) => Level::Promotion,
            RuleAction::Discount(_) | RuleAction::Tiers { .. } => Level::Discount,
        }
    }
}

/// A compiled commercial rule.
#[derive(Debug)]
pub struct Rule {
    pub id: SharedStr,
    pub description: SharedStr,
    pub source: SourceRef,
    pub unit: Option<Box<str>>,
    pub currency: Option<Box<str>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub sequence: u32,
    /// Family the rule targets, for family-basis tiers.
    pub family: Option<u32>,
    pub action: RuleAction,
}

/// Rules of one scope (everyone, a group or a client), by target.
#[derive(Debug, Default)]
pub struct ScopeRules {
    pub by_product: FastMap<u32, Vec<u32>>,
    pub by_family: FastMap<u32, Vec<u32>>,
    pub by_brand: FastMap<u32, Vec<u32>>,
    pub all: Vec<u32>,
    /// The keys of the three maps, see [`ScopeRules::seal`].
    pub filter: KeyFilter,
}

/// Target of a bucket key in a [`KeyFilter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Product = 0,
    Family = 1,
    Brand = 2,
}

/// A 256-bit summary of the bucket keys of a scope (one bit per
/// (target, id), Bloom style): a clear bit proves the key absent, so most
/// lookups of a line end with a bit test instead of a hash probe. Until
/// built (the default: every bit set), every key may be present.
#[derive(Debug, Clone)]
pub struct KeyFilter {
    bits: [u64; 4],
}

impl Default for KeyFilter {
    fn default() -> KeyFilter {
        KeyFilter {
            bits: [u64::MAX; 4],
        }
    }
}

impl KeyFilter {
    #[inline]
    fn bit(target: Target, id: u32) -> (usize, u64) {
        let h = (u64::from(id) ^ ((target as u64) << 32)).wrapping_mul(SEED);
        let b = (h >> 56) as usize;
        (b >> 6, 1u64 << (b & 63))
    }

    /// False only when no bucket of `target` has key `id`.
    #[inline]
    pub fn may_contain(&self, target: Target, id: u32) -> bool {
        let (w, m) = KeyFilter::bit(target, id);
        self.bits[w & 3] & m != 0
    }
}

impl ScopeRules {
    /// Builds [`ScopeRules::filter`] from the keys of the buckets: call it
    /// once every rule is added (until then the filter lets every key by).
    pub fn seal(&mut self) {
        let mut f = KeyFilter { bits: [0; 4] };
        let maps = [
            (Target::Product, &self.by_product),
            (Target::Family, &self.by_family),
            (Target::Brand, &self.by_brand),
        ];
        for (target, map) in maps {
            for &id in map.keys() {
                let (w, m) = KeyFilter::bit(target, id);
                f.bits[w & 3] |= m;
            }
        }
        self.filter = f;
    }

    /// True when the scope has no rule.
    pub fn is_empty(&self) -> bool {
        self.by_product.is_empty()
            && self.by_family.is_empty()
            && self.by_brand.is_empty()
            && self.all.is_empty()
    }
}

/// Product index by the integer form of all-digit keys (GTINs, see
/// [`numeric_key`]): an open-addressing table with linear probing, at most
/// half full. A lookup hashes the key with one multiplication and
/// compares it with a slot or two, cheaper than a general hash map.
/// Key 0 (which [`numeric_key`] never gives) marks an empty slot.
#[derive(Debug, Clone)]
pub struct CodeIndex {
    /// `(key, product)`, key 0 when empty; a power-of-two length.
    slots: Vec<(u64, u32)>,
    /// 64 − log2(slots.len()): the hash is the top bits of the product.
    shift: u32,
    len: usize,
}

impl Default for CodeIndex {
    fn default() -> CodeIndex {
        CodeIndex {
            slots: vec![(0, 0)],
            shift: 64,
            len: 0,
        }
    }
}

impl CodeIndex {
    /// An empty index with room for `n` keys.
    pub fn with_capacity(n: usize) -> CodeIndex {
        let size = (n.max(1) * 2).next_power_of_two();
        CodeIndex {
            slots: vec![(0, 0); size],
            shift: 64 - size.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // `checked_shr`: a one-slot table shifts by 64.
        key.wrapping_mul(SEED).checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// Sets the product of `key` (replacing a previous one). Key 0 is
    /// ignored.
    pub fn insert(&mut self, key: u64, product: u32) {
        if key == 0 {
            return;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            let mut bigger = CodeIndex::with_capacity(self.len + 1);
            for &(k, p) in &self.slots {
                if k != 0 {
                    bigger.insert(k, p);
                }
            }
            *self = bigger;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let slot = &mut self.slots[i];
            if slot.0 == key {
                slot.1 = product;
                return;
            }
            if slot.0 == 0 {
                *slot = (key, product);
                self.len += 1;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// The product of `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        // At most half full: an empty slot ends every probe.
        loop {
            let (k, p) = self.slots[i & mask];
            if k == key {
                return (key != 0).then_some(p);
            }
            if k == 0 {
                return None;
            }
            i += 1;
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there is no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl FromIterator<(u64, u32)> for CodeIndex {
    fn from_iter<I: IntoIterator<Item = (u64, u32)>>(iter: I) -> CodeIndex {
        let iter = iter.into_iter();
        let mut index = CodeIndex::with_capacity(iter.size_hint().0);
        for (k, p) in iter {
            index.insert(k, p);
        }
        index
    }
}

/// The loaded, indexed commercial terms. Immutable once built; share it
/// behind an `Arc` (see [`super::TermsHandle`]).
#[derive(Debug)]
pub struct Terms {
    pub settings: Settings,
    pub products: Vec<Product>,
    /// GTIN or seller code → index in `products`.
    pub product_index: FastMap<Box<str>, u32>,
    /// The all-digit keys of `product_index` (GTINs) as integers (see
    /// [`numeric_key`]): the lookup by GTIN hashes and compares one `u64`
    /// instead of a string.
    pub product_codes: CodeIndex,
    /// List prices per product index.
    pub prices: Vec<Vec<PriceEntry>>,
    pub lists: Interner,
    /// Trail description of each price list, by list id.
    pub list_labels: Vec<SharedStr>,
    /// Id of the price list named in `[settings]` (fallback of every client).
    pub default_list: Option<u32>,
    pub families: Interner,
    pub brands: Interner,
    pub groups: Vec<Client>,
    pub clients: Vec<Client>,
    /// Client id or alias → index in `clients`.
    pub client_index: FastMap<Box<str>, u32>,
    pub rules: Vec<Rule>,
    /// Scope 0 is everyone, then one per group (1 + group index), then one
    /// per client (1 + groups + client index).
    pub scopes: Vec<ScopeRules>,
    /// Some rule has family-basis tiers (the engine then sums family
    /// quantities per order).
    pub has_family_tiers: bool,
    /// Non-fatal findings made while loading (e.g. payment terms beyond the
    /// legal caps under the `warn` policy).
    pub warnings: Vec<String>,
    /// Number of list price lines loaded.
    pub price_count: usize,
}

impl Terms {
    /// The client designated by `id` (its id or one of its aliases).
    pub fn client(&self, id: &str) -> Option<&Client> {
        self.client_index
            .get(id.trim())
            .map(|&i| &self.clients[i as usize])
    }

    /// The product designated by a GTIN or a seller code.
    #[inline]
    pub fn product(&self, key: &str) -> Option<u32> {
        match numeric_key(key) {
            Some(k) => self.product_codes.get(k),
            None => self.product_by_name(key),
        }
    }

    /// [`Terms::product`] for a key that is not all digits (kept out of
    /// line: the GTIN path stays small enough to inline).
    #[inline(never)]
    fn product_by_name(&self, key: &str) -> Option<u32> {
        self.product_index.get(key).copied()
    }

    /// Minor unit (decimal places) of a currency, when known.
    pub fn minor_unit(&self, currency: &str) -> Option<u32> {
        if let Some(&n) = self.settings.minor_units.get(currency) {
            return Some(n);
        }
        iso_minor_unit(currency)
    }

    /// Number of clients.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Number of rules (TOML rules and CSV net prices).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

/// A key of 1 to 16 ASCII digits (a GTIN, say) as one integer: its value,
/// with its length in the top byte so that `0123` and `123` stay distinct.
/// `None` for any other key.
#[inline]
pub fn numeric_key(key: &str) -> Option<u64> {
    let b = key.as_bytes();
    let n = b.len();
    if n == 0 || n > 16 {
        return None;
    }
    // The last 8 digits (left-padded with `0` when shorter) at once, then
    // the first ones (9 to 16 digits) the same way: the first 8 bytes,
    // shifted so that those shared with the last 8 drop out and `0`s come
    // in from the left.
    let lo = if n >= 8 {
        let mut lo = [0u8; 8];
        lo.copy_from_slice(&b[n - 8..]);
        lo
    } else {
        let mut lo = [b'0'; 8];
        lo[8 - n..].copy_from_slice(b);
        lo
    };
    let lo = super::fixed::eight_digits(u64::from_le_bytes(lo))?;
    let hi = if n > 8 {
        let mut head = [0u8; 8];
        head.copy_from_slice(&b[..8]);
        // Shifted left by 16 - n bytes: the bytes also in `lo` drop out
        // and as many `0`s come in first.
        let k = 8 * (16 - n) as u32;
        let zeros = 0x3030_3030_3030_3030u64.checked_shr(64 - k).unwrap_or(0);
        super::fixed::eight_digits(u64::from_le_bytes(head) << k | zeros)?
    } else {
        0
    };
    Some((hi * 100_000_000 + lo) | (n as u64) << 56)
}

/// ISO 4217 minor units of common currencies.
pub fn iso_minor_unit(currency: &str) -> Option<u32> {
    Some(match currency {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XOF" | "XAF" | "XPF" | "UGX" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "TND" | "JOD" | "IQD" | "LYD" => 3,
        "EUR" | "USD" | "GBP" | "CHF" | "SEK" | "NOK" | "DKK" | "PLN" | "CZK" | "HUF" | "RON"
        | "BGN" | "CAD" | "AUD" | "NZD" | "CNY" | "HKD" | "SGD" | "INR" | "BRL" | "MXN" | "ZAR"
        | "TRY" | "MAD" | "AED" | "SAR" | "ILS" | "RUB" | "UAH" | "THB" => 2,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digit-by-digit definition of [`numeric_key`].
    fn numeric_key_slow(key: &str) -> Option<u64> {
        let b = key.as_bytes();
        if b.is_empty() || b.len() > 16 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let v = b.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0'));
        Some(v | (b.len() as u64) << 56)
    }

    #[test]
    fn numeric_keys() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 19) as usize;
            let s: String = (0..len)
                .map(|i| {
                    let r = x.rotate_left(i as u32 * 7);
                    if r % 23 == 0 {
                        char::from(b'/' + (r % 13) as u8)
                    } else {
                        char::from(b'0' + (r % 10) as u8)
                    }
                })
                .collect();
            assert_eq!(numeric_key(&s), numeric_key_slow(&s), "{s}");
        }
        for s in [
            "",
            "0",
            "0123",
            "123",
            "3000000000042",
            "9999999999999999",
            "12345678901234567",
            "12a4",
            "é",
        ] {
            assert_eq!(numeric_key(s), numeric_key_slow(s), "{s}");
        }
        assert_ne!(numeric_key("0123"), numeric_key("123"));
    }

    #[test]
    fn code_index_is_a_map() {
        let mut x: u64 = 0x6A09_E667_F3BC_C908;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut index = CodeIndex::default();
        let mut map = std::collections::HashMap::new();
        assert_eq!(index.get(0), None);
        assert_eq!(index.get(42), None);
        for round in 0..20_000u32 {
            // Dense and clustered keys (GTIN-like), some repeated, and 0.
            let key = match next() % 4 {
                0 => next() % 5_000,
                1 => (3_000_000_000_000 + next() % 100_000) | (13 << 56),
                2 => next(),
                _ => (next() % 300) << 56,
            };
            index.insert(key, round);
            if key != 0 {
                map.insert(key, round);
            }
            if round % 1000 == 0 {
                assert_eq!(index.len(), map.len());
            }
        }
        assert_eq!(index.len(), map.len());
        assert_eq!(index.get(0), None);
        for (&k, &p) in &map {
            assert_eq!(index.get(k), Some(p), "{k}");
        }
        for _ in 0..100_000 {
            let k = next() % 10_000;
            assert_eq!(index.get(k), map.get(&k).copied(), "{k}");
        }
        let collected: CodeIndex = map.iter().map(|(&k, &p)| (k, p)).collect();
        assert_eq!(collected.len(), map.len());
        for (&k, &p) in &map {
            assert_eq!(collected.get(k), Some(p), "{k}");
        }
    }

    #[test]
    fn key_filter_never_hides_a_key() {
        let mut s = ScopeRules::default();
        assert!(s.filter.may_contain(Target::Product, 7), "unsealed lets by");
        for id in (0..3000).step_by(37) {
            s.by_product.entry(id).or_default().push(id);
            s.by_family.entry(id / 3).or_default().push(id);
            s.by_brand.entry(id / 5).or_default().push(id);
        }
        s.seal();
        for id in 0..3000 {
            assert!(!s.by_product.contains_key(&id) || s.filter.may_contain(Target::Product, id));
            assert!(!s.by_family.contains_key(&id) || s.filter.may_contain(Target::Family, id));
            assert!(!s.by_brand.contains_key(&id) || s.filter.may_contain(Target::Brand, id));
        }
        let mut small = ScopeRules::default();
        small.by_brand.insert(4, vec![1]);
        small.seal();
        let passed = (0..10_000)
            .filter(|&id| small.filter.may_contain(Target::Product, id))
            .count();
        assert!(passed < 200, "{passed} of 10000 absent keys let by");
    }
}
