//! Loading the terms files of a config directory into a [`Terms`].
//!
//! TOML files (`pricing.toml`, `clients.toml`, `rules.toml`) are parsed with
//! `toml` into the raw shapes of [`super::terms`]; CSV files (`products.csv`,
//! `price_lists/*.csv`, `net_prices/*.csv`) are read with `csv` row by row
//! with their columns matched by header name. Semicolon-separated CSV files
//! (French spreadsheet exports) are accepted, with a decimal comma.
//!
//! Every error names the file, the 1-based line and the field concerned
//! ([`TermsError`]). Loading is all-or-nothing: a [`Terms`] is only returned
//! when every file is valid, which is what lets [`super::TermsHandle`]
//! keep the last good terms when a reload fails.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::catalog::{
    discount_factor, CapPolicy, CheckPolicy, Client, CodeIndex, EarlyPayment, FastMap, Interner,
    Level, Mode, PaymentTermsSpec, PriceCheckPolicy, PriceEntry, Product, Rule, RuleAction,
    ScopeRules, Settings, SharedStr, SourceRef, Terms, Tier, TierBasis,
};
use super::terms::{
    ClientDef, ClientsFile, PaymentTermsDef, PriceCheckDef, PricingFile, RuleDef, RulesFile,
};

/// An error in a terms file: which file, which line, which field, and what.
#[derive(Debug, thiserror::Error)]
pub enum TermsError {
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: field `{field}`: {message}", file.display())]
    Invalid {
        file: PathBuf,
        /// 1-based line (0 when the file as a whole is concerned).
        line: usize,
        field: String,
        message: String,
    },
}

impl TermsError {
    fn invalid(file: &Path, line: usize, field: &str, message: impl Into<String>) -> TermsError {
        TermsError::Invalid {
            file: file.to_path_buf(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The file concerned.
    pub fn file(&self) -> &Path {
        match self {
            TermsError::Io { file, .. } | TermsError::Invalid { file, .. } => file,
        }
    }

    /// The 1-based line concerned, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            TermsError::Invalid { line, .. } if *line > 0 => Some(*line),
            _ => None,
        }
    }
}

type Res<T> = Result<T, TermsError>;

/// Groups, clients, and the client index by id and alias.
type ClientTables = (Vec<Client>, Vec<Client>, FastMap<Box<str>, u32>);

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key assigned on a given line of a TOML text (`key = …`), if any.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.split_once('=')?;
    let k = k.trim();
    (!k.is_empty() && !k.starts_with('[')).then(|| k.trim_matches('"').to_string())
}

fn read_text(path: &Path) -> Res<String> {
    std::fs::read_to_string(path).map_err(|source| TermsError::Io {
        file: path.to_path_buf(),
        source,
    })
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Res<T> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let msg = e.message().trim().to_string();
        let field = backticked_field(&msg)
            .or_else(|| key_on_line(text, line))
            .unwrap_or_else(|| "-".to_string());
        TermsError::invalid(path, line, &field, msg)
    })
}

