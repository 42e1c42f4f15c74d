//! The durable journal: every received message, its raw bytes, its state
//! and its history, on SQLite (default, WAL) or PostgreSQL.
//!
//! The journal is the single source of truth of the daemon. Sources call
//! [`Journal::receive`], which commits the raw bytes and metadata (and
//! detects duplicates) *before* the source acknowledges anything. Workers
//! [`Journal::claim`] due messages under a lease, process them, and record
//! the outcome with [`Journal::apply`] (state, canonical/priced JSON, events,
//! delivery attempts) in one transaction. A crash between the two leaves the
//! message non-final: it is claimed again on restart.
//!
//! Both backends share one API ([`Journal`] is an enum over the two pools)
//! and the same schema (`src/journal/migrations/{sqlite,postgres}`),
//! applied with sqlx's migrator at open. Queries are built at run time
//! (`sqlx::query`), so building needs no database. Times are Unix epoch
//! milliseconds.

mod checkpoint;
pub mod packed;
mod sniff;
mod state;
mod write;

use std::borrow::Cow;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};

pub use checkpoint::Checkpointer;
pub use exports::{ExportRecord, ExportState};
pub use sniff::{sniff_interchange, InterchangeId};
pub use state::State;
use write::{NewMessage, WriteTx};

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal URL {0:?}: expected sqlite://PATH or postgres://…")]
    BadUrl(String),
    #[error("journal: {0}")]
    Db(#[from] sqlx::Error),
    #[error("journal migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("journal: {0}")]
    Io(#[from] std::io::Error),
    #[error("journal: message {0} not found")]
    NotFound(i64),
    #[error("journal: unknown state {0:?} in the database")]
    BadState(String),
    /// The operation does not apply to the message in its current state.
    #[error("journal: {0}")]
    Conflict(String),
    /// A stored value cannot be read back.
    #[error("journal: message {id}: column {column} is unreadable: {why}")]
    Corrupt {
        id: i64,
        column: String,
        why: String,
    },
}

impl JournalError {
    /// True when storing the same message again cannot succeed (the data
    /// itself is refused: PostgreSQL data exceptions, integrity violations
    /// or program limits; SQLite TOOBIG, CONSTRAINT, MISMATCH). Connection,
    /// pool, lock and I/O problems are not permanent.
    pub fn is_permanent(&self) -> bool {
        match self {
            JournalError::Db(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default();
                match e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    Some(_) => ["22", "23", "54"].iter().any(|c| code.starts_with(c)),
                    None => {
                        let primary = code.parse::<u32>().map(|c| c & 0xff).unwrap_or(0);
                        matches!(primary, 18..=20)
                    }
                }
            }
            JournalError::Db(sqlx::Error::Encode(_)) => true,
            _ => false,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A message as a source hands it over.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Source name (config `[[source]] name`).
    pub source: String,
    /// Where it came from within the source (file name, delivery tag …).
    pub source_ref: Option<String>,
    /// Partner, when the source knows it.
    pub partner: Option<String>,
    pub raw: Vec<u8>,
}

/// A file of a source, as leased by [`Journal::claim_files`]: name, size
/// and modification time (seconds), so a file replaced under the same name
/// is a new file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub name: String,
    pub size: i64,
    pub mtime: i64,
}

/// What [`Journal::receive`] recorded for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub id: i64,
    /// Set when the message was recorded as a duplicate of this one.
    pub duplicate_of: Option<i64>,
}

/// A journaled message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub received_at: i64,
    pub source: String,
    pub source_ref: Option<String>,
    pub partner: Option<String>,
    pub format: Option<String>,
    pub document_type: Option<String>,
    pub business_keys: Option<String>,
    pub sender: Option<String>,
    pub interchange_ref: Option<String>,
    pub content_hash: String,
    /// Empty in listings.
    pub raw: Vec<u8>,
    pub state: State,
    pub error: Option<String>,
    pub canonical_json: Option<String>,
    pub priced_json: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub duplicate_of: Option<i64>,
    pub updated_at: i64,
}

/// One entry of a message's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: i64,
    pub state: String,
    pub detail: Option<String>,
}

/// One delivery attempt to a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub sink: String,
    pub attempt: i64,
    pub at: i64,
    /// `ok` or `error`.
    pub outcome: String,
    pub detail: Option<String>,
}

