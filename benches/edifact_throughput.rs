//! EDIFACT parse + map throughput (a bench binary, not a timed test).
//!
//! Parses and maps a generated EANCOM D96A ORDERS interchange to canonical
//! documents, the way `comptoir translate --output none` does, and prints
//! MB/s (10^6 bytes per second), documents/s and peak RSS.
//!
//! Input: `$COMPTOIR_BENCH_FILE`, else `target/bench-data/orders-100MB.edi`
//! generated once with `../shared/tools/gen_edifact.py --size-mb 100`.
//! `COMPTOIR_BENCH_RUNS` sets the number of runs (default 3; the median is
//! reported).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use comptoir::mapping::Registry;
use comptoir::translate::{Options, Outcome, Translator};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn input() -> PathBuf {
    if let Some(p) = std::env::var_os("COMPTOIR_BENCH_FILE") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("target/bench-data/orders-100MB.edi");
    if !path.exists() {
        let _ = std::fs::create_dir_all(path.parent().unwrap_or(root));
        let gen = root.join("../shared/tools/gen_edifact.py");
        eprintln!("generating {} with {}", path.display(), gen.display());
        let status = Command::new("python3")
            .arg(&gen)
            .args(["--size-mb", "100", "--type", "orders", "-o"])
            .arg(&path)
            .arg("--expect")
            .arg(path.with_extension("expect.json"))
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("cannot generate the input: set COMPTOIR_BENCH_FILE");
            std::process::exit(2);
        }
    }
    path
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let path = input();
    let registry = match Registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mappings: {e}");
            std::process::exit(2);
        }
    };
    let runs: usize = std::env::var("COMPTOIR_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let translator = Translator::new(&registry);
    let mut rates = Vec::new();
    let mut last = (0u64, 0u64, 0u64, 0usize);
    for run in 0..runs {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                std::process::exit(2);
            }
        };
        let (mut docs, mut lines, mut rejected) = (0u64, 0usize, 0u64);
        let started = Instant::now();
        let summary = translator.translate(file, &Options::default(), &mut |o| match o {
            Outcome::Document { document, .. } => {
                docs += 1;
                lines += document.lines.len();
            }
            Outcome::Rejected { .. } => rejected += 1,
        });
        let secs = started.elapsed().as_secs_f64();
        let Ok(summary) = summary else {
            eprintln!("translation failed");
            std::process::exit(2);
        };
        let mb = summary.bytes as f64 / 1e6;
        println!(
            "run {}: {:.1} MB in {:.3} s = {:.1} MB/s, {:.0} documents/s ({} documents, {} lines, {} rejected)",
            run + 1,
            mb,
            secs,
            mb / secs,
            docs as f64 / secs,
            docs,
            lines,
            rejected
        );
        rates.push(mb / secs);
        last = (summary.bytes, docs, rejected, lines);
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    let median = rates[rates.len() / 2];
    println!(
        "edifact parse+map: median {median:.1} MB/s over {runs} runs; {} bytes, {} documents, {} lines, {} rejected; peak RSS {} MiB",
        last.0,
        last.1,
        last.3,
        last.2,
        peak_rss_kib() / 1024
    );
}
