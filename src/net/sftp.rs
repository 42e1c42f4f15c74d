//! SSH/SFTP client connection shared by the SFTP source and the SFTP sinks
//! (`russh` + `russh-sftp`).
//!
//! - **Host key pinning.** The server's key must match one of the configured
//!   `host_keys` fingerprints (`SHA256:…`, as `ssh-keygen -lf` prints them);
//!   otherwise the connection is refused with an error naming both. There is
//!   no trust on first use.
//! - **Authentication** by private key (`key_file`, passphrase from the
//!   environment variable named by `key_passphrase_env`) and/or password
//!   (from the environment variable named by `password_env`, tried after the
//!   key).
//! - **Timeouts.** Connecting, opening the SFTP channel and every SFTP
//!   request are bounded by `timeout_secs`.
//! - **Atomic upload.** [`Connection::put_atomic`] writes `.<name>.part`
//!   (hidden, with a temporary suffix: pollers skip it), syncs it when the
//!   server supports `fsync@openssh.com`, then renames it to `<name>`. An
//!   existing `<name>` is replaced, so uploading the same name again is
//!   idempotent.
//! - **Error classes.** [`SftpError::is_permanent`] tells configuration and
//!   trust problems (host key mismatch, refused authentication, unreadable
//!   key, missing secret) from network and server trouble worth retrying.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::SftpSession;
use russh_sftp::protocol::StatusCode;
use tokio::io::AsyncWriteExt;

/// Why an SSH/SFTP connection or request failed.
#[derive(Debug, thiserror::Error)]
pub enum SftpError {
    #[error(
        "SFTP {addr}: host key mismatch: the server presented {got}, \
         expected {expected} (config host_keys); refusing to connect"
    )]
    HostKeyMismatch {
        addr: String,
        got: String,
        expected: String,
    },
    #[error("SFTP {addr}: authentication of user {user:?} refused (tried {tried})")]
    AuthRefused {
        addr: String,
        user: String,
        tried: String,
    },
    #[error("SFTP {addr}: no authentication method configured (key_file or password_env)")]
    NoAuth { addr: String },
    #[error("SFTP key file {path}: {message}")]
    Key { path: String, message: String },
    #[error("SFTP: environment variable {0} is not set")]
    MissingEnv(String),
    #[error("SFTP {0}: timed out")]
    Timeout(String),
    #[error("SSH: {0}")]
    Ssh(#[from] russh::Error),
    #[error("SFTP: {0}")]
    Sftp(#[from] russh_sftp::client::error::Error),
    #[error("SFTP {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl SftpError {
    /// True when retrying cannot help without a configuration or server
    /// change: host key mismatch, authentication refused or not configured,
    /// unreadable private key, missing secret. Network failures, timeouts
    /// and server-side SFTP errors are transient.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            SftpError::HostKeyMismatch { .. }
                | SftpError::AuthRefused { .. }
                | SftpError::NoAuth { .. }
                | SftpError::Key { .. }
                | SftpError::MissingEnv(_)
        )
    }
}

/// Where and how to connect: the server part of an SFTP source or sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private key file (OpenSSH or PKCS#8 format).
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the key's passphrase.
    pub key_passphrase_env: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Pinned `SHA256:…` host key fingerprints.
    pub host_keys: Vec<String>,
    /// Connect and request timeout, seconds (at least 1).
    pub timeout_secs: u64,
}

