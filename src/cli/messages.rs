//! `comptoir messages list|show|replay|resolve`: looks at the journal named
//! by a configuration file: what came in, from whom, in which state, why it
//! failed; re-runs a message from its raw bytes (replay) through the
//! current mappings and pricing; closes one by hand (resolve). With `--url`
//! the same commands go through a running daemon's admin API instead
//! (`--token` or `COMPTOIR_TOKEN`), see [`super::remote`].

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use crate::config::Config;
use crate::journal::{Journal, State};
use crate::pipeline::{load_runtime, process};

use super::{EXIT_ERROR, EXIT_INVALID};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Daemon configuration file (its `[journal] url` is used).
    #[arg(long, short, env = "COMPTOIR_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Admin URL of a running daemon (e.g. http://127.0.0.1:8080); when
    /// given, the journal is not opened directly.
    #[arg(long, env = "COMPTOIR_URL", global = true)]
    pub url: Option<String>,
    /// API token for --url (prefer the COMPTOIR_TOKEN environment variable).
    #[arg(long, env = "COMPTOIR_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    #[command(subcommand)]
    pub command: MessagesCommand,
}

#[derive(Debug, Subcommand)]
pub enum MessagesCommand {
    /// List messages, newest first.
    List {
        /// Only this state (received, delivered, held, rejected, failed, dead, duplicate …).
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print counts per state instead.
        #[arg(long)]
        counts: bool,
    },
    /// Show a message: metadata, error, history, deliveries.
    Show {
        id: i64,
        /// Also print the raw bytes.
        #[arg(long)]
        raw: bool,
        /// Also print the canonical and priced JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-run a message from its raw bytes through the current mappings and
    /// pricing, delivering it to its sinks again.
    Replay { id: i64 },
    /// Close a held, rejected, failed or dead message by hand.
    Resolve {
        id: i64,
        /// Why (recorded in the message's history).
        #[arg(long)]
        reason: String,
    },
}

pub(crate) fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

pub fn run(args: Args) -> i32 {
    if let Some(url) = &args.url {
        return super::remote::messages(url, args.token.as_deref(), args.command);
    }
    let Some(config_path) = args.config else {
        eprintln!("error: --config (or --url) is required");
        return EXIT_ERROR;
    };
    let config = match Config::load(&config_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_INVALID;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
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
        let j = &config.journal;
        let journal = match Journal::open(&j.url, 1, j.schema.as_deref()).await {
            Ok(j) => j,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        };
        let code = match command(&journal, &config_path, args.command).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        };
        journal.close().await;
        code
    })
}

async fn command(
    journal: &Journal,
    config_path: &std::path::Path,
    cmd: MessagesCommand,
) -> Result<i32, Box<dyn std::error::Error>> {
    match cmd {
        MessagesCommand::List {
            state,
            limit,
            counts,
        } => {
            if counts {
                for (s, n) in journal.counts().await? {
                    println!("{s:<10} {n}");
                }
                return Ok(0);
            }
            let state = match state.as_deref().map(|s| (s, State::parse(s))) {
                None => None,
                Some((_, Some(s))) => Some(s),
                Some((s, None)) => {
                    eprintln!("error: unknown state {s:?}");
                    return Ok(EXIT_ERROR);
                }
            };
            println!(
                "{:>8}  {:<24}  {:<10}  {:<10}  {:<12}  {:<16}  ERROR",
                "ID", "RECEIVED", "STATE", "SOURCE", "PARTNER", "KEYS"
            );
            for m in journal.list(state, limit).await? {
                let mut err = m.error.unwrap_or_default();
                if err.len() > 80 {
                    let cut = (0..=80)
                        .rev()
                        .find(|&i| err.is_char_boundary(i))
                        .unwrap_or(0);
                    err.truncate(cut);
                    err.push('…');
                }
                println!(
                    "{:>8}  {:<24}  {:<10}  {:<10}  {:<12}  {:<16}  {}",
                    m.id,
                    time(m.received_at),
                    m.state,
                    m.source,
                    m.partner.as_deref().unwrap_or("-"),
                    m.business_keys.as_deref().unwrap_or("-"),
                    err
                );
            }
            Ok(0)
        }
        MessagesCommand::Show { id, raw, json } => {
            let m = journal.get(id).await?;
            println!("id:              {}", m.id);
            println!("state:           {}", m.state);
            println!("received at:     {}", time(m.received_at));
            println!(
                "source:          {} {}",
                m.source,
                m.source_ref.as_deref().unwrap_or("")
            );
            println!("partner:         {}", m.partner.as_deref().unwrap_or("-"));
            println!("format:          {}", m.format.as_deref().unwrap_or("-"));
            println!(
                "document type:   {}",
                m.document_type.as_deref().unwrap_or("-")
            );
            println!(
                "business keys:   {}",
                m.business_keys.as_deref().unwrap_or("-")
            );
            println!("sender:          {}", m.sender.as_deref().unwrap_or("-"));
            println!(
                "interchange ref: {}",
                m.interchange_ref.as_deref().unwrap_or("-")
            );
            println!("content sha256:  {}", m.content_hash);
            println!("bytes:           {}", m.raw.len());
            println!("attempts:        {}", m.attempts);
            if let Some(d) = m.duplicate_of {
                println!("duplicate of:    {d}");
            }
            if let Some(e) = &m.error {
                println!("error:           {e}");
            }
            println!("history:");
            for e in journal.events(id).await? {
                println!(
                    "  {}  {:<10} {}",
                    time(e.at),
                    e.state,
                    e.detail.unwrap_or_default()
                );
            }
            let deliveries = journal.deliveries(id).await?;
            if !deliveries.is_empty() {
                println!("deliveries:");
                for d in deliveries {
                    println!(
                        "  {}  {:<12} attempt {}  {}  {}",
                        time(d.at),
                        d.sink,
                        d.attempt,
                        d.outcome,
                        d.detail.unwrap_or_default()
                    );
                }
            }
            if json {
                println!("canonical: {}", m.canonical_json.as_deref().unwrap_or("-"));
                println!("priced:    {}", m.priced_json.as_deref().unwrap_or("-"));
            }
            if raw {
                println!("raw:\n{}", String::from_utf8_lossy(&m.raw));
            }
            Ok(0)
        }
        MessagesCommand::Resolve { id, reason } => {
            if reason.trim().is_empty() {
                eprintln!("error: --reason must not be empty");
                return Ok(EXIT_ERROR);
            }
            let user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
            let previous = journal.resolve(id, reason.trim(), &user).await?;
            println!("message {id}: resolved (was {previous})");
            Ok(0)
        }
        MessagesCommand::Replay { id } => {
            let runtime = match load_runtime(config_path) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(EXIT_INVALID);
                }
            };
            journal.replay(id).await?;
            let m = journal.get(id).await?;
            let today = chrono::Local::now().date_naive();
            let update = process(&runtime, &m, &[], today);
            journal.apply(std::slice::from_ref(&update)).await?;
            println!(
                "message {id}: {}{}",
                update.state,
                update
                    .error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            );
            Ok(if update.state == crate::journal::State::Delivered {
                0
            } else {
                EXIT_INVALID
            })
        }
    }
}
