//! `comptoir check --config FILE`: validates a daemon configuration and
//! every mapping and pricing file it refers to, without starting anything.
//! Prints one line per problem (file, field, message) and exits 1 when
//! there is any.

use std::path::PathBuf;

use crate::config::Config;

use super::EXIT_INVALID;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Daemon configuration file.
    #[arg(long, short, env = "COMPTOIR_CONFIG")]
    pub config: PathBuf,
}

pub fn run(args: Args) -> i32 {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    match config.check_references(&args.config) {
        Ok((registry, terms)) => {
            println!(
                "{}: ok ({} sources, {} partners, {} routes, {} sinks; {} mappings, {} pricing clients)",
                args.config.display(),
                config.sources.len(),
                config.partners.len(),
                config.routes.len(),
                config.sinks.len(),
                registry.mappings().len(),
                terms.client_count()
            );
            0
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_INVALID
        }
    }
}
