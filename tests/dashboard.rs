//! The web dashboard in real headless Chromium (Debian's `chromium`): a
//! running daemon with one delivered, one rejected (located error) and one
//! held message; the flows page and a message page are loaded with a token
//! in the URL fragment, their DOM dumped (`--dump-dom`) and checked, and
//! screenshots kept under `target/dashboard-screenshots/`.
//!
//! Without `/usr/bin/chromium` the test prints a SKIPPED notice, unless
//! `COMPTOIR_REQUIRE_SERVICES` is set, where it fails.

mod admin_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use admin_common::*;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() {
        panic!(
            "{CHROMIUM} is missing and COMPTOIR_REQUIRE_SERVICES is set (apt-get install chromium)"
        );
    }
    eprintln!(
        "\n*** SKIPPED: dashboard test: {CHROMIUM} is missing (apt-get install chromium) ***\n"
    );
    false
}

/// Runs headless Chromium with `extra` arguments on `url`; returns stdout.
fn chromium(dir: &Path, extra: &[&str], url: &str) -> String {
    // A fresh profile each time: no session restored from the previous run.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let profile = dir.join(format!("chromium-profile-{n}"));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--virtual-time-budget=10000",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

fn screenshots() -> PathBuf {
    let d = Path::new(ROOT).join("target/dashboard-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn dashboard_in_headless_chromium() {
    if !chromium_available() {
        return;
    }
    let d = workdir("dashboard");
    let port = free_port();
    let cfg = config(&d, port, "");
    seed(&d);
    run_once(&cfg);
    // Two exports to partners: one sent, one dead after a failed send.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let j = comptoir::journal::Journal::open(
            &format!("sqlite://{}/var/comptoir.db", d.display()),
            1,
            None,
        )
        .await
        .unwrap();
        for (key, number, result) in [
            ("ordrsp:sale.order:7", "S00007", Ok(())),
            (
                "invoice:account.move:9",
                "INV/2026/00009",
                Err("sftp: connection refused"),
            ),
        ] {
            let kind = key.split(':').next().unwrap();
            let row = j
                .export_begin("odoo-out", key, "acme", kind, number)
                .await
                .unwrap();
            j.export_store(row.id, &format!("{kind}-{}.edi", row.id), b"UNA:+.? '")
                .await
                .unwrap();
            j.export_outcome(row.id, result, 1).await.unwrap();
        }
        j.close().await;
    });
    let daemon = start(&cfg, port, &[]);
    let profile = d.clone();
    let shots = screenshots();

    // Flows page.
    let url = format!("{}/#/&token={READ_TOKEN}", daemon.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(
        dom.contains("data-ready=\"1\""),
        "page never loaded its data:\n{dom}"
    );
    assert!(dom.contains("data-partner=\"acme\""), "{dom}");
    assert!(dom.contains("data-partner=\"noterms\""), "{dom}");
    assert!(dom.contains("ACME Hypermarchés (acme)"), "{dom}");
    assert!(dom.contains("<svg class=\"spark\""), "no sparkline: {dom}");
    assert!(dom.contains("id=\"queue-errors\""), "{dom}");
    assert!(dom.contains("class=\"replay\""), "no replay button: {dom}");
    assert!(dom.contains("PO-HELD-0003"), "held queue: {dom}");
    assert!(
        !dom.contains("https://") && !dom.contains("http://cdn"),
        "external resource: {dom}"
    );
    chromium(
        &profile,
        &[&format!(
            "--screenshot={}",
            shots.join("flows.png").display()
        )],
        &url,
    );

    // The rejected message: raw content with its error highlighted.
    let url = format!("{}/#/message/2&token={READ_TOKEN}", daemon.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(dom.contains("data-ready=\"1\""), "{dom}");
    assert!(
        dom.contains("<mark class=\"err\""),
        "no highlighted error: {dom}"
    );
    let mark = &dom[dom.find("<mark class=\"err\"").unwrap()..];
    let mark = &mark[..mark.find("</mark>").unwrap()];
    assert!(mark.contains("QTY+21:2X4:PCE"), "{mark}");
    assert!(dom.contains("class=\"replay\""), "{dom}");
    assert!(dom.contains("state-rejected"), "{dom}");
    chromium(
        &profile,
        &[&format!(
            "--screenshot={}",
            shots.join("message-rejected.png").display()
        )],
        &url,
    );

    // The delivered message: pricing explanation and canonical JSON.
    let url = format!("{}/#/message/1&token={READ_TOKEN}", daemon.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(dom.contains("Why this price"), "{dom}");
    assert!(dom.contains("PO-DEMO-0001"), "{dom}");
    chromium(
        &profile,
        &[&format!(
            "--screenshot={}",
            shots.join("message-delivered.png").display()
        )],
        &url,
    );

    // The whole page, pricing explanation included.
    chromium(
        &profile,
        &[
            "--window-size=1280,2200",
            &format!(
                "--screenshot={}",
                shots.join("message-delivered-full.png").display()
            ),
        ],
        &url,
    );

    // Exports to partners, the dead one with its error and a retry button.
    let url = format!("{}/#/exports&token={READ_TOKEN}", daemon.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(dom.contains("data-ready=\"1\""), "{dom}");
    assert!(dom.contains("id=\"exports\""), "{dom}");
    assert!(
        dom.contains("S00007") && dom.contains("INV/2026/00009"),
        "{dom}"
    );
    assert!(
        dom.contains("state-sent") && dom.contains("state-dead"),
        "{dom}"
    );
    assert!(dom.contains("sftp: connection refused"), "{dom}");
    assert!(dom.contains("class=\"retry\""), "no retry button: {dom}");
    chromium(
        &profile,
        &[&format!(
            "--screenshot={}",
            shots.join("exports.png").display()
        )],
        &url,
    );

    // A bad token shows the sign-in form.
    let url = format!("{}/#/&token=wrong", daemon.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(dom.contains("id=\"signin-form\""), "{dom}");

    for f in [
        "flows.png",
        "message-rejected.png",
        "message-delivered.png",
        "exports.png",
    ] {
        let len = std::fs::metadata(shots.join(f))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{f}: {len} bytes");
    }
}
