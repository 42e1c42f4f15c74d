//! The journal's batch writes: one transaction ([`WriteTx`]) and, per table,
//! a few multi-row statements per batch rather than one per message.
//!
//! [`Journal::receive`](super::Journal::receive) and
//! [`Journal::apply`](super::Journal::apply) hold the logic; this module
//! holds the SQL, which differs by backend:
//! - **SQLite**: `VALUES` lists, 200 rows a statement (SQLite's limit on
//!   bound parameters is 32,766; each statement is one trip to sqlx's
//!   SQLite thread);
//! - **PostgreSQL**: one array parameter per column, expanded with
//!   `UNNEST`, so a batch of any size is one statement of fixed text. The
//!   server prepares it once per connection, and does not set up an
//!   expression per bound value at every execution as it does for a
//!   `VALUES` list (measured: about a fifth of the server's CPU time in
//!   the daemon bench; see `benches/README.md`, "Round 8").

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use sqlx::{Postgres, QueryBuilder, Row, Sqlite, Transaction};

use super::{Delivery, FileKey, JournalError, Packed, Update};

/// Rows per statement on SQLite.
const SQLITE_ROWS: usize = 200;

/// A new message, as [`WriteTx::insert_messages`] stores it.
pub(super) struct NewMessage<'a> {
    pub source: &'a str,
    pub source_ref: Option<&'a str>,
    pub partner: Option<&'a str>,
    pub format: Option<&'a str>,
    pub sender: Option<&'a str>,
    pub interchange_ref: Option<&'a str>,
    pub content_hash: &'a str,
    pub raw: &'a [u8],
}

/// A write transaction on either backend.
pub(super) enum WriteTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// The `SET` list of an outcome `UPDATE` whose rows come from `u`.
///
/// An indexed column named in the `SET` list has its index entries
/// rewritten even when its value stays (SQLite decides per statement):
/// `partner`, `sender` and `interchange_ref` are named only when a row of
/// the statement changes them (the pipeline never sets the last two).
/// Leaving them out is the same update.
fn outcome_set_list(rows: &[Update]) -> String {
    let mut set = String::from("state = u.state, error = u.error, ");
    for (column, used) in [
        ("partner", rows.iter().any(|u| u.partner.is_some())),
        ("sender", rows.iter().any(|u| u.sender.is_some())),
        (
            "interchange_ref",
            rows.iter().any(|u| u.interchange_ref.is_some()),
        ),
    ] {
        if used {
            set.push_str(&format!(
                "{column} = COALESCE(u.{column}, messages.{column}), "
            ));
        }
    }
    set.push_str(
        "format = COALESCE(u.format, messages.format), \
         document_type = COALESCE(u.document_type, messages.document_type), \
         business_keys = COALESCE(u.business_keys, messages.business_keys), \
         canonical_json = CASE WHEN u.canonical_z IS NULL THEN messages.canonical_json END, \
         canonical_z = COALESCE(u.canonical_z, messages.canonical_z), \
         priced_json = CASE WHEN u.priced_z IS NULL THEN messages.priced_json END, \
         priced_z = COALESCE(u.priced_z, messages.priced_z), \
         attempts = u.attempts, next_attempt_at = u.next_attempt_at, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = ",
    );
    set
}

