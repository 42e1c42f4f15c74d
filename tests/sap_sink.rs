//! SAP sink against a fake S/4HANA OData service that enforces the CSRF
//! protocol (403 `X-CSRF-Token: Required` without a token, with a stale one
//! or without the session cookie) and accepts basic authentication or OAuth2
//! bearer tokens from its own token endpoint (client credentials checked,
//! expired, unknown or revoked tokens answered 401), plus IDoc files:
//! contract of the deep insert payload, idempotency by
//! `PurchaseOrderByCustomer`, stale-token refetch, unknown material as a
//! permanent error, the exact OAuth2 token request, token caching, expiry
//! and refetch after a 401, wrong client secret as a permanent error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
    /// OAuth2 token requests received: (headers, body).
    token_requests: Vec<(HeaderMap, String)>,
    /// Bearer tokens issued and when they expire.
    bearers: HashMap<String, Instant>,
    /// `expires_in` of the tokens issued next.
    expires_in: u64,
    /// OData requests answered 401.
    unauthorized: u32,
}

type S = Arc<Mutex<Sap>>;
const AUTH: &str = "Basic ZWRpOnNhcC1wdw=="; // edi:sap-pw
/// OAuth2 client id and secret; both need form-encoding (RFC 6749 §2.3.1).
const CLIENT_ID: &str = "sb-edi!t1|client";
const CLIENT_SECRET: &str = "s3cr&t:x";
/// `Basic base64("sb-edi%21t1%7Cclient:s3cr%26t%3Ax")`.
const CLIENT_AUTH: &str = "Basic c2ItZWRpJTIxdDElN0NjbGllbnQ6czNjciUyNnQlM0F4";

/// True when the request carries the basic credentials or a live bearer
/// token; counts the refusals.
fn authorized(st: &mut Sap, h: &HeaderMap) -> bool {
    let a = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let ok = a == AUTH
        || a.strip_prefix("Bearer ")
            .and_then(|t| st.bearers.get(t))
            .is_some_and(|exp| Instant::now() < *exp);
    if !ok {
        st.unauthorized += 1;
    }
    ok
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

/// The token endpoint: client credentials grant, client authenticated by
/// HTTP basic.
async fn token(State(s): State<S>, h: HeaderMap, body: String) -> Response {
    let mut st = s.lock().unwrap();
    st.token_requests.push((h.clone(), body.clone()));
    if h.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
        || !body
            .split('&')
            .any(|p| p == "grant_type=client_credentials")
    {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "");
    }
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some(CLIENT_AUTH) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let t = format!("at-{}", st.token_requests.len());
    let expires_in = st.expires_in;
    st.bearers
        .insert(t.clone(), Instant::now() + Duration::from_secs(expires_in));
    (
        [("content-type", "application/json")],
        json!({"access_token": t, "token_type": "bearer", "expires_in": expires_in, "scope": "API_SALES_ORDER_SRV_0001"})
            .to_string(),
    )
        .into_response()
}

