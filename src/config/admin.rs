//! Typed `[admin]` and `[alerts]` sections: the admin HTTP server (address,
//! API tokens) and the alert rules with their webhook and SMTP channels.
//!
//! Token values never appear in the file itself when `value_env` is used:
//! the file names an environment variable and the daemon reads it at start.
//! `Debug` of a token never shows its value.

use std::fmt;

use serde::Deserialize;

use super::Config;

/// `[admin]`: the admin HTTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// API tokens (`[[admin.token]]`).
    #[serde(default, rename = "token")]
    pub tokens: Vec<TokenConfig>,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// List and show messages, partners, metrics.
    Read,
    /// Also replay and resolve messages.
    Operator,
}

/// `[[admin.token]]`: one API token, its value given inline (`value`) or,
/// better, by an environment variable (`value_env`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub role: TokenRole,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub value_env: Option<String>,
}

impl fmt::Debug for TokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenConfig")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("value_env", &self.value_env)
            .finish()
    }
}

impl TokenConfig {
    /// The token's secret: the inline value, else the environment
    /// variable's. `None` when unset or empty.
    pub fn resolve(&self) -> Option<String> {
        let v = match (&self.value, &self.value_env) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(env)) => std::env::var(env).ok(),
            (None, None) => None,
        };
        v.filter(|v| !v.is_empty())
    }
}

/// `[alerts]`: alert rules and channels.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// How often rules are evaluated.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Webhook URLs (`http://` only) each alert is POSTed to as JSON.
    #[serde(default)]
    pub webhooks: Vec<String>,
    /// SMTP delivery of alerts.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<AlertRule>,
}

fn default_interval() -> u64 {
    60
}

/// `[alerts.smtp]`: plain SMTP (no TLS, no auth: a local relay).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `host:port` of the relay.
    pub server: String,
    pub from: String,
    pub to: Vec<String>,
    /// Name announced in HELO.
    #[serde(default = "default_helo")]
    pub helo: String,
}

fn default_helo() -> String {
    "comptoir".into()
}

/// `[[alerts.rule]]`: one alert rule.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertRule {
    pub name: String,
    #[serde(flatten)]
    pub kind: AlertRuleKind,
}

/// Rule kinds.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertRuleKind {
    /// Share of rejected/dead/held messages of a partner over the last
    /// `window_minutes` above `threshold` (0.0–1.0), with at least
    /// `min_messages` messages.
    ErrorRate {
        #[serde(default)]
        partner: Option<String>,
        threshold: f64,
        window_minutes: u32,
        #[serde(default = "one")]
        min_messages: u32,
    },
    /// A message held for longer than `minutes`.
    HeldTooLong { minutes: u32 },
    /// No message from `partner` received today by `by` (`HH:MM`, local time).
    MissingFile { partner: String, by: String },
    /// Any dead letter.
    DeadLetter,
}

fn one() -> u32 {
    1
}

/// Checks of the two sections.
pub(super) fn validate(config: &Config, push: &mut impl FnMut(String, String)) {
    if let Some(a) = &config.admin {
        if a.listen.parse::<std::net::SocketAddr>().is_err() {
            push(
                "admin.listen".into(),
                format!("{:?}: expected host:port, e.g. 127.0.0.1:8080", a.listen),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in a.tokens.iter().enumerate() {
            if !names.insert(t.name.as_str()) {
                push(
                    format!("admin.token[{i}].name"),
                    format!("duplicate token name {:?}", t.name),
                );
            }
            if t.value.is_some() == t.value_env.is_some() {
                push(
                    format!("admin.token[{i}]"),
                    "set exactly one of value and value_env".into(),
                );
            }
        }
    }
    let al = &config.alerts;
    for (i, w) in al.webhooks.iter().enumerate() {
        if !w.starts_with("http://") {
            push(
                format!("alerts.webhooks[{i}]"),
                format!("{w:?}: only http:// URLs are supported"),
            );
        }
    }
    for (i, r) in al.rules.iter().enumerate() {
        match &r.kind {
            AlertRuleKind::ErrorRate {
                threshold, partner, ..
            } => {
                if !(0.0..=1.0).contains(threshold) {
                    push(
                        format!("alerts.rule[{i}].threshold"),
                        "must be between 0.0 and 1.0".into(),
                    );
                }
                if let Some(p) = partner {
                    if config.partner(p).is_none() {
                        push(
                            format!("alerts.rule[{i}].partner"),
                            format!("unknown partner {p:?}"),
                        );
                    }
                }
            }
            AlertRuleKind::MissingFile { partner, by } => {
                if config.partner(partner).is_none() {
                    push(
                        format!("alerts.rule[{i}].partner"),
                        format!("unknown partner {partner:?}"),
                    );
                }
                if chrono::NaiveTime::parse_from_str(by, "%H:%M").is_err() {
                    push(
                        format!("alerts.rule[{i}].by"),
                        format!("{by:?}: expected HH:MM"),
                    );
                }
            }
            AlertRuleKind::HeldTooLong { .. } | AlertRuleKind::DeadLetter => {}
        }
    }
}
