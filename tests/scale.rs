//! Horizontal scale: two daemon processes (instance ids `a` and `b`) share
//! one inbox directory and one PostgreSQL journal schema. N orders are fed
//! while both run. Every file must be journaled exactly once (file leases:
//! no duplicate rows), every order delivered exactly once, and both
//! instances must have taken some files (each archives to its own
//! directory, which tells who took what).
//!
//! Needs `COMPTOIR_TEST_POSTGRES`; otherwise prints a SKIPPED notice, or
//! panics when `COMPTOIR_REQUIRE_SERVICES` is set. N is
//! `COMPTOIR_SCALE_N` (default 200).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comptoir::journal::Journal;

const BIN: &str = env!("CARGO_BIN_EXE_comptoir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn postgres() -> Option<String> {
    match std::env::var("COMPTOIR_TEST_POSTGRES") {
        Ok(pg) if !pg.is_empty() => Some(pg),
        _ if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() => {
            panic!("COMPTOIR_TEST_POSTGRES is unset but COMPTOIR_REQUIRE_SERVICES is set")
        }
        _ => {
            eprintln!(
                "\n*** SKIPPED scale test: set COMPTOIR_TEST_POSTGRES \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
            );
            None
        }
    }
}

fn config(d: &Path, pg: &str, schema: &str, instance: &str) -> PathBuf {
    let p = d.join(format!("comptoir-{instance}.toml"));
    std::fs::write(
        &p,
        format!(
            r#"
[journal]
url = "{pg}"
schema = "{schema}"
max_connections = 4
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
instance_id = "{instance}"
idle_poll_ms = 10
batch_size = 4
lease_secs = 30
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
archive = "{d}/archive-{instance}"
poll_interval_ms = 10
batch_size = 4
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
[[route]]
name = "orders"
price = true
sinks = ["outbox"]
[[sink]]
name = "outbox"
type = "file"
path = "{d}/outbox"
fsync = false
"#,
            d = d.display(),
            root = ROOT
        ),
    )
    .unwrap();
    p
}

fn order(i: usize, template: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(template)
        .replace("PO-DEMO-0001", &format!("PO-SC-{i:06}"))
        .replace("DEMO0001", &format!("SC{i:06}"))
        .into_bytes()
}

fn start(cfg: &Path, log: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stderr(std::fs::File::create(log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |r| r.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_exactly_once() {
    let Some(pg) = postgres() else { return };
    let n: usize = std::env::var("COMPTOIR_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let d = std::env::temp_dir().join(format!("comptoir-scale-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let inbox = d.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let schema = format!(
        "scale_{}_{}",
        std::process::id(),
        comptoir::journal::now_ms() % 1_000_000_000
    );
    let ca = config(&d, &pg, &schema, "a");
    let cb = config(&d, &pg, &schema, "b");
    // Create the schema once, before two processes race to migrate it.
    let journal = Journal::open(&pg, 2, Some(&schema)).await.unwrap();

    let mut a = start(&ca, &d.join("a.log"));
    let mut b = start(&cb, &d.join("b.log"));
    let template = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();
    for i in 0..n {
        let tmp = inbox.join(format!("o{i:06}.edi.tmp"));
        std::fs::write(&tmp, order(i, &template)).unwrap();
        std::fs::rename(&tmp, inbox.join(format!("o{i:06}.edi"))).unwrap();
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let counts = journal.counts().await.unwrap();
        let delivered = counts
            .iter()
            .find(|(s, _)| s == "delivered")
            .map_or(0, |(_, n)| *n as usize);
        if delivered >= n && count(&inbox) == 0 {
            break;
        }
        for (name, c) in [("a", &mut a), ("b", &mut b)] {
            if let Ok(Some(st)) = c.try_wait() {
                panic!(
                    "instance {name} exited ({st}): {}",
                    std::fs::read_to_string(d.join(format!("{name}.log"))).unwrap_or_default()
                );
            }
        }
        assert!(Instant::now() < deadline, "not done in time: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for c in [&mut a, &mut b] {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
    }
    for c in [&mut a, &mut b] {
        let st = c.wait().unwrap();
        assert!(st.success(), "daemon exit status {st}");
    }

    // Exactly once in the journal: N messages, all delivered, no duplicate.
    let counts = journal.counts().await.unwrap();
    eprintln!("scale journal: {counts:?}");
    assert_eq!(counts, vec![("delivered".to_string(), n as i64)]);
    // Exactly once in the outbox.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in std::fs::read_dir(d.join("outbox")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !name.ends_with(".json") || name.ends_with(".priced.json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        for doc in v.as_array().unwrap() {
            *seen
                .entry(doc["number"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    assert_eq!(seen.len(), n);
    assert!(seen.values().all(|&c| c == 1), "an order delivered twice");
    // Both instances took files, and together all of them once.
    let (na, nb) = (count(&d.join("archive-a")), count(&d.join("archive-b")));
    eprintln!("scale: instance a took {na} files, instance b {nb}");
    assert_eq!(na + nb, n);
    assert!(
        na > 0 && nb > 0,
        "one instance did all the work: a {na}, b {nb}"
    );
    journal.close().await;
    let _ = std::fs::remove_dir_all(&d);
}
