//! `comptoir export run|list|retry`: the ERP → partner exports on demand.
//!
//! `run` does one pass of every `[[export]]` (or the one named) right now,
//! exactly as the daemon's schedule does, and prints what was sent; `list`
//! shows the journal's record of exported documents; `retry` puts a dead
//! export back in line for the next pass.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;

use crate::exports::run_pass;
use crate::journal::{ExportState, Journal};
use crate::pipeline::load_runtime;

use super::messages::time;
use super::{EXIT_ERROR, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Daemon configuration file.
    #[arg(long, short, env = "COMPTOIR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ExportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Run one pass now: read the ERP, send what is new.
    Run {
        /// Only this export (default: every `[[export]]`).
        #[arg(long)]
        name: Option<String>,
    },
    /// Exported documents, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a dead export again at the next pass.
    Retry { id: i64 },
}

pub fn run(args: Args) -> i32 {
    let Some(config) = args.config else {
        eprintln!("error: --config is required");
        return EXIT_ERROR;
    };
    let runtime = match load_runtime(&config) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    rt.block_on(async move {
        let j = &runtime.config.journal;
        let journal = match Journal::open(&j.url, 2, j.schema.as_deref()).await {
            Ok(j) => j,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        };
        let code = command(&journal, runtime, args.command).await;
        journal.close().await;
        code
    })
}

async fn command(
    journal: &Journal,
    runtime: Arc<crate::pipeline::Runtime>,
    cmd: ExportCommand,
) -> i32 {
    match cmd {
        ExportCommand::Run { name } => {
            let exports: Vec<_> = runtime
                .config
                .exports
                .iter()
                .filter(|e| name.as_ref().is_none_or(|n| &e.name == n))
                .cloned()
                .collect();
            if exports.is_empty() {
                eprintln!(
                    "error: {}",
                    match name {
                        Some(n) => format!("no [[export]] named {n:?}"),
                        None => "the configuration has no [[export]]".into(),
                    }
                );
                return EXIT_ERROR;
            }
            let mut code = 0;
            for e in &exports {
                match run_pass(Arc::clone(&runtime), journal, e, chrono::Utc::now()).await {
                    Ok(r) => {
                        for s in &r.sent {
                            println!(
                                "{:<10} {:<12} {:<8} {:<20} {:<6} {}",
                                r.export,
                                s.partner,
                                s.kind,
                                s.number,
                                s.state.as_str(),
                                s.error.as_deref().unwrap_or(&s.file_name)
                            );
                            if s.state != ExportState::Sent {
                                code = EXIT_INVALID;
                            }
                        }
                        for p in &r.problems {
                            eprintln!("warning: export {}: {p}", r.export);
                        }
                        eprintln!(
                            "export {}: {} sent, {} not sent, {} sent before",
                            r.export,
                            r.sent_count(),
                            r.sent.len() - r.sent_count(),
                            r.already_sent
                        );
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        code = EXIT_ERROR;
                    }
                }
            }
            code
        }
        ExportCommand::List { limit } => match journal.exports_list(limit).await {
            Ok(rows) => {
                for r in rows {
                    println!(
                        "{:<6} {:<24} {:<10} {:<12} {:<8} {:<20} {:<8} {}",
                        r.id,
                        time(r.updated_at),
                        r.export,
                        r.partner,
                        r.kind,
                        r.number,
                        r.state.as_str(),
                        r.error.as_deref().or(r.file_name.as_deref()).unwrap_or("")
                    );
                }
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
        ExportCommand::Retry { id } => match journal.export_retry(id).await {
            Ok(()) => {
                println!("export {id} is pending again");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        },
    }
}
