//! Typed errors of the storage crate. No Kafka error codes here: the broker maps
//! these to protocol errors.

use std::path::PathBuf;

/// Why a record batch was rejected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch too short: {0} bytes")]
    TooShort(usize),
    #[error("batch length field {declared} does not match the {available} bytes available")]
    LengthMismatch { declared: usize, available: usize },
    #[error("unsupported magic byte {0} (only v2 record batches are accepted)")]
    BadMagic(i8),
    #[error("CRC-32C mismatch: batch says {stored:#010x}, bytes give {computed:#010x}")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("batch declares {declared} records but holds {actual}")]
    RecordCountMismatch { declared: i32, actual: i32 },
    #[error("unknown compression codec id {0}")]
    UnknownCodec(u8),
    #[error("corrupt record: {0}")]
    CorruptRecord(String),
    #[error("decompression failed: {0}")]
    Decompression(String),
    /// The records inflate past the bound on one batch's decompressed size (a
    /// decompression bomb; see `validate::MAX_INFLATION`).
    #[error("records decompress to more than {limit} bytes")]
    InflateLimit { limit: usize },
    #[error("empty record set")]
    Empty,
}

/// Errors of the log engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {0} is locked by another process")]
    Locked(PathBuf),
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    #[error("offset {offset} out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        log_end: i64,
    },
    #[error("no log for {0}")]
    NoSuchLog(String),
    #[error("log is closed or deleted")]
    Closed,
    #[error("corrupt file {path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// An earlier I/O error (EIO) took the data dir offline: nothing in it is
    /// read or written until the broker restarts (Kafka's offline log dir).
    #[error("log directory {0} is offline after an I/O error")]
    LogDirOffline(PathBuf),
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;
