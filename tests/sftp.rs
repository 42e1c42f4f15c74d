//! SFTP source against a real OpenSSH server.
//!
//! Each test starts its own `sshd` (`tests/common/sshd.rs`) on a random
//! loopback port, with throwaway host and user keys and its own
//! `sshd_config`; the SFTP user is the current user with the test key.
//!
//! Runs when `COMPTOIR_TEST_SFTP=1`; otherwise prints a SKIPPED notice, or
//! panics when `COMPTOIR_REQUIRE_SERVICES` is set.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::sshd::{enabled, keygen, names, Sshd};

use comptoir::config::SftpSource;
use comptoir::journal::{Journal, State};
use comptoir::sources::sftp::{PollState, SftpError, SftpSourceTask};

async fn source_task(sshd: &Sshd, config: SftpSource) -> SftpSourceTask {
    let url = format!("sqlite://{}/journal.db", sshd.dir.display());
    SftpSourceTask {
        name: "partner-sftp".into(),
        partner: None,
        config,
        journal: Journal::open(&url, 1, None).await.unwrap(),
        owner: "test".into(),
        lease_ms: 60_000,
    }
}

async fn journaled(j: &Journal) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for m in j.list(None, 1000).await.unwrap() {
        let full = j.get(m.id).await.unwrap();
        out.push((full.source_ref.unwrap_or_default(), full.raw));
    }
    out.sort();
    out
}

#[tokio::test]
async fn files_are_journaled_then_archived_partials_left() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("pickup");
    let task = source_task(&sshd, sshd.source()).await;
    std::fs::write(sshd.inbox().join("a.edi"), b"AAAA").unwrap();
    std::fs::write(sshd.inbox().join("b.edi"), b"BBBBBB").unwrap();
    std::fs::write(sshd.inbox().join("c.edi.part"), b"still uploading").unwrap();
    std::fs::write(sshd.inbox().join("notes.txt"), b"not a match").unwrap();
    let conn = task
        .connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    let mut state = PollState::default();

    // First sight: sizes not yet known to be stable, nothing taken.
    let o = task.poll(&conn, &mut state).await.unwrap();
    assert_eq!((o.listed, o.journaled), (2, 0));
    assert!(journaled(&task.journal).await.is_empty());
    // A file still growing is not taken either.
    std::fs::write(sshd.inbox().join("b.edi"), b"BBBBBBBBBB").unwrap();

    let o = task.poll(&conn, &mut state).await.unwrap();
    assert_eq!(o.journaled, 1);
    assert_eq!(
        journaled(&task.journal).await,
        vec![("a.edi".to_string(), b"AAAA".to_vec())]
    );
    assert_eq!(names(&sshd.archive()), vec!["1-a.edi"]);
    assert_eq!(
        names(&sshd.inbox()),
        vec!["b.edi", "c.edi.part", "notes.txt"]
    );

    let o = task.poll(&conn, &mut state).await.unwrap();
    assert_eq!(o.journaled, 1);
    assert_eq!(names(&sshd.archive()), vec!["1-a.edi", "2-b.edi"]);
    assert_eq!(names(&sshd.inbox()), vec!["c.edi.part", "notes.txt"]);
    assert_eq!(
        std::fs::read(sshd.archive().join("2-b.edi")).unwrap(),
        b"BBBBBBBBBB"
    );
    let msgs = task.journal.list(None, 10).await.unwrap();
    assert!(msgs.iter().all(|m| m.state == State::Received));
    conn.close().await;

    // Without an archive directory, journaled files are deleted.
    let mut cfg = sshd.source();
    cfg.archive = None;
    cfg.pattern = "*".into();
    let task2 = SftpSourceTask {
        config: cfg,
        ..task
    };
    let conn = task2.connect().await.unwrap();
    let mut state = PollState::default();
    task2.poll(&conn, &mut state).await.unwrap();
    let o = task2.poll(&conn, &mut state).await.unwrap();
    assert_eq!(o.journaled, 1);
    assert_eq!(names(&sshd.inbox()), vec!["c.edi.part"]);
    conn.close().await;
}

#[tokio::test]
async fn host_key_mismatch_is_refused_naming_both_fingerprints() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("hostkey");
    let mut cfg = sshd.source();
    let pinned = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string();
    cfg.host_keys = vec![pinned.clone()];
    let task = source_task(&sshd, cfg).await;
    std::fs::write(sshd.inbox().join("a.edi"), b"AAAA").unwrap();
    let err = task.connect().await.expect_err("must be refused");
    assert!(matches!(err, SftpError::HostKeyMismatch { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&pinned), "{text}");
    assert!(text.contains(&sshd.host_fp), "{text}");
    // `run --once` gives up without touching anything.
    let (_tx, rx) = tokio::sync::watch::channel(false);
    assert_eq!(task.run(rx, true).await, 0);
    assert_eq!(names(&sshd.inbox()), vec!["a.edi"]);
}

#[tokio::test]
async fn wrong_user_key_is_refused() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("userkey");
    keygen(&sshd.dir.join("other_ed25519"));
    let mut cfg = sshd.source();
    cfg.key_file = Some(sshd.dir.join("other_ed25519"));
    let task = source_task(&sshd, cfg).await;
    let err = task.connect().await.expect_err("must be refused");
    assert!(matches!(err, SftpError::AuthRefused { .. }), "{err}");
    assert!(err.to_string().contains("publickey"), "{err}");
}

