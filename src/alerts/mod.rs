//! Alerts: rules from `[[alerts.rule]]` evaluated periodically over the
//! journal, delivered to webhooks (JSON POST) and by SMTP ([`smtp`]).
//!
//! Rules: a partner's error rate over a sliding window, a message held too
//! long, a partner's expected file missing by a time of day, any dead
//! letter. Each firing condition has a key (rule + partner or message);
//! an alert is sent once when its condition starts and again only after it
//! cleared and came back, so an interval of 60 s does not flood anyone.

pub mod smtp;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{Local, NaiveTime, TimeZone};
use serde::Serialize;
use tokio::sync::watch;

use crate::config::{AlertRuleKind, AlertsConfig};
use crate::journal::{now_ms, Journal, JournalError, MessageFilter, State};

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Rule name.
    pub rule: String,
    /// What fired: `error_rate`, `held_too_long`, `missing_file`, `dead_letter`.
    pub kind: &'static str,
    pub partner: Option<String>,
    pub message_id: Option<i64>,
    /// One line for people.
    pub summary: String,
    /// Deduplication key.
    pub key: String,
    /// Epoch ms.
    pub at: i64,
}

/// Evaluates rules and remembers what already fired.
#[derive(Debug)]
pub struct Evaluator {
    config: AlertsConfig,
    journal: Journal,
    fired: HashSet<String>,
}

impl Evaluator {
    pub fn new(config: AlertsConfig, journal: Journal) -> Evaluator {
        Evaluator {
            config,
            journal,
            fired: HashSet::new(),
        }
    }

