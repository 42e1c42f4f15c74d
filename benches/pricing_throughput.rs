//! Pricing throughput: 1,000,000 order lines priced against a 100,000-line
//! price list with 10,000 client rules, on one core — with the fast path
//! ([`Pricer::price_order`], the full pricing result without a copy of the
//! canonical document), then with `price_order` (which also copies and
//! fills the canonical document).
//!
//! Everything is generated in-process and deterministically (xorshift), and
//! written as real terms files to a temporary directory so that loading is
//! measured too. Run with `cargo bench --bench pricing_throughput`;
//! `PRICING_BENCH_ORDERS` sets the number of 100-line orders (default
//! 10,000), e.g. for a reduced run under `valgrind --tool=callgrind`.
//! With `PRICING_BENCH_DIGEST` set, it also prints a SHA-256 of the JSON of
//! every result of both paths (untimed): the fingerprint that shows an
//! optimisation changed no output.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::NaiveDate;
use comptoir::model::{Document, DocumentType, Line, Party, PartyRole, Quantity};
use comptoir::pricing::{price_order, Pricer, Terms};
use rust_decimal::Decimal;

const PRODUCTS: u64 = 100_000;
const CLIENTS: u64 = 1_000;
const GROUPS: u64 = 20;
const NET_PRICES: u64 = 8_000;
const TOML_RULES: u64 = 2_000;
const ORDERS: u64 = 10_000;
const LINES_PER_ORDER: u64 = 100;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// CPU time of this thread so far, in seconds (Linux `schedstat`; `None`
/// elsewhere): on a loaded machine, the wall clock also counts the time
/// the thread waited for a core.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// `, x lines/s of CPU time` when the CPU time is known.
fn per_cpu(lines: f64, cpu0: Option<f64>) -> String {
    match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => format!(" ({:.0} lines/s of CPU time)", lines / (b - a)),
        _ => String::new(),
    }
}

fn gtin(i: u64) -> String {
    format!("{:013}", 3_000_000_000_000 + i)
}

fn write_terms(dir: &std::path::Path, rng: &mut XorShift) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("price_lists"))?;
    std::fs::create_dir_all(dir.join("net_prices"))?;
    std::fs::write(
        dir.join("pricing.toml"),
        "[settings]\nseller_country = \"FR\"\ncurrency = \"EUR\"\npayment_terms = { days = 30, end_of_month = true }\n",
    )?;
    let mut products = String::from("gtin,seller_code,description,family,brand,tax_category\n");
    let mut prices = String::from("list,product,unit,price,currency,valid_from,valid_to\n");
    let cats = ["standard", "reduced", "intermediate", "standard"];
    for i in 0..PRODUCTS {
        let _ = writeln!(
            products,
            "{},S{i},Product {i},F{},B{},{}",
            gtin(i),
            i % 200,
            i % 50,
            cats[(i % 4) as usize]
        );
        let _ = writeln!(
            prices,
            "general,{},PCE,{}.{:02},EUR,2024-01-01,",
            gtin(i),
            1 + rng.below(300),
            rng.below(100)
        );
    }
    std::fs::write(dir.join("products.csv"), products)?;
    std::fs::write(dir.join("price_lists/general.csv"), prices)?;

    let mut clients = String::new();
    for g in 0..GROUPS {
        let _ = writeln!(
            clients,
            "[[group]]\nid = \"G{g}\"\nfranco = \"500\"\nshipping_charge = \"15\"\n"
        );
    }
    for c in 0..CLIENTS {
        let mode = if c % 5 == 0 {
            "best_price"
        } else {
            "first_match"
        };
        let _ = writeln!(
            clients,
            "[[client]]\nid = \"C{c}\"\ngroup = \"G{}\"\nmode = \"{mode}\"\ncredit_limit = \"1000000\"\noutstanding = \"{}\"\n",
            c % GROUPS,
            rng.below(500_000)
        );
    }
    std::fs::write(dir.join("clients.toml"), clients)?;

    let mut net = String::from("id,client,group,product,unit,price,currency,valid_from,valid_to\n");
    for n in 0..NET_PRICES {
        let _ = writeln!(
            net,
            "N{n},C{},,{},PCE,{}.{:02},EUR,2024-01-01,",
            rng.below(CLIENTS),
            gtin(rng.below(PRODUCTS)),
            1 + rng.below(250),
            rng.below(100)
        );
    }
    std::fs::write(dir.join("net_prices/contracts.csv"), net)?;

    let mut rules = String::new();
    for r in 0..TOML_RULES {
        let who = if r % 2 == 0 {
            format!("client = \"C{}\"", rng.below(CLIENTS))
        } else {
            format!("group = \"G{}\"", rng.below(GROUPS))
        };
        let body = match r % 4 {
            0 => format!("kind = \"discount\"\nfamily = \"F{}\"\ncascade = [\"10\", \"5\"]", rng.below(200)),
            1 => format!("kind = \"discount\"\nbrand = \"B{}\"\npercent = \"{}\"", rng.below(50), 1 + rng.below(20)),
            2 => format!(
                "kind = \"tiers\"\nproduct = \"{}\"\ntiers = [{{ from = \"100\", percent = \"10\" }}, {{ above = \"500\", percent = \"20\" }}]",
                gtin(rng.below(PRODUCTS))
            ),
            _ => format!(
                "kind = \"promotion\"\nproduct = \"{}\"\npercent = \"15\"\nvalid_from = 2026-01-01\nvalid_to = 2026-12-31",
                gtin(rng.below(PRODUCTS))
            ),
        };
        let _ = writeln!(rules, "[[rule]]\nid = \"R{r}\"\n{who}\n{body}\n");
    }
    std::fs::write(dir.join("rules.toml"), rules)?;
    Ok(())
}

