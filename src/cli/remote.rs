//! `comptoir messages … --url`: the messages commands through a running
//! daemon's admin API, with the same output as against the journal.

use std::time::Duration;

use serde_json::Value;

use super::messages::{time, MessagesCommand};
use super::{EXIT_ERROR, EXIT_INVALID};
use crate::admin::client::{request, HttpResponse};

/// Runs one request on a fresh current-thread runtime.
pub(crate) fn call(
    url: &str,
    method: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<HttpResponse, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(request(
        url,
        method,
        token,
        body.map(|b| ("application/json", b.as_bytes())),
        Duration::from_secs(30),
    ))
    .map_err(|e| e.to_string())
}

/// The JSON body of a 2xx answer, else the API's error message.
pub(crate) fn json_of(r: &HttpResponse) -> Result<Value, String> {
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|_| format!("HTTP {}: {}", r.status, r.text().trim()))?;
    if (200..300).contains(&r.status) {
        Ok(v)
    } else {
        Err(format!(
            "HTTP {}: {}",
            r.status,
            v["message"].as_str().unwrap_or("error")
        ))
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("-")
}

fn get(url: &str, token: Option<&str>, path: &str) -> Result<Value, String> {
    json_of(&call(&format!("{url}{path}"), "GET", token, None)?)
}

pub fn messages(url: &str, token: Option<&str>, cmd: MessagesCommand) -> i32 {
    let url = url.trim_end_matches('/');
    match run(url, token, cmd) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

fn run(url: &str, token: Option<&str>, cmd: MessagesCommand) -> Result<i32, String> {
    match cmd {
        MessagesCommand::List {
            state,
            limit,
            counts,
        } => {
            if counts {
                let v = get(url, token, "/api/overview")?;
                if let Some(m) = v["states"].as_object() {
                    for (k, n) in m {
                        println!("{k:<10} {n}");
                    }
                }
                return Ok(0);
            }
            let mut path = format!("/api/messages?limit={}", limit.clamp(1, 1000));
            if let Some(st) = state {
                path.push_str(&format!("&state={st}"));
            }
            let v = get(url, token, &path)?;
            println!(
                "{:>8}  {:<24}  {:<10}  {:<10}  {:<12}  {:<16}  ERROR",
                "ID", "RECEIVED", "STATE", "SOURCE", "PARTNER", "KEYS"
            );
            for m in v["messages"].as_array().into_iter().flatten() {
                let keys: Vec<&str> = m["business_keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let err: String = m["error"].as_str().unwrap_or("").chars().take(80).collect();
                println!(
                    "{:>8}  {:<24}  {:<10}  {:<10}  {:<12}  {:<16}  {}",
                    m["id"],
                    time(m["received_at"].as_i64().unwrap_or(0)),
                    s(m, "state"),
                    s(m, "source"),
                    s(m, "partner"),
                    if keys.is_empty() {
                        "-".to_string()
                    } else {
                        keys.join(",")
                    },
                    err
                );
            }
            Ok(0)
        }
        MessagesCommand::Show { id, raw, json } => {
            let m = get(url, token, &format!("/api/messages/{id}"))?;
            println!("id:              {}", m["id"]);
            println!("state:           {}", s(&m, "state"));
            println!(
                "received at:     {}",
                time(m["received_at"].as_i64().unwrap_or(0))
            );
            println!(
                "source:          {} {}",
                s(&m, "source"),
                m["source_ref"].as_str().unwrap_or("")
            );
            println!("partner:         {}", s(&m, "partner"));
            println!("format:          {}", s(&m, "format"));
            println!("document type:   {}", s(&m, "document_type"));
            let keys: Vec<&str> = m["business_keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            println!("business keys:   {}", keys.join(","));
            println!("sender:          {}", s(&m, "sender"));
            println!("interchange ref: {}", s(&m, "interchange_ref"));
            println!("content sha256:  {}", s(&m, "content_sha256"));
            println!("bytes:           {}", m["raw"]["bytes"]);
            println!("attempts:        {}", m["attempts"]);
            if let Some(e) = m["error"].as_str() {
                println!("error:           {e}");
            }
            for e in m["errors"].as_array().into_iter().flatten() {
                println!(
                    "located:         line {} byte {}: {}",
                    e["line"],
                    e["offset"],
                    s(e, "message")
                );
            }
            println!("history:");
            for e in m["events"].as_array().into_iter().flatten() {
                println!(
                    "  {}  {:<10} {}",
                    time(e["at"].as_i64().unwrap_or(0)),
                    s(e, "state"),
                    e["detail"].as_str().unwrap_or("")
                );
            }
            let deliveries = m["deliveries"].as_array().cloned().unwrap_or_default();
            if !deliveries.is_empty() {
                println!("deliveries:");
                for d in &deliveries {
                    println!(
                        "  {}  {:<12} attempt {}  {}  {}",
                        time(d["at"].as_i64().unwrap_or(0)),
                        s(d, "sink"),
                        d["attempt"],
                        s(d, "outcome"),
                        d["detail"].as_str().unwrap_or("")
                    );
                }
            }
            if json {
                println!("canonical: {}", m["canonical"]);
                println!("priced:    {}", m["priced"]);
            }
            if raw {
                let text: String = m["raw"]["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["text"].as_str())
                    .collect();
                println!("raw:\n{text}");
            }
            Ok(0)
        }
        MessagesCommand::Replay { id } => {
            let v = json_of(&call(
                &format!("{url}/api/messages/{id}/replay"),
                "POST",
                token,
                None,
            )?)?;
            let state = s(&v, "state");
            match v["error"].as_str() {
                Some(e) => println!("message {id}: {state} ({e})"),
                None => println!("message {id}: {state}"),
            }
            Ok(if state == "delivered" || v["queued"] == true {
                0
            } else {
                EXIT_INVALID
            })
        }
        MessagesCommand::Resolve { id, reason } => {
            let body = serde_json::json!({ "reason": reason }).to_string();
            let v = json_of(&call(
                &format!("{url}/api/messages/{id}/resolve"),
                "POST",
                token,
                Some(&body),
            )?)?;
            println!("message {id}: resolved (was {})", s(&v, "previous_state"));
            Ok(0)
        }
    }
}