/// `missing field `id``-style messages name the field between backticks.
fn backticked_field(msg: &str) -> Option<String> {
    if !(msg.starts_with("missing field") || msg.starts_with("unknown field")) {
        return None;
    }
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

fn norm_code(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

fn check_percent(path: &Path, line: usize, field: &str, p: Decimal) -> Res<Decimal> {
    if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED {
        return Err(TermsError::invalid(
            path,
            line,
            field,
            format!("percentage {p} is outside 0..100"),
        ));
    }
    Ok(p)
}

fn check_price(path: &Path, line: usize, field: &str, p: Decimal) -> Res<Decimal> {
    if p < Decimal::ZERO {
        return Err(TermsError::invalid(
            path,
            line,
            field,
            format!("negative price {p}"),
        ));
    }
    Ok(p)
}

struct Builder<'a> {
    dir: &'a Path,
    settings: Settings,
    default_list: Option<String>,
    default_precedence: Vec<Level>,
    default_mode: Mode,
    default_terms: Option<PaymentTermsSpec>,
    default_check: PriceCheckPolicy,
    products: Vec<Product>,
    product_index: FastMap<Box<str>, u32>,
    prices: Vec<Vec<PriceEntry>>,
    lists: Interner,
    families: Interner,
    brands: Interner,
    warnings: Vec<String>,
    price_count: usize,
    strings: FastMap<Box<str>, SharedStr>,
}

impl Terms {
    /// Loads every terms file of `dir` (e.g. `config/pricing/`).
    ///
    /// `pricing.toml` is required; the other files are optional.
    pub fn load(dir: &Path) -> Result<Terms, TermsError> {
        let pricing_path = dir.join("pricing.toml");
        let text = read_text(&pricing_path)?;
        let pricing: PricingFile = parse_toml(&pricing_path, &text)?;
        let mut b = Builder::new(dir, &pricing_path, &text, pricing)?;

        let products = dir.join("products.csv");
        if products.is_file() {
            b.load_products(&products)?;
        }
        for path in csv_files(&dir.join("price_lists"))? {
            b.load_prices(&path)?;
        }

        let clients_path = dir.join("clients.toml");
        let (groups, clients, client_index) = if clients_path.is_file() {
            let text = read_text(&clients_path)?;
            let file: ClientsFile = parse_toml(&clients_path, &text)?;
            b.build_clients(&clients_path, &text, file)?
        } else {
            (Vec::new(), Vec::new(), FastMap::default())
        };

        let mut scopes: Vec<ScopeRules> = (0..1 + groups.len() + clients.len())
            .map(|_| ScopeRules::default())
            .collect();
        let mut rules = Vec::new();
        let mut ids: HashMap<SharedStr, SourceRef> = HashMap::new();
        let ctx = RuleCtx {
            groups: &groups,
            clients: &clients,
            client_index: &client_index,
        };
        let rules_path = dir.join("rules.toml");
        if rules_path.is_file() {
            let text = read_text(&rules_path)?;
            let file: RulesFile = parse_toml(&rules_path, &text)?;
            let src: SharedStr = "rules.toml".into();
            for spanned in file.rule {
                let line = line_of(&text, spanned.span().start);
                let def = spanned.into_inner();
                let rule = b.compile_rule(&rules_path, &src, line, &def, &ctx)?;
                add_rule(
                    &mut scopes,
                    &mut rules,
                    &mut ids,
                    &rules_path,
                    line,
                    rule,
                    &ctx,
                    &b,
                    &def,
                )?;
            }
        }
        for path in csv_files(&dir.join("net_prices"))? {
            b.load_net_prices(&path, &ctx, &mut scopes, &mut rules, &mut ids)?;
        }
        let has_family_tiers = rules.iter().any(|r| {
            matches!(
                r.action,
                RuleAction::Tiers {
                    basis: TierBasis::Family,
                    ..
                }
            )
        });
        let default_list = b
            .lists
            .get(b.default_list.as_deref().unwrap_or("general").trim());
        let list_labels = (0..b.lists.len() as u32)
            .map(|i| SharedStr::from(format!("list price (price list {})", b.lists.name(i))))
            .collect();
        let mut product_codes = CodeIndex::with_capacity(b.product_index.len());
        for (k, &id) in &b.product_index {
            if let Some(n) = super::catalog::numeric_key(k) {
                product_codes.insert(n, id);
            }
        }
        for s in &mut scopes {
            s.seal();
        }
        Ok(Terms {
            settings: b.settings,
            products: b.products,
            product_index: b.product_index,
            product_codes,
            prices: b.prices,
            list_labels,
            default_list,
            lists: b.lists,
            families: b.families,
            brands: b.brands,
            groups,
            clients,
            client_index,
            rules,
            scopes,
            has_family_tiers,
            warnings: b.warnings,
            price_count: b.price_count,
        })
    }
}

/// The `*.csv` files of a directory, sorted by name; none when it is absent.
fn csv_files(dir: &Path) -> Res<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let rd = std::fs::read_dir(dir).map_err(|source| TermsError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|source| TermsError::Io {
            file: dir.to_path_buf(),
            source,
        })?;
        let p = entry.path();
        if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

struct RuleCtx<'a> {
    groups: &'a [Client],
    clients: &'a [Client],
    client_index: &'a FastMap<Box<str>, u32>,
}

#[allow(clippy::too_many_arguments)]
fn add_rule(
    scopes: &mut [ScopeRules],
    rules: &mut Vec<Rule>,
    ids: &mut HashMap<SharedStr, SourceRef>,
    path: &Path,
    line: usize,
    rule: Rule,
    ctx: &RuleCtx<'_>,
    b: &Builder<'_>,
    def: &RuleDef,
) -> Res<()> {
    if let Some(prev) = ids.get(&rule.id) {
        return Err(TermsError::invalid(
            path,
            line,
            "id",
            format!("duplicate rule id `{}` (first defined at {prev})", rule.id),
        ));
    }
    ids.insert(rule.id.clone(), rule.source.clone());
    let scope = if let Some(c) = &def.client {
        let idx = ctx.client_index.get(c.trim()).copied().ok_or_else(|| {
            TermsError::invalid(path, line, "client", format!("unknown client `{c}`"))
        })?;
        ctx.clients[idx as usize].scope
    } else if let Some(g) = &def.group {
        let idx = ctx
            .groups
            .iter()
            .position(|x| x.id.as_str() == g.trim())
            .ok_or_else(|| {
                TermsError::invalid(path, line, "group", format!("unknown group `{g}`"))
            })?;
        ctx.groups[idx].scope
    } else {
        0
    };
    let idx = rules.len() as u32;
    let s = &mut scopes[scope as usize];
    if let Some(p) = &def.product {
        let pid = b.product_index.get(p.trim()).copied().ok_or_else(|| {
            TermsError::invalid(path, line, "product", format!("unknown product `{p}`"))
        })?;
        s.by_product.entry(pid).or_default().push(idx);
    } else if let Some(f) = rule.family {
        s.by_family.entry(f).or_default().push(idx);
    } else if let Some(br) = &def.brand {
        let bid = b.brands.get(br.trim()).ok_or_else(|| {
            TermsError::invalid(path, line, "brand", format!("unknown brand `{br}`"))
        })?;
        s.by_brand.entry(bid).or_default().push(idx);
    } else {
        s.all.push(idx);
    }
    rules.push(rule);
    Ok(())
}

