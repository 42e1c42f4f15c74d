//! Odoo sink against the fake Odoo (`tests/fake_odoo`): orders over
//! JSON-RPC, XML-RPC and JSON-2 on 18 and 19, idempotency, replacement and
//! cancellation, error classification, serialization-failure retries,
//! vendor bills, contract tests pinning what the sink sends, and the daemon
//! end to end (EANCOM ORDERS in the inbox → one confirmed sale order → an
//! ORDRSP back to the partner from the daemon's export schedule).

mod fake_odoo;

use std::sync::Once;

use comptoir::config::{Config, SinkKind};
use comptoir::model::{Document, MessageFunction};
use comptoir::sinks::odoo::{OdooSink, Outcome};
use comptoir::sinks::{Payload, SinkError};
use fake_odoo::{FakeOdoo, PASSWORD};
use serde_json::{json, Value};

const SECRET_ENV: &str = "COMPTOIR_TEST_ODOO_SECRET";
const WRONG_ENV: &str = "COMPTOIR_TEST_ODOO_WRONG";

fn env() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var(SECRET_ENV, PASSWORD);
        std::env::set_var(WRONG_ENV, "not-the-password");
    });
}

fn sink_with(url: &str, protocol: &str, version: u32, extra: &str) -> OdooSink {
    sink_env(url, protocol, version, extra, SECRET_ENV)
}

fn sink_env(url: &str, protocol: &str, version: u32, extra: &str, secret_env: &str) -> OdooSink {
    env();
    let text = format!(
        r#"
[[sink]]
name = "odoo"
type = "odoo"
url = "{url}"
db = "odoo"
login = "edi"
password_env = "{secret_env}"
protocol = "{protocol}"
version = {version}
units = {{ PCE = "Units" }}
{extra}
"#
    );
    let cfg = Config::parse(&text).unwrap();
    let issues = cfg.validate(std::path::Path::new("t.toml"));
    assert!(issues.is_empty(), "{issues:?}");
    match &cfg.sinks[0].kind {
        SinkKind::Odoo(o) => OdooSink::new("odoo", o),
        other => panic!("{other:?}"),
    }
}

fn order(number: &str) -> Document {
    let v = json!({
        "document_type": "order", "number": number, "function": "original", "currency": "EUR",
        "dates": [{"kind": "document", "value": "2026-03-01"}, {"kind": "requested_delivery", "value": "2026-03-10"}],
        "parties": [{"role": "buyer", "gln": "5412345000013"}, {"role": "supplier", "gln": "5400000000001"},
                    {"role": "delivery_party", "gln": "5412345000099", "name": "ACME Entrepôt",
                     "address": {"street": ["ZI Nord"], "city": "Vénissieux", "postal_code": "69200"}}],
        "lines": [
            {"line_number": "1", "gtin": "5410738000152", "seller_item_code": "CAF-MOU-250",
             "quantity": {"value": "24", "unit": "PCE"}, "net_unit_price": "3.5910"},
            {"line_number": "2", "gtin": "5410738000169", "seller_item_code": "CAF-GRA-1K",
             "quantity": {"value": "12", "unit": "PCE"}, "net_unit_price": "12.3250"}],
        "origin": {"format": "edifact"}
    });
    serde_json::from_value(v).unwrap()
}

fn priced(number: &str) -> Value {
    json!({"document": {"document_type": "order", "number": number},
        "lines": [
            {"index": 0, "list_price": "4.20", "net_unit_price": "3.5910", "total_discount_percent": "14.5", "status": "priced"},
            {"index": 1, "list_price": "14.50", "net_unit_price": "12.3250", "total_discount_percent": "15", "status": "priced"}]})
}

fn payload(docs: &[Document], priced: Option<Vec<Value>>) -> Payload<'static> {
    Payload {
        message_id: 1,
        partner: Some("acme".into()),
        canonical_json: serde_json::to_string(docs).unwrap().into(),
        priced_json: priced.map(|p| serde_json::to_string(&p).unwrap().into()),
    }
}

fn demo_payload(number: &str) -> Payload<'static> {
    payload(&[order(number)], Some(vec![priced(number)]))
}

