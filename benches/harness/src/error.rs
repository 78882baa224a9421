//! The harness's error type: one enum, one clear line per failure.

/// Everything that can stop a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A bad command line (flag, value, combination); exit code 2.
    #[error("{0}")]
    Usage(String),
    /// Socket-level failure talking to a broker.
    #[error("{addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The broker sent something we cannot decode, or a request could not be encoded.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The broker answered with a Kafka error code where we cannot go on.
    #[error("{context}: broker error code {code}")]
    Kafka { context: String, code: i16 },
    /// Compression or decompression failed.
    #[error("codec: {0}")]
    Codec(String),
    /// Anything else that stops the run (timeouts, missing leaders, ...).
    #[error("{0}")]
    Run(String),
}

impl BenchError {
    /// Exit code for `weir bench`: 2 for usage errors, 1 for failures during the run.
    pub fn exit_code(&self) -> i32 {
        match self {
            BenchError::Usage(_) => 2,
            _ => 1,
        }
    }
}
