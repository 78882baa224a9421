//! Start-up and shutdown errors of the broker ([`StartError`]), below both
//! [`crate::server`] (which returns them) and [`crate::state`] (which builds the
//! shared state they can come from).

use crate::partitions::TopicError;
use std::path::PathBuf;
use weir_storage::StorageError;

/// Why the broker could not start (one line each).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {0} is locked by another weir process")]
    Locked(PathBuf),
    #[error("data directory {dir} is unusable: {source}")]
    DataDir { dir: PathBuf, source: StorageError },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("topic registry: {0}")]
    Registry(#[from] TopicError),
    #[error("{0}")]
    Other(String),
}
