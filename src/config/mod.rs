//! Daemon configuration: the typed shape of `comptoir.toml` and its checks.
//!
//! [`Config::load`] parses a TOML file into typed structs (every table
//! rejects unknown fields, so a typo is an error, not a silently ignored
//! setting) and runs [`Config::validate`], which checks cross references
//! (routes name existing partners and sinks, ids are unique…).
//! [`Config::check_references`] then loads every mapping and pricing
//! directory the file points at, as `comptoir check` and `comptoir run` do
//! before starting. Every field is documented in
//! `config/comptoir.example.toml`.
//!
//! Relative paths are resolved against the current working directory.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mapping::Registry;
use crate::model::DocumentType;
use crate::pricing::catalog::CheckPolicy;
use crate::pricing::Terms;

mod erp;
pub use erp::{OAuth2Config, OdooPrices, OdooProtocol, OdooSink, SapMode, SapSink, WebhookSink};
mod export;
pub use export::{ExportCompany, ExportConfig, ExportDocument, ExportFormat};
mod admin;
pub use admin::{
    AdminConfig, AlertRule, AlertRuleKind, AlertsConfig, SmtpConfig, TokenConfig, TokenRole,
};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub journal: JournalConfig,
    #[serde(default)]
    pub paths: PathsConfig,
    #[serde(default)]
    pub daemon: DaemonConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    #[serde(default, rename = "partner")]
    pub partners: Vec<PartnerConfig>,
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteConfig>,
    #[serde(default, rename = "sink")]
    pub sinks: Vec<SinkConfig>,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// `[admin]`: the admin HTTP server (API, metrics, dashboard); off when absent.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// `[alerts]` and `[[alerts.rule]]`: alert rules and where they go.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[[export]]`: documents read from the ERP and sent to partners.
    #[serde(default, rename = "export")]
    pub exports: Vec<ExportConfig>,
}

/// `[journal]`: where messages are stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/db`.
    #[serde(default = "default_journal_url")]
    pub url: String,
    /// Connection pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// PostgreSQL schema holding the tables (created when missing).
    #[serde(default)]
    pub schema: Option<String>,
    /// Name of an environment variable holding the URL (credentials stay
    /// out of the file); when set it replaces `url` at load.
    #[serde(default)]
    pub url_env: Option<String>,
    /// SQLite only: WAL pages between the writer's own checkpoints
    /// (SQLite's `wal_autocheckpoint`), which copy the log back into the
    /// database file and start it again. The daemon's background
    /// checkpoints (`journal::Checkpointer`) copy from a quarter of it and
    /// sync the file, so that the writer's checkpoint has little left to
    /// do. Longer means more throughput and a larger log
    /// (benches/README.md, "Daemon", rounds 4 to 6).
    #[serde(default = "default_sqlite_checkpoint_pages")]
    pub sqlite_checkpoint_pages: u32,
    /// SQLite only: copy the log back (and sync the database file) on a
    /// second connection in the background (default), so that the
    /// writer's own checkpoints find little to do; false leaves every
    /// checkpoint to the writer.
    #[serde(default = "default_true")]
    pub sqlite_background_checkpoints: bool,
}

fn default_sqlite_checkpoint_pages() -> u32 {
    crate::journal::DEFAULT_SQLITE_CHECKPOINT_PAGES
}

fn default_journal_url() -> String {
    "sqlite://var/comptoir.db".into()
}
fn default_max_connections() -> u32 {
    4
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            url: default_journal_url(),
            max_connections: default_max_connections(),
            schema: None,
            url_env: None,
            sqlite_checkpoint_pages: default_sqlite_checkpoint_pages(),
            sqlite_background_checkpoints: true,
        }
    }
}

/// `[paths]`: mapping and pricing directories.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    #[serde(default = "default_mappings")]
    pub mappings: PathBuf,
    #[serde(default = "default_pricing")]
    pub pricing: PathBuf,
}

fn default_mappings() -> PathBuf {
    "mappings".into()
}
fn default_pricing() -> PathBuf {
    "config/pricing".into()
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            mappings: default_mappings(),
            pricing: default_pricing(),
        }
    }
}