fn parse_mode(path: &Path, line: usize, s: &str) -> Res<Mode> {
    match s {
        "first_match" => Ok(Mode::FirstMatch),
        "best_price" => Ok(Mode::BestPrice),
        other => Err(TermsError::invalid(
            path,
            line,
            "mode",
            format!("unknown mode `{other}` (expected first_match or best_price)"),
        )),
    }
}

fn parse_precedence(path: &Path, line: usize, names: &[String]) -> Res<Vec<Level>> {
    let mut out = Vec::new();
    for n in names {
        let l = Level::parse(n.trim()).ok_or_else(|| {
            TermsError::invalid(
                path,
                line,
                "precedence",
                format!("unknown level `{n}` (expected net_price, promotion, discount, list)"),
            )
        })?;
        if out.contains(&l) {
            return Err(TermsError::invalid(
                path,
                line,
                "precedence",
                format!("`{n}` listed twice"),
            ));
        }
        out.push(l);
    }
    if !out.contains(&Level::List) {
        return Err(TermsError::invalid(
            path,
            line,
            "precedence",
            "must contain `list` (discounts apply to the list price)",
        ));
    }
    Ok(out)
}

fn parse_check(path: &Path, line: usize, d: &PriceCheckDef) -> Res<PriceCheckPolicy> {
    let policy = match d.policy.trim() {
        "accept_buyer" | "accept" => CheckPolicy::AcceptBuyer,
        "override" => CheckPolicy::Override,
        "hold" => CheckPolicy::Hold,
        "reject" => CheckPolicy::Reject,
        other => {
            return Err(TermsError::invalid(
                path,
                line,
                "price_check.policy",
                format!("unknown policy `{other}` (expected accept_buyer, override, hold, reject)"),
            ))
        }
    };
    for (f, v) in [
        ("price_check.tolerance_abs", d.tolerance_abs),
        ("price_check.tolerance_pct", d.tolerance_pct),
    ] {
        if v.is_some_and(|v| v < Decimal::ZERO) {
            return Err(TermsError::invalid(path, line, f, "negative tolerance"));
        }
    }
    Ok(PriceCheckPolicy {
        policy,
        tolerance_abs: d.tolerance_abs,
        tolerance_pct: d.tolerance_pct,
    })
}

