//! SFTP source: polls a remote directory over SSH (`russh` + `russh-sftp`)
//! and journals every complete file.
//!
//! - **Connection** ([`crate::net::sftp`], shared with the SFTP sinks):
//!   pinned host key (a server presenting another key is refused, the error
//!   naming both fingerprints), authentication by private key and/or
//!   password from the environment.
//! - **Pickup.** Regular files whose name matches `pattern` (`*`, `?`), not
//!   hidden and without a temporary suffix (`.part`, `.tmp` …), are taken
//!   once their size and modification time are the same on two consecutive
//!   polls. Each is leased in the journal ([`Journal::claim_files`]) so that
//!   several daemon instances never download the same file at once.
//! - **Acknowledgement.** Files are downloaded, checked against the listed
//!   size, committed to the journal in one transaction, and only then moved
//!   to `archive` (as `<message id>-<name>`) or deleted. Any download or
//!   journal error leaves the remote file where it is. A crash between the
//!   commit and the move leaves the file in place: it is journaled again and
//!   recorded as a duplicate, never processed twice.
//! - **Reconnection.** Any SSH/SFTP error drops the connection; the source
//!   reconnects with exponential backoff (`reconnect_base_ms` doubling up to
//!   `reconnect_max_ms`).

use std::collections::HashMap;
use std::time::Duration;

use russh_sftp::protocol::StatusCode;
use tokio::sync::watch;

use crate::config::SftpSource;
use crate::journal::{FileKey, Incoming, Journal};
use crate::net::sftp::{remote, Endpoint};
pub use crate::net::sftp::{Connection, SftpError};

/// True when `name` matches the glob `pattern` (`*` any run, `?` any one
/// character, everything else literal).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    /// Candidate files listed (complete or not).
    pub listed: usize,
    /// Files committed to the journal.
    pub journaled: u64,
}

/// Per-connection memory between polls.
#[derive(Debug, Default)]
pub struct PollState {
    /// Candidate files of the previous poll, with (size, mtime).
    seen: HashMap<String, (i64, i64)>,
    /// Journaled files whose acknowledgement (move/delete) failed, with
    /// their message id: only the acknowledgement is retried.
    unacked: HashMap<FileKey, i64>,
}

/// A running SFTP source.
#[derive(Debug)]
pub struct SftpSourceTask {
    pub name: String,
    pub partner: Option<String>,
    pub config: SftpSource,
    pub journal: Journal,
    /// Instance id: owner of the file leases.
    pub owner: String,
    /// How long a file lease lasts (renewed while working).
    pub lease_ms: i64,
}

impl SftpSourceTask {
    fn addr(&self) -> String {
        self.endpoint().addr()
    }

    /// The server part of the configuration.
    fn endpoint(&self) -> Endpoint {
        Endpoint::from(&self.config)
    }

    /// Opens an SSH session (host key checked, authenticated) and its SFTP
    /// channel, and creates the archive directory when configured.
    pub async fn connect(&self) -> Result<Connection, SftpError> {
        let conn = self.endpoint().connect().await?;
        if let Some(a) = &self.config.archive {
            if let Err(e) = conn.ensure_dir(a).await {
                conn.close().await;
                return Err(e);
            }
        }
        Ok(conn)
    }