/// `[daemon]`: processing loop settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Messages claimed from the journal per batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// Idle wait between two journal polls when there is nothing to do.
    #[serde(default = "default_idle_ms")]
    pub idle_poll_ms: u64,
    /// How long in-flight work may take to finish on SIGTERM/SIGINT.
    #[serde(default = "default_grace")]
    pub grace_period_secs: u64,
    /// How long a claimed message stays leased to this process.
    #[serde(default = "default_lease")]
    pub lease_secs: u64,
    /// This instance's id, owner of its leases in the journal (several
    /// daemons may share one PostgreSQL journal). The `COMPTOIR_INSTANCE_ID`
    /// environment variable overrides it; when both are absent an id is
    /// generated once and kept in `instance_id_file`.
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Where a generated instance id is persisted.
    #[serde(default = "default_instance_id_file")]
    pub instance_id_file: PathBuf,
}

fn default_instance_id_file() -> PathBuf {
    "var/instance-id".into()
}

fn default_batch_size() -> u32 {
    64
}
fn default_idle_ms() -> u64 {
    200
}
fn default_grace() -> u64 {
    10
}
fn default_lease() -> u64 {
    120
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            batch_size: default_batch_size(),
            idle_poll_ms: default_idle_ms(),
            grace_period_secs: default_grace(),
            lease_secs: default_lease(),
            instance_id: None,
            instance_id_file: default_instance_id_file(),
        }
    }
}

/// `[[source]]`: where messages come from.
/// Unknown fields are rejected by the flattened type's struct (serde cannot
/// combine `flatten` with `deny_unknown_fields` on the outer struct).
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Unique name, recorded on every message.
    pub name: String,
    /// Partner id to attribute messages to; when absent the partner is found
    /// from the interchange sender.
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(flatten)]
    pub kind: SourceKind,
}

/// Source types and their settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SourceKind {
    Directory(DirectorySource),
    Amqp(AmqpSource),
    Sftp(SftpSource),
    Http(HttpSource),
}

impl SourceKind {
    /// The `type` name.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Directory(_) => "directory",
            SourceKind::Amqp(_) => "amqp",
            SourceKind::Sftp(_) => "sftp",
            SourceKind::Http(_) => "http",
        }
    }
}

/// A local directory polled for files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySource {
    pub path: PathBuf,
    /// Where journaled files are moved; default `<path>/../archive`.
    #[serde(default)]
    pub archive: Option<PathBuf>,
    /// Where files that cannot be read are moved; default `<path>/../error`.
    #[serde(default)]
    pub error: Option<PathBuf>,
    /// Poll interval.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// File name suffixes of files still being written (ignored).
    #[serde(default = "default_temp_suffixes")]
    pub ignore_suffixes: Vec<String>,
    /// Files journaled per transaction.
    #[serde(default = "default_pickup_batch")]
    pub batch_size: usize,
}

fn default_poll_ms() -> u64 {
    500
}
fn default_temp_suffixes() -> Vec<String> {
    vec![".tmp".into(), ".part".into()]
}
fn default_pickup_batch() -> usize {
    256
}

/// An AMQP 0-9-1 queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSource {
    pub url: String,
    pub queue: String,
    #[serde(default = "default_prefetch")]
    pub prefetch: u16,
    /// Exchange messages are rejected to on permanent failure.
    #[serde(default)]
    pub dead_letter_exchange: Option<String>,
    /// Message header naming the partner (used when the source has no
    /// `partner`; e.g. `partner`).
    #[serde(default)]
    pub partner_header: Option<String>,
    /// Declare the queue (durable; with the dead-letter exchange as
    /// `x-dead-letter-exchange`, the exchange itself and a `<queue>.dead`
    /// queue bound to it). When false the topology must exist.
    #[serde(default = "default_true")]
    pub declare: bool,
    /// Deliveries journaled per transaction (0 = `prefetch`).
    #[serde(default)]
    pub batch_size: usize,
    /// Larger messages are rejected to the dead-letter exchange.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// First reconnection delay after the broker went away; doubled on each
    /// failure up to `reconnect_max_ms`.
    #[serde(default = "default_reconnect_initial")]
    pub reconnect_initial_ms: u64,
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u64,
}

