//! `comptoir validate`: every problem in a file, located, in plain words.

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;
use crate::translate::{Options, Outcome, Translator};

use super::translate::open_input;
use super::{load_registry, EXIT_ERROR, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to check (`-` for standard input).
    #[arg(required = true)]
    files: Vec<String>,
    /// Partner id whose mapping overrides and envelope policy apply.
    #[arg(long)]
    partner: Option<String>,
    /// Print diagnostics as JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// CSV layout (a file under mappings/csv/, without `.toml`); when
    /// absent, the layout whose header matches the first row.
    #[arg(long)]
    layout: Option<String>,
}

pub fn run(mappings: Option<PathBuf>, args: Args) -> i32 {
    let registry = match load_registry(mappings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let translator = Translator::new(&registry);
    let mut worst = 0;
    for file in &args.files {
        let input = match open_input(file) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("error: {file}: {e}");
                worst = EXIT_ERROR;
                continue;
            }
        };
        let opts = Options {
            partner: args.partner.clone(),
            layout: args.layout.clone(),
            file_name: Some(file.clone()),
            ..Options::default()
        };
        let mut all: Vec<Diagnostic> = Vec::new();
        let mut sink = |o: Outcome| match o {
            Outcome::Document { diagnostics, .. } | Outcome::Rejected { diagnostics, .. } => {
                for d in diagnostics {
                    if !all.contains(&d) {
                        all.push(d);
                    }
                }
            }
        };
        let summary = match translator.translate(input, &opts, &mut sink) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                worst = EXIT_ERROR;
                continue;
            }
        };
        for d in summary.diagnostics {
            if !all.contains(&d) {
                all.push(d);
            }
        }
        all.sort_by_key(|d| (d.location.offset.unwrap_or(u64::MAX), d.location.element));
        let errors = all.iter().filter(|d| d.is_error()).count();
        for d in &all {
            if args.json {
                println!("{}", serde_json::to_string(d).unwrap_or_default());
            } else {
                println!("{d}");
            }
        }
        if !args.json {
            println!(
                "{file}: {} message(s), {errors} error(s), {} warning(s): {}",
                summary.messages,
                all.len() - errors,
                if errors == 0 { "valid" } else { "INVALID" }
            );
        }
        if errors > 0 && worst == 0 {
            worst = EXIT_INVALID;
        }
    }
    worst
}
