//! Network clients shared by sources and sinks.
//!
//! [`sftp`] holds the SSH/SFTP connection code (pinned host key, key or
//! password authentication, timeouts, atomic uploads) used both by the SFTP
//! source, which polls a partner's server, and by the SFTP sink and the SAP
//! IDoc-over-SFTP mode, which upload to one.

pub mod sftp;
