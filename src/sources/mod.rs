//! Sources: where messages come from (local directory, AMQP queue, SFTP,
//! HTTP). Every source hands raw bytes to [`crate::journal::Journal::receive`]
//! and acknowledges them to its origin (moves the file, acks the delivery,
//! answers 202) only once the journal has committed them.

pub mod amqp;
pub mod directory;
pub mod http;
pub mod sftp;

pub use amqp::AmqpSourceTask;
pub use directory::DirectorySourceTask;
pub use http::HttpSourceTask;
pub use sftp::SftpSourceTask;

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {source_name}: {message}")]
    Failed {
        source_name: String,
        message: String,
    },
}
