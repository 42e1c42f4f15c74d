//! Alert rules over a journal, delivered to a local webhook server and to a
//! tiny fake SMTP server, both run by the test on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use comptoir::alerts::Evaluator;
use comptoir::config::Config;
use comptoir::journal::{now_ms, Incoming, Journal, State, Update};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Accepts HTTP requests and records their bodies.
async fn webhook_server(seen: Arc<Mutex<Vec<String>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut r = BufReader::new(s);
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).await.unwrap();
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let _ = r
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    format!("http://{addr}/hook")
}

/// A fake SMTP server: records the commands and the DATA of each session.
async fn smtp_server(seen: Arc<Mutex<Vec<String>>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut r = BufReader::new(s);
                let mut log = String::new();
                let _ = r.get_mut().write_all(b"220 fake.smtp ESMTP\r\n").await;
                let mut in_data = false;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    log.push_str(&line);
                    let reply: &[u8] = if in_data {
                        if line == ".\r\n" {
                            in_data = false;
                            b"250 queued\r\n"
                        } else {
                            continue;
                        }
                    } else if line.starts_with("HELO") {
                        b"250-fake.smtp\r\n250 HELP\r\n"
                    } else if line.starts_with("MAIL") || line.starts_with("RCPT") {
                        b"250 ok\r\n"
                    } else if line.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if line.starts_with("QUIT") {
                        let _ = r.get_mut().write_all(b"221 bye\r\n").await;
                        break;
                    } else {
                        b"500 what\r\n"
                    };
                    let _ = r.get_mut().write_all(reply).await;
                }
                seen.lock().unwrap().push(log);
            });
        }
    });
    addr.to_string()
}

async fn message(j: &Journal, partner: &str, state: State, n: u32) -> i64 {
    let r = j
        .receive(vec![Incoming {
            source: "inbox".into(),
            source_ref: Some(format!("{partner}-{n}.edi")),
            partner: Some(partner.into()),
            raw: format!("{partner} {n} {state}").into_bytes(),
        }])
        .await
        .unwrap();
    let mut u = Update::new(r[0].id, state, 1);
    u.partner = Some(partner.into());
    u.error = Some(format!("{state} for the test"));
    j.apply(&[u]).await.unwrap();
    r[0].id
}

#[tokio::test]
async fn rules_fire_once_to_webhook_and_smtp() {
    let dir = std::env::temp_dir().join(format!("comptoir-alerts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let j = Journal::open(&format!("sqlite://{}/j.db", dir.display()), 1, None)
        .await
        .unwrap();
    let hooks = Arc::new(Mutex::new(Vec::new()));
    let mails = Arc::new(Mutex::new(Vec::new()));
    let hook = webhook_server(Arc::clone(&hooks)).await;
    let smtp = smtp_server(Arc::clone(&mails)).await;
    let cfg = Config::parse(&format!(
        r#"
[[partner]]
id = "acme"
[[partner]]
id = "quiet"
[alerts]
interval_secs = 1
webhooks = ["{hook}"]
[alerts.smtp]
server = "{smtp}"
from = "comptoir@example.test"
to = ["ops@example.test", "oncall@example.test"]
[[alerts.rule]]
name = "acme-errors"
type = "error_rate"
partner = "acme"
threshold = 0.3
window_minutes = 15
min_messages = 3
[[alerts.rule]]
name = "held"
type = "held_too_long"
minutes = 0
[[alerts.rule]]
name = "quiet-file"
type = "missing_file"
partner = "quiet"
by = "00:00"
[[alerts.rule]]
name = "dead"
type = "dead_letter"
"#
    ))
    .unwrap();
    assert!(cfg.validate(std::path::Path::new("t.toml")).is_empty());

    message(&j, "acme", State::Delivered, 1).await;
    message(&j, "acme", State::Rejected, 2).await;
    message(&j, "acme", State::Rejected, 3).await;
    let held = message(&j, "other", State::Held, 4).await;
    let dead = message(&j, "other", State::Dead, 5).await;
    tokio::time::sleep(Duration::from_millis(5)).await;

    let mut ev = Evaluator::new(cfg.alerts.clone(), j.clone());
    let sent = ev.tick(now_ms()).await.unwrap();
    let kinds: Vec<&str> = sent.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        ["error_rate", "held_too_long", "missing_file", "dead_letter"],
        "{sent:#?}"
    );
    assert_eq!(sent[1].message_id, Some(held));
    assert_eq!(sent[3].message_id, Some(dead));
    assert!(sent[0].summary.contains("2 of 3"), "{}", sent[0].summary);

    // Same conditions: nothing new is sent.
    assert!(ev.tick(now_ms()).await.unwrap().is_empty());

    // Delivered: one webhook call with the 4 alerts, one mail to both.
    for _ in 0..100 {
        if !hooks.lock().unwrap().is_empty() && !mails.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let v: serde_json::Value = serde_json::from_str(&hooks[0]).unwrap();
    assert_eq!(v["alerts"].as_array().unwrap().len(), 4);
    assert_eq!(v["alerts"][3]["kind"], "dead_letter");
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let m = &mails[0];
    assert!(m.contains("MAIL FROM:<comptoir@example.test>"), "{m}");
    assert!(
        m.contains("RCPT TO:<ops@example.test>") && m.contains("RCPT TO:<oncall@example.test>"),
        "{m}"
    );
    assert!(m.contains("Subject: [comptoir] 4 alerts"), "{m}");
    assert!(
        m.contains(&format!("message {dead} (other) is a dead letter")),
        "{m}"
    );
    assert!(m.contains("QUIT"), "{m}");

    // Once resolved, the held alert clears; held again later, it fires again.
    j.resolve(held, "handled", "test").await.unwrap();
    assert!(ev.tick(now_ms()).await.unwrap().is_empty());
    let again = message(&j, "other", State::Held, 6).await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let sent = ev.tick(now_ms()).await.unwrap();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].message_id, Some(again));
}

#[tokio::test]
async fn smtp_refusal_is_an_error_not_a_panic() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        if let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(b"554 go away\r\n").await;
        }
    });
    let cfg = comptoir::config::SmtpConfig {
        server: addr,
        from: "a@b.test".into(),
        to: vec!["c@d.test".into()],
        helo: "t".into(),
    };
    let e = comptoir::alerts::smtp::send(&cfg, "s", "b")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("554 go away"), "{e}");
}
