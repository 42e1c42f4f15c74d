//! Background WAL checkpoints for the SQLite journal.
//!
//! The journal's one SQLite connection writes everything (intake, claims,
//! outcomes) into the write-ahead log. SQLite's automatic checkpoint, which
//! copies the logged pages back into the database file and syncs it, runs
//! on that connection right after the commit that fills the log: every
//! writer then waits for it (100–400 ms on this machine for a 40 MiB log),
//! a stall that showed in the daemon's throughput and in its p99 latency.
//!
//! The [`Checkpointer`] does the copying on a second connection, off the
//! writer's path: every `CHECK_EVERY` it reads how far the log goes and how
//! much of it is already copied back (the `mxFrame` and `nBackfill` counters
//! of the WAL index header, the `-shm` file, whose layout is part of
//! SQLite's documented file format), and when more than a quarter of
//! `journal.sqlite_checkpoint_pages` waits it runs
//! `PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the writer. The
//! writer's own automatic checkpoint stays, at `sqlite_checkpoint_pages`:
//! it is what restarts the log from its beginning, and with the pages
//! already copied it has little left to do. If this task falls behind or
//! stops, the journal behaves as it did without it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::ConnectOptions;

use super::JournalError;

/// How often the log's length is looked at (a 136-byte file read).
pub const CHECK_EVERY: Duration = Duration::from_millis(100);

/// The second connection and where the WAL index is.
#[derive(Debug)]
pub struct Checkpointer {
    pool: SqlitePool,
    shm: PathBuf,
    /// Pages waiting to be copied back that start a checkpoint.
    trigger: u32,
}

/// The WAL index header counters this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WalState {
    /// Frames in the log (`mxFrame`).
    frames: u32,
    /// Frames already copied back into the database (`nBackfill`).
    backfilled: u32,
}

/// Reads `mxFrame` and `nBackfill` from the WAL index (`-shm`): the first
/// copy of the header (48 bytes, `mxFrame` at byte 16) and the checkpoint
/// information after the two copies (`nBackfill` at byte 96), in the
/// machine's byte order (<https://www.sqlite.org/walformat.html>).
fn read_wal_state(shm: &Path) -> Option<WalState> {
    use std::io::Read;
    let mut head = [0u8; 100];
    let mut f = std::fs::File::open(shm).ok()?;
    f.read_exact(&mut head).ok()?;
    let word = |at: usize| {
        let mut w = [0u8; 4];
        w.copy_from_slice(&head[at..at + 4]);
        u32::from_ne_bytes(w)
    };
    // `iVersion` is 3007000 for every WAL index SQLite writes; anything
    // else is not a header this code knows (or not initialised yet).
    if word(0) != 3_007_000 {
        return None;
    }
    Some(WalState {
        frames: word(16),
        backfilled: word(96),
    })
}

impl Checkpointer {
    /// Opens the second connection to the journal file `db` (None for an
    /// in-memory journal, which has no log file).
    pub async fn open(
        db: &Path,
        checkpoint_pages: u32,
    ) -> Result<Option<Checkpointer>, JournalError> {
        let name = db.to_string_lossy();
        if name.is_empty() || name == ":memory:" {
            return Ok(None);
        }
        let opts = SqliteConnectOptions::new()
            .filename(db)
            .busy_timeout(Duration::from_secs(5))
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        Ok(Some(Checkpointer {
            pool,
            shm: PathBuf::from(shm),
            trigger: (checkpoint_pages / 4).max(1),
        }))
    }

    /// Copies the log back when enough of it waits; returns the frames
    /// copied, or None when it was not needed.
    pub async fn tick(&self) -> Result<Option<u32>, JournalError> {
        let Some(wal) = read_wal_state(&self.shm) else {
            return Ok(None);
        };
        if wal.frames.saturating_sub(wal.backfilled) < self.trigger {
            return Ok(None);
        }
        let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(
            u32::try_from(row.2)
                .unwrap_or(0)
                .saturating_sub(wal.backfilled),
        ))
    }

    /// Checks every [`CHECK_EVERY`] and copies the log back when due,
    /// until `stop` turns true; then closes the second connection. A
    /// failure is logged once (until a check succeeds again): the writer's
    /// own checkpoints go on without this task.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(CHECK_EVERY) => {}
                _ = stop.changed() => break,
            }
            match self.tick().await {
                Ok(Some(frames)) => {
                    failing = false;
                    tracing::debug!(frames, "journal WAL checkpoint");
                }
                Ok(None) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(
                        "journal WAL checkpoint failed (the writer's own checkpoints go on): {e}"
                    );
                }
                Err(_) => {}
            }
        }
        self.close().await;
    }

    /// Closes the second connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn reads_the_wal_index_and_copies_the_log_back() {
        let dir = std::env::temp_dir().join(format!("comptoir-ckpt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("j.db");
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .pragma("wal_autocheckpoint", "0");
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&writer)
            .await
            .unwrap();
        for _ in 0..50 {
            sqlx::query("INSERT INTO t VALUES (zeroblob(8000))")
                .execute(&writer)
                .await
                .unwrap();
        }
        let before = read_wal_state(&db.with_file_name("j.db-shm")).expect("WAL index");
        assert!(before.frames >= 100, "{before:?}");
        assert_eq!(before.backfilled, 0);
        // 4 × 16 = 64 pages: a checkpoint is due at 16 waiting pages.
        let c = Checkpointer::open(&db, 64).await.unwrap().unwrap();
        let copied = c.tick().await.unwrap().expect("checkpoint ran");
        assert_eq!(copied, before.frames);
        let after = read_wal_state(&db.with_file_name("j.db-shm")).unwrap();
        assert_eq!(after.backfilled, after.frames);
        // Nothing waits now: no checkpoint.
        assert_eq!(c.tick().await.unwrap(), None);
        // The writer goes on; its next transaction restarts the log.
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&writer)
            .await
            .unwrap();
        let restarted = read_wal_state(&db.with_file_name("j.db-shm")).unwrap();
        assert!(restarted.frames < before.frames, "{restarted:?}");
        c.close().await;
        writer.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
