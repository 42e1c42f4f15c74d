//! Read queries for operations (admin API, dashboard, metrics, alerts):
//! filtered listing with keyset pagination on `(received_at, id)`, counts
//! per partner / document type / state, throughput buckets, and closing a
//! message by hand ([`Journal::resolve`]).
//!
//! Pagination is keyset, never OFFSET: a page ends with a [`Cursor`] (the
//! last row's `received_at` and `id`) and the next page asks for rows
//! strictly before it, which the `messages_received` index (and its
//! partner/state variants, migration 0002) serve without scanning what was
//! already shown. Business keys are looked up exactly in `message_keys`.

use sqlx::Row;

use super::{now_ms, Journal, JournalError, Message, State};

/// Filters of a message listing; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub partner: Option<String>,
    pub document_type: Option<String>,
    pub state: Option<State>,
    pub source: Option<String>,
    /// Received at or after (epoch ms).
    pub from: Option<i64>,
    /// Received before (epoch ms).
    pub to: Option<i64>,
    /// A business key (order / invoice number), matched exactly.
    pub key: Option<String>,
    /// Interchange control reference.
    pub interchange_ref: Option<String>,
}

/// Position after which the next page starts (newest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub received_at: i64,
    pub id: i64,
}

impl Cursor {
    /// Opaque text form: `<received_at>.<id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.received_at, self.id)
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        Some(Cursor {
            received_at: a.parse().ok()?,
            id: b.parse().ok()?,
        })
    }
}

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page {
    pub messages: Vec<Message>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Number of messages of one partner, document type and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCount {
    pub partner: Option<String>,
    pub document_type: Option<String>,
    pub state: String,
    pub count: i64,
}

/// Messages of one partner and document type per time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerStats {
    pub partner: Option<String>,
    pub document_type: Option<String>,
    /// Bucket index from the start of the window.
    pub bucket: i64,
    pub count: i64,
}

enum Bind {
    Text(String),
    Int(i64),
}

const LIST_COLUMNS: &str = "id, received_at, source, source_ref, partner, format, \
     document_type, business_keys, sender, interchange_ref, content_hash, state, error, \
     CAST(NULL AS TEXT) AS canonical_json, CAST(NULL AS TEXT) AS priced_json, attempts, \
     next_attempt_at, duplicate_of, updated_at";

/// States the daemon still works on.
const UNFINISHED: &str = "('received', 'parsed', 'mapped', 'priced', 'failed')";