impl<'a> Builder<'a> {
    fn new(dir: &'a Path, path: &Path, text: &str, f: PricingFile) -> Res<Builder<'a>> {
        let line_for = |key: &str| {
            text.lines()
                .position(|l| l.trim_start().starts_with(key))
                .map_or(0, |i| i + 1)
        };
        let s = f.settings;
        let legal_cap = match s.legal_payment_cap.as_deref().unwrap_or("warn") {
            "warn" => CapPolicy::Warn,
            "refuse" => CapPolicy::Refuse,
            "off" => CapPolicy::Off,
            other => {
                return Err(TermsError::invalid(
                    path,
                    line_for("legal_payment_cap"),
                    "legal_payment_cap",
                    format!("unknown policy `{other}` (expected warn, refuse, off)"),
                ))
            }
        };
        let mut vat_rates = FastMap::default();
        for (k, v) in &f.vat.rates {
            if *v < Decimal::ZERO || *v > Decimal::ONE_HUNDRED {
                return Err(TermsError::invalid(
                    path,
                    line_for(k),
                    &format!("vat.rates.{k}"),
                    "rate outside 0..100",
                ));
            }
            vat_rates.insert(k.as_str().into(), *v);
        }
        if vat_rates.is_empty() {
            for (k, v) in [
                ("standard", "20"),
                ("intermediate", "10"),
                ("reduced", "5.5"),
                ("super_reduced", "2.1"),
                ("zero", "0"),
            ] {
                vat_rates.insert(k.into(), Decimal::from_str(v).unwrap_or_default());
            }
        }
        let default_tax_category = f.vat.default_category.unwrap_or_else(|| "standard".into());
        let charge_tax_category = f.vat.charge_category.unwrap_or_else(|| "standard".into());
        for (field, cat) in [
            ("vat.default_category", &default_tax_category),
            ("vat.charge_category", &charge_tax_category),
        ] {
            if !vat_rates.contains_key(cat.as_str()) {
                return Err(TermsError::invalid(
                    path,
                    line_for(field.trim_start_matches("vat.")),
                    field,
                    format!("unknown tax category `{cat}`"),
                ));
            }
        }
        let mut minor_units = FastMap::default();
        for (k, v) in &f.currencies {
            if *v > 6 {
                return Err(TermsError::invalid(
                    path,
                    line_for(k),
                    &format!("currencies.{k}"),
                    "minor unit above 6",
                ));
            }
            minor_units.insert(norm_code(k).into_boxed_str(), *v);
        }
        let settings = Settings {
            seller_country: norm_code(s.seller_country.as_deref().unwrap_or("FR")),
            currency: norm_code(s.currency.as_deref().unwrap_or("EUR")),
            default_unit: norm_code(s.default_unit.as_deref().unwrap_or("PCE")).into(),
            vat_rates,
            default_tax_category,
            charge_tax_category,
            minor_units,
            legal_cap,
        };
        let default_precedence = match &s.precedence {
            Some(p) => parse_precedence(path, line_for("precedence"), p)?,
            None => vec![
                Level::NetPrice,
                Level::Promotion,
                Level::Discount,
                Level::List,
            ],
        };
        let default_mode = match &s.mode {
            Some(m) => parse_mode(path, line_for("mode"), m)?,
            None => Mode::FirstMatch,
        };
        let default_check = match &f.price_check {
            Some(d) => parse_check(path, line_for("policy"), d)?,
            None => PriceCheckPolicy {
                policy: CheckPolicy::Override,
                tolerance_abs: None,
                tolerance_pct: None,
            },
        };
        let mut b = Builder {
            dir,
            settings,
            default_list: s.price_list.clone(),
            default_precedence,
            default_mode,
            default_terms: None,
            default_check,
            products: Vec::new(),
            product_index: FastMap::default(),
            prices: Vec::new(),
            lists: Interner::default(),
            families: Interner::default(),
            brands: Interner::default(),
            warnings: Vec::new(),
            price_count: 0,
            strings: FastMap::default(),
        };
        b.default_terms = match &s.payment_terms {
            Some(t) => Some(b.payment_terms(path, line_for("payment_terms"), "settings", t)?),
            None => None,
        };
        Ok(b)
    }

    /// One shared copy of each short repeated string (units, currencies).
    fn shared(&mut self, s: &str) -> SharedStr {
        if let Some(v) = self.strings.get(s) {
            return v.clone();
        }
        let v = SharedStr::from(s);
        self.strings.insert(s.into(), v.clone());
        v
    }

    fn source_name(&self, path: &Path) -> SharedStr {
        let rel = path.strip_prefix(self.dir).unwrap_or(path);
        SharedStr::from(rel.to_string_lossy().replace('\\', "/"))
    }

    fn payment_terms(
        &mut self,
        path: &Path,
        line: usize,
        owner: &str,
        t: &PaymentTermsDef,
    ) -> Res<PaymentTermsSpec> {
        let eom_first = match t.eom_mode.as_deref().unwrap_or("days_then_eom") {
            "days_then_eom" => false,
            "eom_then_days" => true,
            other => {
                return Err(TermsError::invalid(
                    path,
                    line,
                    "payment_terms.eom_mode",
                    format!("unknown mode `{other}` (expected days_then_eom or eom_then_days)"),
                ))
            }
        };
        let spec = PaymentTermsSpec {
            days: t.days,
            end_of_month: t.end_of_month,
            eom_first,
        };
        if let Some(problem) = super::payment::legal_cap_problem(&spec) {
            match self.settings.legal_cap {
                CapPolicy::Off => {}
                CapPolicy::Warn => self.warnings.push(format!(
                    "{}:{line}: payment terms of {owner}: {problem}",
                    path.display()
                )),
                CapPolicy::Refuse => {
                    return Err(TermsError::invalid(path, line, "payment_terms", problem))
                }
            }
        }
        Ok(spec)
    }

    fn product_for(&mut self, key: &str) -> u32 {
        if let Some(&id) = self.product_index.get(key) {
            return id;
        }
        let rate = self
            .settings
            .vat_rates
            .get(self.settings.default_tax_category.as_str())
            .copied()
            .unwrap_or_default();
        let id = self.products.len() as u32;
        self.products.push(Product {
            key: key.into(),
            description: None,
            family: None,
            brand: None,
            tax_category: self.settings.default_tax_category.as_str().into(),
            vat_rate: rate,
        });
        self.prices.push(Vec::new());
        self.product_index.insert(key.into(), id);
        id
    }

    fn load_products(&mut self, path: &Path) -> Res<()> {
        let mut csv = CsvFile::open(
            path,
            &[
                "gtin",
                "seller_code",
                "description",
                "family",
                "brand",
                "tax_category",
            ],
        )?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        while let Some(row) = csv.next_row()? {
            let gtin = row.opt(0).map(str::to_string);
            let code = row.opt(1).map(str::to_string);
            let key = match (&gtin, &code) {
                (Some(g), _) => g.clone(),
                (None, Some(c)) => c.clone(),
                (None, None) => {
                    return Err(row.err("gtin", "a product needs a gtin or a seller_code"))
                }
            };
            if let Some(g) = &gtin {
                if !(g.len() == 8 || g.len() == 12 || g.len() == 13 || g.len() == 14)
                    || !g.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(row.err(
                        "gtin",
                        format!("`{g}` is not a GTIN (8, 12, 13 or 14 digits)"),
                    ));
                }
            }
            for k in gtin.iter().chain(code.iter()) {
                if let Some(prev) = seen.insert(k.clone(), row.line) {
                    return Err(row.err(
                        "gtin",
                        format!("product `{k}` already defined at line {prev}"),
                    ));
                }
            }
            let cat = row
                .opt(5)
                .unwrap_or(self.settings.default_tax_category.as_str())
                .to_string();
            let rate = *self.settings.vat_rates.get(cat.as_str()).ok_or_else(|| {
                row.err(
                    "tax_category",
                    format!("unknown tax category `{cat}` (not in [vat.rates] of pricing.toml)"),
                )
            })?;
            let family = row.opt(3).map(|f| self.families.intern(f));
            let brand = row.opt(4).map(|f| self.brands.intern(f));
            let id = self.products.len() as u32;
            self.products.push(Product {
                key: key.as_str().into(),
                description: row.opt(2).map(str::to_string),
                family,
                brand,
                tax_category: cat.into(),
                vat_rate: rate,
            });
            self.prices.push(Vec::new());
            for k in gtin.iter().chain(code.iter()) {
                self.product_index.insert(k.as_str().into(), id);
            }
        }
        Ok(())
    }