fn default_prefetch() -> u16 {
    64
}
fn default_max_message() -> usize {
    64 * 1024 * 1024
}
fn default_reconnect_initial() -> u64 {
    500
}
fn default_reconnect_max() -> u64 {
    30_000
}

/// An SFTP folder polled for files (see [`crate::sources::sftp`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpSource {
    pub host: String,
    #[serde(default = "default_sftp_port")]
    pub port: u16,
    pub user: String,
    /// Private key file (OpenSSH or PKCS#8 format).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Name of the environment variable holding the key's passphrase.
    #[serde(default)]
    pub key_passphrase_env: Option<String>,
    /// Name of the environment variable holding the password (password
    /// authentication, tried after the key when both are set).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Pinned server host key fingerprints, as `ssh-keygen -lf` prints them
    /// (`SHA256:…`). The connection is refused when the server's key is not
    /// one of them. Required: there is no trust on first use.
    #[serde(default)]
    pub host_keys: Vec<String>,
    /// Remote directory polled.
    pub path: String,
    /// Glob on file names (`*` and `?`), e.g. `*.edi`.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// Remote directory journaled files are moved to (as `<message id>-<name>`);
    /// when absent they are deleted.
    #[serde(default)]
    pub archive: Option<String>,
    /// File name suffixes of files still being uploaded (ignored).
    #[serde(default = "default_temp_suffixes")]
    pub ignore_suffixes: Vec<String>,
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// Files journaled per transaction.
    #[serde(default = "default_sftp_batch")]
    pub batch_size: usize,
    /// Connect / request timeout.
    #[serde(default = "default_sftp_timeout")]
    pub timeout_secs: u64,
    /// First reconnection delay; doubles up to `reconnect_max_ms`.
    #[serde(default = "default_reconnect_base")]
    pub reconnect_base_ms: u64,
    #[serde(default = "default_sftp_reconnect_max")]
    pub reconnect_max_ms: u64,
}

fn default_pattern() -> String {
    "*".into()
}
fn default_sftp_batch() -> usize {
    64
}
fn default_sftp_timeout() -> u64 {
    30
}
fn default_reconnect_base() -> u64 {
    500
}
fn default_sftp_reconnect_max() -> u64 {
    60_000
}

fn default_sftp_port() -> u16 {
    22
}

/// An HTTP listener: `POST /api/inbound/{partner}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// Listen address, e.g. `127.0.0.1:8080`.
    pub listen: String,
    /// Largest accepted body, bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_max_body() -> usize {
    16 * 1024 * 1024
}

/// `[[partner]]`: a trading partner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Interchange sender ids (UNB 0004, GLNs) that designate this partner.
    #[serde(default)]
    pub identifiers: Vec<String>,
    /// Partner id in `mappings/` whose overrides apply (default: none).
    #[serde(default)]
    pub mapping_partner: Option<String>,
    /// Client id (or alias) in the pricing terms.
    #[serde(default)]
    pub pricing_client: Option<String>,
    /// Expected price-check policy; `check` verifies the pricing client has it.
    #[serde(default)]
    pub price_check: Option<PriceCheck>,
    #[serde(default)]
    pub acknowledgements: Acknowledgements,
    /// Sink name acknowledgements and responses are sent through.
    #[serde(default)]
    pub outbound_channel: Option<String>,
}

/// Price-check policies (same names as the pricing terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceCheck {
    AcceptBuyer,
    Override,
    Hold,
    Reject,
}

impl PriceCheck {
    fn matches(self, p: CheckPolicy) -> bool {
        matches!(
            (self, p),
            (PriceCheck::AcceptBuyer, CheckPolicy::AcceptBuyer)
                | (PriceCheck::Override, CheckPolicy::Override)
                | (PriceCheck::Hold, CheckPolicy::Hold)
                | (PriceCheck::Reject, CheckPolicy::Reject)
        )
    }
}

