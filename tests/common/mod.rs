//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod sshd;

use std::path::PathBuf;

use comptoir::diagnostics::Diagnostic;
use comptoir::mapping::Registry;
use comptoir::model::Document;
use comptoir::translate::{Options, Outcome, Summary, Translator};

/// The repository's `mappings/` directory.
pub fn registry() -> Registry {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings");
    match Registry::load(&dir) {
        Ok(r) => r,
        Err(e) => panic!("mappings do not load:\n{e}"),
    }
}

/// The shared corpus, or `None` with a loud notice when it is absent.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let base = std::env::var_os("COMPTOIR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let dir = base.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() {
            panic!(
                "corpus folder {} is absent but COMPTOIR_REQUIRE_SERVICES is set",
                dir.display()
            );
        }
        eprintln!(
            "\n*** SKIPPED: corpus folder {} is absent (set COMPTOIR_CORPUS); CI has it ***\n",
            dir.display()
        );
        None
    }
}

/// What translating some bytes gave.
#[derive(Debug, Default)]
pub struct Run {
    pub documents: Vec<Document>,
    pub rejected: Vec<Vec<Diagnostic>>,
    pub warnings: Vec<Diagnostic>,
    pub summary: Summary,
}

/// Translates `bytes` with `registry`.
pub fn translate(registry: &Registry, bytes: &[u8], name: &str, partner: Option<&str>) -> Run {
    let mut run = Run::default();
    let opts = Options {
        file_name: Some(name.to_string()),
        partner: partner.map(str::to_string),
        ..Options::default()
    };
    let mut docs = Vec::new();
    let mut rejected = Vec::new();
    let mut warnings = Vec::new();
    let summary = Translator::new(registry)
        .translate(bytes, &opts, &mut |o| match o {
            Outcome::Document {
                document,
                diagnostics,
            } => {
                docs.push(*document);
                warnings.extend(diagnostics);
            }
            Outcome::Rejected { diagnostics, .. } => rejected.push(diagnostics),
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    run.documents = docs;
    run.rejected = rejected;
    run.warnings = warnings;
    run.summary = summary;
    run
}
