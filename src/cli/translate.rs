//! `comptoir translate`: a file in, one canonical document per line out.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::diagnostics::Severity;
use crate::formats::edifact::{write_documents, OutboundOptions};
use crate::model::{Document, DocumentType};
use crate::respond;
use crate::translate::{Format, Options, Outcome, Translator};

use super::{load_registry, EXIT_ERROR, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input file, or `-` for standard input.
    file: String,
    /// Partner id (a file in mappings/partners); found from the interchange
    /// sender when absent.
    #[arg(long)]
    partner: Option<String>,
    /// Input format.
    #[arg(long, default_value = "auto", value_parser = ["auto", "edifact", "x12", "xml", "csv"])]
    from: String,
    /// Output: `json` (NDJSON, one document per line); `edifact` (the
    /// documents as EDIFACT messages of their own type); `edifact:ORDRSP`
    /// (accept each order), `edifact:APERAK` (an application acknowledgement
    /// per message), `edifact:CONTRL` (a syntax acknowledgement per
    /// interchange), `edifact:INVOIC` / `edifact:DESADV` (only documents of
    /// that type).
    #[arg(long, default_value = "json")]
    to: String,
    /// `none` parses and maps without printing, and reports counts and
    /// throughput on stderr.
    #[arg(long, value_parser = ["stdout", "none"], default_value = "stdout")]
    output: String,
    /// Do not print warnings.
    #[arg(long, short)]
    quiet: bool,
    /// CSV layout (a file under mappings/csv/, without `.toml`); when
    /// absent, the layout whose header matches the first row.
    #[arg(long)]
    layout: Option<String>,
}

/// Opens `-` or a file.
pub(crate) fn open_input(file: &str) -> io::Result<Box<dyn Read>> {
    if file == "-" {
        Ok(Box::new(io::stdin().lock()))
    } else {
        Ok(Box::new(File::open(PathBuf::from(file))?))
    }
}

pub fn run(mappings: Option<PathBuf>, args: Args) -> i32 {
    let registry = match load_registry(mappings) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if args.to != "json" {
        return to_edifact(&registry, args);
    }
    let input = match open_input(&args.file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file);
            return EXIT_ERROR;
        }
    };
    let opts = Options {
        partner: args.partner.clone(),
        layout: args.layout.clone(),
        file_name: Some(args.file.clone()),
        format: Format::from_name(&args.from),
        ..Options::default()
    };
    let print = args.output != "none";
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut write_error: Option<io::Error> = None;
    let quiet = args.quiet;
    let started = Instant::now();
    let mut sink = |outcome: Outcome| match outcome {
        Outcome::Document {
            document,
            diagnostics,
        } => {
            if !quiet {
                for d in &diagnostics {
                    eprintln!("{d}");
                }
            }
            if print && write_error.is_none() {
                let res = serde_json::to_writer(&mut out, &document)
                    .map_err(io::Error::from)
                    .and_then(|_| out.write_all(b"\n"));
                if let Err(e) = res {
                    write_error = Some(e);
                }
            }
        }
        Outcome::Rejected {
            location,
            diagnostics,
            ..
        } => {
            eprintln!("rejected: {location}");
            for d in diagnostics
                .iter()
                .filter(|d| !quiet || d.severity == Severity::Error)
            {
                eprintln!("  {d}");
            }
        }
    };
    let result = Translator::new(&registry).translate(input, &opts, &mut sink);
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: writing output: {e}");
            return EXIT_ERROR;
        }
    }
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    for d in summary
        .diagnostics
        .iter()
        .filter(|d| !quiet || d.is_error())
    {
        eprintln!("{d}");
    }
    if !print {
        let secs = started.elapsed().as_secs_f64();
        let mb = summary.bytes as f64 / 1e6;
        eprintln!(
            "{}: {} bytes, {} interchanges, {} messages, {} documents, {} rejected in {:.3} s ({:.1} MB/s)",
            args.file,
            summary.bytes,
            summary.interchanges,
            summary.messages,
            summary.documents,
            summary.rejected,
            secs,
            if secs > 0.0 { mb / secs } else { 0.0 }
        );
    }
    if summary.is_clean() {
        0
    } else {
        EXIT_INVALID
    }
}

