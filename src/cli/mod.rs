//! Command-line interface: argument parsing and one module per subcommand.
//!
//! Exit codes are the same everywhere: 0 success, 1 the input is invalid
//! (something was rejected), 2 usage or I/O error.

mod check;
mod export;
mod messages;
mod ops;
mod price;
mod remote;
mod run;
mod translate;
mod validate;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::mapping::Registry;

/// Exit code: the input is invalid.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(name = "comptoir", version, about = "EDI ⇄ ERP integration daemon")]
struct Cli {
    /// Directory of mapping files.
    #[arg(long, global = true, env = "COMPTOIR_MAPPINGS")]
    mappings: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Translate a file into canonical documents (NDJSON) or another format.
    Translate(translate::Args),
    /// List every problem in one or more files.
    Validate(validate::Args),
    /// Price an order with a client's commercial terms.
    Price(price::Args),
    /// Print the JSON Schema of canonical documents.
    Schema,
    /// Validate a daemon configuration and the files it refers to.
    Check(check::Args),
    /// Run the daemon.
    Run(run::Args),
    /// Inspect, replay and resolve journaled messages.
    Messages(messages::Args),
    /// Send documents from the ERP to partners now (ORDRSP, DESADV,
    /// INVOIC, INVRPT), list and retry exports.
    Export(export::Args),
    /// Live per-partner rates and backlogs of a running daemon.
    Top(ops::TopArgs),
    /// Stream the documents passing through a running daemon (NDJSON).
    Tap(ops::TapArgs),
}

/// Where mappings are looked for when `--mappings` is not given: `./mappings`,
/// else the source tree's (for `cargo run`).
fn default_mappings() -> PathBuf {
    let local = PathBuf::from("mappings");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

/// Loads the mapping registry, printing errors.
pub(crate) fn load_registry(dir: Option<PathBuf>) -> Result<Registry, i32> {
    let dir = dir.unwrap_or_else(default_mappings);
    Registry::load(&dir).map_err(|e| {
        eprintln!("error: cannot load mappings from {}:\n{e}", dir.display());
        EXIT_ERROR
    })
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Translate(args) => translate::run(cli.mappings, args),
        Command::Validate(args) => validate::run(cli.mappings, args),
        Command::Price(args) => price::run(cli.mappings, args),
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args),
        Command::Messages(args) => messages::run(args),
        Command::Export(args) => export::run(args),
        Command::Top(args) => ops::top(args),
        Command::Tap(args) => ops::tap(args),
        Command::Schema => match serde_json::to_string_pretty(&crate::model::document_schema()) {
            Ok(s) => {
                println!("{s}");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks on every subcommand (they otherwise
    /// fire only when a user runs the faulty subcommand).
    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
