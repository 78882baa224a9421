//! One-pass validation of a produced record set, modelled on Kafka's
//! `LogValidator`: given one partition's bytes from a Produce request and the
//! topic's resolved rules ([`ProduceRules`]), walk the batches once and check
//! structure, magic, size (`max.message.bytes`), CRC (once), record counts,
//! control batches (coordinators only), keys on compacted topics and the
//! record timestamps, recompressing where `compression.type` names another
//! codec. The result, [`ValidatedBatches`], is what [`crate::PartitionLog`]
//! appends (it then only assigns offsets and stamps headers) and carries what
//! the broker's idempotence / transaction check needs per batch.
//!
//! Records are decompressed only when a rule needs them: recompression, keys
//! on a compacted topic, or a header that leaves the max timestamp unset (some
//! clients do) on a CreateTime topic. Uncompressed records are walked in
//! place (it costs no copy) to check their structure, count and timestamps.
//!
//! Records at fault are named as Kafka does (KIP-467): their index in their
//! batch and a message, in [`ValidationError::InvalidRecords`].

use crate::batch::{iter_batches, BatchBuilder, BatchHeader, RecordView};
use crate::compression::Compression;
use crate::error::BatchError;
use std::borrow::Cow;

/// What a record set is checked against: the topic's rules, resolved by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceRules {
    /// `max.message.bytes`: the largest batch accepted (before and after recompression).
    pub max_batch_bytes: i64,
    /// `compression.type` when it names a codec; `None` keeps the producer's.
    pub target_compression: Option<Compression>,
    /// The topic is compacted: every record needs a key.
    pub keys_required: bool,
    /// `message.timestamp.type` is LogAppendTime (record timestamps are not needed).
    pub log_append_time: bool,
    /// The writer is a client (control batches are refused), not a coordinator.
    pub client: bool,
}

impl ProduceRules {
    /// The rules for the broker's own writers (transaction markers, coordinator
    /// state): any size, the writer's codec, control batches allowed.
    pub fn internal() -> Self {
        ProduceRules {
            max_batch_bytes: i64::MAX,
            target_compression: None,
            keys_required: false,
            log_append_time: false,
            client: false,
        }
    }
}

/// One checked batch, as appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatedBatch {
    /// Where the batch starts in [`ValidatedBatches::bytes`].
    pub position: usize,
    /// Its size in bytes (log overhead included).
    pub len: usize,
    pub last_offset_delta: i32,
    pub record_count: i32,
    /// The largest record timestamp (from the records when they were read,
    /// else the header's).
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub last_sequence: i32,
    pub transactional: bool,
    pub control: bool,
}

/// A record set that passed [`validate`]: the bytes to append (the request's
/// own, or a recompressed copy) and one [`ValidatedBatch`] per batch. Only
/// this module builds one, so an append can trust it.
#[derive(Debug, Clone)]
pub struct ValidatedBatches<'a> {
    bytes: Cow<'a, [u8]>,
    batches: Vec<ValidatedBatch>,
}

impl ValidatedBatches<'_> {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn batches(&self) -> &[ValidatedBatch] {
        &self.batches
    }
    /// Number of offsets the record set takes.
    pub fn offset_count(&self) -> i64 {
        self.batches
            .iter()
            .map(|b| b.last_offset_delta as i64 + 1)
            .sum()
    }
}

/// One record at fault: its index in its batch and why (KIP-467's
/// `batch_index` and `batch_index_error_message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: String,
}

/// Why a record set was refused. The broker maps these to Kafka error codes.
#[derive(Debug, thiserror::Error)]
pub enum ValidationError {
    /// Structure, magic, CRC, record count or codec: the whole set is refused.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A batch is larger than `max.message.bytes`.
    #[error("batch of {size} bytes exceeds max.message.bytes {max}")]
    TooLarge { size: usize, max: i64 },
    /// A client sent a control batch.
    #[error("Clients are not allowed to write control records in topic partition {0}")]
    ControlBatch(String),
    /// Records of one batch broke a topic rule; `message` is the partition's
    /// error message (Kafka's wording), `errors` the records at fault.
    #[error("{message}")]
    InvalidRecords {
        errors: Vec<RecordError>,
        message: String,
    },
}

fn invalid_records(errors: Vec<RecordError>) -> ValidationError {
    let shown: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| {
            format!(
                "RecordError(batchIndex={}, message='{}')",
                e.batch_index, e.message
            )
        })
        .collect();
    let message = format!(
        "One or more records have been rejected due to {} record errors in total, \
         and only showing the first three errors at most: [{}]",
        errors.len(),
        shown.join(", ")
    );
    ValidationError::InvalidRecords { errors, message }
}

fn keyless_error(topic: &str, partition: i32, batch_index: i32) -> RecordError {
    RecordError {
        batch_index,
        message: format!(
            "Compacted topic cannot accept message without key in topic partition {topic}-{partition}"
        ),
    }
}