    /// Polls until `shutdown` turns true, reconnecting with exponential
    /// backoff after any error. With `once`, returns as soon as a poll finds
    /// no candidate file (or the server cannot be reached). Returns the
    /// number of files journaled.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, once: bool) -> u64 {
        let poll = Duration::from_millis(self.config.poll_interval_ms.max(10));
        let base = self.config.reconnect_base_ms.max(10);
        let max = self.config.reconnect_max_ms.max(base);
        let mut backoff = base;
        let mut total = 0u64;
        // Kept across reconnections: stability and pending acknowledgements.
        let mut state = PollState::default();
        'outer: loop {
            if *shutdown.borrow() {
                break;
            }
            match self.connect().await {
                Ok(conn) => {
                    tracing::info!(source = %self.name, server = %self.addr(), "SFTP connected");
                    backoff = base;
                    loop {
                        if *shutdown.borrow() {
                            conn.close().await;
                            break 'outer;
                        }
                        match self.poll(&conn, &mut state).await {
                            Ok(o) => {
                                total += o.journaled;
                                if once && o.listed == 0 {
                                    conn.close().await;
                                    break 'outer;
                                }
                            }
                            Err(e) => {
                                tracing::warn!(source = %self.name, "SFTP poll failed, reconnecting: {e}");
                                conn.close().await;
                                break;
                            }
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(poll) => {}
                            _ = shutdown.changed() => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(source = %self.name, "{e}; retrying in {backoff} ms");
                    if once {
                        break;
                    }
                    let jitter = crate::journal::now_ms().unsigned_abs() % (backoff / 5 + 1);
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(backoff + jitter)) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(max);
                }
            }
        }
        total
    }

    /// Lists the remote directory and journals the files that are complete.
    /// An `Err` means the connection is unusable (the caller reconnects);
    /// nothing was acknowledged for the file that failed.
    pub async fn poll(
        &self,
        conn: &Connection,
        state: &mut PollState,
    ) -> Result<PollOutcome, SftpError> {
        let c = &self.config;
        let mut listing: Vec<FileKey> = Vec::new();
        for e in conn.sftp().read_dir(c.path.as_str()).await? {
            let name = e.file_name();
            let meta = e.metadata();
            if !meta.file_type().is_file()
                || name.starts_with('.')
                || c.ignore_suffixes.iter().any(|s| name.ends_with(s.as_str()))
                || !glob_match(&c.pattern, &name)
            {
                continue;
            }
            listing.push(FileKey {
                name,
                size: meta.size.unwrap_or(0) as i64,
                mtime: i64::from(meta.mtime.unwrap_or(0)),
            });
        }
        listing.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = PollOutcome {
            listed: listing.len(),
            journaled: 0,
        };
        let mut stable = Vec::new();
        for f in &listing {
            if let Some(&id) = state.unacked.get(f) {
                // Already journaled: only the acknowledgement is missing.
                if self.acknowledge(conn, f, id).await {
                    state.unacked.remove(f);
                    let _ = self
                        .journal
                        .release_files(&self.name, std::slice::from_ref(f), &self.owner)
                        .await;
                }
                continue;
            }
            if state.seen.get(&f.name) == Some(&(f.size, f.mtime)) {
                stable.push(f.clone());
            }
        }
        state.seen = listing
            .iter()
            .map(|f| (f.name.clone(), (f.size, f.mtime)))
            .collect();
        for chunk in stable.chunks(c.batch_size.max(1)) {
            out.journaled += self.pickup(conn, chunk, state).await?;
        }
        Ok(out)
    }

    /// Leases, downloads, journals and acknowledges a batch of files.
    async fn pickup(
        &self,
        conn: &Connection,
        files: &[FileKey],
        state: &mut PollState,
    ) -> Result<u64, SftpError> {
        let c = &self.config;
        let claimed = match self
            .journal
            .claim_files(&self.name, files, &self.owner, self.lease_ms)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(source = %self.name, "cannot lease files, will retry: {e}");
                return Ok(0);
            }
        };
        let mine: Vec<FileKey> = files
            .iter()
            .zip(claimed)
            .filter(|(_, ok)| *ok)
            .map(|(f, _)| f.clone())
            .collect();
        let mut batch = Vec::with_capacity(mine.len());
        let mut keys = Vec::with_capacity(mine.len());
        let mut skipped = Vec::new();
        let mut failure = None;
        for f in &mine {
            if failure.is_some() {
                skipped.push(f.clone());
                continue;
            }
            let path = remote(&c.path, &f.name);
            match conn.sftp().read(path.as_str()).await {
                Ok(raw) if raw.len() as i64 == f.size => {
                    batch.push(Incoming {
                        source: self.name.clone(),
                        source_ref: Some(f.name.clone()),
                        partner: self.partner.clone(),
                        raw,
                    });
                    keys.push(f.clone());
                }
                Ok(raw) => {
                    tracing::info!(source = %self.name, file = %f.name, "size changed during download ({} → {} bytes), will retry", f.size, raw.len());
                    state.seen.remove(&f.name);
                    skipped.push(f.clone());
                }
                Err(russh_sftp::client::error::Error::Status(s))
                    if s.status_code != StatusCode::ConnectionLost
                        && s.status_code != StatusCode::NoConnection =>
                {
                    // The file is gone (taken by another instance) or is
                    // unreadable: leave it, the connection is fine.
                    tracing::warn!(source = %self.name, file = %f.name, "cannot download, left on the server: {}: {}", s.status_code, s.error_message);
                    skipped.push(f.clone());
                }
                Err(e) => {
                    skipped.push(f.clone());
                    failure = Some(SftpError::from(e));
                }
            }
            if let Err(e) = self
                .journal
                .renew_files(&self.name, &self.owner, self.lease_ms)
                .await
            {
                tracing::warn!(source = %self.name, "cannot renew file leases: {e}");
            }
        }
        let _ = self
            .journal
            .release_files(&self.name, &skipped, &self.owner)
            .await;
        let mut journaled = 0;
        if !batch.is_empty() {
            match self.journal.receive(batch).await {
                Ok(received) => {
                    journaled = received.len() as u64;
                    let mut acked = Vec::with_capacity(keys.len());
                    for (f, r) in keys.iter().zip(&received) {
                        match r.duplicate_of {
                            Some(orig) => {
                                tracing::info!(message_id = r.id, source = %self.name, file = %f.name, "duplicate of message {orig}")
                            }
                            None => {
                                tracing::debug!(message_id = r.id, source = %self.name, file = %f.name, "received")
                            }
                        }
                        if self.acknowledge(conn, f, r.id).await {
                            acked.push(f.clone());
                        } else {
                            state.unacked.insert(f.clone(), r.id);
                        }
                    }
                    let _ = self
                        .journal
                        .release_files(&self.name, &acked, &self.owner)
                        .await;
                }
                Err(e) => {
                    // Nothing committed: nothing acknowledged, the files
                    // stay on the server for the next poll.
                    tracing::error!(source = %self.name, "journal commit failed, files left on the server: {e}");
                    let _ = self
                        .journal
                        .release_files(&self.name, &keys, &self.owner)
                        .await;
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(journaled),
        }
    }

    /// Moves a journaled file to the archive directory, or deletes it.
    /// Returns false (logged) when the server refused.
    async fn acknowledge(&self, conn: &Connection, f: &FileKey, id: i64) -> bool {
        let c = &self.config;
        let from = remote(&c.path, &f.name);
        let r = match &c.archive {
            Some(a) => {
                conn.sftp()
                    .rename(from.as_str(), remote(a, &format!("{id}-{}", f.name)))
                    .await
            }
            None => conn.sftp().remove_file(from.as_str()).await,
        };
        match r {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(message_id = id, source = %self.name, file = %f.name, "journaled but cannot archive/delete on the server: {e}");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob() {
        assert!(glob_match("*", "a.edi"));
        assert!(glob_match("*.edi", "a.edi"));
        assert!(!glob_match("*.edi", "a.edi.part"));
        assert!(glob_match("ORD?????.*", "ORD12345.txt"));
        assert!(!glob_match("ORD?????.*", "ORD1234.txt"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b", "xxaxxbxx"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
    }
}