async fn list(State(s): State<S>, h: HeaderMap, uri: Uri) -> Response {
    let mut st = s.lock().unwrap();
    if !authorized(&mut st, &h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
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
    if !authorized(&mut st, &h) {
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
    let s: S = Arc::new(Mutex::new(Sap {
        expires_in: 3600,
        ..Sap::default()
    }));
    let app = Router::new()
        .route(
            "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
            get(list).post(create),
        )
        .route("/oauth/token", post(token))
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

fn payload(d: &Document) -> Payload<'static> {
    Payload {
        message_id: 3,
        partner: None,
        canonical_json: serde_json::to_string(&[d]).unwrap().into(),
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

/// An OData sink authenticating with OAuth2 client credentials; the secret
/// is read from `secret_env`.
fn oauth_sink(url: &str, secret_env: &str) -> SapSink {
    let token_url = url.replace("/sap/opu/odata/sap/API_SALES_ORDER_SRV", "/oauth/token");
    sink(&format!(
        r#"
mode = "odata"
url = "{url}"
sales_organization = "1010"
distribution_channel = "10"
organization_division = "00"
customers = {{ "5412345000013" = "17100001" }}
materials = {{ "5410738000152" = "TG11", "CAF-GRA-1K" = "TG12" }}
[sink.oauth2]
token_url = "{token_url}"
client_id = "{CLIENT_ID}"
client_secret_env = "{secret_env}"
scope = "API_SALES_ORDER_SRV_0001"
"#
    ))
}

#[test]
fn oauth2_token_request_contract_and_bearer_with_csrf() {
    let (url, s) = start();
    std::env::set_var("COMPTOIR_TEST_SAP_SECRET_CONTRACT", CLIENT_SECRET);
    let sap = oauth_sink(&url, "COMPTOIR_TEST_SAP_SECRET_CONTRACT");
    assert_eq!(sap.deliver(&payload(&order("PO-O1"))).unwrap(), ["1000"]);
    let st = s.lock().unwrap();
    assert_eq!(st.token_requests.len(), 1);
    let (h, body) = &st.token_requests[0];
    // The exact request: RFC 6749 §4.4.2 body, §2.3.1 client authentication
    // (id and secret form-encoded, then HTTP basic).
    assert_eq!(
        body,
        "grant_type=client_credentials&scope=API_SALES_ORDER_SRV_0001"
    );
    assert_eq!(h["authorization"], CLIENT_AUTH);
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(h["accept"], "application/json");
    assert!(h.get("x-csrf-token").is_none() && h.get("cookie").is_none());
    // The OData calls carry the bearer token, and CSRF and session cookies
    // still work with it.
    let (h, _) = &st.posts[0];
    assert_eq!(h["authorization"], "Bearer at-1");
    assert_eq!(h["x-csrf-token"], "tok-1");
    assert_eq!(
        h["cookie"],
        "SAP_SESSIONID_S4H_100=sess-1; sap-usercontext=sap-client=100"
    );
    assert_eq!((st.unauthorized, st.refused), (0, 0));
}

#[test]
fn oauth2_token_is_cached_renewed_before_expiry_and_after_a_401() {
    let (url, s) = start();
    std::env::set_var("COMPTOIR_TEST_SAP_SECRET_CACHE", CLIENT_SECRET);
    let sap = oauth_sink(&url, "COMPTOIR_TEST_SAP_SECRET_CACHE");
    s.lock().unwrap().expires_in = 2;
    // Several orders, one token.
    for po in ["PO-C1", "PO-C2", "PO-C3"] {
        sap.deliver(&payload(&order(po))).unwrap();
    }
    assert_eq!(s.lock().unwrap().token_requests.len(), 1);
    assert_eq!(s.lock().unwrap().orders.len(), 3);
    // Past its expiry the token is renewed before use: no 401 seen.
    std::thread::sleep(Duration::from_millis(2_100));
    s.lock().unwrap().expires_in = 3600;
    sap.deliver(&payload(&order("PO-C4"))).unwrap();
    {
        let st = s.lock().unwrap();
        assert_eq!((st.token_requests.len(), st.unauthorized), (2, 0));
        assert_eq!(st.posts.last().unwrap().0["authorization"], "Bearer at-2");
    }
    // The server forgets its tokens (revoked, restarted): the 401 drops the
    // cached token and the order goes through with a new one.
    s.lock().unwrap().bearers.clear();
    assert_eq!(sap.deliver(&payload(&order("PO-C5"))).unwrap(), ["1004"]);
    {
        let st = s.lock().unwrap();
        assert_eq!((st.token_requests.len(), st.unauthorized), (3, 1));
        assert_eq!(st.posts.last().unwrap().0["authorization"], "Bearer at-3");
        assert_eq!(st.orders.len(), 5);
    }
    // A fresh token refused as well: permanent, only one refetch.
    s.lock().unwrap().expires_in = 0;
    s.lock().unwrap().bearers.clear();
    match sap.deliver(&payload(&order("PO-C6"))) {
        Err(SinkError::Permanent(m)) => {
            assert!(
                m.contains("401") && m.contains("newly fetched OAuth2 token"),
                "{m}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.lock().unwrap().token_requests.len(), 4);
}

#[test]
fn oauth2_wrong_client_secret_is_a_permanent_error() {
    let (url, s) = start();
    std::env::set_var("COMPTOIR_TEST_SAP_SECRET_WRONG", "wrong");
    let sap = oauth_sink(&url, "COMPTOIR_TEST_SAP_SECRET_WRONG");
    match sap.deliver(&payload(&order("PO-W1"))) {
        Err(SinkError::Permanent(m)) => {
            assert!(m.contains("OAuth2 token request"), "{m}");
            assert!(m.contains("HTTP 401"), "{m}");
            assert!(m.contains("invalid_client: Bad client credentials"), "{m}");
            assert!(m.contains("COMPTOIR_TEST_SAP_SECRET_WRONG"), "{m}");
            assert!(!m.contains("wrong"), "the secret must not be shown: {m}");
        }
        other => panic!("{other:?}"),
    }
    let st = s.lock().unwrap();
    assert_eq!(
        st.token_requests[0].0["authorization"],
        "Basic c2ItZWRpJTIxdDElN0NjbGllbnQ6d3Jvbmc="
    );
    // No OData call was made without a token.
    assert!(st.posts.is_empty() && st.unauthorized == 0);
    drop(st);
    // An unset secret variable is permanent too, without a request.
    let sap = oauth_sink(&url, "COMPTOIR_TEST_SAP_SECRET_UNSET");
    match sap.deliver(&payload(&order("PO-W2"))) {
        Err(SinkError::Permanent(m)) => {
            assert!(m.contains("COMPTOIR_TEST_SAP_SECRET_UNSET"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.lock().unwrap().token_requests.len(), 1);
}
