//! Exports from Odoo back to partners (`src/exports`), against the fake
//! Odoo (`tests/fake_odoo`) on 16, 18 and 19: a confirmed sale order
//! becomes an ORDRSP, a validated delivery a DESADV, a posted invoice an
//! INVOIC (and UBL / CII), on-hand stock an INVRPT; every file is read back
//! through Comptoir's own inbound mappings; each document is sent once;
//! a failed send stays pending, is retried, then dead, and goes out again
//! after `retry` with the very same bytes.

mod common;
mod fake_odoo;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use comptoir::config::SinkKind;
use comptoir::exports::run_pass;
use comptoir::journal::{ExportState, Journal};
use comptoir::model::{Document, DocumentType, PartyRole};
use comptoir::pipeline::{load_runtime, Runtime};
use comptoir::sinks::odoo::OdooSink;
use comptoir::sinks::Payload;
use fake_odoo::{FakeOdoo, PASSWORD};
use rust_decimal::Decimal;
use serde_json::json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const KEY_ENV: &str = "COMPTOIR_TEST_EXPORT_ODOO_KEY";

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

struct Setup {
    fake: FakeOdoo,
    dir: PathBuf,
    config: PathBuf,
    order: i64,
    tax: i64,
}

/// A fake Odoo with the demo master data, EUR, a 20 % tax, a delivery
/// address, stock in an internal location, and the demo order created and
/// confirmed through the Odoo sink; a configuration exporting to partner
/// `acme` through a file channel.
fn setup(version: u32, protocol: &str, tag: &str, extra: &str) -> Setup {
    std::env::set_var(KEY_ENV, PASSWORD);
    let fake = FakeOdoo::start(version);
    let (acme, products) = fake.seed_demo();
    let tax = {
        let mut d = fake.lock();
        d.seed("res.partner", json!({"name": "ACME Entrepôt", "ref": "5412345000099", "type": "delivery", "parent_id": acme, "city": "Vénissieux"}));
        let stock = d.seed(
            "stock.location",
            json!({"name": "WH/Stock", "usage": "internal"}),
        );
        let customers = d.seed(
            "stock.location",
            json!({"name": "Partners/Customers", "usage": "customer"}),
        );
        d.seed("stock.quant", json!({"product_id": products[0], "location_id": stock, "quantity": 100, "reserved_quantity": 10}));
        d.seed("stock.quant", json!({"product_id": products[0], "location_id": stock, "quantity": 20, "reserved_quantity": 0}));
        d.seed("stock.quant", json!({"product_id": products[1], "location_id": stock, "quantity": 5, "reserved_quantity": 0}));
        d.seed("stock.quant", json!({"product_id": products[1], "location_id": customers, "quantity": 999, "reserved_quantity": 0}));
        d.seed("res.currency", json!({"name": "EUR"}));
        d.seed(
            "account.tax",
            json!({"name": "TVA 20%", "amount": 20.0, "amount_type": "percent", "active": true}),
        )
    };
    let dir = std::env::temp_dir().join(format!("comptoir-export-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let login = if protocol == "json2" {
        ""
    } else {
        "login = \"edi\""
    };
    let config = dir.join("comptoir.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[journal]
url = "sqlite://{d}/var/comptoir.db"
[paths]
mappings = "{ROOT}/mappings"
pricing = "{ROOT}/config/pricing"
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
outbound_channel = "acme-out"
[[sink]]
name = "acme-out"
type = "file"
path = "{d}/to-acme"
[[sink]]
name = "odoo"
type = "odoo"
url = "{url}"
db = "odoo"
{login}
password_env = "{KEY_ENV}"
protocol = "{protocol}"
version = {version}
units = {{ PCE = "Units" }}
[[export]]
name = "odoo-out"
odoo = "odoo"
documents = ["ordrsp", "desadv", "invoice", "stock"]
interval_secs = 0
since = "2026-01-01"
[export.company]
gln = "5400000000001"
name = "Torréfaction Demo SAS"
vat_id = "FR32123456789"
street = "1 rue du Port"
city = "Lyon"
postcode = "69002"
country = "FR"
{extra}
"#,
            d = dir.display(),
            url = fake.url,
        ),
    )
    .unwrap();
    // The inbound direction first: the demo order into Odoo, confirmed.
    let rt = runtime(&config);
    let sink = match rt.sinks.get("odoo") {
        Some(comptoir::sinks::Sink::Odoo(s)) => s,
        _ => panic!("no odoo sink"),
    };
    let order = create_demo_order(sink);
    {
        // Odoo takes the currency from the pricelist.
        let mut d = fake.lock();
        let eur = d.all("res.currency")[0]["id"].as_i64().unwrap();
        if let Some(o) = d
            .models
            .get_mut("sale.order")
            .and_then(|t| t.get_mut(&order))
        {
            o.insert("currency_id".into(), json!(eur));
        }
    }
    Setup {
        fake,
        dir,
        config,
        order,
        tax,
    }
}

