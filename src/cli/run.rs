//! `comptoir run --config FILE [--once]`: runs the daemon (see
//! [`crate::pipeline`]). Logs go to stderr (`RUST_LOG` filters them;
//! `info` by default; `--log-format json` writes one JSON object per line,
//! with the current spans, so each line of a message's processing carries
//! its `message_id` and `partner`). With `--once`, processes what is in the
//! directory sources, then exits (for scripts and tests).

use std::path::PathBuf;
use std::sync::Arc;

use crate::pipeline::{run_until_signal, Daemon};

use super::EXIT_ERROR;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Daemon configuration file.
    #[arg(long, short, env = "COMPTOIR_CONFIG")]
    pub config: PathBuf,
    /// Process what the directory and SFTP sources hold, then exit.
    #[arg(long)]
    pub once: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "text", env = "COMPTOIR_LOG_FORMAT")]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the stderr log subscriber (once per process).
pub(crate) fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => fmt.try_init(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
}

pub fn run(args: Args) -> i32 {
    init_logs(args.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    rt.block_on(async {
        let daemon = match Daemon::open(&args.config).await {
            Ok(d) => Arc::new(d),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        };
        tracing::info!(config = %args.config.display(), journal = daemon.journal().backend(), once = args.once, "comptoir daemon started");
        let result = run_until_signal(Arc::clone(&daemon), args.once).await;
        daemon.journal().close().await;
        match result {
            Ok(stats) => {
                tracing::info!(received = stats.received, processed = stats.processed, states = ?stats.by_state, "comptoir daemon stopped");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_ERROR
            }
        }
    })
}