/// Which answers a partner wants.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgements {
    #[serde(default)]
    pub contrl: bool,
    #[serde(default)]
    pub aperak: bool,
    #[serde(default)]
    pub ordrsp: bool,
}

/// `[[route]]`: which documents go through which steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub name: String,
    /// Partner ids; empty means every partner (and unknown senders).
    #[serde(default)]
    pub partners: Vec<String>,
    /// Document types (`order`, `invoice` …); empty means every type.
    #[serde(default)]
    pub document_types: Vec<String>,
    /// Price orders with the partner's pricing client.
    #[serde(default)]
    pub price: bool,
    /// Sink names, each delivered to (and retried) independently.
    pub sinks: Vec<String>,
}

impl RouteConfig {
    /// True when the route applies to this partner and document type.
    pub fn matches(&self, partner: Option<&str>, doc_type: DocumentType) -> bool {
        let p_ok = self.partners.is_empty()
            || partner.is_some_and(|p| self.partners.iter().any(|x| x == p));
        let t_ok = self.document_types.is_empty()
            || self.document_types.iter().any(|t| t == doc_type.as_str());
        p_ok && t_ok
    }
}

/// `[[sink]]`: where documents go.
/// Unknown fields are rejected by the flattened type's struct (serde cannot
/// combine `flatten` with `deny_unknown_fields` on the outer struct).
#[derive(Debug, Clone, Deserialize)]
pub struct SinkConfig {
    pub name: String,
    #[serde(flatten)]
    pub kind: SinkKind,
}

/// Sink types and their settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkKind {
    File(FileSink),
    Amqp(AmqpSink),
    Odoo(OdooSink),
    Sap(SapSink),
    Webhook(WebhookSink),
    Sftp(SftpSink),
}

impl SinkKind {
    /// The `type` name.
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::File(_) => "file",
            SinkKind::Amqp(_) => "amqp",
            SinkKind::Odoo(_) => "odoo",
            SinkKind::Sap(_) => "sap",
            SinkKind::Webhook(_) => "webhook",
            SinkKind::Sftp(_) => "sftp",
        }
    }

    /// True for the kinds that can carry EDI answers to a partner (a
    /// partner's `outbound_channel`).
    pub fn carries_answers(&self) -> bool {
        matches!(
            self,
            SinkKind::File(_) | SinkKind::Amqp(_) | SinkKind::Sftp(_)
        )
    }
}

/// Writes canonical (and priced) JSON into a directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSink {
    pub path: PathBuf,
    /// fsync each file and the directory before reporting success.
    #[serde(default = "default_true")]
    pub fsync: bool,
}

fn default_true() -> bool {
    true
}

/// Publishes to an AMQP exchange with publisher confirms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSink {
    pub url: String,
    #[serde(default)]
    pub exchange: String,
    pub routing_key: String,
    /// Publish the priced JSON when the route priced the documents (else the
    /// canonical JSON).
    #[serde(default = "default_true")]
    pub priced: bool,
    /// How long to wait for the broker's confirm before the delivery counts
    /// as failed (and is retried).
    #[serde(default = "default_confirm_timeout")]
    pub confirm_timeout_ms: u64,
}

fn default_confirm_timeout() -> u64 {
    10_000
}

/// What the SFTP sink uploads for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SftpContent {
    /// `<id>.json` (canonical) and, when the route priced, `<id>.priced.json`
    /// (as the file sink writes them).
    #[default]
    Both,
    /// `<id>.json` only.
    Canonical,
    /// `<id>.priced.json` when the route priced, else `<id>.json`.
    Priced,
}

/// Uploads files to a directory on an SFTP server (see
/// [`crate::sinks::sftp`]); also the server of the SAP sink's `idoc_sftp`
/// mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpSink {
    pub host: String,
    #[serde(default = "default_sftp_port")]
    pub port: u16,
    pub user: String,
    /// Private key file (OpenSSH or PKCS#8 format).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Name of the environment variable holding the key's passphrase.
    #[serde(default)]
    pub key_passphrase_env: Option<String>,
    /// Name of the environment variable holding the password (tried after
    /// the key when both are set).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Pinned server host key fingerprints (`SHA256:…`); required.
    #[serde(default)]
    pub host_keys: Vec<String>,
    /// Remote directory files are uploaded to (created, one level, when
    /// missing; empty = the login directory).
    pub path: String,
    /// What is uploaded for a message (`both`, `canonical`, `priced`); not
    /// for the SAP sink, which uploads IDoc XML.
    #[serde(default)]
    pub content: Option<SftpContent>,
    /// Connect / request timeout.
    #[serde(default = "default_sftp_timeout")]
    pub timeout_secs: u64,
}

