//! Journal behaviour, run on SQLite always and on PostgreSQL when
//! `COMPTOIR_TEST_POSTGRES` is set (each run in its own schema).

use super::*;

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        now_ms() % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Journals to test: a fresh SQLite file, and PostgreSQL when configured.
async fn journals() -> Vec<Journal> {
    let dir = std::env::temp_dir().join(unique("comptoir-journal"));
    let url = format!("sqlite://{}/j.db", dir.display());
    let mut out = vec![Journal::open(&url, 2, None).await.unwrap()];
    match std::env::var("COMPTOIR_TEST_POSTGRES") {
        Ok(pg) if !pg.is_empty() => {
            let schema = unique("t");
            out.push(Journal::open(&pg, 2, Some(&schema)).await.unwrap());
        }
        _ if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() => {
            panic!("COMPTOIR_TEST_POSTGRES is unset but COMPTOIR_REQUIRE_SERVICES is set")
        }
        _ => eprintln!(
            "\n*** SKIPPED PostgreSQL journal tests: set COMPTOIR_TEST_POSTGRES \
             (e.g. postgres://postgres@127.0.0.1:5432/test) ***\n"
        ),
    }
    out
}

fn incoming(raw: &str) -> Incoming {
    Incoming {
        source: "test".into(),
        source_ref: Some("f.edi".into()),
        partner: None,
        raw: raw.as_bytes().to_vec(),
    }
}

const IC1: &str = "UNB+UNOC:3+SENDER1:14+RCPT:14+240301:1430+REF1'UNZ+0+REF1'";

#[tokio::test]
async fn receive_records_raw_bytes_and_detects_duplicates() {
    for j in journals().await {
        let r = j
            .receive(vec![
                incoming(IC1),
                incoming(IC1),
                // Same sender + reference, different bytes: still a duplicate.
                incoming("UNB+UNOC:3+SENDER1:14+RCPT:14+240302:0000+REF1'UNZ+0+REF1'"),
                incoming("UNB+UNOC:3+SENDER1:14+RCPT:14+240302:0000+REF2'UNZ+0+REF2'"),
                incoming("not edifact"),
            ])
            .await
            .unwrap();
        assert_eq!(r.len(), 5, "{}", j.backend());
        assert_eq!(r[0].duplicate_of, None);
        assert_eq!(r[1].duplicate_of, Some(r[0].id));
        assert_eq!(r[2].duplicate_of, Some(r[0].id));
        assert_eq!(r[3].duplicate_of, None);
        assert_eq!(r[4].duplicate_of, None);
        // A later batch sees earlier keys too.
        let again = j.receive(vec![incoming("not edifact")]).await.unwrap();
        assert_eq!(again[0].duplicate_of, Some(r[4].id));

        let m = j.get(r[0].id).await.unwrap();
        assert_eq!(m.raw, IC1.as_bytes());
        assert_eq!(m.state, State::Received);
        assert_eq!(m.sender.as_deref(), Some("SENDER1"));
        assert_eq!(m.interchange_ref.as_deref(), Some("REF1"));
        assert_eq!(m.content_hash.len(), 64);
        let d = j.get(r[1].id).await.unwrap();
        assert_eq!(d.state, State::Duplicate);
        assert_eq!(d.duplicate_of, Some(r[0].id));
        let counts = j.counts().await.unwrap();
        assert!(counts.contains(&("duplicate".into(), 3)), "{counts:?}");
        assert!(counts.contains(&("received".into(), 3)), "{counts:?}");
        j.close().await;
    }
}

