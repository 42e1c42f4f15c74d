//! Daemon throughput: directory source → SQLite journal → parse → map →
//! price → file sink, in process, on N one-order files of 20 lines each
//! (`COMPTOIR_BENCH_N`, default 20000). Prints orders/s end to end (all
//! delivered) and the load average. `COMPTOIR_BENCH_JOURNAL` sets the
//! journal URL (default a fresh SQLite file; a `postgres://…` URL runs on
//! a fresh schema, dropped afterwards; `COMPTOIR_BENCH_CHECKPOINT_PAGES`
//! the SQLite journal's `sqlite_checkpoint_pages`). Results: `benches/README.md`,
//! section "Daemon". Run with `cargo bench --bench daemon_throughput`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use comptoir::pipeline::Daemon;

const GTINS: [&str; 3] = ["5410738000152", "5410738000169", "5410738000183"];

fn order(i: usize) -> String {
    let mut s = String::with_capacity(1500);
    s.push_str("UNA:+.? '");
    let _ = write!(
        s,
        "UNB+UNOC:3+5412345000013:14+5400000000001:14+260301:0930+B{i:08}'\
         UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+PO-B-{i:08}+9'DTM+137:20260301:102'\
         DTM+2:20260310:102'NAD+BY+5412345000013::9'NAD+SU+5400000000001::9'CUX+2:EUR:9'"
    );
    let mut segs = 7; // UNH BGM DTM DTM NAD NAD CUX
    for l in 1..=20 {
        let _ = write!(
            s,
            "LIN+{l}++{}:EN'QTY+21:{}:PCE'",
            GTINS[(i + l) % 3],
            1 + (i + l) % 4
        );
        segs += 2;
    }
    segs += 2; // UNS, CNT... counted below with UNT
    let _ = write!(s, "UNS+S'CNT+2:20'UNT+{}+1'UNZ+1+B{i:08}'", segs + 1);
    s
}

/// User + system CPU time of this process so far, in seconds (Linux
/// `/proc/self/stat`, in clock ticks of 1/100 s; `None` elsewhere).
fn process_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU seconds (user + system) of this process's threads, summed by thread
/// name (`sqlx-sqlite-worker-0`, `tokio-runtime-w`, …), largest first:
/// which thread sets the pace.
fn cpu_by_thread() -> Vec<(String, f64)> {
    let mut by: std::collections::BTreeMap<String, f64> = Default::default();
    let Ok(rd) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    for t in rd.flatten() {
        let Ok(s) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (s.find('('), s.rfind(')')) else {
            continue;
        };
        let name = s[open + 1..close].to_string();
        let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
        let cpu = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0);
        *by.entry(name).or_default() += cpu / 100.0;
    }
    let mut v: Vec<(String, f64)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v
}

fn main() {
    let n: usize = std::env::var("COMPTOIR_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let root = env!("CARGO_MANIFEST_DIR");
    // `COMPTOIR_BENCH_DIR` puts the inbox, outbox (and the default SQLite
    // journal) elsewhere than the temporary directory, e.g. on a tmpfs to
    // separate the daemon's own cost from the file system's.
    let base = std::env::var_os("COMPTOIR_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let d = base.join(format!("comptoir-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("inbox")).expect("mkdir");
    for i in 0..n {
        std::fs::write(d.join(format!("inbox/{i:08}.edi")), order(i)).expect("write");
    }
    let journal = match std::env::var("COMPTOIR_BENCH_JOURNAL") {
        Ok(url) if url.starts_with("postgres") => format!(
            "url = \"{url}\"\nschema = \"bench_daemon_{}\"",
            std::process::id()
        ),
        Ok(url) => format!("url = \"{url}\""),
        Err(_) => format!("url = \"sqlite://{}/var/comptoir.db\"", d.display()),
    };
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cfg = d.join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[journal]
{journal}
sqlite_background_checkpoints = {bg}
sqlite_checkpoint_pages = {pages}
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
batch_size = 512
idle_poll_ms = 5
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 5
batch_size = 512
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
fsync = {fsync}
"#,
            d = d.display(),
            fsync = std::env::var("COMPTOIR_BENCH_FSYNC").is_ok(),
            bg = std::env::var("COMPTOIR_BENCH_BG_CHECKPOINTS").map_or(true, |v| v != "0"),
            pages = std::env::var("COMPTOIR_BENCH_CHECKPOINT_PAGES")
                .ok()
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(10_000)
        ),
    )
    .expect("config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let daemon = Arc::new(Daemon::open(&cfg).await.expect("open"));
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let cpu0 = process_cpu_seconds();
        let t = Instant::now();
        let stats = daemon.run(rx, true).await.expect("run");
        let secs = t.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        let counts = daemon.journal().counts().await.expect("counts");
        let backend = daemon.journal().backend();
        println!("daemon: {n} orders x 20 lines, directory -> {backend} journal -> map -> price -> file sink");
        println!(
            "  load average before: {}, after: {}",
            load_before.trim(),
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
        );
        println!("  states: {counts:?}  (run: {stats:?})");
        println!("  {:.2} s, {:.0} orders/s end to end", secs, n as f64 / secs);
        if let Some(cpu) = cpu {
            println!(
                "  CPU: {:.2} s of process CPU time, {:.0} µs per order, {:.2} cores busy on average",
                cpu,
                cpu * 1e6 / n as f64,
                cpu / secs
            );
        }
        let threads: Vec<String> = cpu_by_thread()
            .into_iter()
            .filter(|(_, c)| *c >= 0.01)
            .map(|(name, c)| format!("{name} {c:.2} s"))
            .collect();
        println!("  CPU by thread: {}", threads.join(", "));
        let m = daemon.metrics();
        println!(
            "  per message: processing {:.0} µs (on {} worker threads); per batch: commit {:.1} ms ({} batches)",
            m.process.sum().as_secs_f64() * 1e6 / m.process.count().max(1) as f64,
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            m.commit.sum().as_secs_f64() * 1e3 / m.commit.count().max(1) as f64,
            m.commit.count()
        );
        assert!(Path::new(&d.join("outbox")).exists());
        if let (Ok(url), "postgres") = (std::env::var("COMPTOIR_BENCH_JOURNAL"), backend) {
            daemon.journal().close().await;
            if let Ok(pool) = sqlx::PgPool::connect(&url).await {
                let drop = format!("DROP SCHEMA bench_daemon_{} CASCADE", std::process::id());
                let _ = sqlx::query(&drop).execute(&pool).await;
            }
        }
    });
    let _ = std::fs::remove_dir_all(&d);
}