/// `[retry]`: per-sink retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts before the message is parked as `dead`.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_base_delay")]
    pub base_delay_ms: u64,
    #[serde(default = "default_max_delay")]
    pub max_delay_ms: u64,
    /// Random spread applied to each delay, 0.0–1.0 (0.2 = ±20 %).
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

fn default_attempts() -> u32 {
    8
}
fn default_base_delay() -> u64 {
    1_000
}
fn default_max_delay() -> u64 {
    300_000
}
fn default_jitter() -> f64 {
    0.2
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: default_attempts(),
            base_delay_ms: default_base_delay(),
            max_delay_ms: default_max_delay(),
            jitter: default_jitter(),
        }
    }
}

impl RetryConfig {
    /// Delay before attempt `attempt + 1` (attempt counts from 1), with
    /// `unit` in [0, 1) drawing the jitter.
    pub fn delay_ms(&self, attempt: u32, unit: f64) -> u64 {
        let exp = attempt.saturating_sub(1).min(32);
        let raw = self.base_delay_ms.saturating_mul(1u64 << exp);
        let capped = raw.min(self.max_delay_ms) as f64;
        let spread = capped * self.jitter * (unit * 2.0 - 1.0);
        (capped + spread).max(0.0) as u64
    }
}

/// `[retention]`: how long final messages are kept (0 = forever).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    #[serde(default)]
    pub delivered_days: u32,
    #[serde(default)]
    pub rejected_days: u32,
    #[serde(default)]
    pub duplicate_days: u32,
}

/// One configuration problem: file, field, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub file: PathBuf,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

