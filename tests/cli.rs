//! The `comptoir` binary as a user runs it: output, exit codes, messages.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_comptoir"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/edifact")
        .join(name)
        .display()
        .to_string()
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn comptoir");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn translate_prints_one_json_document_per_message() {
    let out = bin()
        .args(["translate", &fixture("orders_acme.edi")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d["document_type"], "order");
    assert_eq!(d["number"], "PO-2026-0042");
    assert_eq!(d["lines"].as_array().unwrap().len(), 2);
    assert_eq!(d["lines"][0]["gtin"], "5410738000152");
    assert_eq!(d["lines"][0]["quantity"]["value"], "120");
    assert_eq!(d["lines"][1]["description"], "Thé vert + menthe 100 g");
    assert_eq!(d["parties"][0]["name"], "ACME Distribution SA");
    assert_eq!(
        d["parties"][0]["address"]["street"][0],
        "12 rue de l'Industrie"
    );
    assert_eq!(
        d["notes"][0]["text"],
        "Livraison quai n:3, appeler avant+merci"
    );
}

#[test]
fn translate_reads_standard_input() {
    let bytes = std::fs::read(fixture("orders_acme.edi")).unwrap();
    let out = run_with_stdin(&["translate", "-"], &bytes);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn output_none_reports_counts_and_throughput() {
    let out = bin()
        .args(["translate", "--output", "none", &fixture("orders_acme.edi")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 messages, 1 documents, 0 rejected"), "{err}");
    assert!(err.contains("MB/s"), "{err}");
}

#[test]
fn validate_locates_every_problem_and_exits_1() {
    let bad = b"UNA:+.? 'UNB+UNOC:3+SENDER:14+RECEIVER:14+240301:1200+REF1'\
UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+PO1+9'NAD+BYZZ+123::9'LIN+1++4000862141404:SRV'\
QTY+21:12A:PCE'UNS+S'UNT+7+1'UNZ+1+REF1'";
    let out = run_with_stdin(&["validate", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("-:1: interchange 1, message 1 (ref 1), segment 5 QTY, element 1, component 2: not a number: \"12A\""),
        "{text}"
    );
    assert!(text.contains("segment 3 NAD, element 1, component 1: \"BYZZ\" is longer than the 3 characters allowed"), "{text}");
    assert!(text.contains("INVALID"), "{text}");
}

#[test]
fn validate_accepts_a_valid_file() {
    let out = bin()
        .args(["validate", &fixture("orders_acme.edi")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = bin().args(["translate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["translate", "/nonexistent/file.edi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.edi"));
    let out = bin()
        .args(["translate", "--to", "pdf", &fixture("orders_acme.edi")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn garbage_never_panics() {
    for input in [
        &b""[..],
        b"\x00\xff\xfe",
        b"UNA",
        b"UNB+",
        b"UNH+1+ORDERS:D:96A'LIN+1'",
        b"'''''",
    ] {
        let out = run_with_stdin(&["translate", "-"], input);
        let code = out.status.code();
        assert!(matches!(code, Some(0..=2)), "exit {code:?} for {input:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn to_edifact_ordrsp_answers_the_sender() {
    let out = bin()
        .args([
            "translate",
            "--to",
            "edifact:ORDRSP",
            &fixture("orders_acme.edi"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("UNB+UNOC:3+5410738000008:14+5412345000013:14+"),
        "{text}"
    );
    assert!(text.contains("BGM+231+PO-2026-0042+9+AP'"), "{text}");
    assert!(text.contains("LIN+2+5+5410738000169:SRV'"), "{text}");
}

#[test]
fn price_explains_the_rules_applied() {
    let out = bin()
        .args([
            "price",
            "--client",
            "5412345000013",
            "--explain",
            "--date",
            "2026-11-22",
            &fixture("orders_acme.edi"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cascading discount -10 % then -5 %"),
        "{text}"
    );
    assert!(text.contains("total discount 14.5 % off list"), "{text}");
    assert!(text.contains("grand total"), "{text}");
}

#[test]
fn to_edifact_contrl_points_at_the_failing_segment_and_element() {
    let bad = b"UNA:+.? 'UNB+UNOC:3+SENDER:14+RECEIVER:14+240301:1200+REF1'\
UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+PO1+9'LIN+1++4000862141404:SRV'\
QTY+21:12A:PCE'UNS+S'UNT+6+1'UNZ+1+REF1'";
    let out = run_with_stdin(&["translate", "--to", "edifact:CONTRL", "-"], bad);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    // Sent back to the sender, about its interchange REF1.
    assert!(text.contains("UNB+UNOC:3+RECEIVER:14+SENDER:14+"), "{text}");
    assert!(text.contains("UCI+REF1+SENDER:14+RECEIVER:14+"), "{text}");
    assert!(text.contains("UCM+1+ORDERS:D:96A:UN:EAN008+4'"), "{text}");
    assert!(
        text.contains("UCS+4'") && text.contains("UCD+12+1:2'"),
        "{text}"
    );
}
