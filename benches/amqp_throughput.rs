//! AMQP throughput and latency: AMQP queue → SQLite journal → parse → map →
//! price → AMQP sink (publisher confirms) on the local broker, in process,
//! on one-order messages of 20 lines.
//!
//! Phase 1 (throughput): N messages (`COMPTOIR_BENCH_N`, default 5000) are
//! queued before the daemon starts; prints messages/s for intake (journaled
//! and acked) and in → out (all arrived on the output queue).
//! Phase 2 (latency): with the daemon idle, M more messages
//! (`COMPTOIR_BENCH_LATENCY_N`, default 5000; 0 skips) are published at a
//! paced `COMPTOIR_BENCH_RATE` per second (default 1000); prints p50, p99
//! and max of the time from each publish to its output's arrival.
//!
//! `COMPTOIR_BENCH_RELAY=<bytes>` measures the broker instead: the
//! daemon's AMQP operations alone (consume, persistent confirmed publish of
//! `<bytes>` bytes, batched ack), no processing, no journal: the ceiling
//! the broker sets on this machine. `COMPTOIR_BENCH_BG_CHECKPOINTS=0`
//! turns the journal's background WAL checkpoints off.
//!
//! Needs `COMPTOIR_TEST_AMQP`. Results: `benches/README.md`, section
//! "AMQP". Run with
//! `COMPTOIR_TEST_AMQP=amqp://guest:guest@127.0.0.1:5672/%2f cargo bench --bench amqp_throughput`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use comptoir::journal::State;
use comptoir::pipeline::Daemon;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection};

const GTINS: [&str; 3] = ["5410738000152", "5410738000169", "5410738000183"];

fn order(tag: char, i: usize) -> String {
    let mut s = String::with_capacity(1500);
    s.push_str("UNA:+.? '");
    let _ = write!(
        s,
        "UNB+UNOC:3+5412345000013:14+5400000000001:14+260301:0930+{tag}{i:08}'\
         UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+PO-{tag}-{i:08}+9'DTM+137:20260301:102'\
         DTM+2:20260310:102'NAD+BY+5412345000013::9'NAD+SU+5400000000001::9'CUX+2:EUR:9'"
    );
    let mut segs = 7;
    for l in 1..=20 {
        let _ = write!(
            s,
            "LIN+{l}++{}:EN'QTY+21:{}:PCE'",
            GTINS[(i + l) % 3],
            1 + (i + l) % 4
        );
        segs += 2;
    }
    segs += 2;
    let _ = write!(s, "UNS+S'CNT+2:20'UNT+{}+1'UNZ+1+{tag}{i:08}'", segs + 1);
    s
}

/// The order's tag and number, read from the output JSON (`PO-<tag>-<n>`).
fn order_of(body: &[u8]) -> Option<(char, usize)> {
    let at = memchr::memmem::find(body, b"\"PO-")? + 4;
    let tag = char::from(*body.get(at)?);
    let digits = body.get(at + 2..at + 10)?;
    let n = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((tag, n))
}

