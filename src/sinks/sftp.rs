//! SFTP sink: uploads each message's JSON to a directory on an SFTP server,
//! and a partner's answers when it is the partner's outbound channel.
//!
//! - **Files.** Like the file sink: `<message id>.json` (canonical
//!   documents) and `<message id>.priced.json` (priced documents, when the
//!   route priced); `content` narrows that to the canonical or the priced
//!   file. Answers are `<message id>.<kind>.<n>.edi`. The SAP sink's
//!   `idoc_sftp` mode uploads `<message id>-<n>.xml` through
//!   [`SftpSink::upload`].
//! - **Atomic and idempotent.** Each file is written as `.<name>.part`, then
//!   renamed ([`crate::net::sftp::Connection::put_atomic`]): a partner's
//!   poller never sees a partial file. A redelivered message gets the same
//!   names and replaces the files.
//! - **Connection** ([`crate::net::sftp`], shared with the SFTP source):
//!   pinned host key, key or password authentication. It is opened on first
//!   use, kept between deliveries and dropped after any error; a delivery
//!   that fails on a kept connection (the server closed it meanwhile) is
//!   tried once more on a new one. Deliveries through one sink take turns
//!   on that connection.
//! - **Errors.** Host key mismatch, refused or missing authentication,
//!   unreadable key and missing secrets are [`SinkError::Permanent`];
//!   network, timeout and server-side SFTP errors are
//!   [`SinkError::Transient`] (retried by the pipeline).
//!
//! [`super::Sink::deliver`] is blocking: the SSH work runs on the sinks'
//! private runtime thread ([`super::exec::Executor`]), so this sink can be
//! called from any thread.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::exec::Executor;
use super::{Answer, Payload, SinkError};
use crate::config::{SftpContent, SftpSink as SftpSinkConfig};
use crate::net::sftp::{Connection, Endpoint, SftpError};

/// An uploader to one remote directory.
#[derive(Debug)]
pub struct SftpSink {
    name: String,
    endpoint: Endpoint,
    dir: String,
    content: SftpContent,
    link: Arc<Mutex<Option<Connection>>>,
    exec: Executor,
}

impl SftpSink {
    /// A sink named `name` (used in error messages).
    pub fn new(name: &str, c: &SftpSinkConfig) -> SftpSink {
        SftpSink {
            name: name.to_string(),
            endpoint: Endpoint::from(c),
            dir: c.path.clone(),
            content: c.content.unwrap_or_default(),
            link: Arc::new(Mutex::new(None)),
            exec: Executor::new(),
        }
    }

    /// The files uploaded for a payload: (name, bytes).
    pub fn files(&self, p: &Payload) -> Vec<(String, Vec<u8>)> {
        let canonical = || {
            (
                format!("{}.json", p.message_id),
                p.canonical_json.as_bytes().to_vec(),
            )
        };
        let priced = p.priced_json.as_ref().map(|j| {
            (
                format!("{}.priced.json", p.message_id),
                j.as_bytes().to_vec(),
            )
        });
        match (self.content, priced) {
            (SftpContent::Both, Some(priced)) => vec![canonical(), priced],
            (SftpContent::Priced, Some(priced)) => vec![priced],
            (SftpContent::Both | SftpContent::Canonical | SftpContent::Priced, _) => {
                vec![canonical()]
            }
        }
    }

    /// Uploads the payload's files (blocking).
    pub fn deliver(&self, p: &Payload) -> Result<(), SinkError> {
        self.upload(self.files(p))
    }

    /// Uploads an answer to a partner as `<id>.<kind>.<n>.edi` (blocking).
    pub fn deliver_answer(&self, a: &Answer) -> Result<(), SinkError> {
        self.upload(vec![(a.file_name(), a.bytes.clone())])
    }

    /// Uploads files atomically, in order, over one connection (blocking).
    pub fn upload(&self, files: Vec<(String, Vec<u8>)>) -> Result<(), SinkError> {
        let link = Arc::clone(&self.link);
        let endpoint = self.endpoint.clone();
        let dir = self.dir.clone();
        let name = self.name.clone();
        self.exec
            .run(async move { upload(&link, &endpoint, &dir, &files).await })?
            .map_err(|e| {
                let m = format!("sink {name}: {e}");
                if e.is_permanent() {
                    SinkError::Permanent(m)
                } else {
                    SinkError::Transient(m)
                }
            })
    }
}

/// Connects (creating the remote directory when missing).
async fn open(endpoint: &Endpoint, dir: &str) -> Result<Connection, SftpError> {
    let conn = endpoint.connect().await?;
    match conn.ensure_dir(dir).await {
        Ok(()) => Ok(conn),
        Err(e) => {
            conn.close().await;
            Err(e)
        }
    }
}

async fn upload(
    link: &Mutex<Option<Connection>>,
    endpoint: &Endpoint,
    dir: &str,
    files: &[(String, Vec<u8>)],
) -> Result<(), SftpError> {
    let mut link = link.lock().await;
    if link.as_ref().is_some_and(|c| !c.is_open()) {
        if let Some(c) = link.take() {
            c.close().await;
        }
    }
    let mut kept = link.is_some();
    loop {
        let conn = match link.take() {
            Some(c) => c,
            None => open(endpoint, dir).await?,
        };
        let mut result = Ok(());
        for (name, bytes) in files {
            result = conn.put_atomic(dir, name, bytes).await;
            if result.is_err() {
                break;
            }
        }
        match result {
            Ok(()) => {
                *link = Some(conn);
                return Ok(());
            }
            Err(e) => {
                conn.close().await;
                if kept && !e.is_permanent() {
                    tracing::debug!(server = %endpoint.addr(), "SFTP upload failed on a kept connection, reconnecting: {e}");
                    kept = false;
                    continue;
                }
                return Err(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(content: Option<SftpContent>) -> SftpSink {
        SftpSink::new(
            "s",
            &SftpSinkConfig {
                host: "h".into(),
                port: 22,
                user: "u".into(),
                key_file: None,
                key_passphrase_env: None,
                password_env: Some("P".into()),
                host_keys: vec!["SHA256:x".into()],
                path: "/in".into(),
                content,
                timeout_secs: 1,
            },
        )
    }

    fn names(s: &SftpSink, priced: bool) -> Vec<String> {
        let p = Payload {
            message_id: 4,
            partner: None,
            canonical_json: "[1]".into(),
            priced_json: priced.then(|| "[2]".into()),
        };
        s.files(&p).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn file_names_follow_the_content_setting() {
        let both = sink(None);
        assert_eq!(names(&both, true), ["4.json", "4.priced.json"]);
        assert_eq!(names(&both, false), ["4.json"]);
        let c = sink(Some(SftpContent::Canonical));
        assert_eq!(names(&c, true), ["4.json"]);
        let p = sink(Some(SftpContent::Priced));
        assert_eq!(names(&p, true), ["4.priced.json"]);
        assert_eq!(names(&p, false), ["4.json"]);
    }
}