/// (product, qty, price, discount, uom) of an order's lines.
fn lines(fake: &FakeOdoo, order: i64, uom_field: &str) -> Vec<(i64, f64, f64, f64, i64)> {
    let d = fake.lock();
    let mut l: Vec<_> = d
        .all("sale.order.line")
        .into_iter()
        .filter(|l| l["order_id"] == json!(order))
        .map(|l| {
            (
                l["product_id"].as_i64().unwrap(),
                l["product_uom_qty"].as_f64().unwrap(),
                l["price_unit"].as_f64().unwrap(),
                l["discount"].as_f64().unwrap(),
                l[uom_field].as_i64().unwrap_or(0),
            )
        })
        .collect();
    l.sort_by_key(|x| x.0);
    l
}

fn created_order(outcomes: &[Outcome]) -> i64 {
    match outcomes {
        [Outcome::Created {
            model: "sale.order",
            id,
        }] => *id,
        other => panic!("{other:?}"),
    }
}

fn check_demo_order(fake: &FakeOdoo, id: i64, acme: i64, products: &[i64], uom_field: &str) {
    {
        let d = fake.lock();
        let o = d.get("sale.order", id).unwrap();
        assert_eq!(o["state"], "sale");
        assert_eq!(o["partner_id"], json!(acme));
        assert_eq!(o["client_order_ref"], "PO-1");
        assert_eq!(o["commitment_date"], "2026-03-10 00:00:00");
        assert_eq!(o["amount_untaxed"], json!(234.08));
        assert_eq!(d.all("sale.order").len(), 1);
    }
    let units = fake.lock().all("uom.uom")[0]["id"].as_i64().unwrap();
    assert_eq!(
        lines(fake, id, uom_field),
        vec![
            (products[0], 24.0, 4.2, 14.5, units),
            (products[1], 12.0, 14.5, 15.0, units)
        ]
    );
}

#[test]
fn jsonrpc_18_creates_one_confirmed_order_and_replays_change_nothing() {
    let fake = FakeOdoo::start(18);
    let (acme, products) = fake.seed_demo();
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    check_demo_order(&fake, id, acme, &products, "product_uom");
    // Delivery party unknown and creation not allowed: the customer ships.
    assert_eq!(
        fake.lock().get("sale.order", id).unwrap()["partner_shipping_id"],
        json!(acme)
    );

    let calls_before = fake.lock().calls.len();
    let again = sink.deliver(&demo_payload("PO-1")).unwrap();
    assert_eq!(
        again,
        vec![Outcome::AlreadyThere {
            model: "sale.order",
            id
        }]
    );
    let d = fake.lock();
    assert_eq!(d.all("sale.order").len(), 1);
    assert_eq!(d.all("stock.picking").len(), 1);
    // The replay only searched: nothing written.
    assert!(
        d.calls[calls_before..]
            .iter()
            .all(|(_, m)| m == "search" || m == "search_read"),
        "{:?}",
        &d.calls[calls_before..]
    );
    // Authenticated once.
    let auths = d
        .requests
        .iter()
        .filter(|r| r.body.contains("\"authenticate\""))
        .count();
    assert_eq!(auths, 1);
}

#[test]
fn odoo_19_needs_product_uom_id_and_rejects_product_uom() {
    let fake = FakeOdoo::start(19);
    let (acme, products) = fake.seed_demo();
    let sink = sink_with(&fake.url, "jsonrpc", 19, "");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    check_demo_order(&fake, id, acme, &products, "product_uom_id");

    // A sink configured for 18 talking to a 19 server sends `product_uom`:
    // Odoo refuses the field, which retrying cannot fix.
    let fake = FakeOdoo::start(19);
    fake.seed_demo();
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    match sink.deliver(&demo_payload("PO-1")) {
        Err(SinkError::Permanent(m)) => assert!(m.contains("Invalid field 'product_uom'"), "{m}"),
        other => panic!("{other:?}"),
    }
    // 19 answers JSON-RPC errors with code 0, 18 with 200.
    let d = fake.lock();
    let last = d
        .requests
        .iter()
        .rev()
        .find(|r| r.path == "/jsonrpc")
        .unwrap();
    assert!(last.body.contains("sale.order"), "{}", last.body);
}

#[test]
fn xmlrpc_order_and_cannot_marshal_none_is_verified() {
    let fake = FakeOdoo::start(18);
    let (acme, products) = fake.seed_demo();
    fake.lock().confirm_returns_none = true;
    let sink = sink_with(&fake.url, "xmlrpc", 18, "");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    check_demo_order(&fake, id, acme, &products, "product_uom");
    assert_eq!(
        sink.deliver(&demo_payload("PO-1")).unwrap(),
        vec![Outcome::AlreadyThere {
            model: "sale.order",
            id
        }]
    );
    assert_eq!(fake.lock().all("sale.order").len(), 1);
}

