//! The `exports` table: documents read from the ERP and sent to partners
//! ([`crate::exports`]), one row per ERP record and what was made of it.
//!
//! The exporter [`Journal::export_begin`]s a row before it renders and
//! sends anything: the row's id becomes the interchange control reference,
//! and the rendered bytes are stored with [`Journal::export_store`] before
//! the send, so a send repeated after a crash carries the very same
//! interchange (the partner recognises it by its reference). A row reaches
//! `sent` only after the channel accepted the file; a row in `sent` is never
//! sent again by a pass.

use sqlx::Row;

use super::{now_ms, Journal, JournalError};

/// Where an exported document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    /// Recorded, not sent yet (or the last send failed: see `error`).
    Pending,
    /// Accepted by the partner's channel.
    Sent,
    /// Sending failed `max_attempts` times; an operator must look.
    Dead,
}

impl ExportState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Pending => "pending",
            ExportState::Sent => "sent",
            ExportState::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Result<ExportState, JournalError> {
        Ok(match s {
            "pending" => ExportState::Pending,
            "sent" => ExportState::Sent,
            "dead" => ExportState::Dead,
            other => return Err(JournalError::BadState(other.to_string())),
        })
    }
}

/// One row of the `exports` table.
#[derive(Debug, Clone)]
pub struct ExportRecord {
    pub id: i64,
    pub export: String,
    /// What was exported: `<kind>:<model>:<record id>` (or
    /// `stock:<partner>:<period>` for inventory reports).
    pub key: String,
    pub partner: String,
    /// `ordrsp`, `desadv`, `invoice` or `stock`.
    pub kind: String,
    /// The business document number written.
    pub number: String,
    pub file_name: Option<String>,
    /// The rendered file, once rendered.
    pub bytes: Option<Vec<u8>>,
    pub state: ExportState,
    pub attempts: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
}

macro_rules! decode_export {
    ($row:expr) => {{
        let r = $row;
        let state: String = r.try_get("state")?;
        ExportRecord {
            id: r.try_get("id")?,
            export: r.try_get("export")?,
            key: r.try_get("key")?,
            partner: r.try_get("partner")?,
            kind: r.try_get("kind")?,
            number: r.try_get("number")?,
            file_name: r.try_get("file_name")?,
            bytes: r.try_get("bytes")?,
            state: ExportState::parse(&state)?,
            attempts: r.try_get("attempts")?,
            error: r.try_get("error")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            sent_at: r.try_get("sent_at")?,
        }
    }};
}

const COLUMNS: &str = "id, export, key, partner, kind, number, file_name, bytes, state, \
     attempts, error, created_at, updated_at, sent_at";