    fn load_prices(&mut self, path: &Path) -> Res<()> {
        let src = self.source_name(path);
        let mut csv = CsvFile::open(
            path,
            &[
                "list",
                "product",
                "unit",
                "price",
                "currency",
                "valid_from",
                "valid_to",
            ],
        )?;
        let default_list = self
            .default_list
            .clone()
            .unwrap_or_else(|| "general".into());
        let default_currency = self.settings.currency.clone();
        let default_unit = self.settings.default_unit.to_string();
        while let Some(row) = csv.next_row()? {
            let list = self.lists.intern(row.opt(0).unwrap_or(&default_list));
            let product = row.req(1)?;
            let pid = self.product_for(product);
            let unit = row
                .opt(2)
                .map(norm_code)
                .unwrap_or_else(|| default_unit.clone());
            let price = check_price(path, row.line, "price", row.decimal(3)?)?;
            let currency = row
                .opt(4)
                .map(norm_code)
                .unwrap_or_else(|| default_currency.clone());
            let valid_from = row.opt_date(5)?;
            let valid_to = row.opt_date(6)?;
            if let (Some(f), Some(t)) = (valid_from, valid_to) {
                if t < f {
                    return Err(row.err("valid_to", format!("{t} is before valid_from {f}")));
                }
            }
            let unit = self.shared(&unit);
            let currency = self.shared(&currency);
            self.prices[pid as usize].push(PriceEntry {
                list,
                unit,
                currency,
                price,
                valid_from,
                valid_to,
                source: SourceRef {
                    file: src.clone(),
                    line: row.line as u32,
                },
            });
            self.price_count += 1;
        }
        Ok(())
    }

    fn build_clients(&mut self, path: &Path, text: &str, file: ClientsFile) -> Res<ClientTables> {
        let src: SharedStr = "clients.toml".into();
        let mut groups: Vec<Client> = Vec::new();
        let mut group_defs: Vec<ClientDef> = Vec::new();
        for sp in file.group {
            let line = line_of(text, sp.span().start);
            let def = sp.into_inner();
            if groups.iter().any(|g| g.id.as_str() == def.id) {
                return Err(TermsError::invalid(
                    path,
                    line,
                    "id",
                    format!("duplicate group `{}`", def.id),
                ));
            }
            let scope = 1 + groups.len() as u32;
            let c = self.compile_client(path, &src, line, &def, None, None, scope)?;
            groups.push(c);
            group_defs.push(def);
        }
        let n_groups = groups.len() as u32;
        let mut clients = Vec::new();
        let mut index: FastMap<Box<str>, u32> = FastMap::default();
        for sp in file.client {
            let line = line_of(text, sp.span().start);
            let def = sp.into_inner();
            let group = match &def.group {
                Some(g) => Some(
                    groups
                        .iter()
                        .position(|x| x.id.as_str() == g.trim())
                        .ok_or_else(|| {
                            TermsError::invalid(path, line, "group", format!("unknown group `{g}`"))
                        })? as u32,
                ),
                None => None,
            };
            let gdef = group.map(|g| &group_defs[g as usize]);
            let scope = 1 + n_groups + clients.len() as u32;
            let c = self.compile_client(path, &src, line, &def, gdef, group, scope)?;
            let idx = clients.len() as u32;
            for key in std::iter::once(&def.id).chain(def.aliases.iter()) {
                if index.insert(key.trim().into(), idx).is_some() {
                    return Err(TermsError::invalid(
                        path,
                        line,
                        "aliases",
                        format!("`{key}` already designates another client"),
                    ));
                }
            }
            clients.push(c);
        }
        Ok((groups, clients, index))
    }

