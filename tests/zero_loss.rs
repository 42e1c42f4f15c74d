//! Zero-loss test: the daemon binary (directory source → SQLite journal →
//! map → price → file sink) is SIGKILLed at random points while it takes in
//! and processes N orders, restarted each time, then drained with `--once`.
//! Every order must reach the outbox exactly once (one file per order
//! number, whatever the message id) and the journal must hold no
//! non-final message.
//!
//! N is `COMPTOIR_ZERO_LOSS_N` (default 300; the full run uses 10000).
//! `COMPTOIR_ZERO_LOSS_SEED` replays a given sequence of kill points.
//!
//! The AMQP → PostgreSQL variant takes its N from
//! `COMPTOIR_ZERO_LOSS_AMQP_N` (default 200, for CI; the full run uses
//! 10000, see `benches/README.md`) and its number of kills from
//! `COMPTOIR_ZERO_LOSS_KILLS` (default 5). Its kill points are random
//! fractions of N: each daemon is killed once that many orders have
//! reached the outbox (plus a random 0–50 ms), so the kills land at spread
//! points of a long run, not only in its first second.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_comptoir");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

fn order(i: usize, template: &[u8]) -> Vec<u8> {
    let t = String::from_utf8_lossy(template)
        .replace("PO-DEMO-0001", &format!("PO-ZL-{i:06}"))
        .replace("DEMO0001", &format!("ZL{i:06}"));
    t.into_bytes()
}

fn feed(inbox: &Path, range: std::ops::Range<usize>, template: &[u8]) {
    for i in range {
        let tmp = inbox.join(format!("o{i:06}.edi.tmp"));
        std::fs::write(&tmp, order(i, template)).unwrap();
        std::fs::rename(&tmp, inbox.join(format!("o{i:06}.edi"))).unwrap();
    }
}

