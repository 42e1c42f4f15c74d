//! SAP sink against a fake S/4HANA OData service that enforces the CSRF
//! protocol (403 `X-CSRF-Token: Required` without a token, with a stale one
//! or without the session cookie), plus IDoc files: contract of the deep
//! insert payload, idempotency by `PurchaseOrderByCustomer`, stale-token
//! refetch, unknown material as a permanent error.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use comptoir::config::{Config, SinkKind};
use comptoir::model::Document;
use comptoir::sinks::sap::SapSink;
use comptoir::sinks::{Payload, SinkError};
use serde_json::{json, Value};

#[derive(Default)]
struct Sap {
    token: Option<String>,
    session: u32,
    orders: Vec<Value>,
    posts: Vec<(HeaderMap, String)>,
    refused: u32,
    /// The next fetched token is stale by the time it is used.
    stale_next: bool,
}

type S = Arc<Mutex<Sap>>;
const AUTH: &str = "Basic ZWRpOnNhcC1wdw=="; // edi:sap-pw

async fn list(State(s): State<S>, h: HeaderMap, uri: Uri) -> Response {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let mut st = s.lock().unwrap();
    let query = uri.query().unwrap_or_default().replace("%27", "'");
    let po = query.split('\'').nth(1).unwrap_or_default().to_string();
    let results: Vec<Value> = st
        .orders
        .iter()
        .filter(|o| o["PurchaseOrderByCustomer"] == po.as_str())
        .map(|o| json!({"SalesOrder": o["SalesOrder"]}))
        .collect();
    let mut resp = (
        [("content-type", "application/json")],
        json!({"d": {"results": results}}).to_string(),
    )
        .into_response();
    if h.get("x-csrf-token").and_then(|v| v.to_str().ok()) == Some("Fetch") {
        st.session += 1;
        let token = format!("tok-{}", st.session);
        st.token = Some(if st.stale_next {
            "rotated".to_string()
        } else {
            token.clone()
        });
        st.stale_next = false;
        resp.headers_mut()
            .insert("x-csrf-token", token.parse().unwrap());
        resp.headers_mut().append(
            "set-cookie",
            format!(
                "SAP_SESSIONID_S4H_100=sess-{}; path=/; HttpOnly",
                st.session
            )
            .parse()
            .unwrap(),
        );
        resp.headers_mut().append(
            "set-cookie",
            "sap-usercontext=sap-client=100; path=/".parse().unwrap(),
        );
    }
    resp
}

async fn create(State(s): State<S>, h: HeaderMap, body: String) -> Response {
    let mut st = s.lock().unwrap();
    st.posts.push((h.clone(), body.clone()));
    let token_ok = st.token.is_some()
        && h.get("x-csrf-token").and_then(|v| v.to_str().ok()) == st.token.as_deref();
    let cookie_ok = h
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains(&format!("SAP_SESSIONID_S4H_100=sess-{}", st.session)));
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(AUTH) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if !token_ok || !cookie_ok {
        st.refused += 1;
        return (
            StatusCode::FORBIDDEN,
            [("x-csrf-token", "Required")],
            "CSRF token validation failed",
        )
            .into_response();
    }
    let mut o: Value = serde_json::from_str(&body).unwrap();
    if o["to_Item"].as_array().is_none_or(|a| a.is_empty()) {
        return (
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":{"value":"no items"}}}"#,
        )
            .into_response();
    }
    let n = format!("{}", 1000 + st.orders.len());
    o["SalesOrder"] = json!(n);
    st.orders.push(o.clone());
    (
        StatusCode::CREATED,
        [("content-type", "application/json")],
        json!({"d": o}).to_string(),
    )
        .into_response()
}

fn start() -> (String, S) {
    let s: S = Arc::default();
    let app = Router::new()
        .route(
            "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
            get(list).post(create),
        )
        .with_state(s.clone());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!(
        "http://{}/sap/opu/odata/sap/API_SALES_ORDER_SRV",
        l.local_addr().unwrap()
    );
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).unwrap();
            let _ = axum::serve(l, app).await;
        });
    });
    (url, s)
}

fn sink(toml_body: &str) -> SapSink {
    std::env::set_var("COMPTOIR_TEST_SAP_PW", "sap-pw");
    let cfg = Config::parse(&format!(
        "[[sink]]\nname = \"sap\"\ntype = \"sap\"\n{toml_body}"
    ))
    .unwrap();
    match &cfg.sinks[0].kind {
        SinkKind::Sap(m) => SapSink::new(m),
        other => panic!("{other:?}"),
    }
}

