//! Produce-time topic rules that depend on topic configs, beyond what the
//! Produce handler checks itself (size, CRC, `compression.type` conversion):
//! a compacted topic (`cleanup.policy` includes `compact`) rejects records
//! without a key (`INVALID_RECORD`), as Kafka's `LogValidator` does. Only
//! compacted topics pay for the decompression this check needs.

use crate::config::topic::TopicConfig;
use crate::config::Settings;
use weir_storage::batch::iter_batches;
use weir_storage::BatchError;

/// Why a record set breaks a topic rule.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Kafka's message for the same case.
    #[error("Compacted topic cannot accept message without key in topic partition")]
    KeylessOnCompacted,
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// Reject keyless records when the topic is compacted.
pub fn check_keys(
    config: &TopicConfig,
    settings: &Settings,
    records: &[u8],
) -> Result<(), PolicyError> {
    if !config.is_compacted(settings) {
        return Ok(());
    }
    for batch in iter_batches(records) {
        let batch = batch?;
        if !batch.is_control() && batch.records()?.iter().any(|r| r.key.is_none()) {
            return Err(PolicyError::KeylessOnCompacted);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use weir_storage::{BatchBuilder, Compression, Record};

    fn batch(codec: Compression, keyed: bool) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.compression = codec;
        for i in 0..3 {
            b.push(Record {
                offset: i,
                timestamp: 100 + i,
                key: (keyed || i != 1).then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                headers: vec![],
            });
        }
        b.build().unwrap()
    }

    fn cfg(pairs: &[(&str, &str)]) -> TopicConfig {
        TopicConfig::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn keyless_records_are_rejected_only_on_compacted_topics() {
        let s = Settings::default();
        let mut set = batch(Compression::None, true);
        set.extend(batch(Compression::Lz4, false));
        for policy in ["compact", "compact,delete", "delete,compact"] {
            assert!(
                matches!(
                    check_keys(&cfg(&[("cleanup.policy", policy)]), &s, &set),
                    Err(PolicyError::KeylessOnCompacted)
                ),
                "{policy}"
            );
        }
        assert!(check_keys(&cfg(&[]), &s, &set).is_ok());
        assert!(check_keys(&cfg(&[("cleanup.policy", "delete")]), &s, &set).is_ok());
        let keyed = batch(Compression::Zstd, true);
        assert!(check_keys(&cfg(&[("cleanup.policy", "compact")]), &s, &keyed).is_ok());
    }
}
