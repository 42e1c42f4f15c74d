//! Directory source: polls a local directory and journals every complete
//! file.
//!
//! Pickup is atomic from the writer's point of view: files with a temporary
//! suffix (`.tmp`, `.part` …) and hidden files are ignored, and a file is
//! taken only once its size is the same on two consecutive polls. Files are
//! read and committed to the journal in batches (one transaction); only then
//! are they moved to `archive/` (as `<message id>-<name>`). A file that
//! cannot be read goes to `error/`. A crash between the commit and the move
//! leaves the file in place: it is journaled again at the next start and
//! recorded as a duplicate, never processed twice.
//!
//! Several daemon instances may poll the same directory (shared volume, one
//! PostgreSQL journal): each file is leased in the journal
//! ([`Journal::claim_files`], keyed by name, size and mtime) before it is
//! read, so exactly one instance takes it. A daemon alone on its journal
//! (the default SQLite file, see [`crate::pipeline::Daemon::open`]) skips
//! the leases: nobody else can take its files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::DirectorySource;
use crate::journal::{FileKey, Incoming, Journal};

/// A running directory source.
#[derive(Debug)]
pub struct DirectorySourceTask {
    pub name: String,
    pub partner: Option<String>,
    pub config: DirectorySource,
    pub journal: Journal,
    /// Instance id: owner of the file leases.
    pub owner: String,
    /// How long a file lease lasts.
    pub lease_ms: i64,
    /// Lease each file before reading it (false when this daemon is the
    /// only one on its journal).
    pub lease_files: bool,
}

/// The lease key of a local file (None when it vanished).
fn file_key(p: &Path) -> Option<FileKey> {
    let meta = std::fs::metadata(p).ok()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    Some(FileKey {
        name: p.file_name()?.to_string_lossy().into_owned(),
        size: meta.len() as i64,
        mtime,
    })
}

fn sibling(path: &Path, name: &str) -> PathBuf {
    match path.parent() {
        Some(p) => p.join(name),
        None => PathBuf::from(name),
    }
}

/// Files of `dir` to consider, with their sizes, sorted by name.
fn scan(dir: &Path, ignore: &[String]) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || ignore.iter().any(|s| name.ends_with(s.as_str())) {
            continue;
        }
        let meta = match e.metadata() {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        out.push((e.path(), meta.len()));
    }
    out.sort();
    Ok(out)
}

/// Runs file system work on a blocking thread. None when it panicked
/// (logged): the files it was about are left where they are.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::error!("directory source: file system task failed: {e}");
            None
        }
    }
}

impl DirectorySourceTask {
    /// The archive directory.
    pub fn archive_dir(&self) -> PathBuf {
        self.config
            .archive
            .clone()
            .unwrap_or_else(|| sibling(&self.config.path, "archive"))
    }

    /// The error directory.
    pub fn error_dir(&self) -> PathBuf {
        self.config
            .error
            .clone()
            .unwrap_or_else(|| sibling(&self.config.path, "error"))
    }

    /// Polls until `shutdown` turns true; with `once`, returns as soon as a
    /// poll finds the directory empty. Returns the number of files journaled.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, once: bool) -> u64 {
        let archive = self.archive_dir();
        let error = self.error_dir();
        for d in [&self.config.path, &archive, &error] {
            if let Err(e) = std::fs::create_dir_all(d) {
                tracing::error!(source = %self.name, dir = %d.display(), "cannot create directory: {e}");
            }
        }
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
        let mut sizes: HashMap<PathBuf, u64> = HashMap::new();
        let mut total = 0u64;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let (dir, ignore) = (
                self.config.path.clone(),
                self.config.ignore_suffixes.clone(),
            );
            let files = match blocking(move || scan(&dir, &ignore)).await {
                Some(Ok(f)) => f,
                None => Vec::new(),
                Some(Err(e)) => {
                    tracing::error!(source = %self.name, "cannot list {}: {e}", self.config.path.display());
                    Vec::new()
                }
            };
            if once && files.is_empty() {
                break;
            }
            let mut stable = Vec::new();
            let mut next = HashMap::with_capacity(files.len());
            for (p, size) in files {
                if sizes.get(&p) == Some(&size) {
                    stable.push(p);
                } else {
                    next.insert(p, size);
                }
            }
            sizes = next;
            for chunk in stable.chunks(self.config.batch_size.max(1)) {
                if *shutdown.borrow() {
                    break;
                }
                total += self.pickup(chunk, &archive, &error).await;
            }
            if !sizes.is_empty() || stable.is_empty() {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        total
    }

