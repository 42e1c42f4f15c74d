//! The `comptoir` command line: a thin shell over the library.
//! See `src/cli/` for each subcommand.

fn main() {
    std::process::exit(comptoir::cli::main());
}
