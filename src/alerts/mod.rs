//! Alerts: rules evaluated periodically over the journal (placeholder).
use tokio::sync::watch;

use crate::config::AlertsConfig;
use crate::journal::Journal;

/// Evaluates the rules every `interval_secs` until shutdown.
pub async fn run(_config: AlertsConfig, _journal: Journal, _shutdown: watch::Receiver<bool>) {}
