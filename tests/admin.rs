//! The admin server of a running daemon: probes, metrics, the JSON API
//! (filters, cursor pagination, message detail with the error located,
//! replay, resolve, partners), tokens (401/403, never echoed), and the
//! OpenAPI document against the router.

mod admin_common;

use admin_common::*;

#[test]
fn admin_api_end_to_end() {
    let d = workdir("api");
    let port = free_port();
    let cfg = config(&d, port, "");
    seed(&d);
    run_once(&cfg);
    // One export to a partner whose channel failed: given up (dead).
    let dead_export = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let j = comptoir::journal::Journal::open(
            &format!("sqlite://{}/var/comptoir.db", d.display()),
            1,
            None,
        )
        .await
        .unwrap();
        let row = j
            .export_begin(
                "odoo-out",
                "ordrsp:sale.order:7",
                "acme",
                "ordrsp",
                "S00007",
            )
            .await
            .unwrap();
        j.export_store(row.id, "ordrsp-S00007-1.edi", b"UNA:+.? '")
            .await
            .unwrap();
        j.export_outcome(row.id, Err("sftp: connection refused"), 1)
            .await
            .unwrap();
        j.close().await;
        row.id
    });
    let daemon = start(&cfg, port, &[]);
    let u = |p: &str| format!("{}{p}", daemon.url);

    // Probes and metrics need no token.
    let r = call("GET", &u("/healthz"), None, None);
    assert_eq!(r.status, 200);
    let r = call("GET", &u("/readyz"), None, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["components"]["journal"]["ok"], true);
    let r = call("GET", &u("/metrics"), None, None);
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain"),
        "{}",
        r.content_type
    );
    for s in [
        "comptoir_messages{partner=\"acme\",document_type=\"order\",state=\"delivered\"} 1",
        "state=\"rejected\"} 1",
        "comptoir_messages{partner=\"noterms\",document_type=\"order\",state=\"held\"} 1",
        "comptoir_dead_letters 0",
        "comptoir_oldest_unfinished_age_seconds 0",
        "comptoir_stage_duration_seconds_bucket{stage=\"process\",le=\"+Inf\"}",
        "comptoir_retries_total 0",
    ] {
        assert!(r.body.contains(s), "{s} missing from:\n{}", r.body);
    }

    // Tokens: none → 401, unknown → 401, read-only replay → 403.
    let r = call("GET", &u("/api/messages"), None, None);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "unauthorized");
    let r = call("GET", &u("/api/messages"), Some("nope"), None);
    assert_eq!(r.status, 401);
    let r = call("POST", &u("/api/messages/2/replay"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 403);
    assert!(!r.body.contains(READ_TOKEN));

    // Listing, filters.
    let r = call("GET", &u("/api/messages"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 3);
    assert!(v["next_cursor"].is_null());
    let ids: Vec<i64> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [3, 2, 1], "newest first");
    let r = call(
        "GET",
        &u("/api/messages?state=held"),
        Some(READ_TOKEN),
        None,
    );
    let v = r.json();
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_eq!(v["messages"][0]["partner"], "noterms");
    let r = call(
        "GET",
        &u("/api/messages?key=PO-DEMO-0001"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(r.json()["messages"][0]["id"], 1, "{}", r.body);
    let r = call(
        "GET",
        &u("/api/messages?interchange_ref=DEMO0003"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(r.json()["messages"][0]["id"], 3, "{}", r.body);
    let r = call(
        "GET",
        &u("/api/messages?q=PO-HELD-0003"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(r.json()["messages"][0]["id"], 3, "{}", r.body);
    let r = call(
        "GET",
        &u("/api/messages?partner=acme&document_type=order&from=0&to=2999-01-01T00:00:00Z"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(
        r.json()["messages"].as_array().unwrap().len(),
        1,
        "{}",
        r.body
    );
    let r = call(
        "GET",
        &u("/api/messages?state=nope"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "bad_request");

    // Cursor pagination: pages of one, no row twice, none missed.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("/api/messages?limit=1&cursor={c}"),
            None => "/api/messages?limit=1".to_string(),
        };
        let v = call("GET", &u(&q), Some(READ_TOKEN), None).json();
        for m in v["messages"].as_array().unwrap() {
            seen.push(m["id"].as_i64().unwrap());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, [3, 2, 1]);

    // Detail of the rejected message: error marked in the raw content.
    let r = call("GET", &u("/api/messages/2"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["state"], "rejected");
    let parts = v["raw"]["parts"].as_array().unwrap();
    let marked: Vec<&serde_json::Value> =
        parts.iter().filter(|p| p.get("error").is_some()).collect();
    assert!(!marked.is_empty(), "no error marked: {}", r.body);
    assert!(
        marked[0]["text"]
            .as_str()
            .unwrap()
            .contains("QTY+21:2X4:PCE"),
        "{:?}",
        marked[0]
    );
    let whole: String = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(whole.starts_with("UNA:+.? '"), "{whole}");
    assert!(v["events"].as_array().unwrap().len() >= 2);

    // Detail of the delivered message: canonical, priced, deliveries.
    let v = call("GET", &u("/api/messages/1"), Some(READ_TOKEN), None).json();
    assert_eq!(v["canonical"][0]["number"], "PO-DEMO-0001");
    assert!(v["priced"][0]["lines"][0]["trail"].is_array(), "{v}");
    assert_eq!(v["deliveries"][0]["outcome"], "ok");
    let r = call("GET", &u("/api/messages/999"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 404);
    let r = call("GET", &u("/api/messages/abc"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 400);

    // Partners.
    let v = call("GET", &u("/api/partners"), Some(READ_TOKEN), None).json();
    let ps = v["partners"].as_array().unwrap();
    let acme = ps.iter().find(|p| p["partner"] == "acme").unwrap();
    assert_eq!(acme["name"], "ACME Hypermarchés");
    assert_eq!(acme["total"], 2);
    assert_eq!(acme["errors"], 1);
    assert_eq!(acme["throughput_24h"].as_array().unwrap().len(), 24);
    assert_eq!(
        acme["throughput_24h"].as_array().unwrap()[23].as_i64(),
        Some(2)
    );

    // Resolve the held one (operator), with a reason recorded.
    let r = call(
        "POST",
        &u("/api/messages/3/resolve"),
        Some(OP_TOKEN),
        Some(r#"{"reason":"ordered by phone instead"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["previous_state"], "held");
    let v = call("GET", &u("/api/messages/3"), Some(READ_TOKEN), None).json();
    assert_eq!(v["state"], "resolved");
    let last = v["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["detail"], "resolved by ops: ordered by phone instead");
    let r = call(
        "POST",
        &u("/api/messages/3/resolve"),
        Some(OP_TOKEN),
        Some(r#"{"reason":"again"}"#),
    );
    assert_eq!(r.status, 409);
    let r = call(
        "POST",
        &u("/api/messages/2/resolve"),
        Some(OP_TOKEN),
        Some("{}"),
    );
    assert_eq!(r.status, 400);

    // Replay the delivered one: processed again at once.
    let r = call("POST", &u("/api/messages/1/replay"), Some(OP_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["state"], "delivered");

    // Exports to partners: listed with their error; an operator retries a
    // dead one, once.
    let r = call("GET", &u("/api/exports"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["items"][0]["id"], dead_export);
    assert_eq!(v["items"][0]["state"], "dead");
    assert_eq!(v["items"][0]["number"], "S00007");
    assert_eq!(v["items"][0]["error"], "sftp: connection refused");
    let retry = format!("/api/exports/{dead_export}/retry");
    let r = call("POST", &u(&retry), Some(READ_TOKEN), None);
    assert_eq!(r.status, 403);
    let r = call("POST", &u(&retry), Some(OP_TOKEN), None);
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call("POST", &u(&retry), Some(OP_TOKEN), None);
    assert_eq!(r.status, 409, "{}", r.body);
    let r = call(
        "GET",
        &u("/api/exports?state=pending"),
        Some(READ_TOKEN),
        None,
    );
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = call("GET", &u("/api/exports?state=lost"), Some(READ_TOKEN), None);
    assert_eq!(r.status, 400);

    // Secrets never in the logs.
    drop(daemon);
    let log = std::fs::read_to_string(d.join("daemon.log")).unwrap();
    assert!(
        !log.contains(READ_TOKEN) && !log.contains(OP_TOKEN),
        "{log}"
    );
    assert!(log.contains("admin server listening"), "{log}");
}

#[test]
fn openapi_document_matches_the_routes() {
    let doc: serde_json::Value =
        serde_json::from_str(comptoir::admin::OPENAPI).expect("docs/openapi.json is JSON");
    let on_disk = std::fs::read_to_string(format!("{ROOT}/docs/openapi.json")).unwrap();
    assert_eq!(on_disk, comptoir::admin::OPENAPI);
    assert_eq!(doc["openapi"].as_str().map(|s| &s[..2]), Some("3."));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = workdir("openapi");
    let state = rt.block_on(async {
        let j =
            comptoir::journal::Journal::open(&format!("sqlite://{}/j.db", d.display()), 1, None)
                .await
                .unwrap();
        comptoir::admin::AdminState::new(
            j,
            &[],
            None,
            Default::default(),
            tokio::sync::broadcast::channel(4).0,
        )
    });
    let (_, routes) = comptoir::admin::router(state);
    let mut served: Vec<(String, String)> = routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    served.sort();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, _) in ops.as_object().unwrap() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    assert_eq!(
        served, documented,
        "the router and docs/openapi.json disagree"
    );
}

fn cli(args: &[&str], token: &str) -> (i32, String) {
    let o = std::process::Command::new(BIN)
        .args(args)
        .env("COMPTOIR_TOKEN", token)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn cli_against_a_running_daemon_top_and_tap() {
    let d = workdir("cli");
    let port = free_port();
    let cfg = config(&d, port, "");
    seed(&d);
    run_once(&cfg);
    let daemon = start(&cfg, port, &[]);
    let url = daemon.url.clone();

    let (code, out) = cli(&["messages", "list", "--url", &url], READ_TOKEN);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("PO-HELD-0003") && out.contains("rejected"),
        "{out}"
    );
    let (code, out) = cli(&["messages", "show", "2", "--url", &url], READ_TOKEN);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("state:           rejected"), "{out}");
    assert!(out.contains("located:         line 14"), "{out}");
    let (code, out) = cli(
        &[
            "messages",
            "resolve",
            "3",
            "--reason",
            "duplicate order",
            "--url",
            &url,
        ],
        READ_TOKEN,
    );
    assert_eq!(code, 2, "read token cannot resolve: {out}");
    assert!(out.contains("HTTP 403"), "{out}");
    let (code, out) = cli(
        &[
            "messages",
            "resolve",
            "3",
            "--reason",
            "duplicate order",
            "--url",
            &url,
        ],
        OP_TOKEN,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("resolved (was held)"), "{out}");
    let (code, out) = cli(&["messages", "replay", "1", "--url", &url], OP_TOKEN);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("message 1: delivered"), "{out}");

    let (code, out) = cli(&["top", "--once", "--url", &url], READ_TOKEN);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PARTNER") && out.contains("BACKLOG"), "{out}");
    let acme = out
        .lines()
        .find(|l| l.starts_with("acme") && l.contains("order"))
        .unwrap();
    assert!(acme.split_whitespace().nth(2) == Some("1"), "{acme}");

    // Tap: one message dropped while tapping comes out as one JSON line.
    let tap = std::process::Command::new(BIN)
        .args(["tap", "--limit", "1", "--url", &url])
        .env("COMPTOIR_TOKEN", READ_TOKEN)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let again = demo()
        .replace("DEMO0001", "DEMO0042")
        .replace("PO-DEMO-0001", "PO-TAP-0042");
    write_latin1(&d.join("inbox/tap.edi"), &again);
    let out = tap.wait_with_output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["state"], "delivered", "{line}");
    assert_eq!(v["canonical"][0]["number"], "PO-TAP-0042", "{line}");

    // Without --url the journal is used: resolve there too.
    let (code, out) = cli(
        &[
            "messages",
            "resolve",
            "2",
            "--reason",
            "sent again by the partner",
            "--config",
            cfg.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn json_logs_carry_message_id_and_partner() {
    let d = workdir("logs");
    let port = free_port();
    let cfg = config(&d, port, "");
    seed(&d);
    let o = std::process::Command::new(BIN)
        .args([
            "run",
            "--once",
            "--log-format",
            "json",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .env("RUST_LOG", "comptoir=debug")
        .env("COMPTOIR_TEST_READ_TOKEN", READ_TOKEN)
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let processed: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "processed")
        .collect();
    assert_eq!(processed.len(), 3, "{err}");
    for l in &processed {
        assert!(l["fields"]["message_id"].is_i64(), "{l}");
        assert!(l["fields"]["partner"].is_string(), "{l}");
    }
    // Lines logged while a message is processed carry its span.
    let inside: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "message processed")
        .collect();
    assert_eq!(inside.len(), 3, "{err}");
    for l in inside {
        assert!(l["span"]["message_id"].is_i64(), "{l}");
        assert!(
            l["span"]["partner"] == "acme" || l["span"]["partner"] == "noterms",
            "{l}"
        );
    }
    assert!(!err.contains(READ_TOKEN) && !err.contains(OP_TOKEN));
}