impl Journal {
    /// The row of `(export, key)`, created `pending` when there is none.
    pub async fn export_begin(
        &self,
        export: &str,
        key: &str,
        partner: &str,
        kind: &str,
        number: &str,
    ) -> Result<ExportRecord, JournalError> {
        let now = now_ms();
        with_pool!(self, p => {
            sqlx::query(
                "INSERT INTO exports (export, key, partner, kind, number, state, attempts, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
                 ON CONFLICT (export, key) DO NOTHING",
            )
            .bind(export)
            .bind(key)
            .bind(partner)
            .bind(kind)
            .bind(number)
            .bind(now)
            .execute(p)
            .await?;
            let row = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM exports WHERE export = $1 AND key = $2"
            ))
            .bind(export)
            .bind(key)
            .fetch_one(p)
            .await?;
            Ok(decode_export!(row))
        })
    }

    /// The keys of `export` starting with `prefix` that a pass must not
    /// send: sent, or given up after failed sends. (A row given up because
    /// it could not be rendered comes back when its record is read again.)
    pub async fn export_done_keys(
        &self,
        export: &str,
        prefix: &str,
    ) -> Result<std::collections::HashSet<String>, JournalError> {
        with_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT key FROM exports WHERE export = $1 \
                 AND (state = 'sent' OR (state = 'dead' AND bytes IS NOT NULL)) \
                 AND substr(key, 1, $3) = $2",
            )
            .bind(export)
            .bind(prefix)
            .bind(prefix.len() as i32)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| r.try_get::<String, _>("key").map_err(JournalError::from))
                .collect()
        })
    }

    /// True when `export` has a pending row starting with `prefix` that was
    /// never rendered (its record must be read again, whatever the
    /// watermark says).
    pub async fn export_has_unrendered(
        &self,
        export: &str,
        prefix: &str,
    ) -> Result<bool, JournalError> {
        with_pool!(self, p => {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM exports WHERE export = $1 AND state = 'pending' \
                 AND bytes IS NULL AND substr(key, 1, $3) = $2",
            )
            .bind(export)
            .bind(prefix)
            .bind(prefix.len() as i32)
            .fetch_one(p)
            .await?;
            Ok(row.try_get::<i64, _>("n")? > 0)
        })
    }

    /// Stores the rendered file of a pending row.
    pub async fn export_store(
        &self,
        id: i64,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<(), JournalError> {
        with_pool!(self, p => {
            sqlx::query(
                "UPDATE exports SET file_name = $2, bytes = $3, updated_at = $4 \
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(file_name)
            .bind(bytes)
            .bind(now_ms())
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Records the outcome of one send: `Ok` → `sent`; `Err` → still
    /// `pending` with the error, or `dead` once `max_attempts` is reached.
    /// Returns the new state.
    pub async fn export_outcome(
        &self,
        id: i64,
        result: Result<(), &str>,
        max_attempts: u32,
    ) -> Result<ExportState, JournalError> {
        let now = now_ms();
        with_pool!(self, p => {
            let row = sqlx::query("SELECT attempts FROM exports WHERE id = $1")
                .bind(id)
                .fetch_one(p)
                .await?;
            let attempts: i64 = row.try_get("attempts")?;
            let attempts = attempts + 1;
            let (state, error) = match result {
                Ok(()) => (ExportState::Sent, None),
                Err(e) if attempts >= i64::from(max_attempts) => {
                    (ExportState::Dead, Some(e.to_string()))
                }
                Err(e) => (ExportState::Pending, Some(e.to_string())),
            };
            sqlx::query(
                "UPDATE exports SET state = $2, attempts = $3, error = $4, updated_at = $5, \
                 sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END WHERE id = $1",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(attempts)
            .bind(error)
            .bind(now)
            .execute(p)
            .await?;
            Ok(state)
        })
    }

    /// Puts a dead export back to `pending` with its attempts reset (an
    /// operator fixed the channel); the next pass sends it.
    pub async fn export_retry(&self, id: i64) -> Result<(), JournalError> {
        with_pool!(self, p => {
            let r = sqlx::query(
                "UPDATE exports SET state = 'pending', attempts = 0, updated_at = $2 \
                 WHERE id = $1 AND state = 'dead'",
            )
            .bind(id)
            .bind(now_ms())
            .execute(p)
            .await?;
            if r.rows_affected() == 0 {
                return Err(JournalError::Conflict(format!(
                    "export {id} does not exist or is not dead"
                )));
            }
        });
        Ok(())
    }

    /// Pending rows of `export` (to send again), oldest first.
    pub async fn exports_pending(&self, export: &str) -> Result<Vec<ExportRecord>, JournalError> {
        with_pool!(self, p => {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM exports WHERE export = $1 AND state = 'pending' \
                 ORDER BY id"
            ))
            .bind(export)
            .fetch_all(p)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(decode_export!(r));
            }
            Ok(out)
        })
    }

    /// The newest rows (without bytes), newest first, at most `limit`.
    pub async fn exports_list(&self, limit: u32) -> Result<Vec<ExportRecord>, JournalError> {
        let none = match self {
            Journal::Sqlite { .. } => "CAST(NULL AS BLOB) AS bytes",
            Journal::Postgres(_) => "CAST(NULL AS BYTEA) AS bytes",
        };
        let columns = COLUMNS.replace("bytes", none);
        with_reader!(self, p => {
            let rows = sqlx::query(&format!(
                "SELECT {columns} FROM exports ORDER BY id DESC LIMIT $1"
            ))
            .bind(i64::from(limit.clamp(1, 10_000)))
            .fetch_all(p)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(decode_export!(r));
            }
            Ok(out)
        })
    }

    /// When the newest row whose key starts with `prefix` was created (for
    /// periodic documents such as inventory reports).
    pub async fn export_last_created(
        &self,
        export: &str,
        prefix: &str,
    ) -> Result<Option<i64>, JournalError> {
        with_pool!(self, p => {
            let row = sqlx::query(
                "SELECT MAX(created_at) AS at FROM exports WHERE export = $1 \
                 AND substr(key, 1, $3) = $2",
            )
            .bind(export)
            .bind(prefix)
            .bind(prefix.len() as i32)
            .fetch_one(p)
            .await?;
            Ok(row.try_get::<Option<i64>, _>("at")?)
        })
    }
}

impl Journal {
    /// The ERP time from which `export` reads changed `kind` records, when
    /// a pass completed before.
    pub async fn export_watermark(
        &self,
        export: &str,
        kind: &str,
    ) -> Result<Option<String>, JournalError> {
        with_pool!(self, p => {
            let row = sqlx::query(
                "SELECT since FROM export_watermarks WHERE export = $1 AND kind = $2",
            )
            .bind(export)
            .bind(kind)
            .fetch_optional(p)
            .await?;
            match row {
                Some(r) => Ok(Some(r.try_get::<String, _>("since")?)),
                None => Ok(None),
            }
        })
    }

    /// Moves the watermark of `export`/`kind` to `since` (after a pass that
    /// recorded every record changed before it).
    pub async fn set_export_watermark(
        &self,
        export: &str,
        kind: &str,
        since: &str,
    ) -> Result<(), JournalError> {
        with_pool!(self, p => {
            sqlx::query(
                "INSERT INTO export_watermarks (export, kind, since) VALUES ($1, $2, $3) \
                 ON CONFLICT (export, kind) DO UPDATE SET since = excluded.since",
            )
            .bind(export)
            .bind(kind)
            .bind(since)
            .execute(p)
            .await?;
        });
        Ok(())
    }
}