fn runtime(config: &Path) -> Runtime {
    match load_runtime(config) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    }
}

fn create_demo_order(sink: &OdooSink) -> i64 {
    let bytes = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();
    let run = common::translate(&common::registry(), &bytes, "orders_demo.edi", None);
    let payload = Payload {
        message_id: 1,
        partner: Some("acme".into()),
        canonical_json: serde_json::to_string(&run.documents).unwrap().into(),
        priced_json: None,
    };
    match sink.deliver(&payload).unwrap().as_slice() {
        [comptoir::sinks::odoo::Outcome::Created { id, .. }] => *id,
        other => panic!("{other:?}"),
    }
}

/// The files the partner received, sorted by name.
fn received(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("to-acme"))
        .map(|rd| {
            rd.map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .filter(|(n, _)| !n.starts_with('.'))
            .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Reads a sent file back through Comptoir's inbound mappings.
fn read_back(name: &str, bytes: &[u8]) -> Document {
    let run = common::translate(&common::registry(), bytes, name, None);
    assert!(run.rejected.is_empty(), "{name}: {:?}", run.rejected);
    assert_eq!(run.documents.len(), 1, "{name}");
    run.documents.into_iter().next().unwrap()
}

fn of_kind<'a>(files: &'a [(String, Vec<u8>)], prefix: &str) -> Vec<&'a (String, Vec<u8>)> {
    files
        .iter()
        .filter(|(n, _)| n.starts_with(prefix))
        .collect()
}

async fn pass(config: &Path, journal: &Journal, export: usize) -> comptoir::exports::PassReport {
    let rt = Arc::new(runtime(config));
    let e = rt.config.exports[export].clone();
    run_pass(rt, journal, &e, chrono::Utc::now()).await.unwrap()
}

async fn journal(s: &Setup) -> Journal {
    Journal::open(
        &format!("sqlite://{}/var/comptoir.db", s.dir.display()),
        1,
        None,
    )
    .await
    .unwrap()
}

