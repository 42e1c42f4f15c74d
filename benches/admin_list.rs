//! Admin API list query on a PostgreSQL journal of 1,000,000 messages.
//!
//! Generates the journal once (server-side `generate_series`, in schema
//! `bench_admin`; reused when already there), then times the queries the
//! admin API runs ([`Journal::search`]): first page, a page deep in the
//! listing through its cursor, filters by partner, state, partner + time
//! range, business key and interchange reference; and prints the plan
//! PostgreSQL chose for each. Run with
//! `COMPTOIR_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo bench --bench admin_list`
//! (falls back to `COMPTOIR_TEST_POSTGRES`; prints SKIPPED without either).

use std::time::{Duration, Instant};

use comptoir::journal::{Cursor, Journal, MessageFilter, State};

const N: i64 = 1_000_000;
const SCHEMA: &str = "bench_admin";

fn main() {
    let Some(url) = std::env::var("COMPTOIR_BENCH_POSTGRES")
        .ok()
        .or_else(|| std::env::var("COMPTOIR_TEST_POSTGRES").ok())
    else {
        eprintln!("SKIPPED: set COMPTOIR_BENCH_POSTGRES (or COMPTOIR_TEST_POSTGRES)");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(&url));
}

async fn run(url: &str) {
    let j = Journal::open(url, 2, Some(SCHEMA)).await.expect("open");
    let Journal::Postgres(pool) = &j else {
        panic!("PostgreSQL only")
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(pool)
        .await
        .expect("count");
    if n < N {
        let t = Instant::now();
        for t in [
            "messages",
            "message_keys",
            "events",
            "deliveries",
            "dedup_keys",
        ] {
            sqlx::query(&format!("TRUNCATE {t}"))
                .execute(pool)
                .await
                .expect("truncate");
        }
        // 20 partners, 3 document types, mostly delivered; one message per
        // 30 s over ~1 year; business key PO-<n>.
        sqlx::query(&format!(
            "INSERT INTO messages (id, received_at, source, source_ref, partner, format, \
             document_type, business_keys, sender, interchange_ref, content_hash, raw, state, \
             error, attempts, next_attempt_at, updated_at) \
             SELECT g, 1700000000000 + g * 30000, 'inbox', 'file-' || g || '.edi', \
             'partner' || (g % 20), 'edifact', \
             (ARRAY['order','invoice','despatch_advice'])[(1 + g % 3)::int], 'PO-' || g, \
             '54' || lpad((g % 20)::text, 11, '0'), 'IC' || g, md5(g::text), \
             convert_to('UNB+UNOC:3+X+Y+260301:0930+IC' || g || '''', 'UTF8'), \
             CASE WHEN g % 1000 = 0 THEN 'rejected' WHEN g % 5000 = 1 THEN 'held' \
                  WHEN g % 50000 = 2 THEN 'dead' ELSE 'delivered' END, \
             NULL, 1, 0, 1700000000000 + g * 30000 + 500 \
             FROM generate_series(1::bigint, {N}::bigint) AS g"
        ))
        .execute(pool)
        .await
        .expect("generate messages");
        sqlx::query(
            "INSERT INTO message_keys (key, message_id) SELECT business_keys, id FROM messages",
        )
        .execute(pool)
        .await
        .expect("generate keys");
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('messages', 'id'), {N})"
        ))
        .execute(pool)
        .await
        .expect("sequence");
        sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
        println!(
            "generated {N} messages in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages")
        .fetch_one(pool)
        .await
        .expect("count");
    println!("journal: {n} messages (PostgreSQL, schema {SCHEMA})\n");

    let deep = Cursor {
        received_at: 1_700_000_000_000 + 500_000 * 30_000,
        id: 500_000,
    };
    let mid = 1_700_000_000_000 + 600_000 * 30_000;
    let cases: Vec<(&str, MessageFilter, Option<Cursor>)> = vec![
        ("first page, no filter", MessageFilter::default(), None),
        (
            "page after 500k rows (cursor)",
            MessageFilter::default(),
            Some(deep),
        ),
        (
            "partner",
            MessageFilter {
                partner: Some("partner7".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "partner, deep cursor",
            MessageFilter {
                partner: Some("partner7".into()),
                ..Default::default()
            },
            Some(deep),
        ),
        (
            "state = held (0.02 %)",
            MessageFilter {
                state: Some(State::Held),
                ..Default::default()
            },
            None,
        ),
        (
            "state = dead (0.002 %)",
            MessageFilter {
                state: Some(State::Dead),
                ..Default::default()
            },
            None,
        ),
        (
            "partner + one day",
            MessageFilter {
                partner: Some("partner3".into()),
                from: Some(mid),
                to: Some(mid + 86_400_000),
                ..Default::default()
            },
            None,
        ),
        (
            "document type (no own index)",
            MessageFilter {
                document_type: Some("invoice".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "business key PO-777777",
            MessageFilter {
                key: Some("PO-777777".into()),
                ..Default::default()
            },
            None,
        ),
        (
            "interchange ref IC424242",
            MessageFilter {
                interchange_ref: Some("IC424242".into()),
                ..Default::default()
            },
            None,
        ),
    ];
    println!(
        "{:<32} {:>6} {:>10} {:>10} {:>10}",
        "query (limit 50)", "rows", "median", "p95", "max"
    );
    for (name, f, after) in &cases {
        let mut times: Vec<Duration> = Vec::new();
        let mut rows = 0;
        // Warm-up, then 30 timed runs.
        let _ = j.search(f, *after, 50).await.expect("search");
        for _ in 0..30 {
            let t = Instant::now();
            let page = j.search(f, *after, 50).await.expect("search");
            times.push(t.elapsed());
            rows = page.messages.len();
        }
        times.sort();
        let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1000.0);
        println!(
            "{:<32} {:>6} {:>10} {:>10} {:>10}",
            name,
            rows,
            ms(times[times.len() / 2]),
            ms(times[times.len() * 95 / 100]),
            ms(times[times.len() - 1])
        );
    }
    println!("\nplans:");
    for (name, sql) in [
        ("first page", "SELECT id FROM messages ORDER BY received_at DESC, id DESC LIMIT 51"),
        ("deep cursor", "SELECT id FROM messages WHERE (received_at, id) < (1715000000000, 500000) ORDER BY received_at DESC, id DESC LIMIT 51"),
        ("partner", "SELECT id FROM messages WHERE partner = 'partner7' ORDER BY received_at DESC, id DESC LIMIT 51"),
        ("state", "SELECT id FROM messages WHERE state = 'held' ORDER BY received_at DESC, id DESC LIMIT 51"),
        ("key", "SELECT id FROM messages WHERE id IN (SELECT message_id FROM message_keys WHERE key = 'PO-777777') ORDER BY received_at DESC, id DESC LIMIT 51"),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
            .fetch_all(pool)
            .await
            .expect("explain");
        let nodes: Vec<&str> = plan
            .iter()
            .map(|l| l.trim().trim_start_matches("-> ").trim())
            .map(|l| l.split("  (").next().unwrap_or(l))
            .collect();
        println!("  {name:<12} {}", nodes.join(" / "));
    }
    j.close().await;
}