#[tokio::test]
async fn claim_unleased_leaves_out_in_flight_and_leased_messages() {
    for j in journals().await {
        let r = j
            .receive(vec![
                incoming("a"),
                incoming("b"),
                incoming("c"),
                incoming("d"),
            ])
            .await
            .unwrap();
        let ids = |ms: &[Message]| ms.iter().map(|m| m.id).collect::<Vec<_>>();
        let first = j.claim_unleased(2, &[]).await.unwrap();
        assert_eq!(ids(&first), [r[0].id, r[1].id]);
        assert_eq!(first[0].raw, b"a");
        // Nothing was leased: the same batch again, unless named in flight.
        assert_eq!(ids(&j.claim_unleased(2, &[]).await.unwrap()), ids(&first));
        let second = j.claim_unleased(10, &ids(&first)).await.unwrap();
        assert_eq!(ids(&second), [r[2].id, r[3].id]);
        // A message leased by someone else (a replay) is left alone.
        assert_eq!(j.claim("replayer", 1, 60_000).await.unwrap()[0].id, r[0].id);
        assert_eq!(
            ids(&j.claim_unleased(10, &[r[3].id]).await.unwrap()),
            [r[1].id, r[2].id]
        );
        // Committed outcomes are no longer due.
        j.apply(&[
            Update::new(r[1].id, State::Delivered, 1),
            Update::new(r[2].id, State::Rejected, 1),
        ])
        .await
        .unwrap();
        assert_eq!(ids(&j.claim_unleased(10, &[]).await.unwrap()), [r[3].id]);
        j.close().await;
    }
}

#[tokio::test]
async fn claim_lease_apply_and_resume() {
    for j in journals().await {
        let r = j
            .receive(vec![incoming("a"), incoming("b"), incoming("c")])
            .await
            .unwrap();
        let first = j.claim("w1", 2, 60_000).await.unwrap();
        assert_eq!(
            first.iter().map(|m| m.id).collect::<Vec<_>>(),
            [r[0].id, r[1].id]
        );
        // Leased messages are not claimed twice.
        let second = j.claim("w2", 10, 60_000).await.unwrap();
        assert_eq!(second.iter().map(|m| m.id).collect::<Vec<_>>(), [r[2].id]);
        assert!(j.claim("w3", 10, 60_000).await.unwrap().is_empty());

        let mut ok = Update::new(r[0].id, State::Delivered, 1);
        ok.canonical_json = Some("[{}]".into());
        ok.business_keys = Some("PO1".into());
        ok.events.push((State::Mapped, "1 document".into()));
        ok.events.push((State::Delivered, "out".into()));
        ok.deliveries.push(Delivery {
            sink: "out".into(),
            attempt: 1,
            at: now_ms(),
            outcome: "ok".into(),
            detail: None,
        });
        let mut retry = Update::new(r[1].id, State::Failed, 1);
        retry.error = Some("sink down".into());
        retry.next_attempt_at = now_ms() + 3_600_000;
        j.apply(&[ok, retry]).await.unwrap();

        let m = j.get(r[0].id).await.unwrap();
        assert_eq!(m.state, State::Delivered);
        assert_eq!(m.business_keys.as_deref(), Some("PO1"));
        assert_eq!(j.delivered_sinks(r[0].id).await.unwrap(), ["out"]);
        let ev = j.events(r[0].id).await.unwrap();
        assert_eq!(
            ev.iter().map(|e| e.state.as_str()).collect::<Vec<_>>(),
            ["received", "mapped", "delivered"]
        );
        // The failed one is not due yet; the third is still leased by w2,
        // until a restart releases every lease.
        assert!(j.claim("w4", 10, 60_000).await.unwrap().is_empty());
        assert_eq!(j.release_all_leases().await.unwrap(), 1);
        let resumed = j.claim("w5", 10, 60_000).await.unwrap();
        assert_eq!(resumed.iter().map(|m| m.id).collect::<Vec<_>>(), [r[2].id]);

        // Replay puts a final message back in the queue.
        j.replay(r[0].id).await.unwrap();
        assert!(j.delivered_sinks(r[0].id).await.unwrap().is_empty());
        let m = j.get(r[0].id).await.unwrap();
        assert_eq!(m.state, State::Received);
        // Leased to the replayer, not to a worker.
        assert!(j.claim("w6", 10, 60_000).await.unwrap().is_empty());
        assert!(matches!(
            j.replay(999_999).await,
            Err(JournalError::NotFound(_))
        ));

        let listed = j.list(Some(State::Failed), 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].error.as_deref(), Some("sink down"));
        assert!(listed[0].raw.is_empty());
        assert_eq!(j.list(None, 2).await.unwrap().len(), 2);
        j.close().await;
    }
}

