//! SFTP sink against a real OpenSSH server (`tests/common/sshd.rs`): atomic
//! and idempotent uploads, host key pinning and error classes, reconnection
//! after a server restart, answers to a partner through an SFTP outbound
//! channel (a `comptoir run --once` daemon), SAP IDoc files over SFTP.
//!
//! Runs when `COMPTOIR_TEST_SFTP=1`; otherwise prints a SKIPPED notice, or
//! panics when `COMPTOIR_REQUIRE_SERVICES` is set.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sshd::{enabled, keygen, names, Sshd};
use comptoir::config::{Config, SinkKind};
use comptoir::sinks::sap::SapSink;
use comptoir::sinks::{Answer, Payload, SftpSink, Sink, SinkError};
use serde_json::json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn payload(id: i64, canonical: &str, priced: Option<&str>) -> Payload<'static> {
    Payload {
        message_id: id,
        partner: Some("acme".into()),
        canonical_json: canonical.to_string().into(),
        priced_json: priced.map(|p| p.to_string().into()),
    }
}

#[test]
fn upload_is_atomic_and_redelivery_replaces_the_same_files() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("sink-atomic");
    let sink = SftpSink::new("partner-out", &sshd.sink());
    let out = sshd.outbox();

    // The remote directory is created on first use.
    assert!(!out.exists());
    sink.deliver(&payload(7, "[1]", Some("[2]")))
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    assert_eq!(names(&out), ["7.json", "7.priced.json"]);
    assert_eq!(std::fs::read_to_string(out.join("7.json")).unwrap(), "[1]");
    assert_eq!(
        std::fs::read_to_string(out.join("7.priced.json")).unwrap(),
        "[2]"
    );

    // Redelivery (same message id, e.g. after a crash before the journal
    // commit): the same names, replaced, no second file, no leftovers.
    sink.deliver(&payload(7, "[1, 1]", Some("[2, 2]"))).unwrap();
    assert_eq!(names(&out), ["7.json", "7.priced.json"]);
    assert_eq!(
        std::fs::read_to_string(out.join("7.json")).unwrap(),
        "[1, 1]"
    );

    // A poller watching the directory during a large upload sees the final
    // name only with its whole content (the .part file is hidden).
    let big = format!("[{}0]", "1234567,".repeat(1 << 19));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (done, out, len) = (Arc::clone(&done), out.clone(), big.len() as u64);
        std::thread::spawn(move || {
            let (mut partial_seen, mut complete_seen) = (false, false);
            while !done.load(Ordering::SeqCst) {
                for n in names(&out) {
                    if n == ".8.json.part" {
                        partial_seen = true;
                    }
                    if n == "8.json" {
                        if let Ok(m) = std::fs::metadata(out.join(&n)) {
                            assert_eq!(m.len(), len, "8.json visible before it was complete");
                            complete_seen = true;
                        }
                    }
                }
            }
            (partial_seen, complete_seen)
        })
    };
    sink.deliver(&payload(8, &big, None)).unwrap();
    done.store(true, Ordering::SeqCst);
    let (partial_seen, _) = watcher.join().unwrap();
    eprintln!("temporary .part file observed during the upload: {partial_seen}");
    assert_eq!(std::fs::read_to_string(out.join("8.json")).unwrap(), big);
    assert_eq!(names(&out), ["7.json", "7.priced.json", "8.json"]);

    // `content` narrows what is uploaded.
    let mut cfg = sshd.sink();
    cfg.content = Some(comptoir::config::SftpContent::Priced);
    SftpSink::new("priced-only", &cfg)
        .deliver(&payload(9, "[1]", Some("[3]")))
        .unwrap();
    assert!(!out.join("9.json").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("9.priced.json")).unwrap(),
        "[3]"
    );
}