fn odata_sink(url: &str) -> SapSink {
    sink(&format!(
        r#"
mode = "odata"
url = "{url}"
user = "edi"
password_env = "COMPTOIR_TEST_SAP_PW"
sales_organization = "1010"
distribution_channel = "10"
organization_division = "00"
customers = {{ "5412345000013" = "17100001" }}
materials = {{ "5410738000152" = "TG11", "CAF-GRA-1K" = "TG12" }}
units = {{ PCE = "PC" }}
"#
    ))
}

fn order(number: &str) -> Document {
    serde_json::from_value(json!({
        "document_type": "order", "number": number,
        "dates": [{"kind": "document", "value": "2026-03-01"}, {"kind": "requested_delivery", "value": "2026-03-10"}],
        "parties": [{"role": "buyer", "gln": "5412345000013"}, {"role": "supplier", "gln": "5400000000001"}],
        "lines": [
            {"line_number": "1", "gtin": "5410738000152", "quantity": {"value": "24", "unit": "PCE"}},
            {"line_number": "2", "gtin": "5410738000169", "seller_item_code": "CAF-GRA-1K", "buyer_item_code": "B-2", "quantity": {"value": "12.50", "unit": "PCE"}}],
        "origin": {"format": "edifact"}})).unwrap()
}

fn payload(d: &Document) -> Payload {
    Payload {
        message_id: 3,
        partner: None,
        canonical_json: serde_json::to_string(&[d]).unwrap(),
        priced_json: None,
    }
}

#[test]
fn odata_deep_insert_contract_csrf_and_idempotency() {
    let (url, s) = start();
    let sap = odata_sink(&url);
    assert_eq!(sap.deliver(&payload(&order("PO-1"))).unwrap(), ["1000"]);
    {
        let st = s.lock().unwrap();
        let (h, body) = &st.posts[0];
        assert_eq!(h["x-csrf-token"], "tok-1");
        assert_eq!(
            h["cookie"],
            "SAP_SESSIONID_S4H_100=sess-1; sap-usercontext=sap-client=100"
        );
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({
            "SalesOrderType": "OR", "SalesOrganization": "1010", "DistributionChannel": "10",
            "OrganizationDivision": "00", "SoldToParty": "17100001", "PurchaseOrderByCustomer": "PO-1",
            "CustomerPurchaseOrderDate": "/Date(1772323200000)/", "RequestedDeliveryDate": "/Date(1773100800000)/",
            "to_Item": [
                {"SalesOrderItem": "10", "Material": "TG11", "RequestedQuantity": "24", "RequestedQuantityUnit": "PC"},
                {"SalesOrderItem": "20", "Material": "TG12", "RequestedQuantity": "12.5", "RequestedQuantityUnit": "PC", "MaterialByCustomer": "B-2"}]})
        );
    }
    // Replay: found by PurchaseOrderByCustomer, nothing posted.
    assert_eq!(sap.deliver(&payload(&order("PO-1"))).unwrap(), ["1000"]);
    assert_eq!(s.lock().unwrap().posts.len(), 1);
}

#[test]
fn stale_token_is_fetched_again_and_unknown_material_is_permanent() {
    let (url, s) = start();
    let sap = odata_sink(&url);
    // A token that goes stale between the fetch and the POST (session
    // expired): the first POST is refused, the sink fetches a new token.
    s.lock().unwrap().stale_next = true;
    let r = sap.deliver(&payload(&order("PO-2")));
    assert_eq!(r.unwrap(), ["1000"]);
    let st = s.lock().unwrap();
    assert_eq!(st.orders.len(), 1);
    assert_eq!((st.refused, st.posts.len()), (1, 2));
    drop(st);

    let mut bad = order("PO-3");
    bad.lines[0].gtin = Some("0000000000000".into());
    match sap.deliver(&payload(&bad)) {
        Err(SinkError::Permanent(m)) => {
            assert!(m.contains("no SAP material for GTIN 0000000000000"), "{m}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn post_without_token_is_refused_by_the_fake() {
    let (url, _s) = start();
    // The fake enforces the protocol: a bare POST is 403 Required.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{url}/A_SalesOrder"))
            .header("authorization", AUTH)
            .body("{}")
            .send()
            .await
            .unwrap()
    });
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(resp.headers()["x-csrf-token"], "Required");
}

#[test]
fn idoc_files_are_written_per_order() {
    let dir = std::env::temp_dir().join(format!("comptoir-sap-idoc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sap = sink(&format!(
        "mode = \"idoc_file\"\npath = \"{}\"\n",
        dir.display()
    ));
    assert_eq!(sap.deliver(&payload(&order("PO-4"))).unwrap(), ["3-1.xml"]);
    let xml = std::fs::read_to_string(dir.join("3-1.xml")).unwrap();
    assert!(xml.contains("ORDERS05") && xml.contains("PO-4"), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}