#[tokio::test]
async fn purge_respects_retention() {
    for j in journals().await {
        let r = j.receive(vec![incoming("x"), incoming("x")]).await.unwrap();
        let keep = crate::config::RetentionConfig::default();
        assert_eq!(j.purge(&keep).await.unwrap(), 0);
        // Nothing is old enough to go yet.
        let short = crate::config::RetentionConfig {
            duplicate_days: 1,
            ..keep
        };
        assert_eq!(j.purge(&short).await.unwrap(), 0);
        assert!(j.get(r[1].id).await.is_ok());
        j.close().await;
    }
}

#[tokio::test]
async fn bad_url_is_refused() {
    assert!(matches!(
        Journal::open("mysql://x", 1, None).await,
        Err(JournalError::BadUrl(_))
    ));
}

fn key(name: &str, size: i64) -> FileKey {
    FileKey {
        name: name.into(),
        size,
        mtime: 1_700_000_000,
    }
}

#[tokio::test]
async fn file_leases_are_exclusive_renewed_released_and_taken_over() {
    for j in journals().await {
        let (a, b) = (key("a.edi", 10), key("b.edi", 20));
        let files = vec![a.clone(), b.clone()];
        assert_eq!(
            j.claim_files("src", &files, "one", 60_000).await.unwrap(),
            vec![true, true]
        );
        // Held: another instance cannot take them; the holder can again.
        assert_eq!(
            j.claim_files("src", &files, "two", 60_000).await.unwrap(),
            vec![false, false]
        );
        assert_eq!(
            j.claim_files("src", &files[..1], "one", 60_000)
                .await
                .unwrap(),
            vec![true]
        );
        // Same name, new size: a different file.
        assert_eq!(
            j.claim_files("src", &[key("a.edi", 11)], "two", 60_000)
                .await
                .unwrap(),
            vec![true]
        );
        // Another source: independent.
        assert_eq!(
            j.claim_files("other", &files[..1], "two", 60_000)
                .await
                .unwrap(),
            vec![true]
        );
        assert_eq!(j.renew_files("src", "one", 60_000).await.unwrap(), 2);
        j.release_files("src", &files[..1], "one").await.unwrap();
        // Releasing someone else's lease does nothing.
        j.release_files("src", &files[1..], "two").await.unwrap();
        assert_eq!(
            j.claim_files("src", &files, "two", 60_000).await.unwrap(),
            vec![true, false]
        );
        // Expired leases are taken over.
        assert_eq!(
            j.claim_files("src", &[key("c.edi", 1)], "one", -1)
                .await
                .unwrap(),
            vec![true]
        );
        assert_eq!(
            j.claim_files("src", &[key("c.edi", 1)], "two", 60_000)
                .await
                .unwrap(),
            vec![true]
        );
        j.close().await;
    }
}

#[tokio::test]
async fn release_own_leases_leaves_other_instances_alone() {
    for j in journals().await {
        j.receive(vec![incoming("m1"), incoming("m2")])
            .await
            .unwrap();
        assert_eq!(j.claim("one", 1, 60_000).await.unwrap().len(), 1);
        assert_eq!(j.claim("two", 1, 60_000).await.unwrap().len(), 1);
        j.claim_files("src", &[key("f", 1)], "one", 60_000)
            .await
            .unwrap();
        j.claim_files("src", &[key("g", 1)], "two", 60_000)
            .await
            .unwrap();
        assert_eq!(j.release_own_leases("one").await.unwrap(), 1);
        // One's message is claimable again; two's is still held.
        let again = j.claim("three", 10, 60_000).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(
            j.claim_files("src", &[key("f", 1), key("g", 1)], "three", 60_000)
                .await
                .unwrap(),
            vec![true, false]
        );
        j.close().await;
    }
}

