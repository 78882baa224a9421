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
//! Compressed records are decoded one at a time from the decompressing stream
//! (as Kafka's `streamingIterator`), so memory is one record, never a batch's
//! inflated size; the CPU one batch costs is bounded by [`MAX_INFLATION`] and by
//! its declared record count (decoding stops at the first record past it).
//! Recompression holds the batch's records, as Kafka's validator does.
//!
//! Records at fault are named as Kafka does (KIP-467): their index in their
//! batch and a message, in [`ValidationError::InvalidRecords`].

use crate::batch::{iter_batches, BatchBuilder, BatchHeader, RecordStream, RecordView, Skimmed};
use crate::compression::{CompressOptions, Compression};
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
    /// KIP-937's bounds on CreateTime record timestamps; `None` on
    /// LogAppendTime topics and for the broker's own writers.
    pub timestamp_bounds: Option<TimestampBounds>,
    /// The levels a recompressed batch is encoded with (`compression.gzip.level`,
    /// `compression.zstd.level`); batches kept in the producer's codec are untouched.
    pub compress_options: CompressOptions,
}

/// `message.timestamp.before.max.ms` / `message.timestamp.after.max.ms`
/// (KIP-937), measured from `now_ms`: a CreateTime record is refused with
/// INVALID_TIMESTAMP when `now - ts > before` or `ts - now > after` (Kafka's
/// `LogValidator.recordHasInvalidTimestamp`, in Java's wrapping arithmetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampBounds {
    pub now_ms: i64,
    pub before_max_ms: i64,
    pub after_max_ms: i64,
}

impl TimestampBounds {
    /// Whether a record timestamp is out of bounds (-1, no timestamp, never is).
    fn rejects(&self, ts: i64) -> bool {
        if ts == -1 {
            return false;
        }
        let diff = self.now_ms.wrapping_sub(ts);
        diff > self.before_max_ms || diff.wrapping_neg() > self.after_max_ms
    }

    /// Whether every record of a batch whose largest timestamp is `max_ts`
    /// passes without reading them: true when the lower bound is off (the
    /// default, `Long.MAX_VALUE`) and `max_ts` is within the upper one.
    fn header_suffices(&self, max_ts: i64) -> bool {
        self.before_max_ms == i64::MAX && !self.rejects(max_ts)
    }

    /// Kafka's per-record message.
    fn error(&self, batch_index: i32, ts: i64, offset: i64) -> RecordError {
        RecordError {
            batch_index,
            message: format!(
                "Timestamp {ts} of message with offset {offset} is out of range. \
                 The timestamp should be within [{}, {}]",
                self.now_ms.wrapping_sub(self.before_max_ms),
                self.now_ms.wrapping_add(self.after_max_ms)
            ),
        }
    }
}

/// How far one batch's records may inflate when decompressed, as a multiple of
/// `max.message.bytes`: a batch whose records decompress past
/// `MAX_INFLATION * max_batch_bytes` (and never past
/// [`crate::compression::MAX_DECOMPRESSED`]) is refused as a decompression error
/// (a decompression bomb), in memory and time bounded by that limit. Real
/// producers' data stays far below (64 MiB of records for the default 1 MiB).
pub const MAX_INFLATION: i64 = 64;

impl ProduceRules {
    /// The most bytes one batch's records may decompress to (see [`MAX_INFLATION`]).
    pub fn inflate_limit(&self) -> usize {
        let max = crate::compression::MAX_DECOMPRESSED as i64;
        self.max_batch_bytes
            .max(0)
            .saturating_mul(MAX_INFLATION)
            .min(max) as usize
    }

