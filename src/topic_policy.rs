//! Produce-time topic rules that depend on topic configs (as Kafka's
//! `LogValidator` applies them):
//! - a compacted topic (`cleanup.policy` includes `compact`) rejects records
//!   without a key (`INVALID_RECORD`);
//! - `compression.type` other than `producer` re-encodes batches whose codec
//!   differs (offsets, producer fields and timestamps are kept).
//!
//! Batches that need neither are passed through untouched (no copy, no
//! decompression unless the topic is compacted).

use crate::config::topic::TopicConfig;
use crate::config::Settings;
use std::borrow::Cow;
use weir_storage::batch::iter_batches;
use weir_storage::{BatchBuilder, BatchError, BatchHeader, Compression};

/// Why a record set breaks a topic rule.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Kafka's message for the same case.
    #[error("Compacted topic cannot accept message without key in topic partition")]
    KeylessOnCompacted,
    #[error(transparent)]
    Batch(#[from] BatchError),
}

/// Check `records` against the topic's rules and convert them if the topic asks.
pub fn apply<'a>(
    config: &TopicConfig,
    settings: &Settings,
    records: &'a [u8],
) -> Result<Cow<'a, [u8]>, PolicyError> {
    let compacted = config.is_compacted(settings);
    let target = config.target_compression(settings);
    let mut converted: Option<Vec<u8>> = None;
    let mut pos = 0usize;
    for batch in iter_batches(records) {
        let batch = batch?;
        let len = batch.total_len();
        let needs_recompress =
            !batch.is_control() && target.is_some_and(|t| Some(t) != batch.compression().ok());
        if compacted && !batch.is_control() && batch.records()?.iter().any(|r| r.key.is_none()) {
            return Err(PolicyError::KeylessOnCompacted);
        }
        if needs_recompress {
            let out = converted.get_or_insert_with(|| records[..pos].to_vec());
            out.extend_from_slice(&recompress(&batch, target.expect("checked"))?);
        } else if let Some(out) = converted.as_mut() {
            out.extend_from_slice(batch.bytes());
        }
        pos += len;
    }
    Ok(match converted {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(records),
    })
}

/// Re-encode one batch with `codec`, keeping every header field but the codec.
fn recompress(h: &BatchHeader<'_>, codec: Compression) -> Result<Vec<u8>, BatchError> {
    let mut b = BatchBuilder::new();
    b.base_offset = h.base_offset();
    b.partition_leader_epoch = h.partition_leader_epoch();
    b.compression = codec;
    b.log_append_time = h.is_log_append_time();
    b.transactional = h.is_transactional();
    b.control = h.is_control();
    b.producer_id = h.producer_id();
    b.producer_epoch = h.producer_epoch();
    b.base_sequence = h.base_sequence();
    for r in h.records()? {
        b.push(r);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use weir_storage::Record;

    fn batch(codec: Compression, keyed: bool) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.compression = codec;
        b.producer_id = 9;
        b.producer_epoch = 1;
        b.base_sequence = 5;
        for i in 0..3 {
            b.push(Record {
                offset: i,
                timestamp: 100 + i,
                key: keyed.then(|| Bytes::from(format!("k{i}"))),
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
        let keyless = batch(Compression::Lz4, false);
        assert!(matches!(
            apply(&cfg(&[("cleanup.policy", "compact")]), &s, &keyless),
            Err(PolicyError::KeylessOnCompacted)
        ));
        assert!(matches!(
            apply(&cfg(&[("cleanup.policy", "compact,delete")]), &s, &keyless),
            Err(PolicyError::KeylessOnCompacted)
        ));
        let ok = apply(&cfg(&[]), &s, &keyless).unwrap();
        assert!(
            matches!(ok, Cow::Borrowed(_)),
            "no copy when nothing changes"
        );
        let keyed = batch(Compression::None, true);
        assert!(apply(&cfg(&[("cleanup.policy", "compact")]), &s, &keyed).is_ok());
    }

    #[test]
    fn compression_type_recompresses_batches_with_another_codec() {
        let s = Settings::default();
        let mut set = batch(Compression::None, true);
        set.extend(batch(Compression::Zstd, true));
        let out = apply(&cfg(&[("compression.type", "zstd")]), &s, &set).unwrap();
        let batches: Vec<_> = iter_batches(&out).map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 2);
        for b in &batches {
            b.validate_crc().unwrap();
            assert_eq!(b.compression().unwrap(), Compression::Zstd);
            assert_eq!(
                (b.producer_id(), b.producer_epoch(), b.base_sequence()),
                (9, 1, 5)
            );
            assert_eq!(b.last_offset_delta(), 2);
            let vals: Vec<_> = b.records().unwrap().into_iter().map(|r| r.value).collect();
            assert_eq!(vals[2].as_deref(), Some(&b"v2"[..]));
        }
        let out = apply(&cfg(&[("compression.type", "uncompressed")]), &s, &set).unwrap();
        assert!(iter_batches(&out).all(|b| b.unwrap().compression().unwrap() == Compression::None));
        let same = apply(&cfg(&[("compression.type", "producer")]), &s, &set).unwrap();
        assert_eq!(&*same, &set[..]);
    }
}