/// The outcome of processing one claimed message, applied atomically.
#[derive(Debug, Clone)]
pub struct Update {
    pub id: i64,
    pub state: State,
    pub error: Option<String>,
    pub partner: Option<String>,
    pub format: Option<String>,
    pub document_type: Option<String>,
    pub business_keys: Option<String>,
    pub sender: Option<String>,
    pub interchange_ref: Option<String>,
    pub canonical_json: Option<String>,
    pub priced_json: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// History entries (state, detail), in order.
    pub events: Vec<(State, String)>,
    pub deliveries: Vec<Delivery>,
    /// `canonical_json` and `priced_json` as stored ([`packed`]), when
    /// [`Update::pack`] was called; [`Journal::apply`] packs otherwise.
    packed: Option<Packed>,
}

/// The packed forms of an update's documents.
#[derive(Debug, Clone, Default)]
struct Packed {
    canonical: Option<Vec<u8>>,
    priced: Option<Vec<u8>>,
}

impl Packed {
    fn of(u: &Update) -> Packed {
        Packed {
            canonical: u.canonical_json.as_deref().map(packed::pack),
            priced: u.priced_json.as_deref().map(packed::pack),
        }
    }
}

impl Update {
    /// An update that moves `id` to `state` and changes nothing else.
    pub fn new(id: i64, state: State, attempts: i64) -> Update {
        Update {
            id,
            state,
            error: None,
            partner: None,
            format: None,
            document_type: None,
            business_keys: None,
            sender: None,
            interchange_ref: None,
            canonical_json: None,
            priced_json: None,
            attempts,
            next_attempt_at: 0,
            events: Vec::new(),
            deliveries: Vec::new(),
            packed: None,
        }
    }

    /// Compresses the documents as the journal stores them, so that the
    /// work is done here (the pipeline calls it on its worker threads)
    /// rather than in the commit. The documents must not change after.
    pub fn pack(&mut self) {
        self.packed = Some(Packed::of(self));
    }

    fn packed(&self) -> Cow<'_, Packed> {
        match &self.packed {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(Packed::of(self)),
        }
    }
}