    /// The rules for the broker's own writers (transaction markers, coordinator
    /// state): any size, the writer's codec, control batches allowed.
    pub fn internal() -> Self {
        ProduceRules {
            max_batch_bytes: i64::MAX,
            target_compression: None,
            keys_required: false,
            log_append_time: false,
            client: false,
            timestamp_bounds: None,
            compress_options: CompressOptions::KAFKA,
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
    /// As `InvalidRecords`, with at least one record outside KIP-937's
    /// timestamp bounds (Kafka then answers INVALID_TIMESTAMP for the whole
    /// partition, naming every record at fault).
    #[error("{message}")]
    InvalidTimestamps {
        errors: Vec<RecordError>,
        message: String,
    },
}

/// The error for one batch's records at fault (Kafka's `processRecordErrors`).
fn record_errors(errors: Vec<RecordError>, timestamps: bool) -> ValidationError {
    if timestamps {
        ValidationError::InvalidTimestamps {
            errors,
            message: "One or more records have been rejected due to invalid timestamp".into(),
        }
    } else {
        invalid_records(errors)
    }
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

/// Bytes of a batch CRC-32C'd per step when the CRC runs ahead of the record
/// walk: three of the `crc32c` crate's long blocks (its fastest, 3-way
/// parallel loop), small enough to stay in the L1/L2 cache for the walk.
const CRC_STEP: usize = 3 * 8192;

/// A batch's CRC-32C (attributes to end, as [`BatchHeader::validate_crc`])
/// computed a step ahead of the walk over its records: the walk then reads
/// each record's fields from cache instead of fetching one cache line per
/// record from memory in a second pass over the batch. Every byte is still
/// checked; the walk's errors are reported only if the CRC matches.
struct CrcAhead<'a> {
    bytes: &'a [u8],
    done: usize,
    crc: u32,
}

impl<'a> CrcAhead<'a> {
    fn new(b: &BatchHeader<'a>) -> Self {
        CrcAhead {
            bytes: b.bytes(),
            done: crate::batch::ATTRIBUTES_POS,
            crc: 0,
        }
    }

    /// Extend the CRC, a step at a time, until it covers `[.., upto)`.
    fn cover(&mut self, upto: usize) {
        let upto = upto.min(self.bytes.len());
        while self.done < upto {
            let next = (self.done + CRC_STEP).min(self.bytes.len());
            self.crc = crc32c::crc32c_append(self.crc, &self.bytes[self.done..next]);
            self.done = next;
        }
    }

    /// The whole batch's CRC checked against the stored one.
    fn check(mut self, stored: u32) -> Result<(), BatchError> {
        self.cover(self.bytes.len());
        if self.crc != stored {
            return Err(BatchError::CrcMismatch {
                stored,
                computed: self.crc,
            });
        }
        Ok(())
    }
}

/// Walk the records of `b` (decompressing if it is compressed): checks their
/// structure and count, collects keyless ones when keys are required and
/// those outside `bounds` (a keyless record is named for its key only, as
/// Kafka's `validateRecord` does), and returns the largest record timestamp
/// (-1 for none).
fn walk_records(
    b: &BatchHeader<'_>,
    keys_required: bool,
    bounds: Option<&TimestampBounds>,
    topic: &str,
    partition: i32,
    inflate_limit: usize,
    mut crc: Option<&mut CrcAhead<'_>>,
) -> Result<i64, ValidationError> {
    let mut count: i32 = 0;
    let mut max_delta: Option<i64> = None;
    let mut errors = Vec::new();
    let mut bad_timestamps = false;
    let mut visit = |rec: &Skimmed, count: i32| {
        if keys_required && !rec.has_key {
            errors.push(keyless_error(topic, partition, count));
        } else if let Some(bounds) = bounds {
            let ts = b.base_timestamp().wrapping_add(rec.timestamp_delta);
            if bounds.rejects(ts) {
                let offset = b.base_offset().wrapping_add(rec.offset_delta as i64);
                errors.push(bounds.error(count, ts, offset));
                bad_timestamps = true;
            }
        }
        max_delta = Some(max_delta.map_or(rec.timestamp_delta, |m| m.max(rec.timestamp_delta)));
    };
    if b.compression()? == Compression::None {
        // In place: the records are the request's bytes.
        let data = &b.bytes()[crate::batch::HEADER_LEN..];
        let mut pos = 0usize;
        while pos < data.len() {
            if let Some(crc) = crc.as_deref_mut() {
                // Past this record's first bytes: they are read from cache.
                crc.cover(crate::batch::HEADER_LEN + pos + 64);
            }
            let rec = match RecordView::skim(&data[pos..]) {
                Some(rec) => rec,
                // Malformed: the full parse names the fault.
                None => RecordView::parse(&data[pos..])?.skimmed(),
            };
            pos += rec.total_len;
            visit(&rec, count);
            count = count.saturating_add(1);
        }
    } else {
        // Record by record from the decompressing stream: memory is one record.
        // Past the declared count the batch is refused without inflating the
        // rest (Kafka: "records still remaining").
        let mut stream = RecordStream::new(b, inflate_limit)?;
        while let Some(rec) = stream.next_record()? {
            let rec = rec.skimmed();
            if count == b.record_count() {
                return Err(BatchError::RecordCountMismatch {
                    declared: b.record_count(),
                    actual: count.saturating_add(1),
                }
                .into());
            }
            visit(&rec, count);
            count = count.saturating_add(1);
        }
    }
    if count != b.record_count() {
        return Err(BatchError::RecordCountMismatch {
            declared: b.record_count(),
            actual: count,
        }
        .into());
    }
    if !errors.is_empty() {
        return Err(record_errors(errors, bad_timestamps));
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
    let records = b.records_limited(rules.inflate_limit())?;
    if rules.keys_required || rules.timestamp_bounds.is_some() {
        let mut bad_timestamps = false;
        let errors: Vec<_> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                if rules.keys_required && r.key.is_none() {
                    return Some(keyless_error(topic, partition, i as i32));
                }
                let bounds = rules.timestamp_bounds.as_ref()?;
                bounds.rejects(r.timestamp).then(|| {
                    bad_timestamps = true;
                    bounds.error(i as i32, r.timestamp, r.offset)
                })
            })
            .collect();
        if !errors.is_empty() {
            return Err(record_errors(errors, bad_timestamps));
        }
    }
    // Never a control batch (those keep their codec), so `like` copies control = false.
    let mut builder = BatchBuilder::like(b)?;
    builder.compression = target;
    for r in records {
        builder.push(r);
    }
    let out = builder.build_with(rules.compress_options)?;
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
        // Control batches (coordinators' markers) are not the producer's records.
        let bounds = rules.timestamp_bounds.as_ref().filter(|_| !b.is_control());
        let keys = rules.keys_required && !b.is_control();
        // An uncompressed batch kept as it is: its records are walked with the
        // CRC running ahead ([`CrcAhead`]), one pass over the batch. What is
        // reported is what the checks one after the other would report: the
        // CRC, the record count, a client's control batch, then the records.
        let in_place = matches!(b.compression(), Ok(Compression::None))
            && (b.is_control()
                || rules
                    .target_compression
                    .is_none_or(|t| t == Compression::None));
        let walked = if in_place {
            let mut crc = CrcAhead::new(&b);
            let walk = walk_records(&b, keys, bounds, topic, partition, 0, Some(&mut crc));
            crc.check(b.crc())?;
            Some(walk)
        } else {
            b.validate_crc()?;
            None
        };
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
                || keys
                || (header_ts_unset && !rules.log_append_time)
                || bounds.is_some_and(|t| !t.header_suffices(b.max_timestamp()));
            let max_ts = if let Some(walked) = walked {
                walked?
            } else if walk {
                walk_records(
                    &b,
                    keys,
                    bounds,
                    topic,
                    partition,
                    rules.inflate_limit(),
                    None,
                )?
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
            timestamp_bounds: None,
            compress_options: CompressOptions::KAFKA,
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
    fn a_batch_walked_under_its_crc_reports_the_crc_first_then_its_records() {
        // 100 records of 1 KiB: several CRC steps, record headers in each.
        let mut b = BatchBuilder::new();
        for i in 0..100 {
            b.push(Record {
                offset: i,
                timestamp: 1000 + (i * 7) % 50,
                key: None,
                value: Some(Bytes::from(vec![i as u8; 1024])),
                headers: vec![],
            });
        }
        let set = b.build().unwrap();
        assert!(set.len() > 4 * CRC_STEP);
        let ok = validate(&set, &client(false), "t", 0).unwrap();
        assert_eq!(ok.batches()[0].max_timestamp, 1049);
        assert!(matches!(ok.bytes, Cow::Borrowed(_)));
        let recrc = |set: &mut Vec<u8>| {
            let crc = crc32c::crc32c(&set[21..]);
            set[17..21].copy_from_slice(&crc.to_be_bytes());
        };
        // A flipped byte in the last record's value (the CRC's last step).
        let mut tail = set.clone();
        let last = tail.len() - 1;
        tail[last] ^= 1;
        match validate(&tail, &client(false), "t", 0) {
            Err(ValidationError::Batch(BatchError::CrcMismatch { stored, computed })) => {
                assert_eq!(stored, BatchHeader::parse(&set).unwrap().crc());
                assert_eq!(computed, crc32c::crc32c(&tail[21..]));
            }
            other => panic!("{other:?}"),
        }
        // A record in the middle whose length is negative (varint 1 = -1):
        // the CRC is reported while it does not match, the record once it does.
        let mut broken = set.clone();
        let mut pos = crate::batch::HEADER_LEN;
        for _ in 0..50 {
            pos += RecordView::parse(&broken[pos..]).unwrap().total_len;
        }
        broken[pos] = 1;
        assert!(matches!(
            validate(&broken, &client(false), "t", 0),
            Err(ValidationError::Batch(BatchError::CrcMismatch { .. }))
        ));
        recrc(&mut broken);
        assert!(matches!(
            validate(&broken, &client(false), "t", 0),
            Err(ValidationError::Batch(BatchError::CorruptRecord(_)))
        ));
        // A timestamp out of bounds is named only under a matching CRC too.
        let late = bounded(0, i64::MAX, 10);
        let mut bad_ts = set.clone();
        assert!(matches!(
            validate(&bad_ts, &late, "t", 0),
            Err(ValidationError::InvalidTimestamps { .. })
        ));
        bad_ts[last] ^= 1;
        assert!(matches!(
            validate(&bad_ts, &late, "t", 0),
            Err(ValidationError::Batch(BatchError::CrcMismatch { .. }))
        ));
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

    fn bounded(now_ms: i64, before_max_ms: i64, after_max_ms: i64) -> ProduceRules {
        ProduceRules {
            timestamp_bounds: Some(TimestampBounds {
                now_ms,
                before_max_ms,
                after_max_ms,
            }),
            ..client(false)
        }
    }

    #[test]
    fn kip_937_bounds_name_each_record_out_of_range_as_kafka() {
        // Records at 100, 101, 102; now = 1100.
        for codec in [Compression::None, Compression::Lz4] {
            let set = batch(codec, &[], 3);
            // before.max = 999: 100 is 1000 ms old (out), 101 is 999 ms old (in).
            let Err(ValidationError::InvalidTimestamps { errors, message }) =
                validate(&set, &bounded(1100, 999, 0), "t", 0)
            else {
                panic!("old record accepted ({codec:?})");
            };
            assert_eq!(
                message,
                "One or more records have been rejected due to invalid timestamp"
            );
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].batch_index, 0);
            assert_eq!(
                errors[0].message,
                "Timestamp 100 of message with offset 0 is out of range. \
                 The timestamp should be within [101, 1100]"
            );
            // after.max = 1 from now = 100: 102 is 2 ms ahead (out), 101 is in.
            let Err(ValidationError::InvalidTimestamps { errors, .. }) =
                validate(&set, &bounded(100, i64::MAX, 1), "t", 0)
            else {
                panic!("future record accepted ({codec:?})");
            };
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].batch_index, 2);
            assert_eq!(
                errors[0].message,
                format!(
                    "Timestamp 102 of message with offset 2 is out of range. \
                     The timestamp should be within [{}, 101]",
                    100i64.wrapping_sub(i64::MAX)
                )
            );
            // Kafka's defaults (no lower bound, one hour ahead) pass, without a copy.
            let v = validate(&set, &bounded(100, i64::MAX, 3_600_000), "t", 0).unwrap();
            assert!(matches!(v.bytes, Cow::Borrowed(_)));
        }
    }

    #[test]
    fn a_keyless_record_is_named_for_its_key_only() {
        let set = batch(Compression::None, &[0], 2);
        let rules = ProduceRules {
            keys_required: true,
            ..bounded(10_000, 0, 0)
        };
        let Err(ValidationError::InvalidTimestamps { errors, .. }) = validate(&set, &rules, "t", 0)
        else {
            panic!("accepted");
        };
        assert_eq!(errors.len(), 2);
        assert!(errors[0]
            .message
            .starts_with("Compacted topic cannot accept"));
        assert!(errors[1]
            .message
            .starts_with("Timestamp 101 of message with offset 1"));
        // Keys only: Kafka's INVALID_RECORD summary.
        let set = batch(Compression::None, &[0], 1);
        assert!(matches!(
            validate(&set, &rules, "t", 0),
            Err(ValidationError::InvalidRecords { .. })
        ));
    }

    #[test]
    fn recompression_checks_timestamps_on_the_decoded_records() {
        let set = batch(Compression::None, &[], 2);
        let rules = ProduceRules {
            target_compression: Some(Compression::Gzip),
            ..bounded(100, i64::MAX, 0)
        };
        let Err(ValidationError::InvalidTimestamps { errors, .. }) = validate(&set, &rules, "t", 0)
        else {
            panic!("accepted");
        };
        assert_eq!(errors[0].batch_index, 1);
    }

    /// One keyed record of `n` zero bytes in a `codec` batch.
    fn zeros(codec: Compression, n: usize) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.compression = codec;
        b.push(crate::batch::Record {
            offset: 0,
            timestamp: 100,
            key: Some(bytes::Bytes::from_static(b"k")),
            value: Some(bytes::Bytes::from(vec![0u8; n])),
            headers: Vec::new(),
        });
        b.build().unwrap()
    }

    /// `b` with its declared record count (and last offset delta) set to `count`,
    /// the CRC made right again.
    fn declare(mut b: Vec<u8>, count: i32) -> Vec<u8> {
        b[23..27].copy_from_slice(&(count - 1).to_be_bytes());
        b[57..61].copy_from_slice(&count.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    /// A batch whose compressed records are `raw` (any bytes), declaring `count`.
    fn compressed_raw(codec: Compression, raw: &[u8], count: i32) -> Vec<u8> {
        let mut b = zeros(codec, 0);
        b.truncate(crate::batch::HEADER_LEN);
        b.extend_from_slice(&codec.compress(raw).unwrap());
        let len = (b.len() - crate::batch::LOG_OVERHEAD) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        declare(b, count)
    }

    const STREAMED: [Compression; 4] = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn records_past_the_declared_count_end_the_stream_at_the_first_extra_one() {
        for codec in STREAMED {
            let b = declare(batch(codec, &[], 50_000), 1);
            match validate(&b, &client(true), "t", 0) {
                Err(ValidationError::Batch(BatchError::RecordCountMismatch {
                    declared: 1,
                    actual: 2,
                })) => {}
                other => panic!("{codec:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_bomb_of_zeros_is_refused_at_its_first_record_not_inflated() {
        // 10 MB of zeros, more than 64x max.message.bytes (6.4 MB): decoding
        // stops at the first (empty, so corrupt) record, long before the limit.
        let rules = ProduceRules {
            max_batch_bytes: 100_000,
            ..client(true)
        };
        for codec in [Compression::Gzip, Compression::Lz4, Compression::Zstd] {
            let bomb = compressed_raw(codec, &vec![0u8; 10_000_000], 1);
            assert!(bomb.len() < 100_000, "{codec:?}: {}", bomb.len());
            match validate(&bomb, &rules, "t", 0) {
                Err(ValidationError::Batch(BatchError::CorruptRecord(_))) => {}
                other => panic!("{codec:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn compressed_data_the_codec_cannot_read_is_a_decompression_error() {
        for codec in STREAMED {
            let mut b = batch(codec, &[], 20);
            let n = b.len();
            for x in &mut b[crate::batch::HEADER_LEN + 8..n] {
                *x ^= 0x5a;
            }
            let b = declare(b, 20);
            match validate(&b, &client(true), "t", 0) {
                Err(ValidationError::Batch(
                    BatchError::Decompression(_) | BatchError::CorruptRecord(_),
                )) => {}
                other => panic!("{codec:?}: {other:?}"),
            }
        }
        // Garbage that no gzip stream starts with.
        let garbage = compressed_raw(Compression::None, &[0x42; 64], 1);
        let mut g = garbage.clone();
        g[22] = (g[22] & !7) | Compression::Gzip as u8;
        let g = declare(g, 1);
        assert!(matches!(
            validate(&g, &client(true), "t", 0),
            Err(ValidationError::Batch(BatchError::Decompression(_)))
        ));
    }

    #[test]
    fn a_megabyte_of_compressible_real_data_is_accepted_by_every_codec() {
        let line = |i: usize| {
            format!(
                "{{\"ts\":\"2026-11-30T01:{:02}:{:02}Z\",\"level\":\"INFO\",\"service\":\"checkout\",\
                 \"msg\":\"order {i} accepted\",\"user\":{},\"items\":[1,2,3],\"pad\":\"{}\"}}",
                i % 60,
                i % 60,
                i % 977,
                "x".repeat(400)
            )
        };
        for codec in STREAMED {
            let mut b = BatchBuilder::new();
            b.compression = codec;
            let mut raw = 0;
            for i in 0..2_000 {
                let v = line(i);
                raw += v.len();
                b.push(Record {
                    offset: i as i64,
                    timestamp: 100 + i as i64,
                    key: Some(Bytes::from(format!("k{i}"))),
                    value: Some(Bytes::from(v)),
                    headers: vec![],
                });
            }
            assert!(raw > 1_000_000);
            let b = b.build().unwrap();
            let walked = validate(&b, &client(true), "t", 0).unwrap();
            assert_eq!(walked.batches()[0].record_count, 2_000);
            let recompress = ProduceRules {
                target_compression: Some(if codec == Compression::Zstd {
                    Compression::Gzip
                } else {
                    Compression::Zstd
                }),
                ..client(true)
            };
            validate(&b, &recompress, "t", 0).unwrap();
        }
    }

    #[test]
    fn a_batch_inflating_past_64x_max_message_bytes_is_refused_as_corrupt() {
        // max.message.bytes 1000: records may inflate to 64,000 bytes.
        let rules = ProduceRules {
            max_batch_bytes: 1000,
            ..client(true)
        };
        assert_eq!(rules.inflate_limit(), 64_000);
        let recompress = ProduceRules {
            target_compression: Some(Compression::Gzip),
            ..rules
        };
        // (Snappy cannot inflate more than 22x: its blocks are refused before.)
        for codec in [Compression::Gzip, Compression::Lz4, Compression::Zstd] {
            for rules in [rules, recompress] {
                let fits = zeros(codec, 60_000);
                assert!(
                    fits.len() <= 1000,
                    "{codec:?} packs 60 kB of zeros in {}",
                    fits.len()
                );
                if rules.target_compression != Some(codec) {
                    validate(&fits, &rules, "t", 0).unwrap();
                }
                let bomb = zeros(codec, 70_000);
                assert!(bomb.len() <= 1000);
                match validate(&bomb, &rules, "t", 0) {
                    Err(ValidationError::Batch(BatchError::InflateLimit { limit })) => {
                        assert_eq!(limit, 64_000)
                    }
                    other => panic!("{codec:?}: {other:?}"),
                }
            }
        }
        // The broker's own writers keep the 1 GiB cap.
        assert_eq!(
            ProduceRules::internal().inflate_limit(),
            crate::compression::MAX_DECOMPRESSED
        );
    }
}