/// SHA-256 of the JSON of every result of both paths, order after order.
fn digest(terms: &Terms, orders: &[(String, Document)], today: NaiveDate) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut pricer = Pricer::new(terms);
    for (client, doc) in orders {
        match pricer.price_order(client, doc, today) {
            Ok(p) => h.update(serde_json::to_vec(p).unwrap_or_default()),
            Err(e) => h.update(e.to_string()),
        }
        match price_order(terms, client, doc, today) {
            Ok(p) => h.update(serde_json::to_vec(&p).unwrap_or_default()),
            Err(e) => h.update(e.to_string()),
        }
    }
    h.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn main() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let dir = std::env::temp_dir().join(format!("comptoir-pricing-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = write_terms(&dir, &mut rng) {
        eprintln!("cannot write terms: {e}");
        std::process::exit(1);
    }
    let start = Instant::now();
    let terms = match Terms::load(&dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let load = start.elapsed();
    println!(
        "pricing: loaded {} price lines, {} products, {} clients, {} rules in {:.3} s",
        terms.price_count,
        terms.products.len(),
        terms.client_count(),
        terms.rule_count(),
        load.as_secs_f64()
    );

    let order_count: u64 = std::env::var("PRICING_BENCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ORDERS);
    let orders: Vec<(String, Document)> = (0..order_count)
        .map(|o| {
            let client = format!("C{}", rng.below(CLIENTS));
            let mut d = Document::new(DocumentType::Order, format!("PO{o}"));
            let mut buyer = Party::new(PartyRole::Buyer);
            buyer.address.country = Some("FR".into());
            d.parties.push(buyer);
            d.currency = Some("EUR".into());
            for l in 0..LINES_PER_ORDER {
                d.lines.push(Line {
                    line_number: Some((l + 1).to_string()),
                    gtin: Some(gtin(rng.below(PRODUCTS))),
                    quantity: Some(Quantity {
                        kind: None,
                        value: Decimal::from(1 + rng.below(1000)),
                        unit: Some("PCE".into()),
                    }),
                    ..Line::default()
                });
            }
            (client, d)
        })
        .collect();
    let today = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap_or_default();

    let lines = (order_count * LINES_PER_ORDER) as f64;

    // The fast path: a `Pricer` reusing its buffers, full pricing result
    // per order (lines with trail, VAT breakdown, totals, due date, price
    // and credit checks), no copy of the canonical document.
    let mut pricer = Pricer::new(&terms);
    let mut total = Decimal::ZERO;
    let mut rules_applied = 0usize;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for (client, doc) in &orders {
        match pricer.price_order(client, doc, today) {
            Ok(p) => {
                total += p.totals.grand_total;
                rules_applied += p.lines.iter().map(|l| l.trail.len()).sum::<usize>();
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "pricing: Pricer::price_order: priced {} lines ({} orders) in {:.3} s: {:.0} lines/s on one core{} ({} trail steps, grand total {})",
        lines,
        order_count,
        took,
        lines / took,
        per_cpu(lines, cpu0),
        rules_applied,
        total
    );

    // The same orders through `price_order`, which also copies each order
    // and fills its canonical pricing fields (what the daemon delivers).
    let mut total_doc = Decimal::ZERO;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for (client, doc) in &orders {
        match price_order(&terms, client, doc, today) {
            Ok(p) => total_doc += p.totals.grand_total,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "pricing: price_order (with canonical document): priced {} lines in {:.3} s: {:.0} lines/s on one core{} (grand total {})",
        lines,
        took,
        lines / took,
        per_cpu(lines, cpu0),
        total_doc
    );
    if total_doc != total {
        eprintln!("pricing: the two paths disagree: {total} vs {total_doc}");
        std::process::exit(1);
    }
    if std::env::var_os("PRICING_BENCH_DIGEST").is_some() {
        println!("pricing: output digest {}", digest(&terms, &orders, today));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
