//! Real X12 and CSV samples from public projects (`../shared/corpus`):
//! every X12 file translates into one document per ST segment, each with the
//! number its transaction set defines (850 BEG03, 855 BAK03, 856 BSN02,
//! 810 BIG02, 846 BIA03, 832 BCT02/BCT03, 861 BRA01, others ST02); the
//! invalid X12 files get a located error; every CSV file translates with
//! its layout under `mappings/csv/`.
//!
//! `cargo test --test corpus_x12_csv -- --nocapture` prints the per-file
//! tables.

mod common;

use std::path::{Path, PathBuf};

use comptoir::formats::x12::{cp037_to_latin1, is_ebcdic_x12, Lexer, Token};
use comptoir::translate::{detect, Format};

/// (transaction set, expected number) per ST, read with the bare lexer.
fn expected_x12(bytes: &[u8]) -> Vec<(String, String)> {
    let mut owned = bytes.to_vec();
    if is_ebcdic_x12(&owned) {
        cp037_to_latin1(&mut owned);
    }
    let mut lx = Lexer::new(&owned[..]);
    let mut out: Vec<(String, String)> = Vec::new();
    let text = |s: &comptoir::formats::edifact::Segment<'_>, e: usize| {
        s.text(e, 1)
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    };
    while let Ok(Some(t)) = lx.advance() {
        if t != Token::Segment {
            continue;
        }
        let s = lx.segment();
        let tag = s.tag().into_owned();
        if tag == "ST" {
            out.push((text(&s, 1), text(&s, 2)));
            continue;
        }
        let Some(last) = out.last_mut() else { continue };
        let number = match (last.0.as_str(), tag.as_str()) {
            ("850", "BEG") => text(&s, 3),
            ("855", "BAK") => text(&s, 3),
            ("856", "BSN") => text(&s, 2),
            ("810", "BIG") => text(&s, 2),
            ("846", "BIA") => text(&s, 3),
            ("832", "BCT") => {
                let n = text(&s, 2);
                if n.is_empty() {
                    text(&s, 3)
                } else {
                    n
                }
            }
            ("861", "BRA") => text(&s, 1),
            _ => continue,
        };
        last.1 = number;
    }
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn x12_corpus_translates() {
    let Some(dir) = common::corpus("x12") else {
        return;
    };
    let registry = common::registry();
    let mut table = vec![
        "| file | ST | documents (type) | lines | warnings | result |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        checked += 1;
        assert_eq!(
            detect(&bytes[..bytes.len().min(4096)]),
            Format::X12,
            "{name}"
        );
        let run = common::translate(&registry, &bytes, &name, None);
        let exp = expected_x12(&bytes);
        let mut problems = Vec::new();
        if !run.rejected.is_empty() {
            problems.push(format!(
                "{} rejected: {:?}",
                run.rejected.len(),
                run.rejected
            ));
        }
        if run.summary.diagnostics.iter().any(|d| d.is_error()) {
            problems.push(format!("file errors: {:?}", run.summary.diagnostics));
        }
        if run.documents.len() != exp.len() {
            problems.push(format!(
                "{} documents for {} ST",
                run.documents.len(),
                exp.len()
            ));
        }
        for (i, (doc, (ts, number))) in run.documents.iter().zip(&exp).enumerate() {
            if &doc.number != number {
                problems.push(format!(
                    "{ts} #{}: number {:?} != {number:?}",
                    i + 1,
                    doc.number
                ));
            }
            if doc.origin.format != "x12" {
                problems.push(format!("#{}: origin.format {:?}", i + 1, doc.origin.format));
            }
            if doc.origin.message_type.as_deref() != Some(ts.as_str()) {
                problems.push(format!(
                    "#{}: message type {:?}",
                    i + 1,
                    doc.origin.message_type
                ));
            }
        }
        let mut types: Vec<&str> = run
            .documents
            .iter()
            .map(|d| d.document_type.as_str())
            .collect();
        types.dedup();
        let lines: usize = run.documents.iter().map(|d| d.lines.len()).sum();
        let warnings = run.warnings.len()
            + run
                .summary
                .diagnostics
                .iter()
                .filter(|d| !d.is_error())
                .count();
        table.push(format!(
            "| {name} | {} | {} ({}) | {lines} | {warnings} | {} |",
            exp.len(),
            run.documents.len(),
            types.join(", "),
            if problems.is_empty() { "ok" } else { "FAIL" }
        ));
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        checked >= 15,
        "expected the 15 X12 samples, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "X12 corpus failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_x12_files_get_located_errors() {
    let Some(dir) = common::corpus("invalid") else {
        return;
    };
    let registry = common::registry();
    let mut table = vec![
        "| file | first error |".to_string(),
        "|---|---|".to_string(),
    ];
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if detect(&bytes[..bytes.len().min(4096)]) != Format::X12 {
            continue;
        }
        checked += 1;
        let run = common::translate(&registry, &bytes, &name, None);
        let errors: Vec<_> = run
            .rejected
            .iter()
            .flatten()
            .chain(run.summary.diagnostics.iter())
            .filter(|d| d.is_error())
            .collect();
        let located = errors.iter().find(|d| {
            d.location.file.is_some() && d.location.line.is_some() && d.location.offset.is_some()
        });
        match located {
            Some(d) => table.push(format!(
                "| {name} | {} |",
                d.to_string().replace('|', "\\|")
            )),
            None => failures.push(format!("{name}: no located error among {errors:?}")),
        }
        // Transaction sets are streamed out at SE: a missing IEA found at
        // the end of the file cannot reject them any more, but the run is
        // not clean (the CLI exits non-zero and ops see the error).
        if run.summary.is_clean() {
            failures.push(format!("{name}: the run is reported clean"));
        }
    }
    println!("{}", table.join("\n"));
    assert_eq!(checked, 2, "expected the 2 invalid X12 samples");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