/// Walk the records of `b` (decompressing if it is compressed): checks their
/// structure and count, collects keyless ones when keys are required, and
/// returns the largest record timestamp (-1 for none).
fn walk_records(
    b: &BatchHeader<'_>,
    keys_required: bool,
    topic: &str,
    partition: i32,
) -> Result<i64, ValidationError> {
    let data = b.record_data()?;
    let mut pos = 0usize;
    let mut count: i32 = 0;
    let mut max_delta: Option<i64> = None;
    let mut errors = Vec::new();
    while pos < data.len() {
        let rec = RecordView::parse(&data[pos..])?;
        pos += rec.total_len;
        if keys_required && rec.key.is_none() {
            errors.push(keyless_error(topic, partition, count));
        }
        max_delta = Some(max_delta.map_or(rec.timestamp_delta, |m| m.max(rec.timestamp_delta)));
        count = count.saturating_add(1);
    }
    if count != b.record_count() {
        return Err(BatchError::RecordCountMismatch {
            declared: b.record_count(),
            actual: count,
        }
        .into());
    }
    if !errors.is_empty() {
        return Err(invalid_records(errors));
    }
    Ok(max_delta.map_or(-1, |d| b.base_timestamp().saturating_add(d)))
}

/// Re-encode `b` with `target`: checks keys on the decoded records on the way.
fn recompress(
    b: &BatchHeader<'_>,
    target: Compression,
    rules: &ProduceRules,
    topic: &str,
    partition: i32,
) -> Result<Vec<u8>, ValidationError> {
    let records = b.records()?;
    if rules.keys_required {
        let errors: Vec<_> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.key.is_none())
            .map(|(i, _)| keyless_error(topic, partition, i as i32))
            .collect();
        if !errors.is_empty() {
            return Err(invalid_records(errors));
        }
    }
    // Never a control batch (those keep their codec), so `like` copies control = false.
    let mut builder = BatchBuilder::like(b)?;
    builder.compression = target;
    for r in records {
        builder.push(r);
    }
    let out = builder.build()?;
    if out.len() as i64 > rules.max_batch_bytes {
        return Err(ValidationError::TooLarge {
            size: out.len(),
            max: rules.max_batch_bytes,
        });
    }
    Ok(out)
}