    #[allow(clippy::too_many_arguments)]
    fn compile_client(
        &mut self,
        path: &Path,
        src: &SharedStr,
        line: usize,
        d: &ClientDef,
        g: Option<&ClientDef>,
        group: Option<u32>,
        scope: u32,
    ) -> Res<Client> {
        if d.id.trim().is_empty() {
            return Err(TermsError::invalid(path, line, "id", "empty id"));
        }
        macro_rules! inherit {
            ($f:ident) => {
                d.$f.clone().or_else(|| g.and_then(|g| g.$f.clone()))
            };
        }
        let list_name = inherit!(price_list)
            .or_else(|| self.default_list.clone())
            .unwrap_or_else(|| "general".into());
        let price_list = self.lists.intern(list_name.trim());
        let precedence = match inherit!(precedence) {
            Some(p) => parse_precedence(path, line, &p)?,
            None => self.default_precedence.clone(),
        };
        let mode = match inherit!(mode) {
            Some(m) => parse_mode(path, line, &m)?,
            None => self.default_mode,
        };
        let payment_terms = match inherit!(payment_terms) {
            Some(t) => Some(self.payment_terms(path, line, &d.id, &t)?),
            None => self.default_terms.clone(),
        };
        let early_payment = match inherit!(early_payment) {
            Some(e) => Some(EarlyPayment {
                days: e.days,
                percent: check_percent(path, line, "early_payment.percent", e.percent)?,
            }),
            None => None,
        };
        let price_check = match inherit!(price_check) {
            Some(c) => parse_check(path, line, &c)?,
            None => self.default_check.clone(),
        };
        let money = |field: &str, v: Option<Decimal>| -> Res<Option<Decimal>> {
            match v {
                Some(x) if x < Decimal::ZERO => Err(TermsError::invalid(
                    path,
                    line,
                    field,
                    format!("negative amount {x}"),
                )),
                other => Ok(other),
            }
        };
        let currency = inherit!(currency).map(|c| norm_code(&c));
        if let Some(c) = &currency {
            if iso_or_custom(&self.settings, c).is_none() {
                return Err(TermsError::invalid(
                    path,
                    line,
                    "currency",
                    format!("unknown currency `{c}` (add it under [currencies])"),
                ));
            }
        }
        Ok(Client {
            id: d.id.trim().into(),
            name: d.name.clone(),
            group,
            scope,
            currency,
            price_list,
            precedence,
            mode,
            minimum_order: money("minimum_order", inherit!(minimum_order))?,
            minimum_order_fee: money("minimum_order_fee", inherit!(minimum_order_fee))?,
            franco: money("franco", inherit!(franco))?,
            shipping_charge: money("shipping_charge", inherit!(shipping_charge))?,
            payment_terms,
            early_payment,
            credit_limit: money("credit_limit", d.credit_limit)?,
            outstanding: d.outstanding,
            price_check,
            source: SourceRef {
                file: src.clone(),
                line: line as u32,
            },
        })
    }