async fn full_cycle(version: u32, protocol: &str) {
    let s = setup(version, protocol, &format!("cycle{version}"), "");
    let j = journal(&s).await;

    // Pass 1: the confirmed order and the stock go out.
    let r = pass(&s.config, &j, 0).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.sent_count(), 2, "{:?}", r.sent);
    let files = received(&s.dir);
    let ordrsp = of_kind(&files, "ordrsp-");
    assert_eq!(ordrsp.len(), 1, "{files:?}");
    let text = String::from_utf8_lossy(&ordrsp[0].1);
    assert!(
        text.contains("UNB+UNOC:3+5400000000001:14+5412345000013:14+"),
        "{text}"
    );
    let so_name = s.fake.lock().get("sale.order", s.order).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = read_back(&ordrsp[0].0, &ordrsp[0].1);
    assert_eq!(doc.document_type, DocumentType::OrderResponse);
    assert_eq!(doc.number, so_name);
    assert_eq!(doc.reference("order").unwrap().value, "PO-DEMO-0001");
    assert_eq!(
        doc.party(&PartyRole::DeliveryParty)
            .and_then(|p| p.gln.as_deref()),
        Some("5412345000099")
    );
    let got: Vec<_> = doc
        .lines
        .iter()
        .map(|l| {
            (
                l.gtin.clone().unwrap(),
                l.quantity.as_ref().unwrap().value,
                l.net_unit_price.unwrap(),
                l.action.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "5410738000152".into(),
                dec("24"),
                dec("4.2"),
                Some("5".into())
            ),
            (
                "5410738000169".into(),
                dec("12"),
                dec("14.5"),
                Some("5".into())
            ),
        ]
    );
    assert_eq!(doc.currency.as_deref(), Some("EUR"));
    let stock = of_kind(&files, "stock-");
    assert_eq!(stock.len(), 1, "{files:?}");
    let inv = read_back(&stock[0].0, &stock[0].1);
    assert_eq!(inv.document_type, DocumentType::StockReport);
    let lines: Vec<_> = inv
        .lines
        .iter()
        .map(|l| {
            (
                l.gtin.clone().unwrap(),
                l.quantity.as_ref().unwrap().value,
                l.other_quantities
                    .iter()
                    .find(|q| q.kind.as_deref() == Some("available"))
                    .map(|q| q.value),
            )
        })
        .collect();
    // Internal locations only: the customer location's 999 is not stock.
    assert_eq!(
        lines,
        vec![
            ("5410738000152".into(), dec("120"), Some(dec("110"))),
            ("5410738000169".into(), dec("5"), Some(dec("5"))),
        ]
    );

    // Pass 2: nothing new; nothing sent twice.
    let r = pass(&s.config, &j, 0).await;
    assert!(r.sent.is_empty(), "{:?}", r.sent);
    assert_eq!(received(&s.dir).len(), 2);

    // The warehouse ships, accounting invoices: pass 3 sends both.
    let picking = {
        let d = s.fake.lock();
        d.all("stock.picking")
            .iter()
            .find(|p| p["sale_id"] == json!(s.order))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    s.fake
        .lock()
        .validate_picking(picking, "2026-03-09 16:30:00");
    let invoice = s
        .fake
        .lock()
        .invoice_order(s.order, s.tax, "2026-03-10", "2026-04-30");
    let r = pass(&s.config, &j, 0).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.sent_count(), 2, "{:?}", r.sent);
    let files = received(&s.dir);
    let desadv = of_kind(&files, "desadv-");
    assert_eq!(desadv.len(), 1, "{files:?}");
    let d = read_back(&desadv[0].0, &desadv[0].1);
    assert_eq!(d.document_type, DocumentType::DespatchAdvice);
    assert_eq!(d.reference("order").unwrap().value, "PO-DEMO-0001");
    assert_eq!(d.date("despatch").unwrap().value, "2026-03-09");
    let shipped: Vec<_> = d
        .lines
        .iter()
        .map(|l| (l.gtin.clone().unwrap(), l.quantity.as_ref().unwrap().value))
        .collect();
    assert_eq!(
        shipped,
        vec![
            ("5410738000152".to_string(), dec("24")),
            ("5410738000169".to_string(), dec("12"))
        ]
    );
    let inv_files = of_kind(&files, "invoice-");
    assert_eq!(inv_files.len(), 1, "{files:?}");
    let i = read_back(&inv_files[0].0, &inv_files[0].1);
    assert_eq!(i.document_type, DocumentType::Invoice);
    let move_name = s.fake.lock().get("account.move", invoice).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(i.number, move_name);
    assert_eq!(i.reference("order").unwrap().value, "PO-DEMO-0001");
    assert_eq!(i.payment_terms[0].due_date.as_deref(), Some("2026-04-30"));
    // The tax line of the move is not an invoice line.
    assert_eq!(i.lines.len(), 2);
    // 24 × 4.20 + 12 × 14.50 = 274.80; VAT 20 % = 54.96.
    assert_eq!(i.totals.tax_exclusive, Some(dec("274.80")));
    assert_eq!(i.totals.tax_total, Some(dec("54.96")));
    assert_eq!(i.totals.tax_inclusive, Some(dec("329.76")));
    assert_eq!(i.lines[0].tax_rate, Some(dec("20")));
    assert_eq!(
        i.party(&PartyRole::Supplier)
            .and_then(|p| p.vat_id.as_deref()),
        Some("FR32123456789")
    );

    // Pass 4: nothing new.
    let r = pass(&s.config, &j, 0).await;
    assert!(r.sent.is_empty(), "{:?}", r.sent);
    assert_eq!(received(&s.dir).len(), 4);
    let rows = j.exports_list(10).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.state == ExportState::Sent));
    j.close().await;
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_18_documents_go_back_to_the_partner_once() {
    full_cycle(18, "jsonrpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_19_json2_documents_go_back_to_the_partner_once() {
    full_cycle(19, "json2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odoo_16_reads_quantity_done() {
    full_cycle(16, "jsonrpc").await;
}

/// UBL and CII invoices, from a second export for the same partner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoices_as_ubl_and_cii() {
    let extra = r#"
[[export]]
name = "ubl"
odoo = "odoo"
documents = ["invoice", "ordrsp"]
since = "2026-01-01"
invoice_format = "ubl"
ordrsp_format = "ubl"
interval_secs = 0
[export.company]
gln = "5400000000001"
name = "Torréfaction Demo SAS"
vat_id = "FR32123456789"
street = "1 rue du Port"
city = "Lyon"
postcode = "69002"
country = "FR"
[[export]]
name = "cii"
odoo = "odoo"
documents = ["invoice"]
since = "2026-01-01"
invoice_format = "cii"
interval_secs = 0
[export.company]
gln = "5400000000001"
name = "Torréfaction Demo SAS"
vat_id = "FR32123456789"
street = "1 rue du Port"
city = "Lyon"
postcode = "69002"
country = "FR"
"#;
    let s = setup(18, "jsonrpc", "xml", extra);
    let j = journal(&s).await;
    s.fake
        .lock()
        .invoice_order(s.order, s.tax, "2026-03-10", "2026-04-30");
    // The customer has no country in Odoo: EN 16931 (BR-11) forbids such
    // an invoice, so it is not sent and the reason says what to fix.
    let r = pass(&s.config, &j, 1).await;
    assert_eq!(r.sent_count(), 1, "{:?}", r.sent);
    assert!(
        r.problems.iter().any(|p| p.contains("BR-11")),
        "{:?}",
        r.problems
    );
    let dead = j
        .exports_list(10)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.state == ExportState::Dead)
        .unwrap();
    assert_eq!(dead.kind, "invoice");
    // Ops fix the customer in Odoo and retry: the next pass renders it.
    {
        let mut d = s.fake.lock();
        let be = d.seed("res.country", json!({"name": "Belgium", "code": "BE"}));
        let acme = d.all("res.partner")[0]["id"].as_i64().unwrap();
        d.models
            .get_mut("res.partner")
            .unwrap()
            .get_mut(&acme)
            .unwrap()
            .insert("country_id".into(), json!(be));
    }
    j.export_retry(dead.id).await.unwrap();
    let r = pass(&s.config, &j, 1).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.sent_count(), 1, "{:?}", r.sent);
    let r = pass(&s.config, &j, 2).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.sent_count(), 1, "{:?}", r.sent);
    let files = received(&s.dir);
    let xml: Vec<_> = files.iter().filter(|(n, _)| n.ends_with(".xml")).collect();
    assert_eq!(xml.len(), 3, "{files:?}");
    let mut invoices = 0;
    for (name, bytes) in xml {
        let doc = read_back(name, bytes);
        match doc.document_type {
            DocumentType::Invoice => {
                invoices += 1;
                assert_eq!(doc.totals.tax_inclusive, Some(dec("329.76")), "{name}");
                assert_eq!(doc.totals.tax_total, Some(dec("54.96")), "{name}");
                let violations = comptoir::formats::xml::check_en16931(&doc);
                assert!(violations.is_empty(), "{name}: {violations:?}");
            }
            DocumentType::OrderResponse => {
                assert_eq!(doc.reference("order").unwrap().value, "PO-DEMO-0001");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(invoices, 2);
    j.close().await;
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// A channel that fails keeps the document pending with its error; it is
/// tried again at the next pass, given up after `max_attempts`, and after
/// `retry` sent with the very bytes first rendered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sends_are_retried_then_dead_then_resent_identically() {
    let s = setup(18, "jsonrpc", "fail", "");
    // Only order responses, at most 2 attempts.
    let text = std::fs::read_to_string(&s.config).unwrap().replace(
        "documents = [\"ordrsp\", \"desadv\", \"invoice\", \"stock\"]",
        "documents = [\"ordrsp\"]\nmax_attempts = 2",
    );
    std::fs::write(&s.config, text).unwrap();
    // A file where the channel's directory should be: every write fails.
    std::fs::write(s.dir.join("to-acme"), b"not a directory").unwrap();
    let j = journal(&s).await;
    let r = pass(&s.config, &j, 0).await;
    assert_eq!(r.sent.len(), 1);
    assert_eq!(r.sent[0].state, ExportState::Pending);
    assert!(
        r.sent[0].error.as_deref().unwrap().contains("to-acme"),
        "{:?}",
        r.sent
    );
    let r = pass(&s.config, &j, 0).await;
    assert_eq!(r.sent.len(), 1, "{:?}", r.sent);
    assert_eq!(r.sent[0].state, ExportState::Dead);
    // Dead: not attempted again by passes.
    let r = pass(&s.config, &j, 0).await;
    assert!(r.sent.is_empty(), "{:?}", r.sent);
    let row = j.exports_list(10).await.unwrap().remove(0);
    assert_eq!(row.state, ExportState::Dead);
    assert_eq!(row.attempts, 2);

    // An operator fixes the channel and retries.
    std::fs::remove_file(s.dir.join("to-acme")).unwrap();
    j.export_retry(row.id).await.unwrap();
    assert!(j.export_retry(row.id).await.is_err());
    let r = pass(&s.config, &j, 0).await;
    assert_eq!(r.sent_count(), 1, "{:?}", r.sent);
    let files = received(&s.dir);
    assert_eq!(files.len(), 1);
    let stored = j.exports_pending("odoo-out").await.unwrap();
    assert!(stored.is_empty());
    let text = String::from_utf8_lossy(&files[0].1);
    assert!(text.contains(&format!("+E{}", row.id)), "{text}");
    j.close().await;
    let _ = std::fs::remove_dir_all(&s.dir);
}

/// `comptoir check` refuses an export naming a partner without channel or
/// a sink that is not Odoo.
#[test]
fn check_refuses_bad_exports() {
    let text = r#"
[[partner]]
id = "p"
[[sink]]
name = "out"
type = "file"
path = "/tmp/x"
[[export]]
name = "e"
odoo = "out"
documents = []
partners = ["p", "nobody"]
ordrsp_format = "cii"
since = "yesterday"
[export.company]
gln = ""
"#;
    let cfg = comptoir::config::Config::parse(text).unwrap();
    let issues: Vec<String> = cfg
        .validate(Path::new("c.toml"))
        .iter()
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect();
    let all = issues.join("\n");
    for want in [
        "export[0].odoo: sink \"out\" is not an Odoo sink",
        "export[0].documents",
        "export[0].partners: partner \"p\" has no outbound_channel",
        "export[0].partners: unknown partner \"nobody\"",
        "export[0].ordrsp_format",
        "export[0].company.gln",
        "export[0].since",
    ] {
        assert!(all.contains(want), "missing {want:?} in:\n{all}");
    }
    // The sink kinds still parse (no export-specific sink type).
    assert!(matches!(cfg.sinks[0].kind, SinkKind::File(_)));
}

/// Without `since`, switching exports on sends no history: the first pass
/// only starts the watermark; what changes afterwards goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_pass_without_since_sends_no_history() {
    let s = setup(18, "jsonrpc", "history", "");
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("since = \"2026-01-01\"\n", "")
        .replace(
            "documents = [\"ordrsp\", \"desadv\", \"invoice\", \"stock\"]",
            "documents = [\"ordrsp\"]",
        );
    std::fs::write(&s.config, text).unwrap();
    // The demo order was confirmed long ago.
    {
        let mut d = s.fake.lock();
        let o = d
            .models
            .get_mut("sale.order")
            .unwrap()
            .get_mut(&s.order)
            .unwrap();
        o.insert("write_date".into(), json!("2025-06-01 08:00:00"));
    }
    let j = journal(&s).await;
    let r = pass(&s.config, &j, 0).await;
    assert!(r.sent.is_empty(), "{:?}", r.sent);
    assert!(j
        .export_watermark("odoo-out", "ordrsp")
        .await
        .unwrap()
        .is_some());
    // A new order confirmed now: sent by the next pass; the old one never.
    let rt = runtime(&s.config);
    let sink = match rt.sinks.get("odoo") {
        Some(comptoir::sinks::Sink::Odoo(o)) => o,
        _ => panic!("no odoo sink"),
    };
    let bytes = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();
    let mut docs = common::translate(&common::registry(), &bytes, "o.edi", None).documents;
    docs[0].number = "PO-NEW-0002".into();
    let payload = Payload {
        message_id: 2,
        partner: Some("acme".into()),
        canonical_json: serde_json::to_string(&docs).unwrap().into(),
        priced_json: None,
    };
    sink.deliver(&payload).unwrap();
    let r = pass(&s.config, &j, 0).await;
    assert_eq!(r.sent_count(), 1, "{:?}", r.sent);
    let files = received(&s.dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let doc = read_back(&files[0].0, &files[0].1);
    assert_eq!(doc.reference("order").unwrap().value, "PO-NEW-0002");
    j.close().await;
    let _ = std::fs::remove_dir_all(&s.dir);
}
