//! Background WAL checkpoints for the SQLite journal.
//!
//! The journal's one SQLite connection writes everything (intake, claims,
//! outcomes) into the write-ahead log. SQLite's automatic checkpoint, which
//! copies the logged pages back into the database file, syncs it and lets
//! the log start again from its beginning, runs on that connection right
//! after the commit that fills the log (`journal.sqlite_checkpoint_pages`):
//! every writer waits for it.
//!
//! The [`Checkpointer`] leaves the writer's checkpoint little to do. Every
//! `CHECK_EVERY` it reads how far the log goes and how much of it is
//! already copied back (the `mxFrame` and `nBackfill` counters of the WAL
//! index header, the `-shm` file, whose layout is part of SQLite's
//! documented file format); on a second connection, it then
//! - runs `PRAGMA wal_checkpoint(PASSIVE)`, which copies without ever
//!   blocking the writer, once a quarter of the interval waits, **and
//!   syncs the database file itself**: a passive checkpoint that does not
//!   reach the end of the log (the writer keeps adding to it) leaves the
//!   file unsynced, and the sync of everything it copied then fell on the
//!   writer's checkpoint, holding every commit back for it (55–70 ms on
//!   this machine, several times a minute under load);
//! - when the log is within an eighth of the interval of its end, copies
//!   what waits at every check and syncs the log as well, so that the
//!   writer's checkpoint only copies and syncs the last commits.
//!
//! If this task falls behind or stops, the journal behaves as it does
//! without it. (A `RESTART` checkpoint from this connection was tried: it
//! holds the writer lock while it syncs, and the writer, sleeping in
//! SQLite's busy handler in growing steps, overshot by up to 0.9 s under
//! disk contention; benches/README.md, "Daemon", round 6.)

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    /// A descriptor of the database file, to sync it, never closed: SQLite
    /// locks the file with POSIX advisory locks, which belong to the
    /// process and are all released when *any* descriptor of the file is
    /// closed (<https://www.sqlite.org/howtocorrupt.html>, 2.2). One
    /// descriptor per daemon run stays open until the process exits.
    db: ManuallyDrop<Arc<std::fs::File>>,
    /// The log (`-wal`, which SQLite does not lock) and the WAL index.
    wal: PathBuf,
    shm: PathBuf,
    /// Pages waiting to be copied back that start a checkpoint.
    trigger: u32,
    /// Log length (frames) at which the writer checkpoints.
    limit: u32,
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

/// Writes a file's cached changes out to the disk (`fdatasync`) on a
/// blocking thread: any descriptor of a file syncs it.
async fn sync(file: Arc<std::fs::File>) -> Result<(), JournalError> {
    tokio::task::spawn_blocking(move || file.sync_data())
        .await
        .map_err(|e| JournalError::Io(std::io::Error::other(e)))??;
    Ok(())
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
        let with_suffix = |suffix: &str| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        };
        Ok(Some(Checkpointer {
            pool,
            db: ManuallyDrop::new(Arc::new(std::fs::File::open(db)?)),
            wal: with_suffix("-wal"),
            shm: with_suffix("-shm"),
            trigger: (checkpoint_pages / 4).max(1),
            limit: checkpoint_pages.max(1),
        }))
    }

    /// Copies the log back, and syncs the database file, when enough of
    /// it waits or when the log nears the writer's checkpoint (then syncs
    /// the log too); returns the frames copied, None when nothing was due.
    pub async fn tick(&self) -> Result<Option<u32>, JournalError> {
        let Some(wal) = read_wal_state(&self.shm) else {
            return Ok(None);
        };
        let waiting = wal.frames.saturating_sub(wal.backfilled);
        let near = wal.frames.saturating_add(self.trigger / 2) >= self.limit;
        if waiting == 0 || (waiting < self.trigger && !near) {
            return Ok(None);
        }
        // (busy, frames in the log, frames copied back in all)
        let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&self.pool)
            .await?;
        let copied = u32::try_from(row.2)
            .unwrap_or(0)
            .saturating_sub(wal.backfilled);
        sync(Arc::clone(&self.db)).await?;
        if near {
            sync(Arc::new(std::fs::File::open(&self.wal)?)).await?;
        }
        Ok(Some(copied))
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
        let insert = |n: usize| {
            let writer = writer.clone();
            async move {
                for _ in 0..n {
                    sqlx::query("INSERT INTO t VALUES (zeroblob(8000))")
                        .execute(&writer)
                        .await
                        .unwrap();
                }
            }
        };
        insert(50).await;
        let shm = db.with_file_name("j.db-shm");
        let before = read_wal_state(&shm).expect("WAL index");
        assert!(before.frames >= 100, "{before:?}");
        assert_eq!(before.backfilled, 0);
        // An interval of twice the log: half of it waiting starts a copy,
        // and the log is far from the writer's checkpoint.
        let c = Checkpointer::open(&db, before.frames * 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.tick().await.unwrap(), Some(before.frames));
        let after = read_wal_state(&shm).unwrap();
        assert_eq!(after.backfilled, after.frames);
        // Nothing waits now: no checkpoint.
        assert_eq!(c.tick().await.unwrap(), None);
        c.close().await;
        // The writer goes on; its next transaction starts the log again.
        insert(50).await;
        let grown = read_wal_state(&shm).unwrap();
        assert!(grown.frames < before.frames + 10, "{grown:?}");
        assert!(grown.frames >= 64 && grown.backfilled == 0, "{grown:?}");
        // Near the writer's checkpoint: copied, database and log synced.
        let c = Checkpointer::open(&db, grown.frames + 4)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.tick().await.unwrap(), Some(grown.frames));
        insert(1).await;
        let restarted = read_wal_state(&shm).unwrap();
        assert!(restarted.frames < 10, "{restarted:?}");
        c.close().await;
        writer.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