impl Journal {
    /// Messages matching `filter` (without raw bytes or JSON), newest first,
    /// strictly after `after`, at most `limit` (1–1000).
    pub async fn search(
        &self,
        filter: &MessageFilter,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page, JournalError> {
        let limit = limit.clamp(1, 1000);
        let mut conds: Vec<String> = Vec::new();
        let mut binds: Vec<Bind> = Vec::new();
        let mut add = |cond: &str, b: Bind, binds: &mut Vec<Bind>| {
            binds.push(b);
            conds.push(cond.replace('?', &format!("${}", binds.len())));
        };
        if let Some(p) = &filter.partner {
            add("partner = ?", Bind::Text(p.clone()), &mut binds);
        }
        if let Some(t) = &filter.document_type {
            add("document_type = ?", Bind::Text(t.clone()), &mut binds);
        }
        if let Some(s) = filter.state {
            add("state = ?", Bind::Text(s.as_str().into()), &mut binds);
        }
        if let Some(s) = &filter.source {
            add("source = ?", Bind::Text(s.clone()), &mut binds);
        }
        if let Some(f) = filter.from {
            add("received_at >= ?", Bind::Int(f), &mut binds);
        }
        if let Some(t) = filter.to {
            add("received_at < ?", Bind::Int(t), &mut binds);
        }
        if let Some(r) = &filter.interchange_ref {
            add("interchange_ref = ?", Bind::Text(r.clone()), &mut binds);
        }
        if let Some(k) = &filter.key {
            add(
                "id IN (SELECT message_id FROM message_keys WHERE key = ?)",
                Bind::Text(k.clone()),
                &mut binds,
            );
        }
        if let Some(c) = after {
            binds.push(Bind::Int(c.received_at));
            binds.push(Bind::Int(c.id));
            let n = binds.len();
            conds.push(format!("(received_at, id) < (${}, ${n})", n - 1));
        }
        let mut sql = format!("SELECT {LIST_COLUMNS} FROM messages");
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        // One more row than asked tells whether there is a next page.
        sql.push_str(&format!(
            " ORDER BY received_at DESC, id DESC LIMIT {}",
            limit + 1
        ));
        let mut messages = Vec::new();
        with_reader!(self, p => {
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = match b {
                    Bind::Text(t) => q.bind(t.as_str()),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            for r in &q.fetch_all(p).await? {
                messages.push(decode_message!(r, false, false));
            }
        });
        let next = if messages.len() > limit as usize {
            messages.truncate(limit as usize);
            messages.last().map(|m| Cursor {
                received_at: m.received_at,
                id: m.id,
            })
        } else {
            None
        };
        Ok(Page { messages, next })
    }

    /// Counts per partner, document type and state, of the messages received
    /// since `since` (all when `None`).
    pub async fn group_counts(&self, since: Option<i64>) -> Result<Vec<StateCount>, JournalError> {
        let sql = format!(
            "SELECT partner, document_type, state, COUNT(*) AS n FROM messages {} \
             GROUP BY partner, document_type, state ORDER BY partner, document_type, state",
            if since.is_some() {
                "WHERE received_at >= $1"
            } else {
                ""
            }
        );
        let mut out = Vec::new();
        with_reader!(self, p => {
            let mut q = sqlx::query(&sql);
            if let Some(s) = since {
                q = q.bind(s);
            }
            for r in &q.fetch_all(p).await? {
                out.push(StateCount {
                    partner: r.try_get("partner")?,
                    document_type: r.try_get("document_type")?,
                    state: r.try_get("state")?,
                    count: r.try_get("n")?,
                });
            }
        });
        Ok(out)
    }

    /// Messages received since `since` per partner, document type and
    /// bucket of `bucket_ms`.
    pub async fn throughput(
        &self,
        since: i64,
        bucket_ms: i64,
    ) -> Result<Vec<PartnerStats>, JournalError> {
        let bucket_ms = bucket_ms.max(1);
        let sql = "SELECT partner, document_type, (received_at - $1) / $2 AS b, COUNT(*) AS n \
                   FROM messages WHERE received_at >= $1 \
                   GROUP BY 1, 2, 3";
        let mut out = Vec::new();
        with_reader!(self, p => {
            let rows = sqlx::query(sql).bind(since).bind(bucket_ms).fetch_all(p).await?;
            for r in &rows {
                out.push(PartnerStats {
                    partner: r.try_get("partner")?,
                    document_type: r.try_get("document_type")?,
                    bucket: r.try_get("b")?,
                    count: r.try_get("n")?,
                });
            }
        });
        Ok(out)
    }

    /// `received_at` of the oldest message the daemon has not finished.
    pub async fn oldest_unfinished(&self) -> Result<Option<i64>, JournalError> {
        let sql = format!("SELECT MIN(received_at) AS m FROM messages WHERE state IN {UNFINISHED}");
        with_reader!(self, p => {
            let r = sqlx::query(&sql).fetch_one(p).await?;
            Ok(r.try_get::<Option<i64>, _>("m")?)
        })
    }

    /// `received_at` of the newest message of a partner.
    pub async fn last_received(&self, partner: &str) -> Result<Option<i64>, JournalError> {
        with_reader!(self, p => {
            let r = sqlx::query("SELECT MAX(received_at) AS m FROM messages WHERE partner = $1")
                .bind(partner)
                .fetch_one(p)
                .await?;
            Ok(r.try_get::<Option<i64>, _>("m")?)
        })
    }

    /// Held messages last updated before `before` (epoch ms): id, partner,
    /// held since.
    pub async fn held_before(
        &self,
        before: i64,
    ) -> Result<Vec<(i64, Option<String>, i64)>, JournalError> {
        let mut out = Vec::new();
        with_reader!(self, p => {
            let rows = sqlx::query(
                "SELECT id, partner, updated_at FROM messages WHERE state = 'held' \
                 AND updated_at < $1 ORDER BY id LIMIT 1000",
            )
            .bind(before)
            .fetch_all(p)
            .await?;
            for r in &rows {
                out.push((r.try_get("id")?, r.try_get("partner")?, r.try_get("updated_at")?));
            }
        });
        Ok(out)
    }

    /// Checks the journal answers.
    pub async fn ping(&self) -> Result<(), JournalError> {
        with_pool!(self, p => {
            sqlx::query("SELECT 1").fetch_one(p).await?;
        });
        Ok(())
    }

    /// Closes a held, rejected, failed or dead message by hand: it becomes
    /// [`State::Resolved`] and the reason (with who resolved it) is recorded
    /// in its history. Returns the state it had.
    pub async fn resolve(&self, id: i64, reason: &str, by: &str) -> Result<State, JournalError> {
        let now = now_ms();
        let detail = format!("resolved by {by}: {reason}");
        with_pool!(self, p => {
            let mut tx = p.begin().await?;
            let row = sqlx::query("SELECT state FROM messages WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                return Err(JournalError::NotFound(id));
            };
            let s: String = row.try_get("state")?;
            let state = State::parse(&s).ok_or(JournalError::BadState(s))?;
            if !matches!(state, State::Held | State::Rejected | State::Failed | State::Dead) {
                return Err(JournalError::Conflict(format!(
                    "message {id} is {state}: only held, rejected, failed or dead messages can be resolved"
                )));
            }
            sqlx::query(
                "UPDATE messages SET state = 'resolved', lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO events (message_id, at, state, detail) VALUES ($1, $2, 'resolved', $3)")
                .bind(id)
                .bind(now)
                .bind(&detail)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(state)
        })
    }

    /// Releases a message's lease now, so that a running daemon picks it up
    /// at its next poll (after [`Journal::replay`] from the admin API).
    pub async fn release(&self, id: i64) -> Result<(), JournalError> {
        with_pool!(self, p => {
            sqlx::query("UPDATE messages SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1")
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }
}