#[test]
fn json2_order_on_19() {
    let fake = FakeOdoo::start(19);
    let (acme, products) = fake.seed_demo();
    let sink = sink_with(&fake.url, "json2", 19, "");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    check_demo_order(&fake, id, acme, &products, "product_uom_id");
    assert_eq!(
        sink.deliver(&demo_payload("PO-1")).unwrap(),
        vec![Outcome::AlreadyThere {
            model: "sale.order",
            id
        }]
    );
    let d = fake.lock();
    assert!(d.requests.iter().all(|r| r.path.starts_with("/json/2/")));
}

#[test]
fn wrong_credentials_are_permanent_and_never_echo_the_secret() {
    for protocol in ["jsonrpc", "xmlrpc", "json2"] {
        let fake = FakeOdoo::start(19);
        fake.seed_demo();
        let sink = sink_env(&fake.url, protocol, 19, "", WRONG_ENV);
        match sink.deliver(&demo_payload("PO-1")) {
            Err(SinkError::Permanent(m)) => {
                assert!(
                    m.contains("refused the credentials") || m.contains("Unauthorized"),
                    "{protocol}: {m}"
                );
                assert!(!m.contains("not-the-password"), "{m}");
            }
            other => panic!("{protocol}: {other:?}"),
        }
        assert!(fake.lock().all("sale.order").is_empty());
    }
    // A missing variable names the variable, not a value.
    let fake = FakeOdoo::start(18);
    let sink = sink_env(&fake.url, "jsonrpc", 18, "", "COMPTOIR_TEST_ODOO_UNSET");
    match sink.deliver(&demo_payload("PO-1")) {
        Err(SinkError::Permanent(m)) => assert!(m.contains("COMPTOIR_TEST_ODOO_UNSET"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_partner_or_product_is_permanent_with_a_precise_reason() {
    let fake = FakeOdoo::start(18);
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    match sink.deliver(&demo_payload("PO-1")) {
        Err(SinkError::Permanent(m)) => assert!(
            m.contains("order PO-1: unknown customer 5412345000013: no res.partner with ref = 5412345000013 or barcode = 5412345000013"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    fake.lock().seed(
        "res.partner",
        json!({"name": "ACME", "barcode": "5412345000013"}),
    );
    match sink.deliver(&demo_payload("PO-1")) {
        Err(SinkError::Permanent(m)) => assert!(
            m.contains("unknown product on line 1: no product.product with GTIN 5410738000152, seller code CAF-MOU-250"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    // Fixed master data: the replay goes through; the partner-specific
    // code table finds the second product.
    let units;
    {
        let mut d = fake.lock();
        units = d.seed("uom.uom", json!({"name": "Units"}));
        d.seed(
            "product.product",
            json!({"name": "A", "barcode": "5410738000152", "list_price": 4.2, "uom_id": units}),
        );
        d.seed(
            "product.product",
            json!({"name": "B", "default_code": "ODOO-B", "list_price": 14.5, "uom_id": units}),
        );
    }
    let mut doc = order("PO-1");
    doc.lines[1].gtin = None;
    doc.lines[1].seller_item_code = None;
    doc.lines[1].buyer_item_code = Some("ACME-77".into());
    let sink = sink_with(
        &fake.url,
        "jsonrpc",
        18,
        "product_codes = { acme = { ACME-77 = \"ODOO-B\" } }",
    );
    let id = created_order(
        &sink
            .deliver(&payload(&[doc], Some(vec![priced("PO-1")])))
            .unwrap(),
    );
    assert_eq!(lines(&fake, id, "product_uom").len(), 2);
    assert!(fake.lock().all("sale.order").len() == 1);
}

#[test]
fn serialization_failures_are_retried() {
    let fake = FakeOdoo::start(18);
    fake.seed_demo();
    fake.lock().fail_next.insert("action_confirm".into(), 2);
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    assert_eq!(fake.lock().get("sale.order", id).unwrap()["state"], "sale");

    // More failures than immediate retries: a retryable error; the next
    // delivery finds the draft order and confirms it, without a second order.
    fake.lock().fail_next.insert("action_confirm".into(), 10);
    for protocol in ["jsonrpc", "xmlrpc"] {
        let sink = sink_with(&fake.url, protocol, 18, "serialization_retries = 1");
        match sink.deliver(&demo_payload(&format!("PO-{protocol}"))) {
            Err(SinkError::Transient(m)) => assert!(m.contains("could not serialize"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
    let fake19 = FakeOdoo::start(19);
    fake19.seed_demo();
    fake19.lock().fail_next.insert("create".into(), 10);
    let sink = sink_with(&fake19.url, "json2", 19, "serialization_retries = 0");
    assert!(matches!(
        sink.deliver(&demo_payload("PO-2")),
        Err(SinkError::Transient(_))
    ));
    fake19.lock().fail_next.clear();
    assert!(sink.deliver(&demo_payload("PO-2")).is_ok());

    fake.lock().fail_next.clear();
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    let out = sink.deliver(&demo_payload("PO-jsonrpc")).unwrap();
    assert!(matches!(out[0], Outcome::AlreadyThere { .. }), "{out:?}");
    let d = fake.lock();
    let o: Vec<_> = d
        .all("sale.order")
        .into_iter()
        .filter(|o| o["client_order_ref"] == "PO-jsonrpc")
        .collect();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0]["state"], "sale");
}

#[test]
fn replacement_updates_draft_and_undelivered_confirmed_orders_and_cancellation_cancels() {
    let fake = FakeOdoo::start(18);
    let (_, products) = fake.seed_demo();
    let sink = sink_with(
        &fake.url,
        "jsonrpc",
        18,
        "confirm = false\ncreate_delivery_addresses = true\nprices = \"document\"",
    );
    let id = created_order(&sink.deliver(&payload(&[order("PO-9")], None)).unwrap());
    {
        let d = fake.lock();
        let o = d.get("sale.order", id).unwrap();
        assert_eq!(o["state"], "draft");
        // The delivery address was created as a child contact.
        let ship = d
            .get("res.partner", o["partner_shipping_id"].as_i64().unwrap())
            .unwrap();
        assert_eq!(ship["type"], "delivery");
        assert_eq!(ship["ref"], "5412345000099");
        assert_eq!(ship["parent_id"], o["partner_id"]);
        assert_eq!(ship["city"], "Vénissieux");
    }
    assert_eq!(lines(&fake, id, "product_uom")[0].2, 3.591);

    let mut replace = order("PO-9");
    replace.function = Some(MessageFunction::Replace);
    replace.lines.truncate(1);
    replace.lines[0].quantity.as_mut().unwrap().value = "30".parse().unwrap();
    assert_eq!(
        sink.deliver(&payload(&[replace], None)).unwrap(),
        vec![Outcome::Updated { id }]
    );
    let l = lines(&fake, id, "product_uom");
    assert_eq!(l.len(), 1);
    assert_eq!((l[0].0, l[0].1), (products[0], 30.0));
    assert_eq!(
        fake.lock()
            .all("res.partner")
            .iter()
            .filter(|p| p["type"] == "delivery")
            .count(),
        1
    );

    let mut cancel = order("PO-9");
    cancel.function = Some(MessageFunction::Cancellation);
    assert_eq!(
        sink.deliver(&payload(std::slice::from_ref(&cancel), None))
            .unwrap(),
        vec![Outcome::Cancelled { id }]
    );
    assert_eq!(
        fake.lock().get("sale.order", id).unwrap()["state"],
        "cancel"
    );
    // Cancelling again is a no-op; a cancellation before its original waits.
    assert_eq!(
        sink.deliver(&payload(&[cancel], None)).unwrap(),
        vec![Outcome::Cancelled { id }]
    );
    let mut early = order("PO-10");
    early.function = Some(MessageFunction::Cancellation);
    assert!(matches!(
        sink.deliver(&payload(&[early], None)),
        Err(SinkError::Transient(_))
    ));

    // A confirmed order with nothing delivered is reopened (cancelled, set
    // back to draft), rewritten and confirmed again; its pending delivery
    // is cancelled and a new one made.
    let sink = sink_with(&fake.url, "jsonrpc", 18, "");
    let id2 = created_order(&sink.deliver(&demo_payload("PO-11")).unwrap());
    let first_picking = {
        let d = fake.lock();
        d.all("stock.picking")
            .iter()
            .find(|p| p["sale_id"] == json!(id2))
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let mut r = order("PO-11");
    r.function = Some(MessageFunction::Replace);
    r.lines.truncate(1);
    assert_eq!(
        sink.deliver(&payload(std::slice::from_ref(&r), None))
            .unwrap(),
        vec![Outcome::Updated { id: id2 }]
    );
    {
        let d = fake.lock();
        assert_eq!(d.get("sale.order", id2).unwrap()["state"], "sale");
        assert_eq!(
            d.get("stock.picking", first_picking).unwrap()["state"],
            "cancel"
        );
        let live: Vec<_> = d
            .all("stock.picking")
            .into_iter()
            .filter(|p| p["sale_id"] == json!(id2) && p["state"] != "cancel")
            .collect();
        assert_eq!(live.len(), 1, "{live:?}");
    }
    assert_eq!(lines(&fake, id2, "product_uom").len(), 1);

    // Once something is delivered, a replacement is refused with the reason.
    let picking = {
        let d = fake.lock();
        d.all("stock.picking")
            .iter()
            .find(|p| p["sale_id"] == json!(id2) && p["state"] != "cancel")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    fake.lock().validate_picking(picking, "2026-03-09 10:00:00");
    match sink.deliver(&payload(std::slice::from_ref(&r), None)) {
        Err(SinkError::Permanent(m)) => {
            assert!(
                m.contains(&format!(
                    "sale.order {id2} is confirmed and already has 1 delivered"
                )),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }

    // With replace_confirmed off, a confirmed order is never touched.
    let strict = sink_with(&fake.url, "jsonrpc", 18, "replace_confirmed = false");
    let id3 = created_order(&strict.deliver(&demo_payload("PO-12")).unwrap());
    let mut r = order("PO-12");
    r.function = Some(MessageFunction::Replace);
    match strict.deliver(&payload(&[r], None)) {
        Err(SinkError::Permanent(m)) => {
            assert!(m.contains(&format!("sale.order {id3} is sale")), "{m}");
            assert!(m.contains("replace_confirmed is off"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prices_left_to_odoo_use_the_pricelist() {
    let fake = FakeOdoo::start(18);
    fake.seed_demo();
    let sink = sink_with(&fake.url, "jsonrpc", 18, "prices = \"odoo\"");
    let id = created_order(&sink.deliver(&demo_payload("PO-1")).unwrap());
    let l = lines(&fake, id, "product_uom");
    assert_eq!((l[0].2, l[0].3), (4.2, 0.0));
    let body = &fake
        .lock()
        .requests
        .iter()
        .find(|r| r.body.contains("\"create\""))
        .unwrap()
        .body
        .clone();
    assert!(
        !body.contains("price_unit") && !body.contains("discount"),
        "{body}"
    );
}

#[test]
fn supplier_invoice_becomes_a_draft_vendor_bill_once() {
    let fake = FakeOdoo::start(18);
    let (_, products) = fake.seed_demo();
    let supplier = fake.lock().seed(
        "res.partner",
        json!({"name": "Roaster", "ref": "5400000000001"}),
    );
    let inv: Document = serde_json::from_value(json!({
        "document_type": "invoice", "number": "INV-77",
        "dates": [{"kind": "document", "value": "2026-03-05"}, {"kind": "due", "value": "2026-04-05"}],
        "parties": [{"role": "supplier", "gln": "5400000000001"}, {"role": "buyer", "gln": "5412345000013"}],
        "lines": [{"gtin": "5410738000152", "description": "Café", "quantity": {"value": "10"}, "net_unit_price": "3.10"},
                  {"seller_item_code": "XYZ", "description": "Freight", "quantity": {"value": "1"}, "net_unit_price": "12"}],
        "origin": {"format": "edifact"}})).unwrap();
    let sink = sink_with(&fake.url, "xmlrpc", 18, "");
    let out = sink
        .deliver(&payload(std::slice::from_ref(&inv), None))
        .unwrap();
    let Outcome::Created {
        model: "account.move",
        id,
    } = out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        sink.deliver(&payload(&[inv], None)).unwrap(),
        vec![Outcome::AlreadyThere {
            model: "account.move",
            id
        }]
    );
    let d = fake.lock();
    let m = d.get("account.move", id).unwrap();
    assert_eq!(
        (
            m["move_type"].as_str(),
            m["state"].as_str(),
            m["ref"].as_str()
        ),
        (Some("in_invoice"), Some("draft"), Some("INV-77"))
    );
    assert_eq!(m["partner_id"], json!(supplier));
    assert_eq!(m["invoice_date"], "2026-03-05");
    let ml = d.all("account.move.line");
    assert_eq!(ml.len(), 2);
    assert_eq!(ml[0]["product_id"], json!(products[0]));
    assert_eq!(ml[0]["price_unit"], json!(3.1));
    assert!(ml[1].get("product_id").is_none());
    assert_eq!(ml[1]["name"], "Freight");
}

/// The exact requests one order produces over JSON-RPC on 18.
#[test]
fn contract_jsonrpc_18() {
    let fake = FakeOdoo::start(18);
    let (acme, p) = fake.seed_demo();
    let sink = sink_with(&fake.url, "jsonrpc", 18, "partner_fields = [\"ref\"]");
    sink.deliver(&demo_payload("PO-1")).unwrap();
    let d = fake.lock();
    let bodies: Vec<Value> = d
        .requests
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let args = |b: &Value| b["params"]["args"].clone();
    assert!(d
        .requests
        .iter()
        .all(|r| r.path == "/jsonrpc" && r.headers["content-type"] == "application/json"));
    assert_eq!(
        bodies[0]["params"],
        json!({"service": "common", "method": "authenticate", "args": ["odoo", "edi", PASSWORD, {}]})
    );
    assert_eq!(bodies[0]["jsonrpc"], "2.0");
    assert_eq!(bodies[0]["method"], "call");
    let kw: Vec<Value> = bodies[1..]
        .iter()
        .map(|b| {
            let a = args(b);
            json!([a[3], a[4], a[5], a[6]])
        })
        .collect();
    let units = d.all("uom.uom")[0]["id"].clone();
    let oid = d.all("sale.order")[0]["id"].clone();
    assert_eq!(
        kw,
        vec![
            json!(["res.partner", "search", [[["ref", "=", "5412345000013"]]], {"limit": 1}]),
            json!(["sale.order", "search_read", [[["partner_id", "=", acme], ["client_order_ref", "=", "PO-1"]]], {"fields": ["name", "state"], "limit": 1}]),
            json!(["res.partner", "search", [[["ref", "=", "5412345000099"]]], {"limit": 1}]),
            json!(["product.product", "search", [[["barcode", "=", "5410738000152"]]], {"limit": 1}]),
            json!(["uom.uom", "search", [[["name", "=", "Units"]]], {"limit": 1}]),
            json!(["product.product", "search", [[["barcode", "=", "5410738000169"]]], {"limit": 1}]),
            json!(["sale.order", "create", [{
            "partner_id": acme,
            "client_order_ref": "PO-1",
            "commitment_date": "2026-03-10 00:00:00",
            "order_line": [
                [0, 0, {"product_id": p[0], "product_uom_qty": 24, "product_uom": units, "price_unit": 4.2, "discount": 14.5}],
                [0, 0, {"product_id": p[1], "product_uom_qty": 12, "product_uom": units, "price_unit": 14.5, "discount": 15}]]}], {}]),
            json!(["sale.order", "action_confirm", [[oid]], {}]),
            json!(["sale.order", "search_read", [[["id", "=", oid]]], {"fields": ["state"], "limit": 1}]),
        ]
    );
    for b in &bodies[1..] {
        assert_eq!(
            args(b).as_array().unwrap()[..3],
            [json!("odoo"), json!(2), json!(PASSWORD)]
        );
    }
}

/// The exact XML-RPC body of the order creation and the JSON-2 request.
#[test]
fn contract_xmlrpc_and_json2_create() {
    let fake = FakeOdoo::start(18);
    let (acme, p) = fake.seed_demo();
    let sink = sink_with(&fake.url, "xmlrpc", 18, "");
    sink.deliver(&demo_payload("PO-1")).unwrap();
    let d = fake.lock();
    let units = d.all("uom.uom")[0]["id"].as_i64().unwrap();
    let create = d
        .requests
        .iter()
        .find(|r| r.body.contains("<string>create</string>"))
        .unwrap();
    assert_eq!(create.path, "/xmlrpc/2/object");
    assert_eq!(create.headers["content-type"], "text/xml");
    let line = |prod: i64, qty: i64, price: &str, disc: &str| {
        format!(
        "<value><array><data><value><int>0</int></value><value><int>0</int></value><value><struct>\
<member><name>discount</name><value>{disc}</value></member>\
<member><name>price_unit</name><value><double>{price}</double></value></member>\
<member><name>product_id</name><value><int>{prod}</int></value></member>\
<member><name>product_uom</name><value><int>{units}</int></value></member>\
<member><name>product_uom_qty</name><value><int>{qty}</int></value></member>\
</struct></value></data></array></value>")
    };
    let expected = format!(
        "<?xml version=\"1.0\"?>\n<methodCall><methodName>execute_kw</methodName><params>\
<param><value><string>odoo</string></value></param>\
<param><value><int>2</int></value></param>\
<param><value><string>{PASSWORD}</string></value></param>\
<param><value><string>sale.order</string></value></param>\
<param><value><string>create</string></value></param>\
<param><value><array><data><value><struct>\
<member><name>client_order_ref</name><value><string>PO-1</string></value></member>\
<member><name>commitment_date</name><value><string>2026-03-10 00:00:00</string></value></member>\
<member><name>order_line</name><value><array><data>{}{}</data></array></value></member>\
<member><name>partner_id</name><value><int>{acme}</int></value></member>\
</struct></value></data></array></value></param>\
<param><value><struct></struct></value></param>\
</params></methodCall>\n",
        line(p[0], 24, "4.2", "<double>14.5</double>"),
        line(p[1], 12, "14.5", "<int>15</int>"),
    );
    assert_eq!(create.body, expected);
    drop(d);

    let fake = FakeOdoo::start(19);
    let (acme, p) = fake.seed_demo();
    let sink = sink_with(&fake.url, "json2", 19, "");
    sink.deliver(&demo_payload("PO-1")).unwrap();
    let d = fake.lock();
    let units = d.all("uom.uom")[0]["id"].as_i64().unwrap();
    let create = d
        .requests
        .iter()
        .find(|r| r.path == "/json/2/sale.order/create")
        .unwrap();
    assert_eq!(
        create.headers["authorization"],
        format!("bearer {PASSWORD}")
    );
    assert_eq!(create.headers["x-odoo-database"], "odoo");
    assert_eq!(
        serde_json::from_str::<Value>(&create.body).unwrap(),
        json!({"vals_list": [{
        "partner_id": acme, "client_order_ref": "PO-1", "commitment_date": "2026-03-10 00:00:00",
        "order_line": [
            [0, 0, {"product_id": p[0], "product_uom_qty": 24, "product_uom_id": units, "price_unit": 4.2, "discount": 14.5}],
            [0, 0, {"product_id": p[1], "product_uom_qty": 12, "product_uom_id": units, "price_unit": 14.5, "discount": 15}]]}]})
    );
    let paths: Vec<&str> = d.requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/json/2/res.partner/search",
            "/json/2/sale.order/search_read",
            "/json/2/res.partner/search",
            "/json/2/res.partner/search",
            "/json/2/product.product/search",
            "/json/2/uom.uom/search",
            "/json/2/product.product/search",
            "/json/2/sale.order/create",
            "/json/2/sale.order/action_confirm",
            "/json/2/sale.order/search_read"
        ]
    );
    let confirm = d
        .requests
        .iter()
        .find(|r| r.path.ends_with("action_confirm"))
        .unwrap();
    let oid = d.all("sale.order")[0]["id"].clone();
    assert_eq!(
        serde_json::from_str::<Value>(&confirm.body).unwrap(),
        json!({"ids": [oid]})
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_comptoir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn comptoir(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("COMPTOIR_E2E_ODOO_KEY", PASSWORD)
        .output()
        .unwrap()
}

/// EANCOM ORDERS in the daemon's inbox → exactly one confirmed sale order
/// with the right partner, products, quantities, prices and discounts;
/// replaying the message changes nothing.
#[test]
fn daemon_end_to_end_orders_to_odoo() {
    let fake = FakeOdoo::start(18);
    let (acme, products) = fake.seed_demo();
    let d = std::env::temp_dir().join(format!("comptoir-odoo-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("inbox")).unwrap();
    let cfg = d.join("comptoir.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[journal]
url = "sqlite://{d}/var/comptoir.db"
[paths]
mappings = "{ROOT}/mappings"
pricing = "{ROOT}/config/pricing"
[daemon]
idle_poll_ms = 20
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 20
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
outbound_channel = "acme-out"
[[sink]]
name = "acme-out"
type = "file"
path = "{d}/to-acme"
[[export]]
name = "odoo-out"
odoo = "odoo"
documents = ["ordrsp"]
interval_secs = 1
since = "2026-01-01"
[export.company]
gln = "5400000000001"
[[route]]
name = "orders"
document_types = ["order"]
price = true
sinks = ["odoo"]
[[sink]]
name = "odoo"
type = "odoo"
url = "{url}"
db = "odoo"
login = "edi"
password_env = "COMPTOIR_E2E_ODOO_KEY"
protocol = "jsonrpc"
version = 18
units = {{ PCE = "Units" }}
[retry]
max_attempts = 2
base_delay_ms = 1
max_delay_ms = 1
jitter = 0.0
"#,
            d = d.display(),
            url = fake.url
        ),
    )
    .unwrap();
    std::fs::copy(
        std::path::Path::new(ROOT).join("fixtures/edifact/orders_demo.edi"),
        d.join("inbox/a.edi"),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let o = comptoir(&["run", "--once", "--config", c]);
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(o.status.success(), "{}", text(&o));
    let o = comptoir(&["messages", "list", "--config", c]);
    assert!(text(&o).contains("delivered"), "{}", text(&o));

    let check = || {
        let db = fake.lock();
        let orders = db.all("sale.order");
        assert_eq!(orders.len(), 1, "{orders:?}");
        let so = &orders[0];
        assert_eq!(so["state"], "sale");
        assert_eq!(so["partner_id"], json!(acme));
        assert_eq!(so["client_order_ref"], "PO-DEMO-0001");
        assert_eq!(so["commitment_date"], "2026-03-10 00:00:00");
        assert_eq!(db.all("stock.picking").len(), 1);
        so["id"].as_i64().unwrap()
    };
    let id = check();
    let today = chrono::Local::now().date_naive().to_string();
    let winter = ("2026-11-01".to_string()..="2027-01-31".to_string()).contains(&today);
    let units = fake.lock().all("uom.uom")[0]["id"].as_i64().unwrap();
    assert_eq!(
        lines(&fake, id, "product_uom"),
        vec![
            (products[0], 24.0, 4.2, 14.5, units),
            (
                products[1],
                12.0,
                14.5,
                if winter { 15.0 } else { 0.0 },
                units
            )
        ]
    );

    let writes = |db: &fake_odoo::Db| {
        db.calls
            .iter()
            .filter(|(_, m)| m != "search" && m != "search_read")
            .count()
    };
    let before = writes(&fake.lock());
    let o = comptoir(&["messages", "replay", "1", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("delivered"), "{}", text(&o));
    assert_eq!(check(), id);
    assert_eq!(writes(&fake.lock()), before);

    // The way back: the running daemon's export schedule reads the
    // confirmed order and sends the partner an ORDRSP, once.
    let ordrsps = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(d.join("to-acme"))
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("ordrsp-"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut daemon = std::process::Command::new(BIN)
        .args(["run", "--config", c])
        .env("RUST_LOG", "warn")
        .env("COMPTOIR_E2E_ODOO_KEY", PASSWORD)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while ordrsps().is_empty() && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Two more schedule ticks: still one ORDRSP.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let files = ordrsps();
    assert_eq!(files.len(), 1, "{files:?}");
    let edi = String::from_utf8_lossy(&std::fs::read(&files[0]).unwrap()).into_owned();
    let so_name = fake.lock().get("sale.order", id).unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(edi.contains(&format!("BGM+231+{so_name}+9+AP'")), "{edi}");
    assert!(edi.contains("RFF+ON:PO-DEMO-0001'"), "{edi}");
    assert!(
        edi.contains("UNB+UNOC:3+5400000000001:14+5412345000013:14+"),
        "{edi}"
    );
    // On demand it has nothing more to send; the journal lists what went.
    let o = comptoir(&["export", "run", "--config", c]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 sent, 0 not sent, 1 sent before"),
        "{}",
        text(&o)
    );
    let o = comptoir(&["export", "list", "--config", c]);
    assert!(text(&o).contains("ordrsp"), "{}", text(&o));
    assert!(text(&o).contains(" sent "), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&d);
}