    /// Every condition true at `now` (epoch ms), new or not.
    pub async fn conditions(&self, now: i64) -> Result<Vec<Alert>, JournalError> {
        let mut out = Vec::new();
        for rule in &self.config.rules {
            let mut push = |kind, partner: Option<String>, message_id, summary: String, key| {
                out.push(Alert {
                    rule: rule.name.clone(),
                    kind,
                    partner,
                    message_id,
                    summary,
                    key: format!("{}:{key}", rule.name),
                    at: now,
                });
            };
            match &rule.kind {
                AlertRuleKind::ErrorRate {
                    partner,
                    threshold,
                    window_minutes,
                    min_messages,
                } => {
                    let since = now - i64::from(*window_minutes) * 60_000;
                    let counts = self.journal.group_counts(Some(since)).await?;
                    let mut per: std::collections::BTreeMap<String, (i64, i64)> =
                        Default::default();
                    for c in counts {
                        let p = c.partner.unwrap_or_default();
                        if partner.as_ref().is_some_and(|want| *want != p) {
                            continue;
                        }
                        let e = per.entry(p).or_default();
                        e.0 += c.count;
                        if matches!(c.state.as_str(), "rejected" | "dead" | "failed") {
                            e.1 += c.count;
                        }
                    }
                    for (p, (total, errors)) in per {
                        if total >= i64::from(*min_messages)
                            && total > 0
                            && errors as f64 / total as f64 > *threshold
                        {
                            push(
                                "error_rate",
                                Some(p.clone()),
                                None,
                                format!(
                                    "partner {p}: {errors} of {total} messages failed in the last {window_minutes} min ({:.0} % > {:.0} %)",
                                    errors as f64 * 100.0 / total as f64,
                                    threshold * 100.0
                                ),
                                format!("error_rate:{p}"),
                            );
                        }
                    }
                }
                AlertRuleKind::HeldTooLong { minutes } => {
                    let before = now - i64::from(*minutes) * 60_000;
                    for (id, partner, since) in self.journal.held_before(before).await? {
                        push(
                            "held_too_long",
                            partner.clone(),
                            Some(id),
                            format!(
                                "message {id} ({}) held for {} min",
                                partner.as_deref().unwrap_or("unknown partner"),
                                (now - since) / 60_000
                            ),
                            format!("held:{id}"),
                        );
                    }
                }
                AlertRuleKind::MissingFile { partner, by } => {
                    let Ok(by_time) = NaiveTime::parse_from_str(by, "%H:%M") else {
                        continue;
                    };
                    let Some(local_now) = Local.timestamp_millis_opt(now).single() else {
                        continue;
                    };
                    if local_now.time() < by_time {
                        continue;
                    }
                    let day = local_now.date_naive();
                    let midnight = day
                        .and_hms_opt(0, 0, 0)
                        .and_then(|t| Local.from_local_datetime(&t).earliest())
                        .map_or(now, |t| t.timestamp_millis());
                    let last = self.journal.last_received(partner).await?;
                    if last.is_none_or(|l| l < midnight) {
                        push(
                            "missing_file",
                            Some(partner.clone()),
                            None,
                            format!("no file from partner {partner} today by {by}"),
                            format!("missing:{partner}:{day}"),
                        );
                    }
                }
                AlertRuleKind::DeadLetter => {
                    let f = MessageFilter {
                        state: Some(State::Dead),
                        ..MessageFilter::default()
                    };
                    let page = self.journal.search(&f, None, 100).await?;
                    for m in page.messages {
                        push(
                            "dead_letter",
                            m.partner.clone(),
                            Some(m.id),
                            format!(
                                "message {} ({}) is a dead letter: {}",
                                m.id,
                                m.partner.as_deref().unwrap_or("unknown partner"),
                                m.error.as_deref().unwrap_or("")
                            ),
                            format!("dead:{}", m.id),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// Conditions that started since the last call (each alert once).
    pub async fn new_alerts(&mut self, now: i64) -> Result<Vec<Alert>, JournalError> {
        let all = self.conditions(now).await?;
        let keys: HashSet<String> = all.iter().map(|a| a.key.clone()).collect();
        let fresh: Vec<Alert> = all
            .into_iter()
            .filter(|a| !self.fired.contains(&a.key))
            .collect();
        // Cleared conditions may fire again later.
        self.fired = keys;
        Ok(fresh)
    }

    /// Sends alerts to every channel; failures are logged, not fatal.
    pub async fn deliver(&self, alerts: &[Alert]) {
        for a in alerts {
            tracing::warn!(rule = %a.rule, kind = a.kind, partner = a.partner.as_deref().unwrap_or("-"), message_id = a.message_id.unwrap_or(0), "ALERT: {}", a.summary);
        }
        if alerts.is_empty() {
            return;
        }
        for url in &self.config.webhooks {
            let body = serde_json::json!({"alerts": alerts}).to_string();
            match crate::admin::client::request(
                url,
                "POST",
                None,
                Some(("application/json", body.as_bytes())),
                Duration::from_secs(10),
            )
            .await
            {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => {
                    tracing::error!(%url, status = r.status, "alert webhook refused the alerts")
                }
                Err(e) => tracing::error!("alert webhook: {e}"),
            }
        }
        if let Some(smtp) = &self.config.smtp {
            let subject = if alerts.len() == 1 {
                format!("[comptoir] {}", alerts[0].summary)
            } else {
                format!("[comptoir] {} alerts", alerts.len())
            };
            let mut text = String::new();
            for a in alerts {
                text.push_str(&format!("- [{}] {}\n", a.rule, a.summary));
            }
            if let Err(e) = smtp::send(smtp, &subject, &text).await {
                tracing::error!("alert mail: {e}");
            }
        }
    }

    /// One evaluation and delivery; returns what was sent.
    pub async fn tick(&mut self, now: i64) -> Result<Vec<Alert>, JournalError> {
        let fresh = self.new_alerts(now).await?;
        self.deliver(&fresh).await;
        Ok(fresh)
    }
}

/// Evaluates the rules every `interval_secs` until shutdown.
pub async fn run(config: AlertsConfig, journal: Journal, mut shutdown: watch::Receiver<bool>) {
    let interval = Duration::from_secs(config.interval_secs.max(1));
    let mut ev = Evaluator::new(config, journal);
    loop {
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = ev.tick(now_ms()).await {
            tracing::error!("alert evaluation: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            r = shutdown.changed() => if r.is_err() { break },
        }
    }
}