/// Every problem found in a configuration.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError(pub Vec<ConfigIssue>);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let issue = |field: &str, message: String| {
            ConfigError(vec![ConfigIssue {
                file: path.to_path_buf(),
                field: field.into(),
                message,
            }])
        };
        let text = std::fs::read_to_string(path).map_err(|e| issue("", e.to_string()))?;
        let mut config = Config::parse(&text).map_err(|e| {
            let field = e
                .span()
                .map(|s| location(&text, s.start))
                .unwrap_or_default();
            issue(&field, e.message().to_string())
        })?;
        if let Some(var) = &config.journal.url_env {
            match std::env::var(var) {
                Ok(url) if !url.is_empty() => config.journal.url = url,
                _ => {
                    return Err(issue(
                        "journal.url_env",
                        format!("environment variable {var} is not set"),
                    ))
                }
            }
        }
        let issues = config.validate(path);
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError(issues))
        }
    }

    /// Parses TOML text (no validation).
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Cross-reference checks; `file` names the file in issues.
    pub fn validate(&self, file: &Path) -> Vec<ConfigIssue> {
        let mut out = Vec::new();
        let mut push = |field: String, message: String| {
            out.push(ConfigIssue {
                file: file.to_path_buf(),
                field,
                message,
            })
        };
        if !(self.journal.url.starts_with("sqlite:")
            || self.journal.url.starts_with("postgres://")
            || self.journal.url.starts_with("postgresql://"))
        {
            push(
                "journal.url".into(),
                format!(
                    "{:?}: expected sqlite://PATH or postgres://…",
                    self.journal.url
                ),
            );
        }
        let partner_ids: HashSet<&str> = self.partners.iter().map(|p| p.id.as_str()).collect();
        let sink_names: HashSet<&str> = self.sinks.iter().map(|s| s.name.as_str()).collect();
        let mut seen = HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            if !seen.insert(s.name.as_str()) {
                push(
                    format!("source[{i}].name"),
                    format!("duplicate source name {:?}", s.name),
                );
            }
            if let SourceKind::Sftp(f) = &s.kind {
                let server = (&f.host_keys, f.key_file.is_some(), f.password_env.is_some());
                for (field, message) in sftp_issues("an SFTP source", server) {
                    push(format!("source[{i}]{field}"), message);
                }
            }
            if let Some(p) = &s.partner {
                if !partner_ids.contains(p.as_str()) {
                    push(
                        format!("source[{i}].partner"),
                        format!("unknown partner {p:?}"),
                    );
                }
            }
        }
        let mut seen = HashSet::new();
        let mut idents = HashSet::new();
        for (i, p) in self.partners.iter().enumerate() {
            if !seen.insert(p.id.as_str()) {
                push(
                    format!("partner[{i}].id"),
                    format!("duplicate partner id {:?}", p.id),
                );
            }
            for id in &p.identifiers {
                if !idents.insert(id.as_str()) {
                    push(
                        format!("partner[{i}].identifiers"),
                        format!("identifier {id:?} already designates another partner"),
                    );
                }
            }
            if let Some(c) = &p.outbound_channel {
                match self.sinks.iter().find(|s| s.name == *c) {
                    None => push(
                        format!("partner[{i}].outbound_channel"),
                        format!("unknown sink {c:?}"),
                    ),
                    Some(s) if !s.kind.carries_answers() => push(
                        format!("partner[{i}].outbound_channel"),
                        format!(
                            "sink {c:?} is of type {}, which cannot carry EDI answers: \
                             use a file, amqp or sftp sink",
                            s.kind.name()
                        ),
                    ),
                    Some(_) => {}
                }
            }
        }
        let mut seen = HashSet::new();
        for (i, s) in self.sinks.iter().enumerate() {
            if !seen.insert(s.name.as_str()) {
                push(
                    format!("sink[{i}].name"),
                    format!("duplicate sink name {:?}", s.name),
                );
            }
            match &s.kind {
                SinkKind::Odoo(o) => {
                    for (field, message) in o.issues() {
                        push(format!("sink[{i}].{field}"), message);
                    }
                }
                SinkKind::Sap(m) => {
                    for (field, message) in m.issues() {
                        push(format!("sink[{i}].{field}"), message);
                    }
                }
                SinkKind::Sftp(f) => {
                    let server = (&f.host_keys, f.key_file.is_some(), f.password_env.is_some());
                    for (field, message) in sftp_issues("an SFTP sink", server) {
                        push(format!("sink[{i}]{field}"), message);
                    }
                }
                SinkKind::File(_) | SinkKind::Amqp(_) | SinkKind::Webhook(_) => {}
            }
        }
        let mut seen = HashSet::new();
        for (i, r) in self.routes.iter().enumerate() {
            if !seen.insert(r.name.as_str()) {
                push(
                    format!("route[{i}].name"),
                    format!("duplicate route name {:?}", r.name),
                );
            }
            for p in &r.partners {
                if !partner_ids.contains(p.as_str()) {
                    push(
                        format!("route[{i}].partners"),
                        format!("unknown partner {p:?}"),
                    );
                }
            }
            for t in &r.document_types {
                if DocumentType::from_name(t).is_none() {
                    push(
                        format!("route[{i}].document_types"),
                        format!("unknown document type {t:?} (order, invoice, despatch_advice …)"),
                    );
                }
            }
            if r.sinks.is_empty() {
                push(
                    format!("route[{i}].sinks"),
                    "a route needs at least one sink".into(),
                );
            }
            for s in &r.sinks {
                if !sink_names.contains(s.as_str()) {
                    push(format!("route[{i}].sinks"), format!("unknown sink {s:?}"));
                }
            }
        }
        if self.retry.max_attempts == 0 {
            push("retry.max_attempts".into(), "must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.retry.jitter) {
            push("retry.jitter".into(), "must be between 0.0 and 1.0".into());
        }
        if self.retry.base_delay_ms > self.retry.max_delay_ms {
            push(
                "retry.base_delay_ms".into(),
                "is larger than retry.max_delay_ms".into(),
            );
        }
        if self.daemon.batch_size == 0 {
            push("daemon.batch_size".into(), "must be at least 1".into());
        }
        admin::validate(self, &mut push);
        export::validate(self, &mut push);
        out
    }

    /// Loads the mappings and pricing terms the configuration refers to and
    /// checks partner references into them. Returns them when everything
    /// is valid.
    pub fn check_references(&self, file: &Path) -> Result<(Registry, Terms), ConfigError> {
        let mut issues = Vec::new();
        let registry = match Registry::load(&self.paths.mappings) {
            Ok(r) => Some(r),
            Err(e) => {
                for m in e.0 {
                    issues.push(ConfigIssue {
                        file: self.paths.mappings.clone(),
                        field: String::new(),
                        message: m.to_string(),
                    });
                }
                None
            }
        };
        let terms = match Terms::load(&self.paths.pricing) {
            Ok(t) => Some(t),
            Err(e) => {
                issues.push(ConfigIssue {
                    file: self.paths.pricing.clone(),
                    field: String::new(),
                    message: e.to_string(),
                });
                None
            }
        };
        for (i, p) in self.partners.iter().enumerate() {
            if let (Some(m), Some(reg)) = (&p.mapping_partner, &registry) {
                if reg.partner(m).is_none() {
                    issues.push(ConfigIssue {
                        file: file.to_path_buf(),
                        field: format!("partner[{i}].mapping_partner"),
                        message: format!("no partner {m:?} in {}", self.paths.mappings.display()),
                    });
                }
            }
            if let (Some(c), Some(terms)) = (&p.pricing_client, &terms) {
                match terms.client(c) {
                    None => issues.push(ConfigIssue {
                        file: file.to_path_buf(),
                        field: format!("partner[{i}].pricing_client"),
                        message: format!(
                            "no client or alias {c:?} in {}",
                            self.paths.pricing.display()
                        ),
                    }),
                    Some(client) => {
                        if let Some(pc) = p.price_check {
                            if !pc.matches(client.price_check.policy) {
                                issues.push(ConfigIssue {
                                    file: file.to_path_buf(),
                                    field: format!("partner[{i}].price_check"),
                                    message: format!(
                                        "{pc:?} expected, but pricing client {c:?} has {:?}",
                                        client.price_check.policy
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        }
        match (registry, terms) {
            (Some(r), Some(t)) if issues.is_empty() => Ok((r, t)),
            _ => Err(ConfigError(issues)),
        }
    }

    /// The partner configured for an id.
    pub fn partner(&self, id: &str) -> Option<&PartnerConfig> {
        self.partners.iter().find(|p| p.id == id)
    }

    /// The partner designated by an interchange sender id.
    pub fn partner_for_sender(&self, sender: &str) -> Option<&PartnerConfig> {
        self.partners
            .iter()
            .find(|p| p.identifiers.iter().any(|i| i == sender))
    }

    /// The first route (in file order) matching a partner and document type.
    pub fn route_for(&self, partner: Option<&str>, t: DocumentType) -> Option<&RouteConfig> {
        self.routes.iter().find(|r| r.matches(partner, t))
    }
}

/// Problems with an SFTP server's settings (host keys, authentication), as
/// (field suffix such as `.host_keys`, or `""` for the table, message);
/// `what` names the table in messages ("an SFTP sink").
pub(crate) fn sftp_issues(
    what: &str,
    (host_keys, key_file, password_env): (&Vec<String>, bool, bool),
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if host_keys.is_empty() {
        out.push((
            ".host_keys",
            format!(
                "{what} needs the server's pinned host key fingerprint(s) \
                 (`ssh-keygen -lf <host key>.pub`: SHA256:…)"
            ),
        ));
    }
    for k in host_keys {
        if !k.starts_with("SHA256:") {
            out.push((
                ".host_keys",
                format!("{k:?}: expected a SHA256:… fingerprint"),
            ));
        }
    }
    if !key_file && !password_env {
        out.push(("", format!("{what} needs key_file or password_env")));
    }
    out
}

/// `line L, column C` of a byte offset.
fn location(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    format!("line {line}, column {col}")
}

#[cfg(test)]
mod tests;