impl WriteTx {
    /// Inserts messages in state `received` and returns their ids, in the
    /// order of `rows`.
    pub async fn insert_messages(
        &mut self,
        rows: &[NewMessage<'_>],
        now: i64,
    ) -> Result<Vec<i64>, JournalError> {
        // Ids come from a sequence, assigned in the order the rows are
        // given: sorted, they are in batch order.
        let mut ids = Vec::with_capacity(rows.len());
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in rows.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO messages (received_at, source, source_ref, partner, format, \
                         sender, interchange_ref, content_hash, raw, state, attempts, \
                         next_attempt_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut row, m| {
                        row.push_bind(now)
                            .push_bind(m.source)
                            .push_bind(m.source_ref)
                            .push_bind(m.partner)
                            .push_bind(m.format)
                            .push_bind(m.sender)
                            .push_bind(m.interchange_ref)
                            .push_bind(m.content_hash)
                            .push_bind(m.raw)
                            .push_bind("received")
                            .push_bind(0i64)
                            .push_bind(now)
                            .push_bind(now);
                    });
                    q.push(" RETURNING id");
                    let mut got = Vec::with_capacity(chunk.len());
                    for r in q.build().fetch_all(&mut **tx).await? {
                        got.push(r.try_get::<i64, _>(0)?);
                    }
                    got.sort_unstable();
                    ids.extend(got);
                }
            }
            WriteTx::Postgres(tx) => {
                let rs = sqlx::query(
                    "INSERT INTO messages (received_at, source, source_ref, partner, format, \
                     sender, interchange_ref, content_hash, raw, state, attempts, \
                     next_attempt_at, updated_at) \
                     SELECT $1, source, source_ref, partner, format, sender, interchange_ref, \
                     content_hash, raw, 'received', 0, $1, $1 \
                     FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::text[], $9::bytea[]) \
                     AS m (source, source_ref, partner, format, sender, interchange_ref, \
                     content_hash, raw) \
                     RETURNING id",
                )
                .bind(now)
                .bind(rows.iter().map(|m| m.source).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.source_ref).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.partner).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.format).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.sender).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.interchange_ref).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.content_hash).collect::<Vec<_>>())
                .bind(rows.iter().map(|m| m.raw).collect::<Vec<_>>())
                .fetch_all(&mut **tx)
                .await?;
                for r in rs {
                    ids.push(r.try_get::<i64, _>(0)?);
                }
                ids.sort_unstable();
            }
        }
        if ids.len() != rows.len() {
            return Err(JournalError::Conflict(format!(
                "inserted {} messages, got {} ids back",
                rows.len(),
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// Inserts dedup keys, leaving out those already held (by an earlier
    /// message, or one earlier in `pairs`); returns the keys inserted, with
    /// their message.
    pub async fn insert_dedup_keys(
        &mut self,
        pairs: &[(&str, i64)],
    ) -> Result<HashMap<String, i64>, JournalError> {
        let mut inserted = HashMap::with_capacity(pairs.len());
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in pairs.chunks(SQLITE_ROWS) {
                    let mut q =
                        QueryBuilder::<Sqlite>::new("INSERT INTO dedup_keys (key, message_id) ");
                    q.push_values(chunk, |mut row, (k, id)| {
                        row.push_bind(*k).push_bind(*id);
                    });
                    q.push(" ON CONFLICT (key) DO NOTHING RETURNING key, message_id");
                    for r in q.build().fetch_all(&mut **tx).await? {
                        inserted.insert(r.try_get(0)?, r.try_get(1)?);
                    }
                }
            }
            WriteTx::Postgres(tx) => {
                let (keys, ids): (Vec<&str>, Vec<i64>) = pairs.iter().copied().unzip();
                let rs = sqlx::query(
                    "INSERT INTO dedup_keys (key, message_id) \
                     SELECT * FROM UNNEST($1::text[], $2::int8[]) \
                     ON CONFLICT (key) DO NOTHING RETURNING key, message_id",
                )
                .bind(keys)
                .bind(ids)
                .fetch_all(&mut **tx)
                .await?;
                for r in rs {
                    inserted.insert(r.try_get(0)?, r.try_get(1)?);
                }
            }
        }
        Ok(inserted)
    }

    /// The messages holding `keys` (those of them that are held).
    pub async fn key_holders(
        &mut self,
        keys: &[&str],
    ) -> Result<HashMap<String, i64>, JournalError> {
        let mut holder = HashMap::with_capacity(keys.len());
        if keys.is_empty() {
            return Ok(holder);
        }
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in keys.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "SELECT key, message_id FROM dedup_keys WHERE key IN (",
                    );
                    let mut list = q.separated(", ");
                    for k in chunk {
                        list.push_bind(*k);
                    }
                    q.push(")");
                    for r in q.build().fetch_all(&mut **tx).await? {
                        holder.insert(r.try_get(0)?, r.try_get(1)?);
                    }
                }
            }
            WriteTx::Postgres(tx) => {
                let rs = sqlx::query(
                    "SELECT key, message_id FROM dedup_keys WHERE key = ANY($1::text[])",
                )
                .bind(keys)
                .fetch_all(&mut **tx)
                .await?;
                for r in rs {
                    holder.insert(r.try_get(0)?, r.try_get(1)?);
                }
            }
        }
        Ok(holder)
    }

    /// Marks message `id` as a duplicate of `original` and gives its dedup
    /// keys back (rare: statements of their own).
    pub async fn mark_duplicate(&mut self, id: i64, original: i64) -> Result<(), JournalError> {
        const KEYS: &str = "DELETE FROM dedup_keys WHERE message_id = $1";
        const MARK: &str =
            "UPDATE messages SET state = 'duplicate', duplicate_of = $2 WHERE id = $1";
        match self {
            WriteTx::Sqlite(tx) => {
                sqlx::query(KEYS).bind(id).execute(&mut **tx).await?;
                sqlx::query(MARK)
                    .bind(id)
                    .bind(original)
                    .execute(&mut **tx)
                    .await?;
            }
            WriteTx::Postgres(tx) => {
                sqlx::query(KEYS).bind(id).execute(&mut **tx).await?;
                sqlx::query(MARK)
                    .bind(id)
                    .bind(original)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Appends history entries (message, state, detail), all at `now`.
    pub async fn insert_events(
        &mut self,
        events: &[(i64, &str, &str)],
        now: i64,
    ) -> Result<(), JournalError> {
        if events.is_empty() {
            return Ok(());
        }
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in events.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO events (message_id, at, state, detail) ",
                    );
                    q.push_values(chunk, |mut row, (id, state, detail)| {
                        row.push_bind(*id)
                            .push_bind(now)
                            .push_bind(*state)
                            .push_bind(*detail);
                    });
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                sqlx::query(
                    "INSERT INTO events (message_id, at, state, detail) \
                     SELECT message_id, $1, state, detail \
                     FROM UNNEST($2::int8[], $3::text[], $4::text[]) \
                     AS e (message_id, state, detail)",
                )
                .bind(now)
                .bind(events.iter().map(|e| e.0).collect::<Vec<_>>())
                .bind(events.iter().map(|e| e.1).collect::<Vec<_>>())
                .bind(events.iter().map(|e| e.2).collect::<Vec<_>>())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Records delivery attempts (message, attempt).
    pub async fn insert_deliveries(
        &mut self,
        deliveries: &[(i64, &Delivery)],
    ) -> Result<(), JournalError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in deliveries.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO deliveries (message_id, sink, attempt, at, outcome, detail) ",
                    );
                    q.push_values(chunk, |mut row, (id, d)| {
                        row.push_bind(*id)
                            .push_bind(d.sink.as_str())
                            .push_bind(d.attempt)
                            .push_bind(d.at)
                            .push_bind(d.outcome.as_str())
                            .push_bind(d.detail.as_deref());
                    });
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                sqlx::query(
                    "INSERT INTO deliveries (message_id, sink, attempt, at, outcome, detail) \
                     SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], \
                     $5::text[], $6::text[])",
                )
                .bind(deliveries.iter().map(|d| d.0).collect::<Vec<_>>())
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.1.sink.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(deliveries.iter().map(|d| d.1.attempt).collect::<Vec<_>>())
                .bind(deliveries.iter().map(|d| d.1.at).collect::<Vec<_>>())
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.1.outcome.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.1.detail.as_deref())
                        .collect::<Vec<_>>(),
                )
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Replaces the business keys of the messages `rekeyed` with `keys`
    /// (key, message).
    pub async fn replace_business_keys(
        &mut self,
        rekeyed: &[i64],
        keys: &[(&str, i64)],
    ) -> Result<(), JournalError> {
        self.for_ids("DELETE FROM message_keys WHERE message_id", rekeyed)
            .await?;
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in keys.chunks(SQLITE_ROWS) {
                    let mut q =
                        QueryBuilder::<Sqlite>::new("INSERT INTO message_keys (key, message_id) ");
                    q.push_values(chunk, |mut row, (k, id)| {
                        row.push_bind(*k).push_bind(*id);
                    });
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                if !keys.is_empty() {
                    let (k, ids): (Vec<&str>, Vec<i64>) = keys.iter().copied().unzip();
                    sqlx::query(
                        "INSERT INTO message_keys (key, message_id) \
                         SELECT * FROM UNNEST($1::text[], $2::int8[])",
                    )
                    .bind(k)
                    .bind(ids)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Writes processing outcomes to their messages (state, documents,
    /// retry schedule) and clears their leases.
    pub async fn update_outcomes(
        &mut self,
        updates: &[Update],
        now: i64,
    ) -> Result<(), JournalError> {
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in updates.chunks(SQLITE_ROWS) {
                    let packed: Vec<Cow<'_, Packed>> = chunk.iter().map(|u| u.packed()).collect();
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "WITH u (id, state, error, partner, format, document_type, \
                         business_keys, sender, interchange_ref, canonical_z, priced_z, \
                         attempts, next_attempt_at) AS (",
                    );
                    q.push_values(chunk.iter().zip(&packed), |mut row, (u, packed)| {
                        row.push_bind(u.id)
                            .push_bind(u.state.as_str())
                            .push_bind(u.error.as_deref())
                            .push_bind(u.partner.as_deref())
                            .push_bind(u.format.as_deref())
                            .push_bind(u.document_type.as_deref())
                            .push_bind(u.business_keys.as_deref())
                            .push_bind(u.sender.as_deref())
                            .push_bind(u.interchange_ref.as_deref())
                            .push_bind(packed.canonical.as_deref())
                            .push_bind(packed.priced.as_deref())
                            .push_bind(u.attempts)
                            .push_bind(u.next_attempt_at);
                    });
                    q.push(") UPDATE messages SET ");
                    q.push(outcome_set_list(chunk));
                    q.push_bind(now);
                    q.push(" FROM u WHERE messages.id = u.id");
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                if updates.is_empty() {
                    return Ok(());
                }
                let packed: Vec<Cow<'_, Packed>> = updates.iter().map(|u| u.packed()).collect();
                let sql = format!(
                    "UPDATE messages SET {set}$1 \
                     FROM UNNEST($2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::bytea[], \
                     $12::bytea[], $13::int8[], $14::int8[]) \
                     AS u (id, state, error, partner, format, document_type, business_keys, \
                     sender, interchange_ref, canonical_z, priced_z, attempts, \
                     next_attempt_at) \
                     WHERE messages.id = u.id",
                    set = outcome_set_list(updates)
                );
                let text = |f: fn(&Update) -> Option<&str>| -> Vec<Option<&str>> {
                    updates.iter().map(f).collect()
                };
                sqlx::query(&sql)
                    .bind(now)
                    .bind(updates.iter().map(|u| u.id).collect::<Vec<_>>())
                    .bind(updates.iter().map(|u| u.state.as_str()).collect::<Vec<_>>())
                    .bind(text(|u| u.error.as_deref()))
                    .bind(text(|u| u.partner.as_deref()))
                    .bind(text(|u| u.format.as_deref()))
                    .bind(text(|u| u.document_type.as_deref()))
                    .bind(text(|u| u.business_keys.as_deref()))
                    .bind(text(|u| u.sender.as_deref()))
                    .bind(text(|u| u.interchange_ref.as_deref()))
                    .bind(
                        packed
                            .iter()
                            .map(|p| p.canonical.as_deref())
                            .collect::<Vec<_>>(),
                    )
                    .bind(
                        packed
                            .iter()
                            .map(|p| p.priced.as_deref())
                            .collect::<Vec<_>>(),
                    )
                    .bind(updates.iter().map(|u| u.attempts).collect::<Vec<_>>())
                    .bind(
                        updates
                            .iter()
                            .map(|u| u.next_attempt_at)
                            .collect::<Vec<_>>(),
                    )
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Clears the leases of messages `ids`.
    pub async fn release_message_leases(&mut self, ids: &[i64]) -> Result<(), JournalError> {
        self.for_ids(
            "UPDATE messages SET lease_owner = NULL, lease_expires_at = NULL WHERE id",
            ids,
        )
        .await
    }

    /// Runs `{head} IN (ids)`: `head` is a statement ending with a
    /// `WHERE` on an id column.
    async fn for_ids(&mut self, head: &str, ids: &[i64]) -> Result<(), JournalError> {
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in ids.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(head);
                    q.push(" IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                sqlx::query(&format!("{head} = ANY($1::int8[])"))
                    .bind(ids)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }

    /// Leases `files` of `source` to `owner` until `now + lease_ms` where
    /// nobody holds them, their lease expired, or `owner` holds them
    /// already; returns the (name, size, mtime) of those taken.
    pub async fn lease_files(
        &mut self,
        source: &str,
        files: &[FileKey],
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> Result<HashSet<(String, i64, i64)>, JournalError> {
        const TAKE: &str = " ON CONFLICT (source, name, size, mtime) DO UPDATE \
             SET owner = excluded.owner, expires_at = excluded.expires_at \
             WHERE file_leases.expires_at < ";
        const TAKEN: &str = " OR file_leases.owner = excluded.owner RETURNING name, size, mtime";
        let mut taken = HashSet::with_capacity(files.len());
        let rows = match self {
            WriteTx::Sqlite(tx) => {
                let mut rows = Vec::with_capacity(files.len());
                for chunk in files.chunks(SQLITE_ROWS) {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO file_leases (source, name, size, mtime, owner, expires_at) ",
                    );
                    q.push_values(chunk, |mut row, f| {
                        row.push_bind(source)
                            .push_bind(f.name.as_str())
                            .push_bind(f.size)
                            .push_bind(f.mtime)
                            .push_bind(owner)
                            .push_bind(now + lease_ms);
                    });
                    q.push(TAKE);
                    q.push_bind(now);
                    q.push(TAKEN);
                    for r in q.build().fetch_all(&mut **tx).await? {
                        rows.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
                    }
                }
                rows
            }
            WriteTx::Postgres(tx) => {
                let sql = format!(
                    "INSERT INTO file_leases (source, name, size, mtime, owner, expires_at) \
                     SELECT $1, name, size, mtime, $2, $3 \
                     FROM UNNEST($4::text[], $5::int8[], $6::int8[]) AS f (name, size, mtime)\
                     {TAKE}$7{TAKEN}"
                );
                let mut rows = Vec::with_capacity(files.len());
                for r in sqlx::query(&sql)
                    .bind(source)
                    .bind(owner)
                    .bind(now + lease_ms)
                    .bind(files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>())
                    .bind(files.iter().map(|f| f.size).collect::<Vec<_>>())
                    .bind(files.iter().map(|f| f.mtime).collect::<Vec<_>>())
                    .bind(now)
                    .fetch_all(&mut **tx)
                    .await?
                {
                    rows.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?));
                }
                rows
            }
        };
        taken.extend(rows);
        Ok(taken)
    }

    /// Drops `owner`'s leases on `files` of `source`.
    pub async fn drop_file_leases(
        &mut self,
        source: &str,
        files: &[FileKey],
        owner: &str,
    ) -> Result<(), JournalError> {
        match self {
            WriteTx::Sqlite(tx) => {
                for chunk in files.chunks(SQLITE_ROWS) {
                    let mut q =
                        QueryBuilder::<Sqlite>::new("DELETE FROM file_leases WHERE source = ");
                    q.push_bind(source);
                    q.push(" AND owner = ");
                    q.push_bind(owner);
                    q.push(" AND (name, size, mtime) IN (");
                    q.push_values(chunk, |mut row, f| {
                        row.push_bind(f.name.as_str())
                            .push_bind(f.size)
                            .push_bind(f.mtime);
                    });
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
            }
            WriteTx::Postgres(tx) => {
                sqlx::query(
                    "DELETE FROM file_leases WHERE source = $1 AND owner = $2 \
                     AND (name, size, mtime) IN \
                     (SELECT * FROM UNNEST($3::text[], $4::int8[], $5::int8[]))",
                )
                .bind(source)
                .bind(owner)
                .bind(files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>())
                .bind(files.iter().map(|f| f.size).collect::<Vec<_>>())
                .bind(files.iter().map(|f| f.mtime).collect::<Vec<_>>())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// Commits the transaction (dropping a [`WriteTx`] rolls it back).
    pub async fn commit(self) -> Result<(), JournalError> {
        match self {
            WriteTx::Sqlite(tx) => tx.commit().await?,
            WriteTx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}
