//! Prometheus metrics: in-process counters and latency histograms fed by
//! the pipeline ([`Metrics`]), plus gauges read from the journal at scrape
//! time (messages by partner, document type and state; dead letters; age
//! of the oldest unfinished message). Rendered in the Prometheus text
//! exposition format 0.0.4.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::journal::{now_ms, Journal, JournalError};

/// Bucket upper bounds, seconds.
const BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BOUNDS.iter().enumerate() {
            if s <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            d.as_micros().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of the observations.
    pub fn sum(&self) -> Duration {
        Duration::from_micros(self.sum_micros.load(Ordering::Relaxed))
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        for (i, b) in BOUNDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels},le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let n = self.count();
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {n}");
    }
}

/// Metrics the pipeline updates as it runs.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Parse, map, price and deliver one message.
    pub process: Histogram,
    /// Commit one batch of outcomes to the journal.
    pub commit: Histogram,
    /// From reception to a final state.
    pub end_to_end: Histogram,
    /// Delivery attempts that failed and will be retried.
    pub retries: AtomicU64,
    /// Messages that became dead letters in this process.
    pub dead_letters: AtomicU64,
    /// Outcomes committed by this process.
    pub processed: AtomicU64,
}

/// Escapes a label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders every metric; journal gauges are read now.
pub async fn render(metrics: &Metrics, journal: &Journal) -> Result<String, JournalError> {
    let mut out = String::with_capacity(8192);
    let counts = journal.group_counts(None).await?;
    out.push_str("# HELP comptoir_messages Messages in the journal by partner, document type and state.\n# TYPE comptoir_messages gauge\n");
    let mut dead = 0;
    for c in &counts {
        if c.state == "dead" {
            dead += c.count;
        }
        let _ = writeln!(
            out,
            "comptoir_messages{{partner=\"{}\",document_type=\"{}\",state=\"{}\"}} {}",
            label(c.partner.as_deref().unwrap_or("")),
            label(c.document_type.as_deref().unwrap_or("")),
            label(&c.state),
            c.count
        );
    }
    out.push_str("# HELP comptoir_dead_letters Messages in the dead-letter state.\n# TYPE comptoir_dead_letters gauge\n");
    let _ = writeln!(out, "comptoir_dead_letters {dead}");
    let age = match journal.oldest_unfinished().await? {
        Some(t) => ((now_ms() - t).max(0) as f64) / 1000.0,
        None => 0.0,
    };
    out.push_str("# HELP comptoir_oldest_unfinished_age_seconds Age of the oldest message not yet in a final state (0 when none).\n# TYPE comptoir_oldest_unfinished_age_seconds gauge\n");
    let _ = writeln!(out, "comptoir_oldest_unfinished_age_seconds {age}");
    out.push_str("# HELP comptoir_stage_duration_seconds Latency of pipeline stages.\n# TYPE comptoir_stage_duration_seconds histogram\n");
    metrics.process.render(
        &mut out,
        "comptoir_stage_duration_seconds",
        "stage=\"process\"",
    );
    metrics.commit.render(
        &mut out,
        "comptoir_stage_duration_seconds",
        "stage=\"journal_commit\"",
    );
    metrics.end_to_end.render(
        &mut out,
        "comptoir_stage_duration_seconds",
        "stage=\"end_to_end\"",
    );
    for (name, help, v) in [
        (
            "comptoir_retries_total",
            "Failed delivery attempts scheduled for a retry.",
            &metrics.retries,
        ),
        (
            "comptoir_dead_letters_total",
            "Messages parked as dead letters by this process.",
            &metrics.dead_letters,
        ),
        (
            "comptoir_processed_total",
            "Processing outcomes committed by this process.",
            &metrics.processed,
        ),
    ] {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
            v.load(Ordering::Relaxed)
        );
    }
    Ok(out)
}