impl Endpoint {
    /// `user@host:port`, for messages.
    pub fn addr(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Opens an SSH session (host key checked, authenticated) and its SFTP
    /// channel.
    pub async fn connect(&self) -> Result<Connection, SftpError> {
        let addr = self.addr();
        let handler = Pinned {
            addr: addr.clone(),
            expected: self.host_keys.clone(),
            seen: Arc::new(Mutex::new(None)),
        };
        let ssh_config = client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            ..Default::default()
        };
        let mut ssh = tokio::time::timeout(
            self.timeout(),
            client::connect(
                Arc::new(ssh_config),
                (self.host.as_str(), self.port),
                handler,
            ),
        )
        .await
        .map_err(|_| SftpError::Timeout(addr.clone()))??;

        let mut tried = Vec::new();
        let mut ok = false;
        if let Some(path) = &self.key_file {
            let pass = match &self.key_passphrase_env {
                Some(v) => Some(std::env::var(v).map_err(|_| SftpError::MissingEnv(v.clone()))?),
                None => None,
            };
            let key = russh::keys::load_secret_key(path, pass.as_deref()).map_err(|e| {
                SftpError::Key {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            let hash = ssh.best_supported_rsa_hash().await?.flatten();
            let r = ssh
                .authenticate_publickey(
                    self.user.clone(),
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await?;
            ok = r.success();
            tried.push("publickey");
        }
        if !ok {
            if let Some(v) = &self.password_env {
                let pw = std::env::var(v).map_err(|_| SftpError::MissingEnv(v.clone()))?;
                let r = ssh.authenticate_password(self.user.clone(), pw).await?;
                ok = r.success();
                tried.push("password");
            }
        }
        if tried.is_empty() {
            return Err(SftpError::NoAuth { addr });
        }
        if !ok {
            return Err(SftpError::AuthRefused {
                addr,
                user: self.user.clone(),
                tried: tried.join(", "),
            });
        }
        let channel = ssh.channel_open_session().await?;
        channel.request_subsystem(true, "sftp").await?;
        let sftp = tokio::time::timeout(self.timeout(), SftpSession::new(channel.into_stream()))
            .await
            .map_err(|_| SftpError::Timeout(addr.clone()))??;
        sftp.set_timeout(self.timeout_secs.max(1));
        Ok(Connection { ssh, sftp })
    }
}

impl From<&crate::config::SftpSource> for Endpoint {
    fn from(c: &crate::config::SftpSource) -> Endpoint {
        Endpoint {
            host: c.host.clone(),
            port: c.port,
            user: c.user.clone(),
            key_file: c.key_file.clone(),
            key_passphrase_env: c.key_passphrase_env.clone(),
            password_env: c.password_env.clone(),
            host_keys: c.host_keys.clone(),
            timeout_secs: c.timeout_secs,
        }
    }
}

impl From<&crate::config::SftpSink> for Endpoint {
    fn from(c: &crate::config::SftpSink) -> Endpoint {
        Endpoint {
            host: c.host.clone(),
            port: c.port,
            user: c.user.clone(),
            key_file: c.key_file.clone(),
            key_passphrase_env: c.key_passphrase_env.clone(),
            password_env: c.password_env.clone(),
            host_keys: c.host_keys.clone(),
            timeout_secs: c.timeout_secs,
        }
    }
}

/// The SSH client handler: checks the server's host key against the pins.
struct Pinned {
    addr: String,
    expected: Vec<String>,
    /// The fingerprint the server presented, for the mismatch error.
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Pinned {
    type Error = SftpError;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fp = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.fingerprint(HashAlg::Sha256).to_string()
            }
            PublicKeyOrCertificate::Certificate(c) => {
                c.public_key().fingerprint(HashAlg::Sha256).to_string()
            }
        };
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(fp.clone());
        }
        if self.expected.iter().any(|e| e == &fp) {
            Ok(true)
        } else {
            Err(SftpError::HostKeyMismatch {
                addr: self.addr.clone(),
                got: fp,
                expected: self.expected.join(" or "),
            })
        }
    }
}

/// An open SFTP session.
pub struct Connection {
    ssh: client::Handle<Pinned>,
    sftp: SftpSession,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Connection {
    /// The SFTP session.
    pub fn sftp(&self) -> &SftpSession {
        &self.sftp
    }

    /// True while the SSH session is up (the server may still have gone
    /// away unnoticed: a request then fails and the caller reconnects).
    pub fn is_open(&self) -> bool {
        !self.ssh.is_closed()
    }

    /// Creates the remote directory `dir` (one level) when it is missing.
    pub async fn ensure_dir(&self, dir: &str) -> Result<(), SftpError> {
        if !dir.is_empty() && !self.sftp.try_exists(dir).await? {
            self.sftp.create_dir(dir).await?;
        }
        Ok(())
    }

    /// Uploads `bytes` as `dir/name` atomically: written to
    /// `dir/.<name>.part`, synced, then renamed over `dir/name` (an existing
    /// file of that name is replaced).
    pub async fn put_atomic(&self, dir: &str, name: &str, bytes: &[u8]) -> Result<(), SftpError> {
        let tmp = remote(dir, &format!(".{name}.part"));
        let target = remote(dir, name);
        let io = |path: &str| {
            let path = path.to_string();
            move |source| SftpError::Io { path, source }
        };
        let mut f = self.sftp.create(tmp.as_str()).await?;
        f.write_all(bytes).await.map_err(io(&tmp))?;
        f.sync_all().await?;
        f.shutdown().await.map_err(io(&tmp))?;
        match self.sftp.rename(tmp.as_str(), target.as_str()).await {
            Ok(()) => Ok(()),
            // SFTP v3 rename refuses an existing target (OpenSSH answers
            // "Failure"): replace it. A poller sees the old file, then no
            // file, then the new one; never a partial one.
            Err(russh_sftp::client::error::Error::Status(s))
                if s.status_code == StatusCode::Failure
                    && self.sftp.try_exists(target.as_str()).await? =>
            {
                self.sftp.remove_file(target.as_str()).await?;
                self.sftp.rename(tmp.as_str(), target.as_str()).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the SFTP channel and the SSH session (best effort).
    pub async fn close(self) {
        let _ = self.sftp.close().await;
        let _ = self
            .ssh
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

/// `dir/name` on the remote side (`name` alone when `dir` is empty: the
/// login directory).
pub fn remote(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths() {
        assert_eq!(remote("", "a"), "a");
        assert_eq!(remote("/in", "a"), "/in/a");
        assert_eq!(remote("/in/", "a"), "/in/a");
    }

    #[test]
    fn trust_and_auth_errors_are_permanent() {
        let addr = "u@h:22".to_string();
        assert!(SftpError::HostKeyMismatch {
            addr: addr.clone(),
            got: "a".into(),
            expected: "b".into()
        }
        .is_permanent());
        assert!(SftpError::AuthRefused {
            addr: addr.clone(),
            user: "u".into(),
            tried: "password".into()
        }
        .is_permanent());
        assert!(SftpError::MissingEnv("X".into()).is_permanent());
        assert!(!SftpError::Timeout(addr).is_permanent());
        assert!(!SftpError::Ssh(russh::Error::Disconnect).is_permanent());
    }
}