#[tokio::test]
async fn journal_error_leaves_remote_files_in_place() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("ioerror");
    let task = source_task(&sshd, sshd.source()).await;
    std::fs::write(sshd.inbox().join("a.edi"), b"AAAA").unwrap();
    let conn = task.connect().await.unwrap();
    let mut state = PollState::default();
    task.poll(&conn, &mut state).await.unwrap();
    // Break the journal: the commit of the downloaded bytes fails.
    let Journal::Sqlite { writer: pool, .. } = &task.journal else {
        unreachable!()
    };
    sqlx::query("ALTER TABLE messages RENAME TO messages_away")
        .execute(pool)
        .await
        .unwrap();
    let o = task.poll(&conn, &mut state).await.unwrap();
    assert_eq!(o.journaled, 0);
    assert_eq!(names(&sshd.inbox()), vec!["a.edi"]);
    assert!(names(&sshd.archive()).is_empty());
    // Journal back: the file is taken and only then archived.
    sqlx::query("ALTER TABLE messages_away RENAME TO messages")
        .execute(pool)
        .await
        .unwrap();
    let o = task.poll(&conn, &mut state).await.unwrap();
    assert_eq!(o.journaled, 1);
    assert!(names(&sshd.inbox()).is_empty());
    assert_eq!(names(&sshd.archive()), vec!["1-a.edi"]);
    conn.close().await;
}

#[tokio::test]
async fn download_error_leaves_remote_file_in_place() {
    if !enabled() {
        return;
    }
    let mut sshd = Sshd::new("dlerror");
    let task = source_task(&sshd, sshd.source()).await;
    std::fs::write(sshd.inbox().join("a.edi"), b"AAAA").unwrap();
    let conn = task.connect().await.unwrap();
    let mut state = PollState::default();
    task.poll(&conn, &mut state).await.unwrap();
    // The server goes away between the listing and the download.
    sshd.stop();
    let r = task.poll(&conn, &mut state).await;
    assert!(r.is_err(), "{r:?}");
    assert_eq!(names(&sshd.inbox()), vec!["a.edi"]);
    assert!(journaled(&task.journal).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_reconnects_and_continues() {
    if !enabled() {
        return;
    }
    let mut sshd = Sshd::new("restart");
    let task = std::sync::Arc::new(source_task(&sshd, sshd.source()).await);
    let journal = task.journal.clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let t = std::sync::Arc::clone(&task);
    let running = tokio::spawn(async move { t.run(rx, false).await });

    let wait_for = |n: usize| {
        let journal = journal.clone();
        async move {
            let t = Instant::now();
            loop {
                let got = journal.list(None, 100).await.unwrap().len();
                if got >= n {
                    return;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(20),
                    "{got} of {n} journaled"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    std::fs::write(sshd.inbox().join("one.edi"), b"ONE").unwrap();
    wait_for(1).await;
    // The archive move follows the commit: wait for it too.
    let t = Instant::now();
    while !names(&sshd.inbox()).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "one.edi not archived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sshd.stop();
    std::fs::write(sshd.inbox().join("two.edi"), b"TWO").unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(names(&sshd.inbox()), vec!["two.edi"]);
    sshd.start();
    wait_for(2).await;
    let t = Instant::now();
    while !names(&sshd.inbox()).is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "two.edi not archived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = tx.send(true);
    assert_eq!(running.await.unwrap(), 2);
    assert_eq!(
        journaled(&journal).await,
        vec![
            ("one.edi".to_string(), b"ONE".to_vec()),
            ("two.edi".to_string(), b"TWO".to_vec())
        ]
    );
}

#[test]
fn daemon_run_once_delivers_an_order_from_sftp() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("daemon");
    let root = env!("CARGO_MANIFEST_DIR");
    let demo = std::fs::read(Path::new(root).join("fixtures/edifact/orders_demo.edi")).unwrap();
    std::fs::write(sshd.inbox().join("order.edi"), demo).unwrap();
    let s = sshd.source();
    let cfg = sshd.dir.join("comptoir.toml");
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
idle_poll_ms = 20
[[source]]
name = "partner-sftp"
type = "sftp"
host = "127.0.0.1"
port = {port}
user = "{user}"
key_file = "{d}/user_ed25519"
host_keys = ["{fp}"]
path = "{inbox}"
pattern = "*.edi"
archive = "{archive}"
poll_interval_ms = 50
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
            d = sshd.dir.display(),
            port = s.port,
            user = s.user,
            fp = sshd.host_fp,
            inbox = s.path,
            archive = sshd.archive().display(),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_comptoir"))
        .args(["run", "--once", "--config"])
        .arg(&cfg)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(names(&sshd.inbox()).is_empty());
    assert_eq!(names(&sshd.archive()), vec!["1-order.edi"]);
    let priced = std::fs::read_to_string(sshd.dir.join("outbox/1.priced.json")).unwrap();
    assert!(priced.contains("PO-DEMO-0001"), "{priced}");
}