    fn compile_rule(
        &mut self,
        path: &Path,
        src: &SharedStr,
        line: usize,
        d: &RuleDef,
        _ctx: &RuleCtx<'_>,
    ) -> Res<Rule> {
        let err = |field: &str, msg: String| TermsError::invalid(path, line, field, msg);
        if d.id.trim().is_empty() {
            return Err(err("id", "empty rule id".into()));
        }
        if d.client.is_some() && d.group.is_some() {
            return Err(err("group", "set `client` or `group`, not both".into()));
        }
        let targets = [d.product.is_some(), d.family.is_some(), d.brand.is_some()];
        if targets.iter().filter(|&&t| t).count() > 1 {
            return Err(err(
                "product",
                "set at most one of `product`, `family`, `brand`".into(),
            ));
        }
        if let (Some(f), Some(t)) = (d.valid_from, d.valid_to) {
            if t < f {
                return Err(err("valid_to", format!("{t} is before valid_from {f}")));
            }
        }
        let family = match &d.family {
            Some(f) => Some(
                self.families
                    .get(f.trim())
                    .ok_or_else(|| err("family", format!("unknown family `{f}`")))?,
            ),
            None => None,
        };
        let only = |allowed: &[&str]| -> Res<()> {
            let present = [
                ("price", d.price.is_some()),
                ("percent", d.percent.is_some()),
                ("cascade", !d.cascade.is_empty()),
                ("tiers", !d.tiers.is_empty()),
                ("basis", d.basis.is_some()),
            ];
            for (name, set) in present {
                if set && !allowed.contains(&name) {
                    return Err(err(name, format!("not allowed on a `{}` rule", d.kind)));
                }
            }
            Ok(())
        };
        let (action, auto_desc) = match d.kind.trim() {
            "net_price" => {
                only(&["price"])?;
                let p = d
                    .price
                    .ok_or_else(|| err("price", "a net_price rule needs a price".into()))?;
                if d.product.is_none() {
                    return Err(err("product", "a net_price rule needs a product".into()));
                }
                let p = check_price(path, line, "price", p)?;
                (RuleAction::NetPrice(p), format!("contract net price {p}"))
            }
            "promotion" => {
                only(&["price", "percent"])?;
                match (d.price, d.percent) {
                    (Some(p), None) => {
                        let p = check_price(path, line, "price", p)?;
                        (RuleAction::PromoPrice(p), format!("promotion price {p}"))
                    }
                    (None, Some(pc)) => {
                        let pc = check_percent(path, line, "percent", pc)?;
                        (
                            RuleAction::PromoPercent(pc, discount_factor(pc)),
                            format!("promotion -{pc} %"),
                        )
                    }
                    _ => {
                        return Err(err(
                            "price",
                            "a promotion needs either `price` or `percent`".into(),
                        ))
                    }
                }
            }
            "discount" => {
                only(&["percent", "cascade"])?;
                let steps: Vec<Decimal> = match (d.percent, d.cascade.is_empty()) {
                    (Some(p), true) => vec![p],
                    (None, false) => d.cascade.clone(),
                    _ => {
                        return Err(err(
                            "percent",
                            "a discount needs either `percent` or `cascade`".into(),
                        ))
                    }
                };
                for p in &steps {
                    check_percent(
                        path,
                        line,
                        if d.percent.is_some() {
                            "percent"
                        } else {
                            "cascade"
                        },
                        *p,
                    )?;
                }
                let text = steps
                    .iter()
                    .map(|p| format!("-{p} %"))
                    .collect::<Vec<_>>()
                    .join(" then ");
                let desc = if steps.len() > 1 {
                    format!("cascading discount {text}")
                } else {
                    format!("discount {text}")
                };
                (
                    RuleAction::Discount(steps.iter().map(|&p| (p, discount_factor(p))).collect()),
                    desc,
                )
            }
            "tiers" => {
                only(&["tiers", "basis"])?;
                let basis = match d.basis.as_deref().unwrap_or("line") {
                    "line" => TierBasis::Line,
                    "family" => TierBasis::Family,
                    other => {
                        return Err(err(
                            "basis",
                            format!("unknown basis `{other}` (expected line or family)"),
                        ))
                    }
                };
                if basis == TierBasis::Family && family.is_none() {
                    return Err(err("basis", "family-basis tiers need a `family`".into()));
                }
                if d.tiers.is_empty() {
                    return Err(err("tiers", "a tiers rule needs at least one tier".into()));
                }
                let mut tiers: Vec<Tier> = Vec::new();
                for (i, t) in d.tiers.iter().enumerate() {
                    let f = format!("tiers[{i}]");
                    let (threshold, inclusive) = match (t.from, t.above) {
                        (Some(x), None) => (x, true),
                        (None, Some(x)) => (x, false),
                        _ => return Err(err(&f, "a tier needs either `from` or `above`".into())),
                    };
                    if threshold < Decimal::ZERO {
                        return Err(err(&f, "negative threshold".into()));
                    }
                    let (percent, price) = match (t.percent, t.price) {
                        (Some(p), None) => (Some(check_percent(path, line, &f, p)?), None),
                        (None, Some(p)) => (None, Some(check_price(path, line, &f, p)?)),
                        _ => {
                            return Err(err(&f, "a tier needs either `percent` or `price`".into()))
                        }
                    };
                    if let Some(prev) = tiers.last() {
                        let increasing = threshold > prev.threshold
                            || (threshold == prev.threshold && prev.inclusive && !inclusive);
                        if !increasing {
                            return Err(err(&f, "tier thresholds must increase".into()));
                        }
                        match (prev.percent, percent, prev.price, price) {
                            (Some(a), Some(b), _, _) if b < a => return Err(err(&f, format!("tier discount {b} % is lower than the previous tier's {a} %: a larger quantity would cost more"))),
                            (_, _, Some(a), Some(b)) if b > a => return Err(err(&f, format!("tier price {b} is higher than the previous tier's {a}: a larger quantity would cost more"))),
                            (Some(_), None, _, _) | (None, Some(_), _, _) => return Err(err(&f, "mixing percent and price tiers in one table".into())),
                            _ => {}
                        }
                    }
                    let what = if inclusive {
                        format!("from {threshold}")
                    } else {
                        format!("above {threshold}")
                    };
                    let eff = match (percent, price) {
                        (Some(p), _) => format!("-{p} %"),
                        (_, Some(p)) => format!("unit price {p}"),
                        _ => String::new(),
                    };
                    let on = if basis == TierBasis::Family {
                        " (family quantity in the order)"
                    } else {
                        ""
                    };
                    tiers.push(Tier {
                        threshold,
                        inclusive,
                        percent,
                        factor: percent.map(discount_factor),
                        price,
                        description: SharedStr::from(format!("volume tier {what}{on}: {eff}")),
                    });
                }
                (
                    RuleAction::Tiers { basis, tiers },
                    "volume tiers".to_string(),
                )
            }
            other => {
                return Err(err(
                    "kind",
                    format!(
                    "unknown rule kind `{other}` (expected net_price, promotion, discount, tiers)"
                ),
                ))
            }
        };
        let who = match (&d.client, &d.group) {
            (Some(c), _) => format!("client {c}"),
            (_, Some(g)) => format!("group {g}"),
            _ => "all clients".into(),
        };
        let on = match (&d.product, &d.family, &d.brand) {
            (Some(p), _, _) => format!("product {p}"),
            (_, Some(f), _) => format!("family {f}"),
            (_, _, Some(b)) => format!("brand {b}"),
            _ => "all products".into(),
        };
        let description = d
            .description
            .clone()
            .unwrap_or_else(|| format!("{auto_desc} ({who}, {on})"));
        Ok(Rule {
            id: d.id.trim().into(),
            description: description.into(),
            source: SourceRef {
                file: src.clone(),
                line: line as u32,
            },
            unit: d.unit.as_deref().map(|u| norm_code(u).into_boxed_str()),
            currency: d.currency.as_deref().map(|u| norm_code(u).into_boxed_str()),
            valid_from: d.valid_from,
            valid_to: d.valid_to,
            sequence: d.sequence.unwrap_or(100),
            family,
            action,
        })
    }