/// The journal, over one of its backends.
#[derive(Debug, Clone)]
pub enum Journal {
    /// A SQLite file: every write on one connection (`writer`; SQLite has
    /// one writer at a time, and queueing on the pool is much faster than
    /// SQLite's sleeping busy handler), reads that need not be in a write
    /// transaction (the admin API, the exclusive daemon's claims) on
    /// read-only connections (`reader`), which in WAL mode neither wait
    /// for the writer nor hold it up. An in-memory database has one pool
    /// for both.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to the pool that writes: the journal's one
/// SQLite connection, or the PostgreSQL pool.
macro_rules! with_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            Journal::Sqlite { writer: $p, .. } => $body,
            Journal::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$p` bound to a pool for reads outside any write
/// transaction: SQLite's read-only connections (they see every committed
/// transaction), or the PostgreSQL pool.
macro_rules! with_reader {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            Journal::Sqlite { reader: $p, .. } => $body,
            Journal::Postgres($p) => $body,
        }
    };
}

/// Decodes a `messages` row (all columns but `raw` when `$raw` is false;
/// without the documents, which the row need not hold, when `$docs` is
/// false).
macro_rules! decode_message {
    ($row:expr, $raw:expr) => {
        decode_message!($row, $raw, true)
    };
    ($row:expr, $raw:expr, $docs:expr) => {{
        let r = $row;
        let id: i64 = r.try_get("id")?;
        let state: String = r.try_get("state")?;
        let (canonical_json, priced_json) = if $docs {
            (
                $crate::journal::packed::read(
                    id,
                    "canonical_z",
                    r.try_get("canonical_z")?,
                    r.try_get("canonical_json")?,
                )?,
                $crate::journal::packed::read(
                    id,
                    "priced_z",
                    r.try_get("priced_z")?,
                    r.try_get("priced_json")?,
                )?,
            )
        } else {
            (None, None)
        };
        Message {
            id,
            received_at: r.try_get("received_at")?,
            source: r.try_get("source")?,
            source_ref: r.try_get("source_ref")?,
            partner: r.try_get("partner")?,
            format: r.try_get("format")?,
            document_type: r.try_get("document_type")?,
            business_keys: r.try_get("business_keys")?,
            sender: r.try_get("sender")?,
            interchange_ref: r.try_get("interchange_ref")?,
            content_hash: r.try_get("content_hash")?,
            raw: if $raw { r.try_get("raw")? } else { Vec::new() },
            state: State::parse(&state).ok_or(JournalError::BadState(state))?,
            error: r.try_get("error")?,
            canonical_json,
            priced_json,
            attempts: r.try_get("attempts")?,
            next_attempt_at: r.try_get("next_attempt_at")?,
            duplicate_of: r.try_get("duplicate_of")?,
            updated_at: r.try_get("updated_at")?,
        }
    }};
}

const SUMMARY_COLUMNS: &str = "id, received_at, source, source_ref, partner, format, \
     document_type, business_keys, sender, interchange_ref, content_hash, state, error, \
     canonical_json, priced_json, canonical_z, priced_z, attempts, next_attempt_at, \
     duplicate_of, updated_at";

const FULL_COLUMNS: &str = "id, received_at, source, source_ref, partner, format, \
     document_type, business_keys, sender, interchange_ref, content_hash, raw, state, error, \
     canonical_json, priced_json, canonical_z, priced_z, attempts, next_attempt_at, \
     duplicate_of, updated_at";

/// What a claim returns: the raw bytes, not the documents (processing
/// starts again from the raw bytes).
/// Messages a claim may take: not final, due (`$3`: now), not leased or
/// with an expired lease. The same condition as the partial index
/// `messages_pending` (migration 0001), which serves it.
const DUE: &str = "state IN ('received', 'parsed', 'mapped', 'priced', 'failed') \
                   AND next_attempt_at <= $3 \
                   AND (lease_expires_at IS NULL OR lease_expires_at < $3)";

/// Runs a claim statement with its parameters, in order, and returns the
/// messages it gives (with raw bytes, without documents) by id.
macro_rules! claimed {
    ($pool:ident, $journal:expr, $sql:expr $(, $bind:expr)*) => {{
        let mut out: Vec<Message> = Vec::new();
        $pool!($journal, p => {
            let rows = sqlx::query($sql)$(.bind($bind))*.fetch_all(p).await?;
            for r in &rows {
                out.push(decode_message!(r, true, false));
            }
        });
        out.sort_by_key(|m| m.id);
        out
    }};
}

/// Makes SQLite walk the partial index of due messages in order, reading
/// one batch and no more. Left to itself (no `ANALYZE` statistics), its
/// planner took the `state` index instead, read every pending row and
/// sorted them: 40 ms per claim with 20,000 messages waiting, and growing
/// with the backlog, against 1 ms (benches/README.md, "Daemon", round 6).
/// SQLite refuses the statement if the index cannot serve it, so a change
/// of [`DUE`] that breaks the match fails the tests.
const SQLITE_PENDING_INDEX: &str = "INDEXED BY messages_pending";

const CLAIM_COLUMNS: &str = "id, received_at, source, source_ref, partner, format, \
     document_type, business_keys, sender, interchange_ref, content_hash, raw, state, error, \
     attempts, next_attempt_at, duplicate_of, updated_at";

/// Embedded migrations of one backend.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

const SQLITE_MIGRATIONS: Embedded = Embedded(&[
    (1, "init", include_str!("migrations/sqlite/0001_init.sql")),
    (2, "admin", include_str!("migrations/sqlite/0002_admin.sql")),
    (
        3,
        "file_leases",
        include_str!("migrations/sqlite/0003_file_leases.sql"),
    ),
    (
        5,
        "exports",
        include_str!("migrations/sqlite/0005_exports.sql"),
    ),
    (
        6,
        "packed_documents",
        include_str!("migrations/sqlite/0006_packed_documents.sql"),
    ),
]);
const POSTGRES_MIGRATIONS: Embedded = Embedded(&[
    (1, "init", include_str!("migrations/postgres/0001_init.sql")),
    (
        2,
        "admin",
        include_str!("migrations/postgres/0002_admin.sql"),
    ),
    (
        3,
        "file_leases",
        include_str!("migrations/postgres/0003_file_leases.sql"),
    ),
    (
        5,
        "exports",
        include_str!("migrations/postgres/0005_exports.sql"),
    ),
    (
        6,
        "packed_documents",
        include_str!("migrations/postgres/0006_packed_documents.sql"),
    ),
    (
        7,
        "documents_storage",
        include_str!("migrations/postgres/0007_documents_storage.sql"),
    ),
]);

type BoxDynError = Box<dyn std::error::Error + Send + Sync>;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        let list = self
            .0
            .iter()
            .map(|&(v, d, sql)| {
                Migration::new(
                    v,
                    Cow::Borrowed(d),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(list) })
    }
}

/// A valid SQL identifier for a PostgreSQL schema name.
fn valid_schema(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// WAL pages between SQLite's automatic checkpoints unless configured
/// (`journal.sqlite_checkpoint_pages`; SQLite's own default is 1,000).
pub const DEFAULT_SQLITE_CHECKPOINT_PAGES: u32 = 10_000;

impl Journal {
    /// Opens (creating when needed) the journal at `url` and applies the
    /// migrations. `schema` (PostgreSQL only) selects, and creates, the
    /// schema holding the tables.
    pub async fn open(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
    ) -> Result<Journal, JournalError> {
        Journal::open_with(
            url,
            max_connections,
            schema,
            DEFAULT_SQLITE_CHECKPOINT_PAGES,
        )
        .await
    }

    /// The journal of a `[journal]` configuration section.
    pub async fn open_config(c: &crate::config::JournalConfig) -> Result<Journal, JournalError> {
        Journal::open_with(
            &c.url,
            c.max_connections,
            c.schema.as_deref(),
            c.sqlite_checkpoint_pages,
        )
        .await
    }

    async fn open_with(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
        sqlite_checkpoint_pages: u32,
    ) -> Result<Journal, JournalError> {
        let max_connections = max_connections.max(1);
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            if path != ":memory:" {
                if let Some(parent) = Path::new(path).parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
            }
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                // A 64 MiB page cache (2 MiB by default) keeps the indexes
                // the daemon updates in memory, and a checkpoint every
                // 10,000 WAL pages (≈ 40 MiB; 1,000 by default) copies each
                // hot index page back once per checkpoint instead of ten
                // times: measured in benches/README.md ("Daemon", round 4):
                // +30 % throughput. That checkpoint runs on this one
                // connection and stalls its commits; the daemon's background
                // `Checkpointer` (second connection) copies the log back and
                // syncs the database file beforehand, so the writer's own
                // checkpoint has little left to copy and sync
                // (benches/README.md, "Daemon", rounds 5 and 6).
                // `journal.sqlite_checkpoint_pages` chooses the interval.
                .pragma("cache_size", "-65536")
                .pragma(
                    "wal_autocheckpoint",
                    sqlite_checkpoint_pages.max(1).to_string(),
                )
                .disable_statement_logging();
            // SQLite has one writer at a time; concurrent writers from one
            // pool meet SQLite's sleeping busy handler. One connection makes
            // them queue on the pool instead, which is much faster.
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(opts)
                .await?;
            Migrator::new(SQLITE_MIGRATIONS).await?.run(&writer).await?;
            // Readers: the same file, read-only (the log mode is the
            // file's, set by the writer). A private in-memory database
            // cannot be shared: its one connection does both.
            let reader = if writer.connect_options().get_filename() == Path::new(":memory:")
                || url.contains("mode=memory")
            {
                writer.clone()
            } else {
                let ro = SqliteConnectOptions::new()
                    .filename(writer.connect_options().get_filename())
                    .read_only(true)
                    .busy_timeout(Duration::from_secs(30))
                    .pragma("cache_size", "-16384")
                    .disable_statement_logging();
                SqlitePoolOptions::new()
                    .max_connections(max_connections.clamp(1, 4))
                    .min_connections(0)
                    .connect_with(ro)
                    .await?
            };
            Ok(Journal::Sqlite { writer, reader })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url)?.disable_statement_logging();
            if let Some(schema) = schema {
                if !valid_schema(schema) {
                    return Err(JournalError::BadUrl(format!("{url} (schema {schema:?})")));
                }
                let mut c = opts.connect().await?;
                sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .execute(&mut c)
                    .await?;
                c.close().await?;
                opts = opts.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .connect_with(opts)
                .await?;
            Migrator::new(POSTGRES_MIGRATIONS).await?.run(&pool).await?;
            Ok(Journal::Postgres(pool))
        } else {
            Err(JournalError::BadUrl(url.to_string()))
        }
    }

    /// Closes the pools.
    pub async fn close(&self) {
        match self {
            Journal::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Journal::Postgres(p) => p.close().await,
        }
    }

    /// A background checkpointer for a SQLite journal file (its own
    /// connection; see [`Checkpointer`]); None on PostgreSQL or in memory.
    pub async fn checkpointer(&self, pages: u32) -> Result<Option<Checkpointer>, JournalError> {
        match self {
            Journal::Sqlite { writer, .. } => {
                let db = writer.connect_options().get_filename().to_path_buf();
                Checkpointer::open(&db, pages).await
            }
            Journal::Postgres(_) => Ok(None),
        }
    }

    /// Backend name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Journal::Sqlite { .. } => "sqlite",
            Journal::Postgres(_) => "postgres",
        }
    }

    /// Commits a batch of received messages in one transaction and returns
    /// their ids. A message whose content hash, or whose interchange sender
    /// and control reference, was seen before is recorded as
    /// [`State::Duplicate`] (raw bytes kept) and will not be processed.
    pub async fn receive(&self, batch: Vec<Incoming>) -> Result<Vec<Received>, JournalError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let hashes: Vec<String> = batch.iter().map(|m| hex(&Sha256::digest(&m.raw))).collect();
        let ics: Vec<Option<InterchangeId>> =
            batch.iter().map(|m| sniff_interchange(&m.raw)).collect();
        // Dedup keys per message, in order of precedence (the first one
        // already taken names the original).
        let keys: Vec<Vec<String>> = hashes
            .iter()
            .zip(&ics)
            .map(|(h, ic)| {
                let mut k = vec![format!("sha256:{h}")];
                if let Some(ic) = ic {
                    k.push(format!("interchange:{}:{}", ic.sender, ic.control_ref));
                }
                k
            })
            .collect();
        // A handful of statements per batch, not several per message: each
        // is a round trip (to the server, or to sqlx's SQLite thread).
        let mut tx = self.write_tx().await?;
        // 1. The messages.
        let rows: Vec<NewMessage<'_>> = batch
            .iter()
            .zip(&ics)
            .zip(&hashes)
            .map(|((m, ic), hash)| NewMessage {
                source: &m.source,
                source_ref: m.source_ref.as_deref(),
                partner: m.partner.as_deref(),
                format: ic.as_ref().map(|_| "edifact"),
                sender: ic.as_ref().map(|i| i.sender.as_str()),
                interchange_ref: ic.as_ref().map(|i| i.control_ref.as_str()),
                content_hash: hash,
                raw: &m.raw,
            })
            .collect();
        let ids = tx.insert_messages(&rows, now).await?;
        // 2. Their dedup keys. A key already held (by an earlier message,
        //    or one earlier in this batch) is not inserted.
        let pairs: Vec<(&str, i64)> = keys
            .iter()
            .zip(&ids)
            .flat_map(|(k, id)| k.iter().map(move |k| (k.as_str(), *id)))
            .collect();
        // Key → the message that inserted it now (keys are unique).
        let inserted = tx.insert_dedup_keys(&pairs).await?;
        // 3. Who holds the keys that were not inserted.
        let missing: Vec<&str> = pairs
            .iter()
            .filter(|(k, id)| inserted.get(*k) != Some(id))
            .map(|(k, _)| *k)
            .collect();
        let holder = tx.key_holders(&missing).await?;
        // 4. Duplicates (rare): marked, their own keys given back.
        let mut out: Vec<Received> = Vec::with_capacity(batch.len());
        let mut events: Vec<(i64, State, String)> = Vec::with_capacity(batch.len());
        for (i, id) in ids.iter().copied().enumerate() {
            let taken = keys[i]
                .iter()
                .find(|k| inserted.get(k.as_str()) != Some(&id));
            let duplicate_of = match taken {
                None => None,
                Some(k) => {
                    let orig = holder
                        .get(k)
                        .copied()
                        .ok_or_else(|| JournalError::Conflict(format!("dedup key {k} vanished")))?;
                    // An original that is itself a duplicate in this batch:
                    // point at what it duplicates.
                    let orig = out
                        .iter()
                        .find(|r| r.id == orig)
                        .and_then(|r| r.duplicate_of)
                        .unwrap_or(orig);
                    Some(orig)
                }
            };
            let (state, detail) = match duplicate_of {
                Some(orig) => {
                    tx.mark_duplicate(id, orig).await?;
                    (State::Duplicate, format!("duplicate of message {orig}"))
                }
                None => (
                    State::Received,
                    format!("{} bytes from {}", batch[i].raw.len(), batch[i].source),
                ),
            };
            events.push((id, state, detail));
            out.push(Received { id, duplicate_of });
        }
        let events: Vec<(i64, &str, &str)> = events
            .iter()
            .map(|(id, state, detail)| (*id, state.as_str(), detail.as_str()))
            .collect();
        tx.insert_events(&events, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A write transaction: on SQLite's writing connection, or on a
    /// connection of the PostgreSQL pool.
    async fn write_tx(&self) -> Result<WriteTx, JournalError> {
        Ok(match self {
            Journal::Sqlite { writer, .. } => WriteTx::Sqlite(writer.begin().await?),
            Journal::Postgres(p) => WriteTx::Postgres(p.begin().await?),
        })
    }

    /// Leases up to `limit` due, non-final messages to `owner` for
    /// `lease_ms` and returns them (with raw bytes), oldest first.
    pub async fn claim(
        &self,
        owner: &str,
        limit: u32,
        lease_ms: i64,
    ) -> Result<Vec<Message>, JournalError> {
        let now = now_ms();
        let sql = match self {
            Journal::Sqlite { .. } => format!(
                "UPDATE messages SET lease_owner = $1, lease_expires_at = $2 WHERE id IN \
                 (SELECT id FROM messages {SQLITE_PENDING_INDEX} WHERE {DUE} \
                 ORDER BY next_attempt_at, id LIMIT $4) \
                 RETURNING {CLAIM_COLUMNS}"
            ),
            Journal::Postgres(_) => format!(
                "UPDATE messages SET lease_owner = $1, lease_expires_at = $2 WHERE id IN \
                 (SELECT id FROM messages WHERE {DUE} ORDER BY next_attempt_at, id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) RETURNING {CLAIM_COLUMNS}"
            ),
        };
        Ok(claimed!(
            with_pool,
            self,
            &sql,
            owner,
            now + lease_ms,
            now,
            i64::from(limit)
        ))
    }

    /// Returns up to `limit` due, non-final messages (with raw bytes),
    /// oldest first, **without leasing them**, leaving out `in_flight`
    /// (claimed earlier, their outcome not committed yet). For the only
    /// daemon on a journal (`Daemon::exclusive`: a SQLite file, whose
    /// leases that daemon clears at start-up anyway), where the claim's
    /// lease `UPDATE` only rewrote every claimed row (raw bytes included)
    /// into the log for nothing. Messages leased by someone else (a replay
    /// from the command line) are left alone, as by [`Journal::claim`].
    pub async fn claim_unleased(
        &self,
        limit: u32,
        in_flight: &[i64],
    ) -> Result<Vec<Message>, JournalError> {
        // The ids as one JSON array (`json_each` on SQLite, a `jsonb`
        // array on PostgreSQL): one parameter however many are in flight.
        let ids = format!(
            "[{}]",
            in_flight
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let (index, not_in_flight) = match self {
            Journal::Sqlite { .. } => (
                SQLITE_PENDING_INDEX,
                "id NOT IN (SELECT value FROM json_each($1))",
            ),
            Journal::Postgres(_) => (
                "",
                "id NOT IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
            ),
        };
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM messages {index} WHERE {DUE} AND {not_in_flight} \
             ORDER BY next_attempt_at, id LIMIT $2"
        );
        Ok(claimed!(
            with_reader,
            self,
            &sql,
            &ids,
            i64::from(limit),
            now_ms()
        ))
    }

    /// Clears every lease (single-instance start-up: whatever the previous
    /// process held is resumed now). Returns how many were cleared.
    pub async fn release_all_leases(&self) -> Result<u64, JournalError> {
        with_pool!(self, p => {
            let r = sqlx::query(
                "UPDATE messages SET lease_owner = NULL, lease_expires_at = NULL \
                 WHERE lease_owner IS NOT NULL",
            )
            .execute(p)
            .await?;
            Ok(r.rows_affected())
        })
    }

    /// Clears the leases held by `owner` (this instance's previous run):
    /// its claimed messages resume now, its file leases are dropped. Leases
    /// of other instances are left alone (they expire on their own).
    /// Returns how many message leases were cleared.
    pub async fn release_own_leases(&self, owner: &str) -> Result<u64, JournalError> {
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let r = sqlx::query(
                "UPDATE messages SET lease_owner = NULL, lease_expires_at = NULL \
                 WHERE lease_owner = $1",
            )
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM file_leases WHERE owner = $1")
                .bind(owner)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(r.rows_affected())
        })
    }

    /// Gives back the leases of claimed messages that were not processed
    /// (the daemon stopping between a claim and its processing), so that
    /// they are due again at once instead of when the lease expires.
    pub async fn release_leases(&self, ids: &[i64]) -> Result<(), JournalError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        tx.release_message_leases(ids).await?;
        tx.commit().await
    }

    /// Tries to lease files of a source to `owner` for `lease_ms`, in one
    /// transaction. A file is taken when nobody holds it, when its lease
    /// expired, or when `owner` already holds it. Returns, per file, whether
    /// `owner` now holds it.
    pub async fn claim_files(
        &self,
        source: &str,
        files: &[FileKey],
        owner: &str,
        lease_ms: i64,
    ) -> Result<Vec<bool>, JournalError> {
        let mut tx = self.write_tx().await?;
        let taken = tx
            .lease_files(source, files, owner, now_ms(), lease_ms)
            .await?;
        tx.commit().await?;
        Ok(files
            .iter()
            .map(|f| taken.contains(&(f.name.clone(), f.size, f.mtime)))
            .collect())
    }

    /// Extends every file lease `owner` holds on `source` (work in progress).
    pub async fn renew_files(
        &self,
        source: &str,
        owner: &str,
        lease_ms: i64,
    ) -> Result<u64, JournalError> {
        with_pool!(self, p => {
            let r = sqlx::query(
                "UPDATE file_leases SET expires_at = $3 WHERE source = $1 AND owner = $2",
            )
            .bind(source)
            .bind(owner)
            .bind(now_ms() + lease_ms)
            .execute(p)
            .await?;
            Ok(r.rows_affected())
        })
    }

    /// Drops `owner`'s leases on these files (done with them).
    pub async fn release_files(
        &self,
        source: &str,
        files: &[FileKey],
        owner: &str,
    ) -> Result<(), JournalError> {
        if files.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        tx.drop_file_leases(source, files, owner).await?;
        tx.commit().await
    }

    /// Applies processing outcomes in one transaction and releases their
    /// leases. The messages and the side tables (business keys, events,
    /// deliveries) are written with multi-row statements (module `write`),
    /// so a batch costs a handful of round trips, not several per message.
    pub async fn apply(&self, updates: &[Update]) -> Result<(), JournalError> {
        if updates.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let rekeyed: Vec<i64> = updates
            .iter()
            .filter(|u| u.business_keys.is_some())
            .map(|u| u.id)
            .collect();
        let keys: Vec<(&str, i64)> = updates
            .iter()
            .filter_map(|u| u.business_keys.as_deref().map(|k| (k, u.id)))
            .flat_map(|(k, id)| k.split(',').filter(|k| !k.is_empty()).map(move |k| (k, id)))
            .collect();
        let events: Vec<(i64, &str, &str)> = updates
            .iter()
            .flat_map(|u| {
                u.events
                    .iter()
                    .map(move |(s, d)| (u.id, s.as_str(), d.as_str()))
            })
            .collect();
        let deliveries: Vec<(i64, &Delivery)> = updates
            .iter()
            .flat_map(|u| u.deliveries.iter().map(move |d| (u.id, d)))
            .collect();
        let mut tx = self.write_tx().await?;
        tx.update_outcomes(updates, now).await?;
        tx.replace_business_keys(&rekeyed, &keys).await?;
        tx.insert_events(&events, now).await?;
        tx.insert_deliveries(&deliveries).await?;
        tx.commit().await?;
        Ok(())
    }

    /// One message, with its raw bytes.
    pub async fn get(&self, id: i64) -> Result<Message, JournalError> {
        let sql = format!("SELECT {FULL_COLUMNS} FROM messages WHERE id = $1");
        with_reader!(self, p => {
            match sqlx::query(&sql).bind(id).fetch_optional(p).await? {
                Some(r) => Ok(decode_message!(&r, true)),
                None => Err(JournalError::NotFound(id)),
            }
        })
    }

    /// Messages (without raw bytes), newest first, optionally in one state.
    pub async fn list(
        &self,
        state: Option<State>,
        limit: u32,
    ) -> Result<Vec<Message>, JournalError> {
        let sql = match state {
            Some(_) => format!(
                "SELECT {SUMMARY_COLUMNS} FROM messages WHERE state = $2 ORDER BY id DESC LIMIT $1"
            ),
            None => format!("SELECT {SUMMARY_COLUMNS} FROM messages ORDER BY id DESC LIMIT $1"),
        };
        let mut out = Vec::new();
        with_reader!(self, p => {
            let mut q = sqlx::query(&sql).bind(i64::from(limit));
            if let Some(s) = state {
                q = q.bind(s.as_str());
            }
            for r in &q.fetch_all(p).await? {
                out.push(decode_message!(r, false));
            }
        });
        Ok(out)
    }

    /// Number of messages per state.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, JournalError> {
        let mut out = Vec::new();
        with_reader!(self, p => {
            let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM messages GROUP BY state ORDER BY state")
                .fetch_all(p)
                .await?;
            for r in &rows {
                out.push((r.try_get("state")?, r.try_get("n")?));
            }
        });
        Ok(out)
    }

    /// The history of a message, oldest first.
    pub async fn events(&self, id: i64) -> Result<Vec<Event>, JournalError> {
        let mut out = Vec::new();
        with_reader!(self, p => {
            let rows = sqlx::query("SELECT at, state, detail FROM events WHERE message_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(p)
                .await?;
            for r in &rows {
                out.push(Event {
                    at: r.try_get("at")?,
                    state: r.try_get("state")?,
                    detail: r.try_get("detail")?,
                });
            }
        });
        Ok(out)
    }

    /// The delivery attempts of a message, oldest first.
    pub async fn deliveries(&self, id: i64) -> Result<Vec<Delivery>, JournalError> {
        let mut out = Vec::new();
        with_reader!(self, p => {
            let rows = sqlx::query(
                "SELECT sink, attempt, at, outcome, detail FROM deliveries WHERE message_id = $1 ORDER BY id",
            )
            .bind(id)
            .fetch_all(p)
            .await?;
            for r in &rows {
                out.push(Delivery {
                    sink: r.try_get("sink")?,
                    attempt: r.try_get("attempt")?,
                    at: r.try_get("at")?,
                    outcome: r.try_get("outcome")?,
                    detail: r.try_get("detail")?,
                });
            }
        });
        Ok(out)
    }

    /// Puts a message back to `received` (attempts reset, error cleared,
    /// previous deliveries forgotten for retry purposes) so it runs again
    /// through the current mappings and pricing. The message is leased to
    /// the caller for a minute (a running daemon leaves it alone meanwhile);
    /// [`Journal::apply`] or the lease's expiry releases it.
    pub async fn replay(&self, id: i64) -> Result<(), JournalError> {
        let now = now_ms();
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let r = sqlx::query(
                "UPDATE messages SET state = 'received', error = NULL, attempts = 0, \
                 next_attempt_at = $2, lease_owner = 'replay', lease_expires_at = $2 + 60000, \
                 canonical_json = NULL, priced_json = NULL, canonical_z = NULL, priced_z = NULL, \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                return Err(JournalError::NotFound(id));
            }
            sqlx::query(
                "INSERT INTO deliveries (message_id, sink, attempt, at, outcome, detail) \
                 SELECT message_id, sink, 0, $2, 'replayed', 'previous deliveries superseded by a replay' \
                 FROM deliveries WHERE message_id = $1 AND outcome = 'ok' GROUP BY message_id, sink",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO events (message_id, at, state, detail) VALUES ($1, $2, 'received', 'replay requested')")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Sinks a message was delivered to since its last replay.
    pub async fn delivered_sinks(&self, id: i64) -> Result<Vec<String>, JournalError> {
        let mut done: Vec<String> = Vec::new();
        for d in self.deliveries(id).await? {
            match d.outcome.as_str() {
                "ok" if !done.contains(&d.sink) => done.push(d.sink),
                "replayed" => done.retain(|s| s != &d.sink),
                _ => {}
            }
        }
        Ok(done)
    }

    /// Deletes final messages (and their history) older than the
    /// configured number of days per state; 0 keeps them forever.
    pub async fn purge(
        &self,
        retention: &crate::config::RetentionConfig,
    ) -> Result<u64, JournalError> {
        let now = now_ms();
        let mut total = 0;
        for (state, days) in [
            ("delivered", retention.delivered_days),
            ("rejected", retention.rejected_days),
            ("duplicate", retention.duplicate_days),
        ] {
            if days == 0 {
                continue;
            }
            let before = now - i64::from(days) * 86_400_000;
            with_pool!(self, p => {
                let mut tx = p.begin().await?;
                let sel = "SELECT id FROM messages WHERE state = $1 AND updated_at < $2";
                for t in ["events", "deliveries", "dedup_keys", "message_keys"] {
                    sqlx::query(&format!("DELETE FROM {t} WHERE message_id IN ({sel})"))
                        .bind(state)
                        .bind(before)
                        .execute(&mut *tx)
                        .await?;
                }
                let r = sqlx::query("DELETE FROM messages WHERE state = $1 AND updated_at < $2")
                    .bind(state)
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                total += r.rows_affected();
                tx.commit().await?;
            });
        }
        Ok(total)
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

mod exports;
mod query;
pub use query::{Cursor, MessageFilter, Page, PartnerStats, StateCount};

#[cfg(test)]
mod tests;
