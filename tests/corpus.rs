//! Real sample messages from public projects (`../shared/corpus`): every
//! valid EDIFACT file translates, with each document's number equal to its
//! BGM document number and as many lines as LIN segments; every invalid
//! EDIFACT file gets an error that says where.
//!
//! The per-file table printed here (`cargo test --test corpus -- --nocapture`)
//! is the one published in docs/corpus.md.

mod common;

use std::path::Path;

use comptoir::formats::edifact::{Charset, Lexer, Token};
use comptoir::translate::{detect, Format};

/// (BGM document number or None, LIN count) per message, read with the bare
/// tokenizer, independently of the mappings.
fn expected(bytes: &[u8]) -> Vec<(Option<String>, usize)> {
    let mut lx = Lexer::new(bytes);
    let mut out: Vec<(Option<String>, usize)> = Vec::new();
    let mut in_msg = false;
    while let Ok(Some(t)) = lx.advance() {
        if t != Token::Segment {
            continue;
        }
        let s = lx.segment();
        match s.tag_bytes() {
            b"UNB" => {
                let cs = s
                    .text(1, 1)
                    .and_then(|id| Charset::from_syntax_identifier(&id));
                lx.set_charset(cs.unwrap_or_default());
            }
            b"UNH" => {
                in_msg = true;
                out.push((None, 0));
            }
            b"UNT" => in_msg = false,
            b"BGM" if in_msg => {
                if let Some(last) = out.last_mut() {
                    last.0 = s.text(2, 1).map(|t| t.into_owned());
                }
            }
            b"LIN" if in_msg => {
                if let Some(last) = out.last_mut() {
                    last.1 += 1;
                }
            }
            _ => {}
        }
    }
    out
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn valid_edifact_files_translate() {
    let Some(dir) = common::corpus("edifact") else {
        return;
    };
    let registry = common::registry();
    let mut table = vec![
        "| file | messages | documents (type) | lines | warnings | result |".to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    let mut failures = Vec::new();
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let run = common::translate(&registry, &bytes, &name, None);
        let exp = expected(&bytes);
        let mut problems = Vec::new();
        if !run.rejected.is_empty() {
            problems.push(format!(
                "{} message(s) rejected: {:?}",
                run.rejected.len(),
                run.rejected
            ));
        }
        if run.summary.diagnostics.iter().any(|d| d.is_error()) {
            problems.push(format!("file errors: {:?}", run.summary.diagnostics));
        }
        if run.documents.len() != exp.len() {
            problems.push(format!(
                "{} documents for {} messages",
                run.documents.len(),
                exp.len()
            ));
        }
        for (i, (doc, (bgm, lins))) in run.documents.iter().zip(&exp).enumerate() {
            if let Some(bgm) = bgm {
                if &doc.number != bgm {
                    problems.push(format!(
                        "message {}: number {:?} != BGM {:?}",
                        i + 1,
                        doc.number,
                        bgm
                    ));
                }
            }
            if doc.lines.len() != *lins {
                problems.push(format!(
                    "message {}: {} lines != {} LIN",
                    i + 1,
                    doc.lines.len(),
                    lins
                ));
            }
        }
        let types: Vec<&str> = run
            .documents
            .iter()
            .map(|d| d.document_type.as_str())
            .collect();
        let mut types_dedup = types.clone();
        types_dedup.dedup();
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
            types_dedup.join(", "),
            if problems.is_empty() { "ok" } else { "FAIL" }
        ));
        if !problems.is_empty() {
            failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn invalid_edifact_files_get_located_errors() {
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
        if detect(&bytes[..bytes.len().min(4096)]) != Format::Edifact {
            continue; // X12 and XML files: see the formats issue.
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
    }
    println!("{}", table.join("\n"));
    assert!(
        checked >= 5,
        "expected the invalid EDIFACT samples, found {checked}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