#[tokio::test]
async fn search_pages_by_cursor_filters_and_resolves() {
    for j in journals().await {
        let batch = (0..7).map(|i| incoming(&format!("message {i}"))).collect();
        let ids: Vec<i64> = j
            .receive(batch)
            .await
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        for (n, id) in ids.iter().enumerate() {
            let state = if n == 3 {
                State::Held
            } else {
                State::Delivered
            };
            let mut u = Update::new(*id, state, 0);
            u.partner = Some(if n % 2 == 0 { "even" } else { "odd" }.into());
            u.business_keys = Some(format!("PO-{n},INV-{n}"));
            u.document_type = Some("order".into());
            j.apply(&[u]).await.unwrap();
        }
        // Pages of 3, newest first, nothing twice, nothing missed.
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = j.search(&MessageFilter::default(), after, 3).await.unwrap();
            seen.extend(page.messages.iter().map(|m| m.id));
            match page.next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        let mut expect = ids.clone();
        expect.reverse();
        assert_eq!(seen, expect, "{}", j.backend());
        let f = MessageFilter {
            partner: Some("odd".into()),
            ..Default::default()
        };
        assert_eq!(j.search(&f, None, 50).await.unwrap().messages.len(), 3);
        let f = MessageFilter {
            key: Some("INV-4".into()),
            ..Default::default()
        };
        let page = j.search(&f, None, 50).await.unwrap();
        assert_eq!(page.messages.len(), 1);
        assert_eq!(page.messages[0].id, ids[4]);
        let c = Cursor::decode(
            &Cursor {
                received_at: 5,
                id: 9,
            }
            .encode(),
        )
        .unwrap();
        assert_eq!((c.received_at, c.id), (5, 9));
        let counts = j.group_counts(None).await.unwrap();
        assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 7);
        let since = now_ms() - 3_600_000;
        let thr = j.throughput(since, 60_000).await.unwrap();
        assert_eq!(thr.iter().map(|t| t.count).sum::<i64>(), 7);
        assert!(thr.iter().all(|t| (0..=60).contains(&t.bucket)), "{thr:?}");
        assert!(j.last_received("odd").await.unwrap().is_some());
        assert!(j.held_before(now_ms() + 1).await.unwrap().len() == 1);
        // Resolve: only from held/rejected/failed/dead, recorded as an event.
        assert_eq!(j.resolve(ids[3], "done", "me").await.unwrap(), State::Held);
        assert!(matches!(
            j.resolve(ids[3], "again", "me").await,
            Err(JournalError::Conflict(_))
        ));
        let last = j.events(ids[3]).await.unwrap().pop().unwrap();
        assert_eq!(last.detail.as_deref(), Some("resolved by me: done"));
        assert!(j.oldest_unfinished().await.unwrap().is_none());
        j.ping().await.unwrap();
    }
}