#[test]
fn wrong_host_key_or_user_key_is_a_permanent_error() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("sink-hostkey");
    let mut cfg = sshd.sink();
    let pinned = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string();
    cfg.host_keys = vec![pinned.clone()];
    match SftpSink::new("partner-out", &cfg).deliver(&payload(1, "[]", None)) {
        Err(SinkError::Permanent(m)) => {
            assert!(m.contains("host key mismatch"), "{m}");
            assert!(m.contains(&pinned) && m.contains(&sshd.host_fp), "{m}");
            assert!(m.contains("sink partner-out"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!sshd.outbox().exists(), "nothing may be written");

    keygen(&sshd.dir.join("other_ed25519"));
    let mut cfg = sshd.sink();
    cfg.key_file = Some(sshd.dir.join("other_ed25519"));
    match SftpSink::new("partner-out", &cfg).deliver(&payload(1, "[]", None)) {
        Err(SinkError::Permanent(m)) => assert!(m.contains("authentication"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn server_down_is_transient_and_the_sink_reconnects() {
    if !enabled() {
        return;
    }
    let mut sshd = Sshd::new("sink-restart");
    let sink = SftpSink::new("partner-out", &sshd.sink());
    sink.deliver(&payload(1, "[1]", None)).unwrap();
    // The server restarts: the kept connection is dead; the next delivery
    // notices and reconnects on its own.
    sshd.stop();
    sshd.start();
    sink.deliver(&payload(2, "[2]", None))
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    // The server is down: a transient error (the pipeline retries).
    sshd.stop();
    match sink.deliver(&payload(3, "[3]", None)) {
        Err(SinkError::Transient(m)) => assert!(m.contains("sink partner-out"), "{m}"),
        other => panic!("{other:?}"),
    }
    sshd.start();
    sink.deliver(&payload(3, "[3]", None)).unwrap();
    assert_eq!(names(&sshd.outbox()), ["1.json", "2.json", "3.json"]);
}

#[test]
fn answers_are_uploaded_by_an_sftp_sink_used_as_outbound_channel() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("sink-answers");
    // Direct: the Sink API used by the pipeline.
    let cfg = Config::parse(&format!(
        "[[sink]]\nname = \"partner-out\"\ntype = \"sftp\"\nhost = \"127.0.0.1\"\nport = {}\n\
         user = \"{}\"\nkey_file = \"{}\"\nhost_keys = [\"{}\"]\npath = \"{}\"\n",
        sshd.port,
        sshd.user(),
        sshd.dir.join("user_ed25519").display(),
        sshd.host_fp,
        sshd.outbox().display()
    ))
    .unwrap();
    assert!(matches!(cfg.sinks[0].kind, SinkKind::Sftp(_)));
    let sink = Sink::from_config(&cfg.sinks[0]);
    let a = Answer {
        message_id: 5,
        partner: Some("acme".into()),
        kind: "aperak",
        index: 1,
        bytes: b"UNA:+.? 'UNB+UNOC:3'".to_vec(),
        name: None,
    };
    sink.deliver_answer(&a).unwrap();
    sink.deliver_answer(&a).unwrap();
    assert_eq!(names(&sshd.outbox()), ["5.aperak.1.edi"]);

    // A daemon run: an order from a local directory, answered over SFTP.
    let d = sshd.dir.join("daemon");
    std::fs::create_dir_all(d.join("inbox")).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("fixtures/edifact/orders_demo.edi"),
        d.join("inbox/order.edi"),
    )
    .unwrap();
    let remote = sshd.dir.join("remote/answers");
    let toml = format!(
        r#"
[journal]
url = "sqlite://{d}/comptoir.db"
[paths]
mappings = "{ROOT}/mappings"
pricing = "{ROOT}/config/pricing"
[daemon]
idle_poll_ms = 20
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 20
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
outbound_channel = "partner-sftp"
[partner.acknowledgements]
contrl = true
ordrsp = true
[[route]]
name = "orders"
price = true
sinks = ["outbox"]
[[sink]]
name = "outbox"
type = "file"
path = "{d}/outbox"
fsync = false
[[sink]]
name = "partner-sftp"
type = "sftp"
host = "127.0.0.1"
port = {port}
user = "{user}"
key_file = "{key}"
host_keys = ["{fp}"]
path = "{remote}"
"#,
        d = d.display(),
        port = sshd.port,
        user = sshd.user(),
        key = sshd.dir.join("user_ed25519").display(),
        fp = sshd.host_fp,
        remote = remote.display(),
    );
    let cfg = d.join("comptoir.toml");
    std::fs::write(&cfg, toml).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_comptoir"))
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
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
    assert!(d.join("outbox/1.priced.json").is_file());
    assert_eq!(names(&remote), ["1.contrl.1.edi", "1.ordrsp.1.edi"]);
    for kind in ["contrl", "ordrsp"] {
        let bytes = std::fs::read(remote.join(format!("1.{kind}.1.edi"))).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("UNA"), "{text}");
        assert!(text.contains(&kind.to_uppercase()), "{text}");
        // Addressed back to the sender.
        assert!(text.contains("+5412345000013"), "{text}");
    }
}

#[test]
fn sap_idoc_is_uploaded_over_sftp() {
    if !enabled() {
        return;
    }
    let sshd = Sshd::new("sink-idoc");
    let remote = sshd.dir.join("remote/idoc");
    let cfg = Config::parse(&format!(
        r#"
[[sink]]
name = "sap"
type = "sap"
mode = "idoc_sftp"
host = "127.0.0.1"
port = {}
user = "{}"
key_file = "{}"
host_keys = ["{}"]
path = "{}"
"#,
        sshd.port,
        sshd.user(),
        sshd.dir.join("user_ed25519").display(),
        sshd.host_fp,
        remote.display()
    ))
    .unwrap();
    assert!(cfg.validate(Path::new("c.toml")).is_empty());
    let SinkKind::Sap(mode) = &cfg.sinks[0].kind else {
        panic!("sap expected")
    };
    let sap = SapSink::new(mode);
    let order = json!({
        "document_type": "order", "number": "PO-SFTP-1",
        "dates": [{"kind": "document", "value": "2026-03-01"}],
        "parties": [{"role": "buyer", "gln": "5412345000013"}, {"role": "supplier", "gln": "5400000000001"}],
        "lines": [{"line_number": "1", "gtin": "5410738000152", "quantity": {"value": "24", "unit": "PCE"}}],
        "origin": {"format": "edifact"}});
    let p = payload(3, &json!([order]).to_string(), None);
    let t = Instant::now();
    assert_eq!(
        sap.deliver(&p)
            .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log())),
        ["3-1.xml"]
    );
    // Again: same name, replaced.
    assert_eq!(sap.deliver(&p).unwrap(), ["3-1.xml"]);
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(names(&remote), ["3-1.xml"]);
    let xml = std::fs::read_to_string(remote.join("3-1.xml")).unwrap();
    assert!(
        xml.contains("ORDERS05") && xml.contains("PO-SFTP-1"),
        "{xml}"
    );
}