/// Outbound target of `--to edifact[:TYPE]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    AsIs,
    Ordrsp,
    Aperak,
    Contrl,
    Only(DocumentType),
}

fn parse_to(to: &str) -> Option<Answer> {
    Some(match to {
        "edifact" => Answer::AsIs,
        "edifact:ORDRSP" => Answer::Ordrsp,
        "edifact:APERAK" => Answer::Aperak,
        "edifact:CONTRL" => Answer::Contrl,
        "edifact:INVOIC" => Answer::Only(DocumentType::Invoice),
        "edifact:DESADV" => Answer::Only(DocumentType::DespatchAdvice),
        _ => return None,
    })
}

/// `--to edifact…`: translate, build the answers, write one interchange.
fn to_edifact(registry: &crate::mapping::Registry, args: Args) -> i32 {
    let Some(answer) = parse_to(&args.to) else {
        eprintln!(
            "error: --to {}: expected json, edifact, edifact:ORDRSP, edifact:APERAK, edifact:CONTRL, edifact:INVOIC or edifact:DESADV",
            args.to
        );
        return EXIT_ERROR;
    };
    let input = match open_input(&args.file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file);
            return EXIT_ERROR;
        }
    };
    let opts = Options {
        partner: args.partner.clone(),
        file_name: Some(args.file.clone()),
        format: Format::from_name(&args.from),
        reports: answer == Answer::Contrl,
        ..Options::default()
    };
    let today = chrono::Local::now().date_naive();
    let mut out_docs: Vec<Document> = Vec::new();
    let mut invalid = false;
    let mut sink = |o: Outcome| match o {
        Outcome::Document {
            document,
            diagnostics,
        } => match answer {
            Answer::AsIs => out_docs.push(*document),
            Answer::Only(t) if document.document_type == t => out_docs.push(*document),
            Answer::Only(_) | Answer::Contrl => {}
            Answer::Ordrsp if document.document_type == DocumentType::Order => {
                out_docs.push(respond::accept_order(&document, today))
            }
            Answer::Ordrsp => {}
            Answer::Aperak => {
                out_docs.push(respond::application_ack(&document, &diagnostics, today))
            }
        },
        Outcome::Rejected {
            location,
            document,
            diagnostics,
        } => {
            invalid = true;
            eprintln!("rejected: {location}");
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("  {d}");
            }
            if answer == Answer::Aperak {
                let doc = document.map(|d| *d).unwrap_or_else(|| {
                    Document::new(
                        DocumentType::Other,
                        location.message_ref.clone().unwrap_or_default(),
                    )
                });
                out_docs.push(respond::application_ack(&doc, &diagnostics, today));
            }
        }
    };
    let summary = match Translator::new(registry).translate(input, &opts, &mut sink) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    if answer == Answer::Contrl {
        out_docs = respond::syntax_acks(&summary.reports);
    }
    if out_docs.is_empty() {
        eprintln!("error: {}: nothing to write as {}", args.file, args.to);
        return EXIT_INVALID;
    }
    // Answer the sender: swap the received envelope's parties.
    let first = &out_docs[0].origin;
    let sender = first.recipient.clone().unwrap_or_else(|| "COMPTOIR".into());
    let recipient = first.sender.clone().unwrap_or_else(|| "UNKNOWN".into());
    let (sq, rq) = (
        first.recipient_qualifier.clone(),
        first.sender_qualifier.clone(),
    );
    let control_ref = format!("{}", chrono::Utc::now().timestamp() % 100_000_000_000_000);
    let mut oo = OutboundOptions::new(sender, recipient, control_ref);
    oo.sender_qualifier = sq;
    oo.recipient_qualifier = rq;
    oo.una = true;
    oo.newline = true;
    match write_documents(&out_docs, &oo) {
        Ok(bytes) => {
            let mut stdout = io::stdout().lock();
            if let Err(e) = stdout.write_all(&bytes).and_then(|_| stdout.flush()) {
                eprintln!("error: writing output: {e}");
                return EXIT_ERROR;
            }
        }
        Err(e) => {
            eprintln!("error: cannot write EDIFACT: {e}");
            return EXIT_ERROR;
        }
    }
    if invalid || !summary.is_clean() {
        EXIT_INVALID
    } else {
        0
    }
}