fn start(cfg: &Path) -> Child {
    Command::new(BIN)
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "error")
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_loses_nothing_and_doubles_nothing() {
    let n: usize = std::env::var("COMPTOIR_ZERO_LOSS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("COMPTOIR_ZERO_LOSS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("zero-loss: N = {n}, seed = {seed} (COMPTOIR_ZERO_LOSS_SEED to replay)");
    let mut rng = Lcg(seed);
    let d: PathBuf =
        std::env::temp_dir().join(format!("comptoir-zero-loss-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let inbox = d.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = d.join("comptoir.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[journal]
url = "sqlite://{d}/var/comptoir.db"
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
idle_poll_ms = 10
batch_size = 32
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 10
batch_size = 32
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
    let template = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();

    let kills = 5;
    let chunk = n.div_ceil(kills + 1);
    let mut fed = 0;
    for k in 0..kills {
        let upto = (fed + chunk).min(n);
        feed(&inbox, fed..upto, &template);
        fed = upto;
        let mut child = start(&cfg);
        let wait = 50 + rng.next(400);
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!("zero-loss: kill {} after {wait} ms", k + 1);
    }
    feed(&inbox, fed..n, &template);
    // Drain: restart once more and let it finish.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let out = Command::new(BIN)
            .args(["run", "--once", "--config", cfg.to_str().unwrap()])
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let left = std::fs::read_dir(&inbox).unwrap().count();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "inbox never drained");
    }

    // Every order exactly once in the outbox.
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for e in std::fs::read_dir(d.join("outbox")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !name.ends_with(".json") || name.ends_with(".priced.json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
        for doc in v.as_array().unwrap() {
            let number = doc["number"].as_str().unwrap().to_string();
            seen.entry(number).or_default().push(name.clone());
        }
    }
    let doubled: Vec<_> = seen.iter().filter(|(_, f)| f.len() > 1).collect();
    assert!(doubled.is_empty(), "delivered twice: {doubled:?}");
    let missing: Vec<usize> = (0..n)
        .filter(|i| !seen.contains_key(&format!("PO-ZL-{i:06}")))
        .collect();
    assert!(
        missing.is_empty(),
        "lost: {} orders, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(seen.len(), n);

    // And the journal agrees: only final states, N delivered.
    let out = Command::new(BIN)
        .args([
            "messages",
            "list",
            "--counts",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("zero-loss journal:\n{counts}");
    let mut delivered = 0;
    for line in counts.lines() {
        let mut it = line.split_whitespace();
        let (Some(state), Some(count)) = (it.next(), it.next()) else {
            continue;
        };
        assert!(
            state == "delivered" || state == "duplicate",
            "non-final or unexpected state left: {counts}"
        );
        if state == "delivered" {
            delivered = count.parse::<usize>().unwrap();
        }
    }
    assert_eq!(delivered, n, "{counts}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The same scenario with AMQP in → PostgreSQL journal → file sink, when
/// `COMPTOIR_TEST_AMQP` and `COMPTOIR_TEST_POSTGRES` are set (fails instead
/// of skipping under `COMPTOIR_REQUIRE_SERVICES`). N orders are published
/// to a fresh queue, the daemon is SIGKILLed five times while it consumes,
/// then runs until every order is in the outbox and is stopped with SIGTERM.
#[test]
fn kill_9_amqp_to_postgres_loses_nothing() {
    let (Ok(amqp), Ok(pg)) = (
        std::env::var("COMPTOIR_TEST_AMQP"),
        std::env::var("COMPTOIR_TEST_POSTGRES"),
    ) else {
        if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() {
            panic!("COMPTOIR_TEST_AMQP / COMPTOIR_TEST_POSTGRES unset but COMPTOIR_REQUIRE_SERVICES is set");
        }
        eprintln!(
            "\n*** SKIPPED zero-loss AMQP → PostgreSQL: set COMPTOIR_TEST_AMQP and \
             COMPTOIR_TEST_POSTGRES ***\n"
        );
        return;
    };
    let n: usize = std::env::var("COMPTOIR_ZERO_LOSS_AMQP_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let kills: usize = std::env::var("COMPTOIR_ZERO_LOSS_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("COMPTOIR_ZERO_LOSS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!(
        "zero-loss amqp: N = {n}, {kills} kills, seed = {seed} (COMPTOIR_ZERO_LOSS_SEED to replay)"
    );
    let mut rng = Lcg(seed);
    let began = Instant::now();
    let tag = format!("{}_{}", std::process::id(), rng.next(1_000_000));
    let d: PathBuf = std::env::temp_dir().join(format!("comptoir-zero-loss-amqp-{tag}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let queue = format!("comptoir-zl-{tag}");
    let cfg = d.join("comptoir.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[journal]
url = "{pg}"
schema = "zl_{tag}"
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
idle_poll_ms = 10
batch_size = 32
[[source]]
name = "queue"
type = "amqp"
url = "{amqp}"
queue = "{queue}"
prefetch = 32
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
    let template = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
        let conn = lapin::Connection::connect(&amqp, Default::default())
            .await
            .unwrap();
        let ch = conn.create_channel().await.unwrap();
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        ch.queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
        for i in 0..n {
            ch.basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &order(i, &template),
                lapin::BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .unwrap();
        }
        ch.wait_for_confirms().await.unwrap();
        let _ = conn.close(200, "".into()).await;
    });
    let outbox = d.join("outbox");
    let count = || {
        std::fs::read_dir(&outbox).map_or(0, |r| {
            r.filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    let n = e.file_name().to_string_lossy().to_string();
                    n.ends_with(".json") && !n.ends_with(".priced.json") && !n.starts_with('.')
                })
            })
            .count()
        })
    };
    // Kill points: sorted random fractions of N (orders in the outbox).
    let mut points: Vec<usize> = (0..kills).map(|_| rng.next(n as u64) as usize).collect();
    points.sort_unstable();
    for (k, &point) in points.iter().enumerate() {
        let mut child = start(&cfg);
        let t = Instant::now();
        let limit = t + Duration::from_secs(120);
        while count() < point && Instant::now() < limit {
            std::thread::sleep(Duration::from_millis(5));
        }
        let extra = rng.next(50);
        std::thread::sleep(Duration::from_millis(extra));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!(
            "zero-loss amqp: kill {} at {} orders in the outbox (target {point}), {} ms after start",
            k + 1,
            count(),
            t.elapsed().as_millis()
        );
    }
    let mut child = start(&cfg);
    let deadline = Instant::now() + Duration::from_secs(600);
    while count() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let a duplicate, if any, show up, then stop cleanly.
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();

    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in std::fs::read_dir(&outbox).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !name.ends_with(".json") || name.ends_with(".priced.json") || name.starts_with('.') {
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
    let doubled: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).collect();
    assert!(doubled.is_empty(), "delivered twice: {doubled:?}");
    let missing: Vec<usize> = (0..n)
        .filter(|i| !seen.contains_key(&format!("PO-ZL-{i:06}")))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} orders: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    let out = Command::new(BIN)
        .args([
            "messages",
            "list",
            "--counts",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!(
        "zero-loss amqp: N = {n}, {kills} SIGKILLs, all {} orders in the outbox exactly once, \
         {:.1} s in all; journal:\n{counts}",
        seen.len(),
        began.elapsed().as_secs_f64()
    );
    for line in counts.lines() {
        let mut it = line.split_whitespace();
        let (Some(state), Some(c)) = (it.next(), it.next()) else {
            continue;
        };
        assert!(state == "delivered" || state == "duplicate", "{counts}");
        if state == "delivered" {
            assert_eq!(c.parse::<usize>().unwrap(), n, "{counts}");
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}
