//! `comptoir translate`: a file in, one canonical document per line out.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use crate::diagnostics::Severity;
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
    /// Output: `json` (NDJSON, one document per line).
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
        eprintln!(
            "error: --to {}: only `json` is supported by this build",
            args.to
        );
        return EXIT_ERROR;
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
    drop(sink);
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