    /// Journals a batch of files, then moves them away. The file system
    /// work (hundreds of system calls a batch) runs on a blocking thread,
    /// not on the runtime's.
    async fn pickup(&self, files: &[PathBuf], archive: &Path, error: &Path) -> u64 {
        let files = files.to_vec();
        let Some(keyed) = blocking(move || {
            files
                .into_iter()
                .filter_map(|p| file_key(&p).map(|k| (p, k)))
                .collect::<Vec<(PathBuf, FileKey)>>()
        })
        .await
        else {
            return 0;
        };
        let keys: Vec<FileKey> = keyed.iter().map(|(_, k)| k.clone()).collect();
        let claimed = if !self.lease_files {
            vec![true; keys.len()]
        } else {
            match self
                .journal
                .claim_files(&self.name, &keys, &self.owner, self.lease_ms)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(source = %self.name, "cannot lease files, will retry: {e}");
                    return 0;
                }
            }
        };
        let (name, partner, error_dir) =
            (self.name.clone(), self.partner.clone(), error.to_path_buf());
        let read = blocking(move || {
            let mut leased = Vec::with_capacity(keyed.len());
            let mut batch = Vec::with_capacity(keyed.len());
            let mut paths = Vec::with_capacity(keyed.len());
            for ((p, key), ok) in keyed.into_iter().zip(claimed) {
                if !ok {
                    continue; // another instance has it
                }
                leased.push(key);
                match std::fs::read(&p) {
                    Ok(raw) => {
                        let file = p.file_name().map(|n| n.to_string_lossy().into_owned());
                        batch.push(Incoming {
                            source: name.clone(),
                            source_ref: file,
                            partner: partner.clone(),
                            raw,
                        });
                        paths.push(p);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        // Taken (and archived) by another instance meanwhile.
                    }
                    Err(e) => {
                        tracing::error!(source = %name, file = %p.display(), "cannot read, moving to {}: {e}", error_dir.display());
                        if let Some(file) = p.file_name() {
                            let _ = std::fs::rename(&p, error_dir.join(file));
                        }
                    }
                }
            }
            (leased, batch, paths)
        })
        .await;
        let Some((leased, batch, paths)) = read else {
            return 0;
        };
        let release = |leased: Vec<FileKey>| async move {
            if !self.lease_files {
                return;
            }
            if let Err(e) = self
                .journal
                .release_files(&self.name, &leased, &self.owner)
                .await
            {
                tracing::warn!(source = %self.name, "cannot release file leases (they expire): {e}");
            }
        };
        if batch.is_empty() {
            release(leased).await;
            return 0;
        }
        let received = match self.journal.receive(batch).await {
            Ok(r) => r,
            Err(e) => {
                // Nothing committed: the files stay for the next poll.
                tracing::error!(source = %self.name, "journal commit failed, will retry: {e}");
                release(leased).await;
                return 0;
            }
        };
        let (name, archive) = (self.name.clone(), archive.to_path_buf());
        let moved: Vec<(i64, Option<i64>)> =
            received.iter().map(|r| (r.id, r.duplicate_of)).collect();
        blocking(move || {
            for (p, (id, duplicate_of)) in paths.iter().zip(moved) {
                let file = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match duplicate_of {
                    Some(orig) => {
                        tracing::info!(message_id = id, source = %name, file = %file, "duplicate of message {orig}")
                    }
                    None => {
                        tracing::debug!(message_id = id, source = %name, file = %file, "received")
                    }
                }
                if let Err(e) = std::fs::rename(p, archive.join(format!("{id}-{file}"))) {
                    tracing::warn!(message_id = id, file = %p.display(), "journaled but cannot archive: {e}");
                }
            }
        })
        .await;
        release(leased).await;
        received.len() as u64
    }
}