/// `/proc/loadavg`'s first three fields (the machine is shared).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn main() {
    let Ok(url) = std::env::var("COMPTOIR_TEST_AMQP") else {
        eprintln!("\n*** SKIPPED amqp_throughput: set COMPTOIR_TEST_AMQP ***\n");
        return;
    };
    let n: usize = std::env::var("COMPTOIR_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let latency_n: usize = std::env::var("COMPTOIR_BENCH_LATENCY_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let rate: u64 = std::env::var("COMPTOIR_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let load_before = loadavg();
    let root = env!("CARGO_MANIFEST_DIR");
    let tag = std::process::id();
    let dir = std::env::temp_dir().join(format!("comptoir-bench-amqp-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let (qin, qout) = (
        format!("comptoir-bench-in-{tag}"),
        format!("comptoir-bench-out-{tag}"),
    );
    let cfg = dir.join("comptoir.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[journal]
url = "sqlite://{d}/journal.db"
sqlite_background_checkpoints = {bg}
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
idle_poll_ms = 5
batch_size = 256
[[source]]
name = "in"
type = "amqp"
url = "{url}"
queue = "{qin}"
prefetch = 256
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
[[route]]
name = "orders"
price = true
sinks = ["out"]
[[sink]]
name = "out"
type = "amqp"
url = "{url}"
routing_key = "{qout}"
"#,
            d = dir.display(),
            bg = std::env::var("COMPTOIR_BENCH_BG_CHECKPOINTS").map_or(true, |v| v != "0")
        ),
    )
    .expect("config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let conn = Connection::connect(&url, Default::default())
            .await
            .expect("connect");
        let ch = conn.create_channel().await.expect("channel");
        ch.confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirms");
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        for q in [&qin, &qout] {
            ch.queue_declare(q.as_str().into(), durable, FieldTable::default())
                .await
                .expect("declare");
        }
        for i in 0..n {
            ch.basic_publish(
                "".into(),
                qin.as_str().into(),
                BasicPublishOptions::default(),
                order('A', i).as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("publish");
        }
        ch.wait_for_confirms().await.expect("confirms");
        eprintln!("published {n} orders to {qin}");

        if let Ok(bytes) = std::env::var("COMPTOIR_BENCH_RELAY") {
            let bytes = bytes.parse().unwrap_or(23_000);
            relay(&url, &qin, &qout, n, bytes).await;
            for q in [&qin, &qout] {
                let _ = ch
                    .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
            return;
        }
        let daemon = Arc::new(Daemon::open(&cfg).await.expect("daemon"));
        let (tx, rx) = tokio::sync::watch::channel(false);
        // Output consumer: (order tag and number, arrival time) per message.
        let mut consumer = output_consumer(&conn, &qout, "bench").await;
        let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
        let counter = tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let at = Instant::now();
                let _ = d.acker.ack(BasicAckOptions::default()).await;
                if arrived_tx.send((order_of(&d.data), at)).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let d = Arc::clone(&daemon);
        let run = tokio::spawn(async move { d.run(rx, false).await });
        let mut got = 0;
        let mut intake = None;
        let j = daemon.journal().clone();
        while got < n {
            match tokio::time::timeout(Duration::from_secs(60), arrived.recv()).await {
                Ok(Some(_)) => got += 1,
                other => panic!("output stalled after {got}: {other:?}"),
            }
            if intake.is_none() && got % 256 == 0 {
                let ready = ch
                    .queue_declare(
                        qin.as_str().into(),
                        QueueDeclareOptions {
                            passive: true,
                            ..durable
                        },
                        FieldTable::default(),
                    )
                    .await
                    .map(|q| q.message_count())
                    .unwrap_or(1);
                if ready == 0 {
                    intake = Some(start.elapsed());
                }
            }
        }
        let total = start.elapsed();
        // The last outputs arrive before their batch's journal commit: the
        // count is read once that commit is in (or after 10 s).
        let mut delivered = 0;
        for _ in 0..200 {
            delivered = j
                .list(Some(State::Delivered), u32::MAX)
                .await
                .map_or(0, |l| l.len());
            if delivered >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let intake = intake.unwrap_or(total);
        println!("load average before: {load_before}, now: {}", loadavg());
        println!(
            "AMQP in -> journal (SQLite) -> map -> price -> AMQP out, {n} orders of 20 lines: \
             intake (queue drained) {:.2} s = {:.0} msg/s; in -> out {:.2} s = {:.0} msg/s; \
             {delivered} delivered in the journal",
            intake.as_secs_f64(),
            n as f64 / intake.as_secs_f64(),
            total.as_secs_f64(),
            n as f64 / total.as_secs_f64()
        );

        // Latency at a paced rate, the daemon already running.
        if latency_n > 0 {
            let mut sent: Vec<Option<Instant>> = vec![None; latency_n];
            let mut lat: Vec<Duration> = Vec::with_capacity(latency_n);
            let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
            let mut tick = tokio::time::interval(period);
            let t0 = Instant::now();
            let mut i = 0;
            while i < latency_n || lat.len() < latency_n {
                tokio::select! {
                    _ = tick.tick(), if i < latency_n => {
                        let body = order('L', i);
                        sent[i] = Some(Instant::now());
                        // The confirm is not awaited: publishing stays paced.
                        let confirm = ch
                            .basic_publish(
                                "".into(),
                                qin.as_str().into(),
                                BasicPublishOptions::default(),
                                body.as_bytes(),
                                BasicProperties::default().with_delivery_mode(2),
                            )
                            .await
                            .expect("publish");
                        drop(confirm);
                        i += 1;
                    }
                    a = tokio::time::timeout(Duration::from_secs(60), arrived.recv()) => match a {
                        Ok(Some((Some(('L', k)), at))) => {
                            if let Some(Some(s)) = sent.get(k) {
                                lat.push(at.duration_since(*s));
                            }
                        }
                        Ok(Some(_)) => {}
                        other => panic!("latency phase stalled after {}: {other:?}", lat.len()),
                    }
                }
            }
            let secs = t0.elapsed().as_secs_f64();
            lat.sort();
            let pct = |p: f64| {
                let k = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
                lat[k].as_secs_f64() * 1000.0
            };
            println!("load average now: {}", loadavg());
            println!(
                "latency, publish -> output arrival, {latency_n} orders paced at {rate}/s \
                 (achieved {:.0}/s): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                latency_n as f64 / secs,
                pct(0.50),
                pct(0.99),
                pct(1.0)
            );
        }
        let _ = tx.send(true);
        let _ = run.await;
        counter.abort();
        for q in [&qin, &qout] {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
        }
        let _ = conn.close(200, "".into()).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The bench's reader of the output queue: its own channel, prefetch 1000.
async fn output_consumer(conn: &Connection, queue: &str, tag: &str) -> lapin::Consumer {
    let ch = conn.create_channel().await.expect("channel");
    ch.basic_qos(1000, BasicQosOptions::default())
        .await
        .expect("qos");
    ch.basic_consume(
        queue.into(),
        tag.into(),
        BasicConsumeOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("consume")
}

/// The broker's own ceiling on this machine: the AMQP work of the daemon
/// (consume with prefetch 256, a persistent mandatory publish of `bytes`
/// bytes per message with publisher confirms, one `multiple` ack per batch
/// once the batch's confirms are in) and the bench's output consumer, with
/// no processing and no journal. Prints messages/s in -> out.
async fn relay(url: &str, qin: &str, qout: &str, n: usize, bytes: usize) {
    let conn = Connection::connect(url, Default::default())
        .await
        .expect("connect");
    let inc = conn.create_channel().await.expect("channel");
    inc.basic_qos(256, BasicQosOptions::default())
        .await
        .expect("qos");
    let outc = conn.create_channel().await.expect("channel");
    outc.confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let mut reader = output_consumer(&conn, qout, "bench-relay-out").await;
    let counter = tokio::spawn(async move {
        let mut got = 0;
        while got < n {
            match tokio::time::timeout(Duration::from_secs(60), reader.next()).await {
                Ok(Some(Ok(d))) => {
                    let _ = d.acker.ack(BasicAckOptions::default()).await;
                    got += 1;
                }
                other => panic!("relay output stalled after {got}: {:?}", other.is_ok()),
            }
        }
    });
    let start = Instant::now();
    let mut input = inc
        .basic_consume(
            qin.into(),
            "bench-relay-in".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("consume");
    let body = vec![b'x'; bytes];
    let mut relayed = 0;
    while relayed < n {
        // A batch: what has arrived (at least one message), up to 256.
        let mut batch = Vec::with_capacity(256);
        match input.next().await {
            Some(Ok(d)) => batch.push(d),
            other => panic!("relay input ended after {relayed}: {:?}", other.is_some()),
        }
        while batch.len() < 256 {
            match futures_lite::future::poll_once(input.next()).await {
                Some(Some(Ok(d))) => batch.push(d),
                _ => break,
            }
        }
        let mut confirms = Vec::with_capacity(batch.len());
        for _ in &batch {
            confirms.push(
                outc.basic_publish(
                    "".into(),
                    qout.into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &body,
                    BasicProperties::default().with_delivery_mode(2),
                )
                .await
                .expect("publish"),
            );
        }
        for c in confirms {
            c.await.expect("confirm");
        }
        if let Some(last) = batch.last() {
            last.acker
                .ack(BasicAckOptions { multiple: true })
                .await
                .expect("ack");
        }
        relayed += batch.len();
    }
    counter.await.expect("counter");
    let secs = start.elapsed().as_secs_f64();
    println!("load average now: {}", loadavg());
    println!(
        "relay only (no daemon): {n} messages in -> out with {bytes}-byte outputs: \
         {secs:.2} s = {:.0} msg/s",
        n as f64 / secs
    );
}