    fn load_net_prices(
        &mut self,
        path: &Path,
        ctx: &RuleCtx<'_>,
        scopes: &mut [ScopeRules],
        rules: &mut Vec<Rule>,
        ids: &mut HashMap<SharedStr, SourceRef>,
    ) -> Res<()> {
        let src = self.source_name(path);
        let mut csv = CsvFile::open(
            path,
            &[
                "id",
                "client",
                "group",
                "product",
                "unit",
                "price",
                "currency",
                "valid_from",
                "valid_to",
            ],
        )?;
        let mut local_ids: HashSet<String> = HashSet::new();
        while let Some(row) = csv.next_row()? {
            let def = RuleDef {
                id: row
                    .opt(0)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{src}:{}", row.line)),
                kind: "net_price".into(),
                description: None,
                client: row.opt(1).map(str::to_string),
                group: row.opt(2).map(str::to_string),
                product: Some(row.req(3)?.to_string()),
                family: None,
                brand: None,
                unit: row.opt(4).map(str::to_string),
                currency: row.opt(6).map(str::to_string),
                price: Some(row.decimal(5)?),
                percent: None,
                cascade: Vec::new(),
                tiers: Vec::new(),
                basis: None,
                sequence: None,
                valid_from: row.opt_date(7)?,
                valid_to: row.opt_date(8)?,
            };
            local_ids.insert(def.id.clone());
            if let Some(p) = &def.product {
                self.product_for(p.trim());
            }
            let rule = self.compile_rule(path, &src, row.line, &def, ctx)?;
            add_rule(scopes, rules, ids, path, row.line, rule, ctx, self, &def)?;
        }
        Ok(())
    }
}

fn iso_or_custom(s: &Settings, c: &str) -> Option<u32> {
    s.minor_units
        .get(c)
        .copied()
        .or_else(|| super::catalog::iso_minor_unit(c))
}

/// A CSV file being read, with its columns located by header name.
struct CsvFile<'p> {
    path: &'p Path,
    reader: csv::Reader<std::fs::File>,
    cols: Vec<Option<usize>>,
    names: &'static [&'static str],
    record: csv::StringRecord,
    decimal_comma: bool,
}

struct Row<'r> {
    path: &'r Path,
    record: &'r csv::StringRecord,
    cols: &'r [Option<usize>],
    names: &'static [&'static str],
    line: usize,
    decimal_comma: bool,
}

impl<'p> CsvFile<'p> {
    fn open(path: &'p Path, names: &'static [&'static str]) -> Res<CsvFile<'p>> {
        let io = |source| TermsError::Io {
            file: path.to_path_buf(),
            source,
        };
        // Sniff the delimiter from the header line.
        let head = {
            use std::io::BufRead;
            let f = std::fs::File::open(path).map_err(io)?;
            let mut first = String::new();
            std::io::BufReader::new(f)
                .read_line(&mut first)
                .map_err(io)?;
            first
        };
        let delimiter = if head.contains(';') && !head.contains(',') {
            b';'
        } else {
            b','
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .flexible(true)
            .from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| TermsError::invalid(path, 1, "-", format!("unreadable header: {e}")))?
            .clone();
        let mut cols = vec![None; names.len()];
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
            match names.iter().position(|n| *n == h) {
                Some(k) => cols[k] = Some(i),
                None => {
                    return Err(TermsError::invalid(
                        path,
                        1,
                        &h,
                        format!("unknown column (expected some of: {})", names.join(", ")),
                    ))
                }
            }
        }
        Ok(CsvFile {
            path,
            reader,
            cols,
            names,
            record: csv::StringRecord::new(),
            decimal_comma: delimiter == b';',
        })
    }

    fn next_row(&mut self) -> Res<Option<Row<'_>>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line() as usize);
                Ok(Some(Row {
                    path: self.path,
                    record: &self.record,
                    cols: &self.cols,
                    names: self.names,
                    line,
                    decimal_comma: self.decimal_comma,
                }))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                Err(TermsError::invalid(self.path, line, "-", e.to_string()))
            }
        }
    }
}

impl Row<'_> {
    fn err(&self, field: &str, msg: impl Into<String>) -> TermsError {
        TermsError::invalid(self.path, self.line, field, msg)
    }
    fn opt(&self, k: usize) -> Option<&str> {
        let i = self.cols[k]?;
        self.record.get(i).filter(|s| !s.is_empty())
    }
    fn req(&self, k: usize) -> Res<&str> {
        self.opt(k)
            .ok_or_else(|| self.err(self.names[k], "missing value"))
    }
    fn decimal(&self, k: usize) -> Res<Decimal> {
        let raw = self.req(k)?;
        let parsed = if self.decimal_comma && raw.contains(',') {
            Decimal::from_str(&raw.replace(',', "."))
        } else {
            Decimal::from_str(raw)
        };
        parsed.map_err(|_| self.err(self.names[k], format!("`{raw}` is not a decimal number")))
    }
    fn opt_date(&self, k: usize) -> Res<Option<NaiveDate>> {
        match self.opt(k) {
            None => Ok(None),
            Some(raw) => NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    self.err(self.names[k], format!("`{raw}` is not a date (YYYY-MM-DD)"))
                }),
        }
    }
}
