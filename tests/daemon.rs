//! End-to-end tests of the daemon binary: `comptoir run --once` on a
//! directory source with a SQLite journal and a file sink, `comptoir
//! messages`, `comptoir check`, and stop on SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_comptoir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("comptoir-daemon-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("inbox")).unwrap();
    d
}

fn config(dir: &Path, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[journal]
url = "sqlite://{d}/var/comptoir.db"
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
idle_poll_ms = 20
grace_period_secs = 5
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 20
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
[[partner]]
id = "noterms"
identifiers = ["5499999999999"]
[[route]]
name = "orders"
document_types = ["order"]
price = true
sinks = ["outbox"]
[[sink]]
name = "outbox"
type = "file"
path = "{d}/outbox"
fsync = false
[retry]
max_attempts = 2
base_delay_ms = 1
max_delay_ms = 1
jitter = 0.0
{extra}
"#,
        d = dir.display(),
        root = ROOT
    );
    let p = dir.join("comptoir.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn comptoir(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    out
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn demo() -> Vec<u8> {
    std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap()
}

fn run_once(cfg: &Path) {
    let o = comptoir(&["run", "--once", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

fn list(cfg: &Path) -> String {
    let o = comptoir(&["messages", "list", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

#[test]
fn demo_order_is_delivered_then_duplicate_then_replayed() {
    let d = workdir("demo");
    let cfg = config(&d, "");
    std::fs::write(d.join("inbox/a.edi"), demo()).unwrap();
    // Files still being written are left alone.
    std::fs::write(d.join("inbox/b.edi.part"), b"UNB+").unwrap();
    run_once(&cfg);
    assert!(d.join("outbox/1.json").exists());
    let priced = std::fs::read_to_string(d.join("outbox/1.priced.json")).unwrap();
    assert!(priced.contains("\"payable\":\"276.95\""), "{priced}");
    assert!(d.join("archive/1-a.edi").exists());
    assert!(d.join("inbox/b.edi.part").exists());

    // Same interchange again: recorded as a duplicate, not processed.
    std::fs::write(d.join("inbox/again.edi"), demo()).unwrap();
    run_once(&cfg);
    assert!(!d.join("outbox/2.json").exists());
    let l = list(&cfg);
    assert!(l.contains("duplicate"), "{l}");
    assert!(l.contains("PO-DEMO-0001"), "{l}");

    let o = comptoir(&["messages", "show", "2", "--config", cfg.to_str().unwrap()]);
    assert!(text(&o).contains("duplicate of:    1"), "{}", text(&o));
    let o = comptoir(&["messages", "show", "1", "--config", cfg.to_str().unwrap()]);
    let t = text(&o);
    for s in [
        "received",
        "parsed",
        "mapped",
        "priced",
        "delivered",
        "outbox",
    ] {
        assert!(t.contains(s), "{s}: {t}");
    }

    std::fs::remove_file(d.join("outbox/1.json")).unwrap();
    let o = comptoir(&["messages", "replay", "1", "--config", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(d.join("outbox/1.json").exists());
    let o = comptoir(&[
        "messages",
        "list",
        "--counts",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    let t = text(&o);
    assert!(
        t.contains("delivered  1") && t.contains("duplicate  1"),
        "{t}"
    );
}

#[test]
fn bad_input_is_rejected_and_kept_unpriced_is_held_failing_sink_is_dead() {
    let d = workdir("states");
    let cfg = config(&d, "");
    std::fs::write(
        d.join("inbox/1-bad.edi"),
        b"UNB+UNOC:3+X:14+Y:14+260301:0930+R1'UNH+1+ORDERS:D:96A:UN'BGM+220'",
    )
    .unwrap();
    let noterms = String::from_utf8(demo())
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        .replace("5412345000013:14", "5499999999999:14");
    std::fs::write(d.join("inbox/2-noterms.edi"), noterms).unwrap();
    run_once(&cfg);
    let o = comptoir(&[
        "messages",
        "show",
        "1",
        "--config",
        cfg.to_str().unwrap(),
        "--raw",
    ]);
    let t = text(&o);
    assert!(t.contains("state:           rejected"), "{t}");
    assert!(t.contains("error:"), "{t}");
    assert!(t.contains("BGM+220'"), "{t}");
    let o = comptoir(&["messages", "show", "2", "--config", cfg.to_str().unwrap()]);
    let t = text(&o);
    assert!(t.contains("state:           held"), "{t}");
    assert!(t.contains("no pricing_client"), "{t}");

    // A sink that cannot write: retried, then dead.
    std::fs::write(d.join("outbox"), b"not a directory").unwrap();
    std::fs::write(d.join("inbox/3-ok.edi"), demo()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        run_once(&cfg);
        let o = comptoir(&["messages", "show", "3", "--config", cfg.to_str().unwrap()]);
        let t = text(&o);
        if t.contains("state:           dead") {
            assert!(t.contains("attempts:        2"), "{t}");
            assert!(t.contains("attempt 1  error"), "{t}");
            break;
        }
        assert!(Instant::now() < deadline, "never dead: {t}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn check_reports_file_and_field() {
    let d = workdir("check");
    let cfg = config(&d, "[[route]]\nname = \"x\"\nsinks = [\"nowhere\"]\n");
    let o = comptoir(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("comptoir.toml: route[1].sinks: unknown sink \"nowhere\""),
        "{t}"
    );
    let good = config(&d, "");
    let o = comptoir(&["check", "--config", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn sigterm_stops_within_grace_and_sighup_reloads() {
    let d = workdir("signals");
    let cfg = config(&d, "");
    let child = Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(d.join("inbox/a.edi"), demo()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.join("outbox/1.json").exists() {
        assert!(Instant::now() < deadline, "not delivered");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(6));
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("SIGHUP: configuration, mappings and pricing reloaded"),
        "{log}"
    );
    assert!(log.contains("SIGTERM"), "{log}");
}

/// A journal that reads but cannot write an outcome (a full disk, say):
/// the batch is not processed, and delivered, again at every turn of the
/// loop. The only daemon on a SQLite journal claims without leases; it
/// keeps such messages out of its claims for `daemon.lease_secs`, as a
/// lease would, and they stay journaled, unfinished.
#[tokio::test]
async fn a_batch_whose_commit_fails_is_not_reprocessed_in_a_loop() {
    let d = workdir("commit-fails");
    let cfg = config(&d, "");
    let daemon = std::sync::Arc::new(comptoir::pipeline::Daemon::open(&cfg).await.unwrap());
    // Every outcome (a state change) fails; intake and claims still work.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}/var/comptoir.db", d.display()))
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER no_outcome BEFORE UPDATE OF state ON messages \
         WHEN NEW.state <> OLD.state BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END",
    )
    .execute(&db)
    .await
    .unwrap();
    std::fs::write(d.join("inbox/order.edi"), demo()).unwrap();

    let (stop, rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn({
        let daemon = std::sync::Arc::clone(&daemon);
        async move { daemon.run(rx, false).await }
    });
    // The idle poll is 20 ms: without parking, dozens of turns.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.send(true).unwrap();
    run.await.unwrap().unwrap();

    let processed = daemon.metrics().process.count();
    assert_eq!(processed, 1, "processed {processed} times");
    let state: String = sqlx::query_scalar("SELECT state FROM messages")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(state, "received");
    db.close().await;
    daemon.journal().close().await;
    let _ = std::fs::remove_dir_all(&d);
}
