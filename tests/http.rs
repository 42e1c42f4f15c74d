//! HTTP source: `POST /api/inbound/{partner}` answers 202 with the message
//! id only once the journal has committed it, 200 with the original id for
//! a duplicate, and JSON errors for empty, oversized or misaddressed bodies
//! and for a journal that fails (nothing stored, 503).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use comptoir::config::HttpSource;
use comptoir::journal::{Journal, State};
use comptoir::sources::HttpSourceTask;
use tokio::sync::watch;

/// Sends one request, returns (status, body).
fn post(addr: &str, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\
         Content-Type: application/EDIFACT\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading all of a large body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("")
        .trim();
    let json = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

async fn start(journal: Journal) -> (String, watch::Sender<bool>, tokio::task::JoinHandle<u64>) {
    let addr = free_addr();
    let task = HttpSourceTask {
        name: "api".into(),
        config: HttpSource {
            listen: addr.clone(),
            max_body_bytes: 1000,
        },
        partners: vec!["acme".into()],
        journal,
    };
    let (tx, rx) = watch::channel(false);
    let h = tokio::spawn(async move { task.run(rx, false).await });
    for _ in 0..100 {
        if TcpStream::connect(&addr).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (addr, tx, h)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_answers_after_commit_and_recognises_duplicates() {
    let dir = std::env::temp_dir().join(format!("comptoir-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let j = Journal::open(&format!("sqlite://{}/j.db", dir.display()), 1, None)
        .await
        .unwrap();
    let (addr, tx, h) = start(j.clone()).await;
    let a = addr.clone();
    let (status, body) = blocking(move || post(&a, "/api/inbound/acme", b"UNB+first'")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    // Committed before the answer.
    let m = j.get(id).await.unwrap();
    assert_eq!(m.raw, b"UNB+first'");
    assert_eq!(m.partner.as_deref(), Some("acme"));
    assert_eq!(m.source, "api");
    assert_eq!(m.state, State::Received);

    let a = addr.clone();
    let (status, body) = blocking(move || post(&a, "/api/inbound/acme", b"UNB+first'")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"].as_i64(), Some(id));
    assert_eq!(body["duplicate"], true);

    let a = addr.clone();
    let (status, body) = blocking(move || post(&a, "/api/inbound/acme", b"")).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("empty"), "{body}");

    let a = addr.clone();
    let (status, body) = blocking(move || post(&a, "/api/inbound/acme", &[b'x'; 5000])).await;
    assert_eq!(status, 413);
    assert!(
        body["error"].as_str().unwrap().contains("max_body_bytes"),
        "{body}"
    );

    let a = addr.clone();
    let (status, body) = blocking(move || post(&a, "/api/inbound/nobody", b"x")).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("nobody"), "{body}");

    tx.send(true).unwrap();
    assert_eq!(h.await.unwrap(), 2);
    assert_eq!(j.list(None, 10).await.unwrap().len(), 2);

    // A journal that fails: 503, nothing acknowledged.
    j.close().await;
    let (addr, tx, h) = start(j.clone()).await;
    let (status, body) = blocking(move || post(&addr, "/api/inbound/acme", b"UNB+second'")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
    tx.send(true).unwrap();
    assert_eq!(h.await.unwrap(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