/// Validate one partition's record set against `rules` (see the module doc).
/// `topic` and `partition` only name the partition in error messages.
/// Batches are checked in order and the first failure refuses the whole set,
/// as Kafka does: per batch its size before its CRC, then its record count,
/// then its records.
pub fn validate<'a>(
    records: &'a [u8],
    rules: &ProduceRules,
    topic: &str,
    partition: i32,
) -> Result<ValidatedBatches<'a>, ValidationError> {
    if records.is_empty() {
        return Err(BatchError::Empty.into());
    }
    let mut batches = Vec::new();
    // The re-encoded set, started at the first batch that needs recompression.
    let mut rewritten: Option<Vec<u8>> = None;
    let mut pos = 0usize;
    for b in iter_batches(records) {
        let b = b?;
        let len = b.total_len();
        if len as i64 > rules.max_batch_bytes {
            return Err(ValidationError::TooLarge {
                size: len,
                max: rules.max_batch_bytes,
            });
        }
        b.validate_crc()?;
        crate::batch::check_record_count(&b)?;
        if b.is_control() && rules.client {
            return Err(ValidationError::ControlBatch(format!(
                "{topic}-{partition}"
            )));
        }
        let codec = b.compression()?;
        let target = rules
            .target_compression
            .filter(|&t| t != codec && !b.is_control());
        let position = rewritten.as_ref().map_or(pos, |w| w.len());
        let (new_len, max_timestamp) = if let Some(target) = target {
            let out = recompress(&b, target, rules, topic, partition)?;
            let max_ts = BatchHeader::parse(&out)?.max_timestamp();
            let w = rewritten.get_or_insert_with(|| {
                let mut w = Vec::with_capacity(records.len());
                w.extend_from_slice(&records[..pos]);
                w
            });
            w.extend_from_slice(&out);
            (out.len(), max_ts)
        } else {
            let header_ts_unset = b.max_timestamp() < 0 || b.max_timestamp() < b.base_timestamp();
            let walk = codec == Compression::None
                || (rules.keys_required && !b.is_control())
                || (header_ts_unset && !rules.log_append_time);
            let max_ts = if walk {
                walk_records(&b, rules.keys_required && !b.is_control(), topic, partition)?
            } else {
                b.max_timestamp()
            };
            if let Some(w) = rewritten.as_mut() {
                w.extend_from_slice(b.bytes());
            }
            (len, max_ts)
        };
        batches.push(ValidatedBatch {
            position,
            len: new_len,
            last_offset_delta: b.last_offset_delta(),
            record_count: b.record_count(),
            max_timestamp,
            producer_id: b.producer_id(),
            producer_epoch: b.producer_epoch(),
            base_sequence: b.base_sequence(),
            last_sequence: b.last_sequence(),
            transactional: b.is_transactional(),
            control: b.is_control(),
        });
        pos += len;
    }
    let bytes = match rewritten {
        Some(w) => Cow::Owned(w),
        None => Cow::Borrowed(records),
    };
    Ok(ValidatedBatches { bytes, batches })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Record;
    use bytes::Bytes;

    fn batch(codec: Compression, keyless: &[usize], n: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.compression = codec;
        for i in 0..n {
            b.push(Record {
                offset: i as i64,
                timestamp: 100 + i as i64,
                key: (!keyless.contains(&i)).then(|| Bytes::from(format!("k{i}"))),
                value: Some(Bytes::from(format!("v{i}"))),
                headers: vec![],
            });
        }
        b.build().unwrap()
    }

    fn client(keys_required: bool) -> ProduceRules {
        ProduceRules {
            max_batch_bytes: 1 << 20,
            target_compression: None,
            keys_required,
            log_append_time: false,
            client: true,
        }
    }

    #[test]
    fn plain_batches_pass_through_borrowed_with_their_metadata() {
        let mut set = batch(Compression::None, &[], 3);
        set.extend(batch(Compression::Lz4, &[], 2));
        let v = validate(&set, &client(false), "t", 0).unwrap();
        assert!(matches!(v.bytes, Cow::Borrowed(_)));
        assert_eq!(v.batches().len(), 2);
        assert_eq!(v.batches()[0].max_timestamp, 102);
        assert_eq!(v.batches()[1].max_timestamp, 101);
        assert_eq!(v.batches()[1].position, v.batches()[0].len);
        assert_eq!(v.offset_count(), 5);
    }

    #[test]
    fn keyless_records_on_compacted_topics_are_named_one_by_one() {
        for codec in [Compression::None, Compression::Zstd] {
            let set = batch(codec, &[1, 4], 6);
            assert!(validate(&set, &client(false), "t", 0).is_ok());
            let Err(ValidationError::InvalidRecords { errors, message }) =
                validate(&set, &client(true), "t", 3)
            else {
                panic!("keyless records accepted ({codec:?})");
            };
            assert_eq!(
                errors.iter().map(|e| e.batch_index).collect::<Vec<_>>(),
                vec![1, 4]
            );
            let why = "Compacted topic cannot accept message without key in topic partition t-3";
            assert_eq!(errors[0].message, why);
            assert_eq!(
                message,
                format!(
                    "One or more records have been rejected due to 2 record errors in total, \
                     and only showing the first three errors at most: \
                     [RecordError(batchIndex=1, message='{why}'), \
                     RecordError(batchIndex=4, message='{why}')]"
                )
            );
        }
    }

    #[test]
    fn size_is_checked_before_the_crc_and_control_batches_are_refused() {
        let mut set = batch(Compression::None, &[], 3);
        let last = set.len() - 1;
        set[last] ^= 0xff;
        let mut rules = client(false);
        assert!(matches!(
            validate(&set, &rules, "t", 0),
            Err(ValidationError::Batch(BatchError::CrcMismatch { .. }))
        ));
        rules.max_batch_bytes = 10;
        assert!(matches!(
            validate(&set, &rules, "t", 0),
            Err(ValidationError::TooLarge { .. })
        ));
        let mut b = BatchBuilder::new();
        b.control = true;
        b.push(Record {
            offset: 0,
            timestamp: 1,
            key: Some(Bytes::from_static(b"\0\0\0\0")),
            value: None,
            headers: vec![],
        });
        let control = b.build().unwrap();
        assert!(matches!(
            validate(&control, &client(false), "t", 0),
            Err(ValidationError::ControlBatch(_))
        ));
        assert!(validate(&control, &ProduceRules::internal(), "t", 0).is_ok());
        assert!(matches!(
            validate(&[], &client(false), "t", 0),
            Err(ValidationError::Batch(BatchError::Empty))
        ));
    }

    #[test]
    fn recompression_rewrites_only_batches_in_another_codec() {
        let mut set = batch(Compression::Zstd, &[], 2);
        set.extend(batch(Compression::None, &[], 3));
        let mut rules = client(false);
        rules.target_compression = Some(Compression::Zstd);
        let v = validate(&set, &rules, "t", 0).unwrap();
        assert!(matches!(v.bytes, Cow::Owned(_)));
        let parsed: Vec<_> = iter_batches(v.bytes()).map(|b| b.unwrap()).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(&v.bytes()[..v.batches()[0].len], parsed[0].bytes());
        assert_eq!(parsed[1].compression().unwrap(), Compression::Zstd);
        assert_eq!(v.batches()[1].position, parsed[0].total_len());
        assert_eq!(v.batches()[1].len, parsed[1].total_len());
        assert_eq!(v.batches()[1].max_timestamp, 102);
        assert_eq!(parsed[1].records().unwrap().len(), 3);
    }

    #[test]
    fn record_count_lies_are_refused() {
        let mut set = batch(Compression::None, &[], 3);
        // Declare 2 records (and last offset delta 1) while 3 are present.
        set[57..61].copy_from_slice(&2i32.to_be_bytes());
        set[23..27].copy_from_slice(&1i32.to_be_bytes());
        let crc = crc32c::crc32c(&set[21..]);
        set[17..21].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(
            validate(&set, &client(false), "t", 0),
            Err(ValidationError::Batch(
                BatchError::RecordCountMismatch { .. }
            ))
        ));
    }
}
