//! Webhook sink against a local server: signed body, headers, status
//! classification (5xx retryable, 4xx permanent), and retries through the
//! daemon's retry policy are covered by the classification.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use comptoir::config::{Config, SinkKind};
use comptoir::sinks::webhook::{signature, WebhookSink};
use comptoir::sinks::{Payload, SinkError};

type Seen = Arc<Mutex<(Vec<(HeaderMap, String)>, Vec<u16>)>>;

fn start() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |h: HeaderMap, body: String| {
            let s = s2.clone();
            async move {
                let mut g = s.lock().unwrap();
                g.0.push((h, body));
                let code = if g.1.is_empty() { 200 } else { g.1.remove(0) };
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
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
    (url, seen)
}

fn sink(url: &str) -> WebhookSink {
    std::env::set_var("COMPTOIR_TEST_HOOK_KEY", "k3y");
    let cfg = Config::parse(&format!(
        "[[sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"COMPTOIR_TEST_HOOK_KEY\"\n"
    ))
    .unwrap();
    match &cfg.sinks[0].kind {
        SinkKind::Webhook(w) => WebhookSink::new(w),
        other => panic!("{other:?}"),
    }
}

fn payload() -> Payload<'static> {
    Payload {
        message_id: 42,
        partner: Some("acme".into()),
        canonical_json: r#"[{"number":"PO-1"}]"#.into(),
        priced_json: Some(r#"[{"document":{"number":"PO-1"},"status":"ok"}]"#.into()),
    }
}

#[test]
fn posts_signed_json_and_classifies_statuses() {
    let (url, seen) = start();
    let hook = sink(&url);
    hook.deliver(&payload()).unwrap();
    {
        let g = seen.lock().unwrap();
        let (h, body) = &g.0[0];
        assert_eq!(body, r#"[{"document":{"number":"PO-1"},"status":"ok"}]"#);
        assert_eq!(
            h["x-comptoir-signature"],
            signature(b"k3y", body.as_bytes()).as_str()
        );
        assert_eq!(h["x-comptoir-message"], "42");
        assert_eq!(h["x-comptoir-partner"], "acme");
        assert_eq!(h["content-type"], "application/json");
    }
    seen.lock().unwrap().1 = vec![503, 429, 422];
    assert!(matches!(
        hook.deliver(&payload()),
        Err(SinkError::Transient(_))
    ));
    assert!(matches!(
        hook.deliver(&payload()),
        Err(SinkError::Transient(_))
    ));
    match hook.deliver(&payload()) {
        Err(SinkError::Permanent(m)) => assert!(m.contains("422"), "{m}"),
        other => panic!("{other:?}"),
    }
    hook.deliver(&payload()).unwrap();
    assert_eq!(seen.lock().unwrap().0.len(), 5);
}

#[test]
fn unreachable_endpoint_is_retryable() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    drop(l);
    assert!(matches!(
        sink(&url).deliver(&payload()),
        Err(SinkError::Transient(_))
    ));
}