#[tokio::test]
async fn exports_are_recorded_once_sent_once_and_retried() {
    for j in journals().await {
        let b = j.backend();
        let row = j
            .export_begin("e", "ordrsp:sale.order:1", "acme", "ordrsp", "S1")
            .await
            .unwrap();
        assert_eq!(row.state, ExportState::Pending, "{b}");
        // Beginning again gives the same row.
        let again = j
            .export_begin("e", "ordrsp:sale.order:1", "acme", "ordrsp", "S1")
            .await
            .unwrap();
        assert_eq!(again.id, row.id, "{b}");
        assert!(
            j.export_has_unrendered("e", "ordrsp:").await.unwrap(),
            "{b}"
        );
        j.export_store(row.id, "f.edi", b"\x00bytes\xff")
            .await
            .unwrap();
        assert!(
            !j.export_has_unrendered("e", "ordrsp:").await.unwrap(),
            "{b}"
        );
        let pending = j.exports_pending("e").await.unwrap();
        assert_eq!(pending.len(), 1, "{b}");
        assert_eq!(
            pending[0].bytes.as_deref(),
            Some(&b"\x00bytes\xff"[..]),
            "{b}"
        );
        // A failed send stays pending, then dead at max_attempts.
        let s = j.export_outcome(row.id, Err("down"), 2).await.unwrap();
        assert_eq!(s, ExportState::Pending, "{b}");
        assert!(
            j.export_done_keys("e", "ordrsp:").await.unwrap().is_empty(),
            "{b}"
        );
        let s = j.export_outcome(row.id, Err("down"), 2).await.unwrap();
        assert_eq!(s, ExportState::Dead, "{b}");
        let done = j.export_done_keys("e", "ordrsp:").await.unwrap();
        assert!(done.contains("ordrsp:sale.order:1"), "{b}");
        j.export_retry(row.id).await.unwrap();
        assert!(j.export_retry(row.id).await.is_err(), "{b}");
        let s = j.export_outcome(row.id, Ok(()), 2).await.unwrap();
        assert_eq!(s, ExportState::Sent, "{b}");
        let listed = j.exports_list(10).await.unwrap();
        assert_eq!(listed[0].state, ExportState::Sent, "{b}");
        assert!(listed[0].sent_at.is_some(), "{b}");
        assert!(listed[0].bytes.is_none(), "{b}: the list leaves bytes out");
        // Other prefixes and exports are separate.
        assert!(
            j.export_done_keys("e", "desadv:").await.unwrap().is_empty(),
            "{b}"
        );
        assert!(
            j.export_done_keys("other", "ordrsp:")
                .await
                .unwrap()
                .is_empty(),
            "{b}"
        );
        assert!(
            j.export_last_created("e", "ordrsp:")
                .await
                .unwrap()
                .is_some(),
            "{b}"
        );
        assert!(
            j.export_last_created("e", "stock:")
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        // Watermarks.
        assert_eq!(
            j.export_watermark("e", "ordrsp").await.unwrap(),
            None,
            "{b}"
        );
        j.set_export_watermark("e", "ordrsp", "2026-11-22 10:00:00")
            .await
            .unwrap();
        j.set_export_watermark("e", "ordrsp", "2026-11-22 11:00:00")
            .await
            .unwrap();
        assert_eq!(
            j.export_watermark("e", "ordrsp").await.unwrap().as_deref(),
            Some("2026-11-22 11:00:00"),
            "{b}"
        );
    }
}

#[tokio::test]
async fn documents_are_stored_packed_and_old_text_rows_still_read() {
    for j in journals().await {
        let r = j
            .receive(vec![incoming(IC1), incoming("second message")])
            .await
            .unwrap();
        let (a, b) = (r[0].id, r[1].id);
        let claimed = j.claim("me", 10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 2);
        // A claim carries the raw bytes, never the documents.
        assert!(claimed
            .iter()
            .all(|m| m.canonical_json.is_none() && !m.raw.is_empty()));
        let canonical = format!(
            "[{}]",
            r#"{"line_number":"1","gtin":"5410738000152"},"#.repeat(100)
        );
        let priced = format!(
            "[{}]",
            r#"{"rule_id":"GMS","kind":"discount"},"#.repeat(300)
        );
        let mut u = Update::new(a, State::Delivered, 1);
        u.canonical_json = Some(canonical.clone());
        u.priced_json = Some(priced.clone());
        u.pack(); // as the pipeline does
        let mut v = Update::new(b, State::Delivered, 1);
        v.canonical_json = Some("[]".into()); // packed by apply itself
        j.apply(&[u, v]).await.unwrap();
        let m = j.get(a).await.unwrap();
        assert_eq!(m.canonical_json.as_deref(), Some(canonical.as_str()));
        assert_eq!(m.priced_json.as_deref(), Some(priced.as_str()));
        assert_eq!(
            j.get(b).await.unwrap().canonical_json.as_deref(),
            Some("[]")
        );
        assert_eq!(j.get(b).await.unwrap().priced_json, None);
        // Stored compressed, the text columns empty.
        let sql = "SELECT canonical_json IS NULL, CAST(length(canonical_z) AS BIGINT) \
                   FROM messages WHERE id = $1";
        let (text_null, z_len): (bool, i64) =
            with_pool!(&j, p => sqlx::query_as(sql).bind(a).fetch_one(p).await.unwrap());
        assert!(text_null);
        assert!(
            z_len > 0 && (z_len as usize) * 5 < canonical.len(),
            "{z_len}"
        );
        // A row written before packing existed reads its text columns.
        let old = "UPDATE messages SET canonical_z = NULL, priced_z = NULL, \
                   canonical_json = '[\"old\"]', priced_json = '[\"old priced\"]' WHERE id = $1";
        with_pool!(&j, p => sqlx::query(old).bind(b).execute(p).await.unwrap().rows_affected());
        let m = j.get(b).await.unwrap();
        assert_eq!(m.canonical_json.as_deref(), Some("[\"old\"]"));
        assert_eq!(m.priced_json.as_deref(), Some("[\"old priced\"]"));
        j.replay(a).await.unwrap();
        assert_eq!(
            j.get(a).await.unwrap().canonical_json,
            None,
            "replay clears"
        );
        // A corrupt packed value is an error that names the message.
        let bad = "UPDATE messages SET canonical_z = $2 WHERE id = $1";
        let junk = vec![0xffu8, 0xff, 0xff, 0x7f, 1, 2];
        with_pool!(&j, p => sqlx::query(bad).bind(b).bind(&junk).execute(p).await.unwrap().rows_affected());
        let e = j.get(b).await.unwrap_err().to_string();
        assert!(
            e.contains(&format!("message {b}")) && e.contains("canonical_z"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn duplicates_in_one_batch_point_at_the_original() {
    for j in journals().await {
        let x = j.receive(vec![incoming(IC1)]).await.unwrap()[0].id;
        // A repeats X's interchange reference with other bytes; B repeats
        // A's bytes. Both are duplicates of X, the first message.
        let a = "UNB+UNOC:3+SENDER1:14+RCPT:14+240309:0000+REF1'UNZ+0+REF1'";
        let r = j
            .receive(vec![incoming(a), incoming(a), incoming("fresh")])
            .await
            .unwrap();
        assert_eq!(r[0].duplicate_of, Some(x));
        assert_eq!(r[1].duplicate_of, Some(x));
        assert_eq!(r[2].duplicate_of, None);
        assert!(r[0].id < r[1].id && r[1].id < r[2].id, "ids in batch order");
        assert_eq!(j.get(r[2].id).await.unwrap().raw, b"fresh");
        assert_eq!(j.get(r[1].id).await.unwrap().state, State::Duplicate);
        // The duplicates gave their keys back: only X and "fresh" hold some.
        let claimed = j.claim("me", 10, 60_000).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![x, r[2].id]);
    }
}

#[tokio::test]
async fn batches_larger_than_one_statement_keep_every_row_in_order() {
    // 450 rows: three VALUES statements on SQLite, one UNNEST statement
    // on PostgreSQL. Row 300 repeats row 7 (a duplicate in mid-batch).
    for j in journals().await {
        let raw = |i: usize| format!("large batch message {}", if i == 300 { 7 } else { i });
        let r = j
            .receive((0..450).map(|i| incoming(&raw(i))).collect())
            .await
            .unwrap();
        assert_eq!(r.len(), 450, "{}", j.backend());
        assert!(
            r.windows(2).all(|w| w[0].id < w[1].id),
            "ids in batch order"
        );
        for (i, got) in r.iter().enumerate() {
            let expect = (i == 300).then_some(r[7].id);
            assert_eq!(got.duplicate_of, expect, "row {i} ({})", j.backend());
        }
        assert_eq!(j.get(r[299].id).await.unwrap().raw, raw(299).as_bytes());
        // Outcomes for every received row, with documents, business keys,
        // events and a delivery each.
        let updates: Vec<Update> = r
            .iter()
            .enumerate()
            .filter(|(_, got)| got.duplicate_of.is_none())
            .map(|(i, got)| {
                let mut u = Update::new(got.id, State::Delivered, 1);
                u.error = (i % 2 == 0).then(|| format!("note {i}"));
                u.business_keys = Some(format!("order:PO-{i},partner:P{}", i % 3));
                u.canonical_json = Some(format!("[{{\"n\":{i}}}]"));
                u.events = vec![(State::Delivered, format!("done {i}"))];
                u.deliveries = vec![Delivery {
                    sink: "out".into(),
                    attempt: 1,
                    at: 1,
                    outcome: "ok".into(),
                    detail: None,
                }];
                u
            })
            .collect();
        j.apply(&updates).await.unwrap();
        let m = j.get(r[449].id).await.unwrap();
        assert_eq!(m.state, State::Delivered, "{}", j.backend());
        assert_eq!(m.error, None);
        assert_eq!(m.canonical_json.as_deref(), Some("[{\"n\":449}]"));
        assert_eq!(
            j.get(r[448].id).await.unwrap().error.as_deref(),
            Some("note 448")
        );
        assert_eq!(j.events(r[449].id).await.unwrap().len(), 2);
        assert_eq!(j.delivered_sinks(r[201].id).await.unwrap(), vec!["out"]);
        let counts = j.counts().await.unwrap();
        assert!(counts.contains(&("delivered".into(), 449)), "{counts:?}");
        assert!(counts.contains(&("duplicate".into(), 1)), "{counts:?}");
    }
}

/// A message's stored partner, sender and interchange reference.
async fn identity(j: &Journal, id: i64) -> (Option<String>, Option<String>, Option<String>) {
    let m = j.get(id).await.unwrap();
    (m.partner, m.sender, m.interchange_ref)
}

fn some3(a: &str, b: &str, c: &str) -> (Option<String>, Option<String>, Option<String>) {
    (Some(a.into()), Some(b.into()), Some(c.into()))
}

#[tokio::test]
async fn outcomes_keep_or_change_partner_sender_and_reference() {
    for j in journals().await {
        let mut with_partner = incoming("UNB+UNOC:3+SENDER9:14+RCPT:14+240301:1430+R9'UNZ+0+R9'");
        with_partner.partner = Some("from-source".into());
        let r = j
            .receive(vec![
                with_partner,
                incoming("UNB+UNOC:3+SENDER8:14+RCPT:14+240301:1430+R8'UNZ+0+R8'"),
            ])
            .await
            .unwrap();
        let (a, b) = (r[0].id, r[1].id);
        let a_stored = some3("from-source", "SENDER9", "R9");
        // A chunk where no row names partner, sender or reference: the
        // stored values stay.
        j.apply(&[
            Update::new(a, State::Parsed, 0),
            Update::new(b, State::Parsed, 0),
        ])
        .await
        .unwrap();
        assert_eq!(identity(&j, a).await, a_stored, "{}", j.backend());
        assert_eq!(
            identity(&j, b).await,
            (None, Some("SENDER8".into()), Some("R8".into()))
        );
        // A chunk where one row sets them: that row changes, the other
        // keeps its own values.
        let mut ub = Update::new(b, State::Mapped, 0);
        ub.partner = Some("resolved".into());
        ub.sender = Some("OTHER".into());
        ub.interchange_ref = Some("R8b".into());
        j.apply(&[Update::new(a, State::Mapped, 0), ub])
            .await
            .unwrap();
        assert_eq!(identity(&j, a).await, a_stored, "{}", j.backend());
        assert_eq!(identity(&j, b).await, some3("resolved", "OTHER", "R8b"));
        assert_eq!(j.get(b).await.unwrap().state, State::Mapped);
    }
}

#[tokio::test]
async fn sqlite_reads_do_not_wait_for_a_write_transaction() {
    let dir = std::env::temp_dir().join(unique("comptoir-journal"));
    let url = format!("sqlite://{}/j.db", dir.display());
    let j = Journal::open(&url, 2, None).await.unwrap();
    let got = j.receive(vec![incoming(IC1)]).await.unwrap();
    let Journal::Sqlite { writer, .. } = &j else {
        unreachable!("a sqlite:// URL opens a SQLite journal")
    };
    // The writer's one connection is busy in a transaction that has
    // written and not committed yet (a commit of the pipeline, say).
    let mut tx = writer.begin().await.unwrap();
    sqlx::query("UPDATE messages SET state = 'parsed' WHERE id = $1")
        .bind(got[0].id)
        .execute(&mut *tx)
        .await
        .unwrap();
    // The admin API's reads and the exclusive daemon's claim go on, and see
    // the last committed state.
    let wait = Duration::from_secs(5);
    let counts = tokio::time::timeout(wait, j.counts())
        .await
        .expect("counts waited for the writer");
    assert_eq!(counts.unwrap(), vec![("received".to_string(), 1)]);
    let m = tokio::time::timeout(wait, j.get(got[0].id))
        .await
        .expect("get waited")
        .unwrap();
    assert_eq!(m.state, State::Received);
    let claimed = tokio::time::timeout(wait, j.claim_unleased(10, &[]))
        .await
        .expect("the claim waited")
        .unwrap();
    assert_eq!(claimed.len(), 1);
    tx.commit().await.unwrap();
    assert_eq!(j.get(got[0].id).await.unwrap().state, State::Parsed);
}
