//! X12 parse + map throughput: generates a ~100 MB interchange of 850
//! purchase orders in memory (deterministic), translates it with the
//! repository's mappings through the public `Translator`, and prints MB/s,
//! documents/s and peak RSS (`/proc/self/status` VmHWM, Linux).
//!
//! `cargo bench --bench x12_throughput` (size: `X12_BENCH_MB`, default 100).

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use comptoir::formats::x12::{default_policy, Event, Reader};
use comptoir::mapping::Registry;
use comptoir::translate::{Options, Outcome, Translator};

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn generate(target: usize) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(target + 4096);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    out.extend_from_slice(b"ISA*00*          *00*          *ZZ*BUYER          *ZZ*SUPPLIER       *240301*1200*U*00401*000000001*0*P*>~\n");
    out.extend_from_slice(b"GS*PO*BUYER*SUPPLIER*20240301*1200*1*X*004010~\n");
    let mut sets = 0u64;
    while out.len() < target {
        sets += 1;
        let start = out.len();
        let mut segs = 0;
        let _ = writeln!(out, "ST*850*{sets:09}~");
        let _ = writeln!(
            out,
            "BEG*00*SA*PO{sets:08}**20240301~\nCUR*BY*USD~\nREF*DP*038~\nDTM*002*20240315~"
        );
        let _ = writeln!(
            out,
            "N1*BY*BUYER STORE {}*UL*5412345{:06}~\nN3*1 MAIN STREET~\nN4*SPRINGFIELD*IL*62701*US~",
            next() % 1000,
            next() % 1_000_000
        );
        let _ = writeln!(out, "N1*SU*SUPPLIER INC*UL*5412345000020~");
        segs += 9;
        let lines = 10 + next() % 30;
        for l in 1..=lines {
            let _ = writeln!(out, "PO1*{l}*{}*EA*{}.{:02}**EN*40008621{:05}*VN*ART-{}~\nPID*F****ITEM DESCRIPTION {l}~",
                1 + next() % 500,
                1 + next() % 200,
                next() % 100,
                next() % 100_000,
                next() % 10_000
            );
            segs += 2;
        }
        let _ = writeln!(out, "CTT*{lines}~");
        segs += 2;
        let _ = writeln!(out, "SE*{segs}*{sets:09}~");
        debug_assert!(out.len() > start);
    }
    let _ = writeln!(out, "GE*{sets}*1~\nIEA*1*000000001~");
    (out, sets)
}

fn main() {
    let mb: usize = std::env::var("X12_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let registry = match Registry::load(&dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mappings do not load: {e}");
            std::process::exit(2);
        }
    };
    let t0 = Instant::now();
    let (input, sets) = generate(mb * 1024 * 1024);
    let gen_secs = t0.elapsed().as_secs_f64();
    let rss_input = rss_kb("VmRSS:");
    // Syntax only: lexer + envelope checks, every segment seen.
    let t_parse = Instant::now();
    let mut reader = Reader::new(&input[..], None, default_policy());
    let mut segments = 0u64;
    while let Ok(Some(e)) = reader.next_event() {
        if let Event::Segment { .. } = e {
            segments += 1;
        }
    }
    let parse_secs = t_parse.elapsed().as_secs_f64();
    let translator = Translator::new(&registry);
    let opts = Options::default();
    let (mut docs, mut lines, mut rejected) = (0u64, 0u64, 0u64);
    let t1 = Instant::now();
    let summary = translator.translate(&input[..], &opts, &mut |o| match o {
        Outcome::Document { document, .. } => {
            docs += 1;
            lines += document.lines.len() as u64;
        }
        Outcome::Rejected { .. } => rejected += 1,
    });
    let secs = t1.elapsed().as_secs_f64();
    if let Err(e) = summary {
        eprintln!("translation failed: {e}");
        std::process::exit(1);
    }
    let size_mb = input.len() as f64 / (1024.0 * 1024.0);
    println!("X12 850 throughput (parse + envelope checks + mapping to canonical documents)");
    println!("input: {size_mb:.1} MiB, {sets} transaction sets, generated in {gen_secs:.2} s");
    println!(
        "syntax only (lexer + envelopes): {segments} segments in {parse_secs:.2} s -> {:.1} MiB/s",
        size_mb / parse_secs
    );
    println!("documents: {docs} ({lines} lines), rejected: {rejected}");
    println!(
        "time: {secs:.2} s -> {:.1} MiB/s, {:.0} documents/s, {:.0} lines/s",
        size_mb / secs,
        docs as f64 / secs,
        lines as f64 / secs
    );
    println!(
        "RSS after generating the input: {:.1} MiB; peak RSS (VmHWM): {:.1} MiB",
        rss_input as f64 / 1024.0,
        rss_kb("VmHWM:") as f64 / 1024.0
    );
    if docs != sets || rejected != 0 {
        eprintln!("unexpected: {docs} documents for {sets} transaction sets");
        std::process::exit(1);
    }
}
