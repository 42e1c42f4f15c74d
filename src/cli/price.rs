//! `comptoir price`: apply a client's commercial terms to an order.
//!
//! The input is anything `translate` reads (EDIFACT, and the other formats
//! as they are added) or canonical JSON documents (one per line). Each
//! order is priced with the terms of `--pricing` (default `config/pricing`)
//! and printed as a priced JSON document, or with `--explain` as a table.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::model::{Document, DocumentType};
use crate::pricing::{explain, explain_order, invoice_from, price_order, Pricer, Terms};
use crate::translate::{Options, Outcome, Translator};

use super::translate::open_input;
use super::{load_registry, EXIT_ERROR, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file (EDI or canonical JSON lines), or `-` for standard input.
    file: String,
    /// Client id (or alias, e.g. the buyer's GLN) in the pricing terms.
    #[arg(long)]
    client: String,
    /// Directory of pricing terms.
    #[arg(long, env = "COMPTOIR_PRICING")]
    pricing: Option<PathBuf>,
    /// Pricing date (YYYY-MM-DD); today when absent.
    #[arg(long)]
    date: Option<NaiveDate>,
    /// Print a readable table per document instead of JSON.
    #[arg(long)]
    explain: bool,
    /// Build an invoice with this number instead of pricing the order.
    #[arg(long, value_name = "NUMBER")]
    invoice: Option<String>,
    /// Partner id for the mapping of EDI input.
    #[arg(long)]
    partner: Option<String>,
}

fn default_pricing() -> PathBuf {
    let local = PathBuf::from("config/pricing");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/pricing")
}

/// Reads canonical JSON documents (one per line, or a single document).
fn read_json(input: Box<dyn Read>) -> Result<Vec<Document>, String> {
    let mut text = String::new();
    BufReader::new(input)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if let Ok(doc) = serde_json::from_str::<Document>(&text) {
        return Ok(vec![doc]);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Document>(l).map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

pub fn run(mappings: Option<PathBuf>, args: Args) -> i32 {
    let dir = args.pricing.clone().unwrap_or_else(default_pricing);
    let terms = match Terms::load(&dir) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: pricing terms in {}: {e}", dir.display());
            return EXIT_ERROR;
        }
    };
    let today = args
        .date
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let input = match open_input(&args.file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file);
            return EXIT_ERROR;
        }
    };
    let mut input = BufReader::new(input);
    let is_json = match input.fill_buf() {
        Ok(head) => head
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{'),
        Err(e) => {
            eprintln!("error: {}: {e}", args.file);
            return EXIT_ERROR;
        }
    };
    let mut exit = 0;
    let documents = if is_json {
        match read_json(Box::new(input)) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {}: not canonical JSON: {e}", args.file);
                return EXIT_INVALID;
            }
        }
    } else {
        let registry = match load_registry(mappings) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let opts = Options {
            partner: args.partner.clone(),
            file_name: Some(args.file.clone()),
            ..Options::default()
        };
        let mut docs = Vec::new();
        let mut sink = |o: Outcome| match o {
            Outcome::Document { document, .. } => docs.push(*document),
            Outcome::Rejected {
                location,
                diagnostics,
                ..
            } => {
                exit = EXIT_INVALID;
                eprintln!("rejected: {location}");
                for d in diagnostics.iter().filter(|d| d.is_error()) {
                    eprintln!("  {d}");
                }
            }
        };
        if let Err(e) = Translator::new(&registry).translate(input, &opts, &mut sink) {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
        docs
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut pricer = Pricer::new(&terms);
    for doc in &documents {
        // The table needs only the pricing: orders take the fast path, no
        // copy of the canonical document.
        if args.explain && args.invoice.is_none() && doc.document_type == DocumentType::Order {
            let written = match pricer.price_order(&args.client, doc, today) {
                Ok(p) => writeln!(out, "{}", explain_order(doc, p)),
                Err(e) => {
                    eprintln!("error: document {}: {e}", doc.number);
                    exit = EXIT_INVALID;
                    continue;
                }
            };
            if let Err(e) = written {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    break;
                }
                eprintln!("error: writing output: {e}");
                return EXIT_ERROR;
            }
            continue;
        }
        let priced = match &args.invoice {
            Some(number) => invoice_from(&terms, &args.client, doc, number, today),
            None if doc.document_type == DocumentType::Order => {
                price_order(&terms, &args.client, doc, today)
            }
            None => {
                eprintln!(
                    "skipped: document {} is a {}, not an order (use --invoice to invoice a despatch advice)",
                    doc.number, doc.document_type
                );
                continue;
            }
        };
        let priced = match priced {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: document {}: {e}", doc.number);
                exit = EXIT_INVALID;
                continue;
            }
        };
        let written = if args.explain {
            writeln!(out, "{}", explain(&priced))
        } else {
            serde_json::to_writer(&mut out, &priced)
                .map_err(io::Error::from)
                .and_then(|_| writeln!(out))
        };
        if let Err(e) = written {
            if e.kind() == io::ErrorKind::BrokenPipe {
                break;
            }
            eprintln!("error: writing output: {e}");
            return EXIT_ERROR;
        }
    }
    exit
}
