//! Kafka record batch format v2 (magic 2).
//!
//! Layout (big-endian): baseOffset i64, batchLength i32, partitionLeaderEpoch i32,
//! magic i8, crc u32 (CRC-32C over attributes..end), attributes i16,
//! lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64, producerId i64,
//! producerEpoch i16, baseSequence i32, records count i32, records...
//!
//! Each record: length varint, attributes i8, timestampDelta varlong,
//! offsetDelta varint, key (varint length, -1 = null), value (same),
//! header count varint, headers (key: varint length + UTF-8, value: varint
//! length + bytes, -1 = null). All varints are zigzag-encoded.
//!
//! This module owns: the zero-copy header view, CRC-32C validation, record
//! decoding (after decompression where needed; copied into [`Record`]s or lent
//! as [`RecordRef`]s), produce-side validation of a record set, and encoding:
//! [`BatchEncoder`] (records written in place, one pass) and [`BatchBuilder`]
//! on top of it. Sans-io (bytes in, bytes out: no files, no async), so the
//! broker, the log and the load harness (`weir bench`) share it.

use crate::compression::{CompressOptions, Compression};
use crate::error::BatchError;
use bytes::Bytes;

/// Size of the fixed v2 batch header (through the records count).
pub const HEADER_LEN: usize = 61;
/// Bytes before the batchLength-counted part: baseOffset i64 + batchLength i32.
pub const LOG_OVERHEAD: usize = 12;

// Field positions inside a batch.
pub(crate) const BASE_OFFSET_POS: usize = 0;
pub(crate) const LENGTH_POS: usize = 8;
pub(crate) const LEADER_EPOCH_POS: usize = 12;
pub(crate) const MAGIC_POS: usize = 16;
pub(crate) const CRC_POS: usize = 17;
pub(crate) const ATTRIBUTES_POS: usize = 21;
pub(crate) const LAST_OFFSET_DELTA_POS: usize = 23;
pub(crate) const BASE_TIMESTAMP_POS: usize = 27;
pub(crate) const MAX_TIMESTAMP_POS: usize = 35;
pub(crate) const PRODUCER_ID_POS: usize = 43;
pub(crate) const PRODUCER_EPOCH_POS: usize = 51;
pub(crate) const BASE_SEQUENCE_POS: usize = 53;
pub(crate) const RECORDS_COUNT_POS: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

#[inline]
pub(crate) fn be_i64(b: &[u8], pos: usize) -> i64 {
    i64::from_be_bytes(b[pos..pos + 8].try_into().expect("8 bytes"))
}
#[inline]
pub(crate) fn be_i32(b: &[u8], pos: usize) -> i32 {
    i32::from_be_bytes(b[pos..pos + 4].try_into().expect("4 bytes"))
}
#[inline]
fn be_i16(b: &[u8], pos: usize) -> i16 {
    i16::from_be_bytes(b[pos..pos + 2].try_into().expect("2 bytes"))
}

/// A zero-copy view of one batch's header over a byte slice that holds the whole batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader<'a> {
    bytes: &'a [u8],
}

impl<'a> BatchHeader<'a> {
    /// View the first batch in `buf`; checks there are enough bytes for the header and
    /// the declared length, and that magic is 2. Does not check the CRC.
    pub fn parse(buf: &'a [u8]) -> Result<BatchHeader<'a>, BatchError> {
        if buf.len() < HEADER_LEN {
            // A buffer with a readable magic byte that is not 2 is reported as such
            // (old message formats have shorter headers).
            if buf.len() > MAGIC_POS && buf[MAGIC_POS] as i8 != 2 {
                return Err(BatchError::BadMagic(buf[MAGIC_POS] as i8));
            }
            return Err(BatchError::TooShort(buf.len()));
        }
        let magic = buf[MAGIC_POS] as i8;
        if magic != 2 {
            return Err(BatchError::BadMagic(magic));
        }
        let batch_length = be_i32(buf, LENGTH_POS);
        let declared = LOG_OVERHEAD as i64 + batch_length as i64;
        if declared < HEADER_LEN as i64 {
            return Err(BatchError::LengthMismatch {
                declared: declared.max(0) as usize,
                available: buf.len(),
            });
        }
        let declared = declared as usize;
        if declared > buf.len() {
            return Err(BatchError::LengthMismatch {
                declared,
                available: buf.len(),
            });
        }
        Ok(BatchHeader {
            bytes: &buf[..declared],
        })
    }
    /// The whole batch (12-byte log overhead + batchLength).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// Total size of this batch in bytes, including the 12-byte log overhead.
    pub fn total_len(&self) -> usize {
        self.bytes.len()
    }
    pub fn base_offset(&self) -> i64 {
        be_i64(self.bytes, BASE_OFFSET_POS)
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset() + self.last_offset_delta() as i64
    }
    pub fn last_offset_delta(&self) -> i32 {
        be_i32(self.bytes, LAST_OFFSET_DELTA_POS)
    }
    pub fn partition_leader_epoch(&self) -> i32 {
        be_i32(self.bytes, LEADER_EPOCH_POS)
    }
    pub fn magic(&self) -> i8 {
        self.bytes[MAGIC_POS] as i8
    }
    pub fn crc(&self) -> u32 {
        be_i32(self.bytes, CRC_POS) as u32
    }
    pub fn attributes(&self) -> i16 {
        be_i16(self.bytes, ATTRIBUTES_POS)
    }
    pub fn compression(&self) -> Result<Compression, BatchError> {
        Compression::from_id((self.attributes() & COMPRESSION_MASK) as u8)
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes() & TRANSACTIONAL_BIT != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes() & CONTROL_BIT != 0
    }
    /// True when the timestamp type bit says LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes() & TIMESTAMP_TYPE_BIT != 0
    }
    pub fn base_timestamp(&self) -> i64 {
        be_i64(self.bytes, BASE_TIMESTAMP_POS)
    }
    pub fn max_timestamp(&self) -> i64 {
        be_i64(self.bytes, MAX_TIMESTAMP_POS)
    }
    pub fn producer_id(&self) -> i64 {
        be_i64(self.bytes, PRODUCER_ID_POS)
    }
    pub fn producer_epoch(&self) -> i16 {
        be_i16(self.bytes, PRODUCER_EPOCH_POS)
    }
    pub fn base_sequence(&self) -> i32 {
        be_i32(self.bytes, BASE_SEQUENCE_POS)
    }
    /// Sequence of the last record (base_sequence + last_offset_delta, wrapping at i32::MAX as Kafka does).
    pub fn last_sequence(&self) -> i32 {
        let base = self.base_sequence();
        if base == -1 {
            return -1;
        }
        let delta = self.last_offset_delta();
        if base > i32::MAX - delta {
            // Kafka: DefaultRecordBatch.incrementSequence wraps to 0.
            delta - (i32::MAX - base) - 1
        } else {
            base + delta
        }
    }
    pub fn record_count(&self) -> i32 {
        be_i32(self.bytes, RECORDS_COUNT_POS)
    }
    /// Recompute CRC-32C over attributes..end and compare with the stored CRC.
    pub fn validate_crc(&self) -> Result<(), BatchError> {
        let computed = crc32c::crc32c(&self.bytes[ATTRIBUTES_POS..]);
        let stored = self.crc();
        if computed != stored {
            return Err(BatchError::CrcMismatch { stored, computed });
        }
        Ok(())
    }
    /// The record bytes after the header, decompressed if the batch is compressed.
    pub(crate) fn record_data(&self) -> Result<std::borrow::Cow<'a, [u8]>, BatchError> {
        self.record_data_limited(crate::compression::MAX_DECOMPRESSED)
    }
    /// [`Self::record_data`], failing if the records inflate past `limit` bytes.
    pub(crate) fn record_data_limited(
        &self,
        limit: usize,
    ) -> Result<std::borrow::Cow<'a, [u8]>, BatchError> {
        let raw = &self.bytes[HEADER_LEN..];
        match self.compression()? {
            Compression::None => Ok(std::borrow::Cow::Borrowed(raw)),
            codec => Ok(std::borrow::Cow::Owned(
                codec.decompress_limited(raw, limit)?,
            )),
        }
    }
    /// Count the records actually present (decompressing if needed), checking each
    /// record's structure, and compare with the declared count.
    pub fn check_record_count(&self) -> Result<(), BatchError> {
        self.scan_records().map(|_| ())
    }
    /// Walk every record (decompressing if needed): checks the declared record
    /// count and returns the largest record timestamp (base timestamp + the
    /// largest timestamp delta), which may differ from the header's max timestamp
    /// when a client leaves that field unset.
    pub fn scan_records(&self) -> Result<i64, BatchError> {
        let declared = self.record_count();
        let data = self.record_data()?;
        let mut pos = 0usize;
        let mut actual: i32 = 0;
        let mut max_delta: Option<i64> = None;
        while pos < data.len() {
            let rec = RecordView::parse(&data[pos..])?;
            pos += rec.total_len;
            actual = actual.saturating_add(1);
            max_delta = Some(max_delta.map_or(rec.timestamp_delta, |m| m.max(rec.timestamp_delta)));
        }
        if actual != declared {
            return Err(BatchError::RecordCountMismatch { declared, actual });
        }
        Ok(max_delta.map_or(-1, |d| self.base_timestamp().saturating_add(d)))
    }
    /// Decode every record (decompressing if needed). Checks the record count.
    pub fn records(&self) -> Result<Vec<Record>, BatchError> {
        self.records_limited(crate::compression::MAX_DECOMPRESSED)
    }
    /// [`Self::records`], failing if the records inflate past `limit` bytes.
    pub(crate) fn records_limited(&self, limit: usize) -> Result<Vec<Record>, BatchError> {
        let declared = self.record_count();
        let data = self.record_data_limited(limit)?;
        let data = Bytes::copy_from_slice(&data);
        let base_offset = self.base_offset();
        let base_ts = self.base_timestamp();
        let lat = self.is_log_append_time().then(|| self.max_timestamp());
        // Do not trust the declared count for allocation: every record takes >= 7 bytes.
        let mut out = Vec::with_capacity((declared.max(0) as usize).min(data.len() / 7 + 1));
        let mut pos = 0usize;
        while pos < data.len() {
            let rec = RecordView::parse(&data[pos..])?;
            let sub = |r: Option<(usize, usize)>| r.map(|(s, e)| data.slice(pos + s..pos + e));
            let mut headers = Vec::with_capacity(rec.headers.len());
            for h in &rec.headers {
                let key = std::str::from_utf8(&data[pos + h.key.0..pos + h.key.1])
                    .map_err(|_| BatchError::CorruptRecord("header key is not UTF-8".into()))?
                    .to_owned();
                headers.push(RecordHeader {
                    key,
                    value: sub(h.value),
                });
            }
            out.push(Record {
                offset: base_offset.wrapping_add(rec.offset_delta as i64),
                timestamp: lat.unwrap_or(base_ts.wrapping_add(rec.timestamp_delta)),
                key: sub(rec.key),
                value: sub(rec.value),
                headers,
            });
            pos += rec.total_len;
        }
        let actual = out.len() as i32;
        if actual != declared {
            return Err(BatchError::RecordCountMismatch { declared, actual });
        }
        Ok(out)
    }
}

/// One record as [`BatchHeader::for_each_record`] lends it: borrowed key and
/// value, absolute offset and timestamp (headers are not decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
}

impl BatchHeader<'_> {
    /// Call `f` for every record (decompressing if needed) without copying
    /// keys or values; checks the record count like [`BatchHeader::records`].
    pub fn for_each_record(&self, mut f: impl FnMut(RecordRef<'_>)) -> Result<(), BatchError> {
        let declared = self.record_count();
        let data = self.record_data()?;
        let base_offset = self.base_offset();
        let base_ts = self.base_timestamp();
        let lat = self.is_log_append_time().then(|| self.max_timestamp());
        let mut pos = 0usize;
        let mut actual: i32 = 0;
        while pos < data.len() {
            let rec = RecordView::parse(&data[pos..])?;
            let field = |r: Option<(usize, usize)>| r.map(|(s, e)| &data[pos + s..pos + e]);
            f(RecordRef {
                offset: base_offset.wrapping_add(rec.offset_delta as i64),
                timestamp: lat.unwrap_or(base_ts.wrapping_add(rec.timestamp_delta)),
                key: field(rec.key),
                value: field(rec.value),
            });
            pos += rec.total_len;
            actual = actual.saturating_add(1);
        }
        if actual != declared {
            return Err(BatchError::RecordCountMismatch { declared, actual });
        }
        Ok(())
    }
}

impl BatchHeader<'_> {
    /// [`BatchHeader::for_each_record`] for readers that do not look at headers (the
    /// load harness's consumer): the same records with the same fields, but record
    /// headers are stepped over with the record's length instead of being decoded
    /// one by one, and the varints take a fast path for the 1- and 2-byte lengths
    /// that dominate. Still checked: every record's length lies inside the batch,
    /// its key and value inside the record, a header-less record ends where its
    /// length says, and the record count. Not checked: the headers' inner structure.
    pub fn for_each_record_skipping_headers(
        &self,
        mut f: impl FnMut(RecordRef<'_>),
    ) -> Result<(), BatchError> {
        let declared = self.record_count();
        let data = self.record_data()?;
        let data: &[u8] = &data;
        let base_offset = self.base_offset();
        let base_ts = self.base_timestamp();
        let lat = self.is_log_append_time().then(|| self.max_timestamp());
        let mut pos = 0usize;
        let mut actual: i32 = 0;
        while pos < data.len() {
            let mut p = pos;
            let len = zigzag32(read_uvarint_fast(data, &mut p, 5)?);
            if len < 0 {
                return Err(corrupt(&format!("negative record length {len}")));
            }
            let end = p + len as usize;
            if end > data.len() {
                return Err(corrupt(&format!("record length {len} runs past the batch")));
            }
            // Start loading the tails of the next records (assumed to be as long as
            // this one) now: the walk is a chain of one cache miss per record.
            let step = end - pos;
            for k in 1..=2 {
                std::hint::black_box(data.get(end + k * step).copied());
            }
            // Everything below reads inside this record only.
            let rec = &data[..end];
            if p >= end {
                return Err(corrupt("record too short"));
            }
            p += 1; // attributes
            let timestamp_delta = zigzag64(read_uvarint_fast(rec, &mut p, 10)?);
            let offset_delta = zigzag32(read_uvarint_fast(rec, &mut p, 5)?);
            let key = bytes_field_fast(rec, &mut p, "key")?;
            let value = bytes_field_fast(rec, &mut p, "value")?;
            let header_count = zigzag32(read_uvarint_fast(rec, &mut p, 5)?);
            if header_count < 0 {
                return Err(corrupt(&format!("negative header count {header_count}")));
            }
            if header_count == 0 && p != end {
                return Err(corrupt(&format!(
                    "record length {len} does not match its fields ({} bytes)",
                    p - (end - len as usize)
                )));
            }
            f(RecordRef {
                offset: base_offset.wrapping_add(offset_delta as i64),
                timestamp: lat.unwrap_or(base_ts.wrapping_add(timestamp_delta)),
                key,
                value,
            });
            pos = end;
            actual = actual.saturating_add(1);
        }
        if actual != declared {
            return Err(BatchError::RecordCountMismatch { declared, actual });
        }
        Ok(())
    }
}

/// [`read_uvarint`] with the 1- and 2-byte encodings inline (record, key and value
/// lengths and deltas of ordinary records); longer ones take the general loop.
#[inline(always)]
fn read_uvarint_fast(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64, BatchError> {
    let p = *pos;
    if let Some(&b0) = buf.get(p) {
        if b0 < 0x80 {
            *pos = p + 1;
            return Ok(b0 as u64);
        }
        if let Some(&b1) = buf.get(p + 1) {
            if b1 < 0x80 {
                *pos = p + 2;
                return Ok((b0 & 0x7f) as u64 | (b1 as u64) << 7);
            }
        }
    }
    read_uvarint(buf, pos, max_bytes)
}

#[inline(always)]
fn zigzag32(u: u64) -> i32 {
    let u = u as u32;
    ((u >> 1) as i32) ^ -((u & 1) as i32)
}

#[inline(always)]
fn zigzag64(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// [`read_bytes_field`] over the fast varint, lending the bytes.
#[inline(always)]
fn bytes_field_fast<'b>(
    buf: &'b [u8],
    pos: &mut usize,
    what: &str,
) -> Result<Option<&'b [u8]>, BatchError> {
    let len = zigzag32(read_uvarint_fast(buf, pos, 5)?);
    if len == -1 {
        return Ok(None);
    }
    if len < -1 {
        return Err(corrupt(&format!("negative {what} length {len}")));
    }
    let start = *pos;
    match buf.get(start..start + len as usize) {
        Some(field) => {
            *pos = start + len as usize;
            Ok(Some(field))
        }
        None => Err(corrupt(&format!("{what} runs past the record"))),
    }
}

/// Structure check of one batch as a producer must send it: CRC, honest record
/// count (against lastOffsetDelta and against the records actually present).
/// Returns the largest record timestamp found in the records.
pub(crate) fn validate_batch(b: &BatchHeader<'_>) -> Result<i64, BatchError> {
    b.validate_crc()?;
    check_record_count(b)?;
    b.scan_records()
}

/// The header's record count is positive and agrees with its last offset delta
/// (a header-only check: the records themselves are not read).
pub(crate) fn check_record_count(b: &BatchHeader<'_>) -> Result<(), BatchError> {
    let declared = b.record_count();
    let from_offsets = b.last_offset_delta() as i64 + 1;
    if declared as i64 != from_offsets || declared <= 0 {
        return Err(BatchError::RecordCountMismatch {
            declared,
            actual: from_offsets.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        });
    }
    Ok(())
}

/// A record's fields as byte ranges relative to the record's start.
struct HeaderRange {
    key: (usize, usize),
    value: Option<(usize, usize)>,
}

pub(crate) struct RecordView {
    pub(crate) total_len: usize,
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) key: Option<(usize, usize)>,
    value: Option<(usize, usize)>,
    headers: Vec<HeaderRange>,
}

fn corrupt(what: &str) -> BatchError {
    BatchError::CorruptRecord(what.to_string())
}

/// The records of a compressed batch decoded one at a time from the
/// decompressing stream (Kafka's `streamingIterator`): memory is one record
/// (plus the codec's state), never the batch's inflated size, and at most
/// `limit` bytes are inflated in all ([`BatchError::InflateLimit`] past it).
pub(crate) struct RecordStream<'a> {
    inflater: std::io::BufReader<crate::compression::Inflater<'a>>,
    /// The current record: its length varint, then its body.
    buf: Vec<u8>,
}

impl<'a> RecordStream<'a> {
    pub(crate) fn new(b: &BatchHeader<'a>, limit: usize) -> Result<RecordStream<'a>, BatchError> {
        let inflater = b.compression()?.reader(&b.bytes[HEADER_LEN..], limit)?;
        Ok(RecordStream {
            inflater: std::io::BufReader::with_capacity(16 * 1024, inflater),
            buf: Vec::new(),
        })
    }

    fn io_error(&mut self, e: std::io::Error) -> BatchError {
        self.inflater.get_mut().error(e)
    }

    /// The next record, `None` at the end of the stream.
    pub(crate) fn next_record(&mut self) -> Result<Option<RecordView>, BatchError> {
        use std::io::Read;
        self.buf.clear();
        let mut byte = [0u8; 1];
        loop {
            match self.inflater.read(&mut byte) {
                Ok(0) if self.buf.is_empty() => return Ok(None),
                Ok(0) => return Err(corrupt("truncated varint")),
                Ok(_) => {}
                Err(e) => return Err(self.io_error(e)),
            }
            self.buf.push(byte[0]);
            if byte[0] & 0x80 == 0 {
                break;
            }
            if self.buf.len() == 5 {
                return Err(corrupt("varint too long"));
            }
        }
        let len = read_varint(&self.buf, &mut 0)?;
        if len < 0 {
            return Err(corrupt(&format!("negative record length {len}")));
        }
        // Grows with what really arrives: a record that only claims to be
        // large costs nothing.
        let read = (&mut self.inflater)
            .take(len as u64)
            .read_to_end(&mut self.buf);
        match read {
            Ok(n) if n < len as usize => {
                Err(corrupt(&format!("record length {len} runs past the batch")))
            }
            Ok(_) => RecordView::parse(&self.buf).map(Some),
            Err(e) => Err(self.io_error(e)),
        }
    }
}

/// Read an unsigned LEB128 varint of at most `max_bytes` bytes.
/// An unsigned varint; most fields of a record (attributes aside: lengths,
/// deltas, counts) are below 128 and take one byte, read without the loop.
#[inline]
fn read_uvarint(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64, BatchError> {
    match buf.get(*pos) {
        Some(&b) if b & 0x80 == 0 => {
            *pos += 1;
            Ok(b as u64)
        }
        _ => read_uvarint_long(buf, pos, max_bytes),
    }
}

/// [`read_uvarint`] past its first byte's fast path (or truncated).
fn read_uvarint_long(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Result<u64, BatchError> {
    let mut result: u64 = 0;
    for i in 0..max_bytes {
        let b = *buf.get(*pos).ok_or_else(|| corrupt("truncated varint"))?;
        *pos += 1;
        result |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(result);
        }
    }
    Err(corrupt("varint too long"))
}

#[inline]
fn read_varint(buf: &[u8], pos: &mut usize) -> Result<i32, BatchError> {
    let u = read_uvarint(buf, pos, 5)? as u32;
    Ok(((u >> 1) as i32) ^ -((u & 1) as i32))
}

#[inline]
fn read_varlong(buf: &[u8], pos: &mut usize) -> Result<i64, BatchError> {
    let u = read_uvarint(buf, pos, 10)?;
    Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// A length-prefixed byte field (-1 = null); returns the range.
#[inline]
fn read_bytes_field(
    buf: &[u8],
    pos: &mut usize,
    what: &str,
) -> Result<Option<(usize, usize)>, BatchError> {
    let len = read_varint(buf, pos)?;
    if len < -1 {
        return Err(corrupt(&format!("negative {what} length {len}")));
    }
    if len == -1 {
        return Ok(None);
    }
    let start = *pos;
    let end = start.checked_add(len as usize).filter(|&e| e <= buf.len());
    let end = end.ok_or_else(|| corrupt(&format!("{what} runs past the record")))?;
    *pos = end;
    Ok(Some((start, end)))
}

/// What the validation walk needs of a record ([`RecordView::skim`]).
pub(crate) struct Skimmed {
    pub(crate) total_len: usize,
    pub(crate) timestamp_delta: i64,
    pub(crate) offset_delta: i32,
    pub(crate) has_key: bool,
}

/// A varint for [`RecordView::skim`]: `None` where [`read_uvarint`] fails.
#[inline(always)]
fn skim_uvarint(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Option<u64> {
    let b = *buf.get(*pos)?;
    *pos += 1;
    if b & 0x80 == 0 {
        return Some(b as u64);
    }
    let mut result = (b & 0x7f) as u64;
    for i in 1..max_bytes {
        let b = *buf.get(*pos)?;
        *pos += 1;
        result |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

#[inline(always)]
fn skim_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    let u = skim_uvarint(buf, pos, 5)? as u32;
    Some(((u >> 1) as i32) ^ -((u & 1) as i32))
}

/// A length-prefixed field for [`RecordView::skim`]: whether it is non-null,
/// `None` where [`read_bytes_field`] fails.
#[inline(always)]
fn skim_bytes_field(buf: &[u8], pos: &mut usize) -> Option<bool> {
    let len = skim_varint(buf, pos)?;
    if len == -1 {
        return Some(false);
    }
    if len < -1 {
        return None;
    }
    let end = pos.checked_add(len as usize).filter(|&e| e <= buf.len())?;
    *pos = end;
    Some(true)
}

impl RecordView {
    /// [`RecordView::parse`]'s checks, without building the view or its error:
    /// `Some` exactly when `parse` succeeds, with the same length, deltas and
    /// key presence; `None` when it fails (the caller then calls `parse` for the
    /// error). What the validation walk runs per record: no error values move
    /// through memory on the way, which made `parse` the walk's main cost.
    #[inline]
    pub(crate) fn skim(buf: &[u8]) -> Option<Skimmed> {
        let mut pos = 0;
        let len = skim_varint(buf, &mut pos)?;
        if len < 0 {
            return None;
        }
        let total_len = pos + len as usize;
        if total_len > buf.len() {
            return None;
        }
        let body = &buf[..total_len];
        if pos >= body.len() {
            return None;
        }
        pos += 1; // attributes
        let u = skim_uvarint(body, &mut pos, 10)?;
        let timestamp_delta = ((u >> 1) as i64) ^ -((u & 1) as i64);
        let offset_delta = skim_varint(body, &mut pos)?;
        let has_key = skim_bytes_field(body, &mut pos)?;
        skim_bytes_field(body, &mut pos)?;
        let header_count = skim_varint(body, &mut pos)?;
        if header_count < 0 {
            return None;
        }
        for _ in 0..header_count {
            if !skim_bytes_field(body, &mut pos)? {
                return None; // a null header key
            }
            skim_bytes_field(body, &mut pos)?;
        }
        (pos == total_len).then_some(Skimmed {
            total_len,
            timestamp_delta,
            offset_delta,
            has_key,
        })
    }
}

impl RecordView {
    pub(crate) fn parse(buf: &[u8]) -> Result<RecordView, BatchError> {
        let mut pos = 0;
        let len = read_varint(buf, &mut pos)?;
        if len < 0 {
            return Err(corrupt(&format!("negative record length {len}")));
        }
        let total_len = pos + len as usize;
        if total_len > buf.len() {
            return Err(corrupt(&format!("record length {len} runs past the batch")));
        }
        let body = &buf[..total_len];
        let _attributes = *body.get(pos).ok_or_else(|| corrupt("record too short"))?;
        pos += 1;
        let timestamp_delta = read_varlong(body, &mut pos)?;
        let offset_delta = read_varint(body, &mut pos)?;
        let key = read_bytes_field(body, &mut pos, "key")?;
        let value = read_bytes_field(body, &mut pos, "value")?;
        let header_count = read_varint(body, &mut pos)?;
        if header_count < 0 {
            return Err(corrupt(&format!("negative header count {header_count}")));
        }
        let mut headers = Vec::with_capacity((header_count as usize).min(body.len()));
        for _ in 0..header_count {
            let key = read_bytes_field(body, &mut pos, "header key")?
                .ok_or_else(|| corrupt("null header key"))?;
            let value = read_bytes_field(body, &mut pos, "header value")?;
            headers.push(HeaderRange { key, value });
        }
        if pos != total_len {
            return Err(corrupt(&format!(
                "record length {len} does not match its fields ({} bytes)",
                pos - (total_len - len as usize)
            )));
        }
        Ok(RecordView {
            total_len,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        })
    }

    /// What [`RecordView::skim`] gives of this record.
    pub(crate) fn skimmed(&self) -> Skimmed {
        Skimmed {
            total_len: self.total_len,
            timestamp_delta: self.timestamp_delta,
            offset_delta: self.offset_delta,
            has_key: self.key.is_some(),
        }
    }
}

/// Iterate the batches in a buffer of concatenated batches (a produce request's
/// records, or a read result). Stops with an error at the first malformed batch;
/// a partial batch at the very end of a read result is not an error for
/// [`iter_batches_lenient`] (Kafka fetch responses may end in a partial batch).
pub fn iter_batches(buf: &[u8]) -> impl Iterator<Item = Result<BatchHeader<'_>, BatchError>> + '_ {
    let mut rest = buf;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || rest.is_empty() {
            return None;
        }
        match BatchHeader::parse(rest) {
            Ok(h) => {
                rest = &rest[h.total_len()..];
                Some(Ok(h))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// Like [`iter_batches`] but silently stops at a trailing partial batch.
pub fn iter_batches_lenient(buf: &[u8]) -> impl Iterator<Item = BatchHeader<'_>> + '_ {
    iter_batches(buf).map_while(|r| r.ok())
}

/// Validate a record set as a produce request delivers it: one or more whole v2
/// batches, each with a correct CRC and honest record count, nothing trailing.
pub fn validate_record_set(buf: &[u8]) -> Result<(), BatchError> {
    validate_record_set_timestamps(buf).map(|_| ())
}

/// [`validate_record_set`], returning each batch's largest record timestamp
/// (computed from the records, not taken from the header).
pub fn validate_record_set_timestamps(buf: &[u8]) -> Result<Vec<i64>, BatchError> {
    if buf.is_empty() {
        return Err(BatchError::Empty);
    }
    iter_batches(buf).map(|b| validate_batch(&b?)).collect()
}

/// One header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    pub key: String,
    pub value: Option<Bytes>,
}

/// One decoded record. Offsets and timestamps are absolute (base + delta).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<RecordHeader>,
}

/// Builds a v2 record batch from owned [`Record`]s (control batches, internal
/// topics, tests, the cleaner, re-compression); encodes with [`BatchEncoder`].
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub compression: Compression,
    pub log_append_time: bool,
    pub transactional: bool,
    pub control: bool,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    records: Vec<Record>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        BatchBuilder {
            base_offset: 0,
            partition_leader_epoch: -1,
            compression: Compression::None,
            log_append_time: false,
            transactional: false,
            control: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            records: Vec::new(),
        }
    }
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_uvarint(out, ((v << 1) ^ (v >> 31)) as u32 as u64);
}
fn put_varlong(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}
fn put_bytes_field(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    /// An empty builder with the header fields of `h` (base offset, leader epoch,
    /// codec, timestamp type, transactional and control flags, producer id,
    /// epoch and base sequence), for re-encoding a batch's records.
    pub fn like(h: &BatchHeader<'_>) -> Result<Self, BatchError> {
        Ok(BatchBuilder {
            base_offset: h.base_offset(),
            partition_leader_epoch: h.partition_leader_epoch(),
            compression: h.compression()?,
            log_append_time: h.is_log_append_time(),
            transactional: h.is_transactional(),
            control: h.is_control(),
            producer_id: h.producer_id(),
            producer_epoch: h.producer_epoch(),
            base_sequence: h.base_sequence(),
            records: Vec::new(),
        })
    }
    /// Add a record; its `offset` and `timestamp` are absolute, deltas are computed at build.
    pub fn push(&mut self, record: Record) -> &mut Self {
        self.records.push(record);
        self
    }
    /// Number of records pushed so far.
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// True when no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// Encode the batch (with CRC). Errors only if compression fails.
    pub fn build(&self) -> Result<Vec<u8>, BatchError> {
        self.build_with(CompressOptions::KAFKA)
    }
    /// As [`BatchBuilder::build`], compressing with `opts` (the topic's
    /// `compression.*.level` when the broker recompresses).
    pub fn build_with(&self, opts: CompressOptions) -> Result<Vec<u8>, BatchError> {
        let mut e = BatchEncoder::with_capacity(self.records.len() * 32);
        e.base_offset = self.base_offset;
        e.partition_leader_epoch = self.partition_leader_epoch;
        e.log_append_time = self.log_append_time;
        e.transactional = self.transactional;
        e.control = self.control;
        e.producer_id = self.producer_id;
        e.producer_epoch = self.producer_epoch;
        e.base_sequence = self.base_sequence;
        for r in &self.records {
            let value = r.value.as_deref();
            e.append_record(
                r.offset.wrapping_sub(self.base_offset) as i32,
                r.timestamp,
                r.key.as_deref(),
                value.as_ref().map(std::slice::from_ref),
                &r.headers,
            );
        }
        e.finish(self.compression, opts)
    }
}

/// Bytes of `v` as a zigzag varlong.
fn varlong_len(v: i64) -> usize {
    let z = ((v << 1) ^ (v >> 63)) as u64;
    // 7 bits per byte, at least one byte.
    (64 - (z | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-prefixed field of `len` bytes (`None` = null).
fn bytes_field_len(len: Option<usize>) -> usize {
    match len {
        None => 1,
        Some(n) => varlong_len(n as i64) + n,
    }
}

/// Encodes a v2 batch record by record straight into one buffer: each record
/// is written once, in place (its length computed up front, no per-record
/// buffer or allocation), and the records section is compressed right after
/// the header at [`BatchEncoder::finish`]. The load harness's producers and
/// [`BatchBuilder`] both encode with it.
///
/// Timestamps are absolute: the first record's is the base timestamp.
#[derive(Debug, Clone)]
pub struct BatchEncoder {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub log_append_time: bool,
    pub transactional: bool,
    pub control: bool,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    /// Header space, then the uncompressed records.
    buf: Vec<u8>,
    count: i32,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    payload_bytes: u64,
}

impl Default for BatchEncoder {
    fn default() -> Self {
        BatchEncoder::with_capacity(0)
    }
}

impl BatchEncoder {
    /// An empty batch with room for about `records_bytes` bytes of records.
    pub fn with_capacity(records_bytes: usize) -> Self {
        let mut buf = Vec::with_capacity(HEADER_LEN + records_bytes);
        buf.resize(HEADER_LEN, 0);
        BatchEncoder {
            base_offset: 0,
            partition_leader_epoch: -1,
            log_append_time: false,
            transactional: false,
            control: false,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            buf,
            count: 0,
            last_offset_delta: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            payload_bytes: 0,
        }
    }
    /// Records appended so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Size so far: header plus uncompressed records.
    pub fn size(&self) -> usize {
        self.buf.len()
    }
    /// Key plus value bytes appended so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }
    /// Append the next record (offset delta = records so far), without headers.
    pub fn append(&mut self, timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) {
        let delta = self.count;
        self.append_record(
            delta,
            timestamp,
            key,
            value.as_ref().map(std::slice::from_ref),
            &[],
        );
    }
    /// [`BatchEncoder::append`] with a value given as parts written back to
    /// back (a producer's stamp and payload, without joining them first).
    pub fn append_parts(&mut self, timestamp: i64, key: Option<&[u8]>, value: &[&[u8]]) {
        let delta = self.count;
        self.append_record(delta, timestamp, key, Some(value), &[]);
    }
    /// Append a record with any offset delta and headers; `value` is the
    /// concatenation of its parts (`None` = null value).
    pub fn append_record(
        &mut self,
        offset_delta: i32,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[&[u8]]>,
        headers: &[RecordHeader],
    ) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
            self.last_offset_delta = offset_delta;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.last_offset_delta = self.last_offset_delta.max(offset_delta);
        let ts_delta = timestamp.wrapping_sub(self.base_timestamp);
        let value_len = value.map(|parts| parts.iter().map(|p| p.len()).sum::<usize>());
        let mut body = 1 // attributes
            + varlong_len(ts_delta)
            + varlong_len(offset_delta as i64)
            + bytes_field_len(key.map(<[u8]>::len))
            + bytes_field_len(value_len)
            + varlong_len(headers.len() as i64);
        for h in headers {
            body += bytes_field_len(Some(h.key.len()))
                + bytes_field_len(h.value.as_ref().map(|v| v.len()));
        }
        let buf = &mut self.buf;
        buf.reserve(body + 5);
        put_varint(buf, body as i32);
        buf.push(0); // record attributes (unused)
        put_varlong(buf, ts_delta);
        put_varint(buf, offset_delta);
        put_bytes_field(buf, key);
        match value {
            None => put_varint(buf, -1),
            Some(parts) => {
                put_varint(buf, value_len.unwrap_or(0) as i32);
                for p in parts {
                    buf.extend_from_slice(p);
                }
            }
        }
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_bytes_field(buf, Some(h.key.as_bytes()));
            put_bytes_field(buf, h.value.as_deref());
        }
        self.count += 1;
        self.payload_bytes += (value_len.unwrap_or(0) + key.map_or(0, <[u8]>::len)) as u64;
    }
    /// Seal the batch: compress the records with `compression` and `opts`,
    /// fill the header, compute the CRC.
    pub fn finish(
        self,
        compression: Compression,
        opts: CompressOptions,
    ) -> Result<Vec<u8>, BatchError> {
        let mut out = if compression == Compression::None {
            self.buf
        } else {
            let records = &self.buf[HEADER_LEN..];
            let mut out = Vec::with_capacity(HEADER_LEN + records.len() / 2 + 64);
            out.resize(HEADER_LEN, 0);
            compression.compress_into(records, &mut out, opts)?;
            out
        };
        let mut attributes = compression as i16;
        if self.log_append_time {
            attributes |= TIMESTAMP_TYPE_BIT;
        }
        if self.transactional {
            attributes |= TRANSACTIONAL_BIT;
        }
        if self.control {
            attributes |= CONTROL_BIT;
        }
        let length = (out.len() - LOG_OVERHEAD) as i32;
        let h = &mut out[..HEADER_LEN];
        h[BASE_OFFSET_POS..LENGTH_POS].copy_from_slice(&self.base_offset.to_be_bytes());
        h[LENGTH_POS..LEADER_EPOCH_POS].copy_from_slice(&length.to_be_bytes());
        h[LEADER_EPOCH_POS..MAGIC_POS].copy_from_slice(&self.partition_leader_epoch.to_be_bytes());
        h[MAGIC_POS] = 2;
        h[ATTRIBUTES_POS..LAST_OFFSET_DELTA_POS].copy_from_slice(&attributes.to_be_bytes());
        h[LAST_OFFSET_DELTA_POS..BASE_TIMESTAMP_POS]
            .copy_from_slice(&self.last_offset_delta.to_be_bytes());
        h[BASE_TIMESTAMP_POS..MAX_TIMESTAMP_POS]
            .copy_from_slice(&self.base_timestamp.to_be_bytes());
        h[MAX_TIMESTAMP_POS..PRODUCER_ID_POS].copy_from_slice(&self.max_timestamp.to_be_bytes());
        h[PRODUCER_ID_POS..PRODUCER_EPOCH_POS].copy_from_slice(&self.producer_id.to_be_bytes());
        h[PRODUCER_EPOCH_POS..BASE_SEQUENCE_POS]
            .copy_from_slice(&self.producer_epoch.to_be_bytes());
        h[BASE_SEQUENCE_POS..RECORDS_COUNT_POS].copy_from_slice(&self.base_sequence.to_be_bytes());
        h[RECORDS_COUNT_POS..HEADER_LEN].copy_from_slice(&self.count.to_be_bytes());
        rewrite_crc(&mut out);
        Ok(out)
    }
}

/// Recompute and store the CRC-32C of the batch at the start of `batch`.
pub(crate) fn rewrite_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_POS..]);
    batch[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
}

/// [`rewrite_crc`] for a batch held as its header and, apart, the rest.
pub(crate) fn rewrite_header_crc(head: &mut [u8; HEADER_LEN], body: &[u8]) {
    let crc = crc32c::crc32c_append(crc32c::crc32c(&head[ATTRIBUTES_POS..]), body);
    head[CRC_POS..CRC_POS + 4].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skim_accepts_exactly_what_parse_accepts() {
        // Records with and without keys, values and headers, then every byte of
        // their encoding set to values that break varints, lengths and counts:
        // skim must agree with parse on every one (the walk relies on it).
        let mut b = BatchBuilder::new();
        b.push(rec(0, 1, Some("key"), Some("value")));
        b.push(rec(1, -5, None, None));
        b.push(Record {
            offset: 2,
            timestamp: 300,
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from(vec![7u8; 300])),
            headers: vec![
                RecordHeader {
                    key: "h1".into(),
                    value: None,
                },
                RecordHeader {
                    key: "h2".into(),
                    value: Some(Bytes::from_static(b"v")),
                },
            ],
        });
        let batch = b.build().unwrap();
        let records = batch[HEADER_LEN..].to_vec();
        let check = |buf: &[u8]| {
            let mut pos = 0;
            let mut n = 0;
            while pos < buf.len() {
                let parsed = RecordView::parse(&buf[pos..]);
                let skimmed = RecordView::skim(&buf[pos..]);
                match (&parsed, &skimmed) {
                    (Ok(p), Some(s)) => {
                        let p = p.skimmed();
                        assert_eq!(
                            (p.total_len, p.timestamp_delta, p.offset_delta, p.has_key),
                            (s.total_len, s.timestamp_delta, s.offset_delta, s.has_key)
                        );
                        pos += s.total_len;
                    }
                    (Err(_), None) => break,
                    _ => panic!(
                        "parse {:?} but skim {:?} at {pos} of {buf:?}",
                        parsed.is_ok(),
                        skimmed.is_some()
                    ),
                }
                n += 1;
            }
            n
        };
        assert_eq!(check(&records), 3);
        let mut mutated = 0;
        for i in 0..records.len() {
            for v in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff] {
                let mut m = records.clone();
                m[i] = v;
                check(&m);
                check(&m[..i]);
                mutated += 1;
            }
        }
        assert!(mutated > 2000);
    }

    #[test]
    fn offsets_past_i64_max_wrap_as_in_java_instead_of_panicking() {
        // Found by the record_batch fuzz target (fuzz/regressions/record_batch/): a
        // producer's base offset near i64::MAX overflowed `base + delta` while
        // decoding records (a panic in debug builds). The base offset is not under
        // the CRC, so it is patched after building.
        let mut b = BatchBuilder::new();
        b.push(rec(0, 1, Some("a"), Some("x")));
        b.push(rec(1, 2, Some("b"), Some("y")));
        let mut bytes = b.build().unwrap();
        bytes[..8].copy_from_slice(&i64::MAX.to_be_bytes());
        let h = BatchHeader::parse(&bytes).unwrap();
        h.validate_crc().unwrap();
        let offsets: Vec<i64> = h.records().unwrap().iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [i64::MAX, i64::MIN]);
        let mut lent = Vec::new();
        h.for_each_record(|r| lent.push(r.offset)).unwrap();
        assert_eq!(lent, offsets);
        // Re-encoding them (recompression) keeps the deltas.
        let mut again = BatchBuilder::like(&h).unwrap();
        again.compression = Compression::Gzip;
        for r in h.records().unwrap() {
            again.push(r);
        }
        let again = again.build().unwrap();
        let again = BatchHeader::parse(&again).unwrap();
        assert_eq!(again.base_offset(), i64::MAX);
        assert_eq!(again.last_offset_delta(), 1);
    }

    fn rec(offset: i64, ts: i64, key: Option<&str>, value: Option<&str>) -> Record {
        Record {
            offset,
            timestamp: ts,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![],
        }
    }

    fn sample(n: i64) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.producer_id = 7;
        b.producer_epoch = 1;
        b.base_sequence = 5;
        for i in 0..n {
            b.push(rec(i, 1000 + i, Some("k"), Some(&format!("value-{i}"))));
        }
        b.build().unwrap()
    }

    #[test]
    fn header_fields_round_trip() {
        let bytes = sample(3);
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(h.total_len(), bytes.len());
        assert_eq!(h.base_offset(), 0);
        assert_eq!(h.last_offset_delta(), 2);
        assert_eq!(h.last_offset(), 2);
        assert_eq!(h.magic(), 2);
        assert_eq!(h.record_count(), 3);
        assert_eq!(h.base_timestamp(), 1000);
        assert_eq!(h.max_timestamp(), 1002);
        assert_eq!(h.producer_id(), 7);
        assert_eq!(h.producer_epoch(), 1);
        assert_eq!(h.base_sequence(), 5);
        assert_eq!(h.last_sequence(), 7);
        assert_eq!(h.partition_leader_epoch(), -1);
        assert_eq!(h.compression().unwrap(), Compression::None);
        assert!(!h.is_transactional() && !h.is_control() && !h.is_log_append_time());
        h.validate_crc().unwrap();
        validate_record_set(&bytes).unwrap();
    }

    #[test]
    fn records_decode_keys_values_headers_and_nulls() {
        let mut b = BatchBuilder::new();
        b.base_offset = 100;
        b.push(Record {
            offset: 100,
            timestamp: 5,
            key: None,
            value: Some(Bytes::from_static(b"v")),
            headers: vec![
                RecordHeader {
                    key: "h1".into(),
                    value: Some(Bytes::from_static(b"x")),
                },
                RecordHeader {
                    key: "h2".into(),
                    value: None,
                },
            ],
        });
        b.push(rec(101, 3, Some("key"), None));
        b.push(rec(102, 9, Some(""), Some("")));
        let bytes = b.build().unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        let recs = h.records().unwrap();
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].key, None);
        assert_eq!(recs[0].value.as_deref(), Some(&b"v"[..]));
        assert_eq!(recs[0].headers.len(), 2);
        assert_eq!(recs[0].headers[1].value, None);
        assert_eq!(recs[1].offset, 101);
        assert_eq!(recs[1].timestamp, 3, "negative timestamp delta decodes");
        assert_eq!(recs[1].value, None);
        assert_eq!(recs[2].key.as_deref(), Some(&b""[..]));
        assert_eq!(h.max_timestamp(), 9);
    }

    #[test]
    fn log_append_time_records_take_the_max_timestamp() {
        let mut b = BatchBuilder::new();
        b.log_append_time = true;
        b.push(rec(0, 1, None, Some("a")));
        b.push(rec(1, 2, None, Some("b")));
        let bytes = b.build().unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        assert!(h.is_log_append_time());
        assert!(h.records().unwrap().iter().all(|r| r.timestamp == 2));
    }

    #[test]
    fn bad_crc_is_rejected_as_crc_mismatch() {
        let mut bytes = sample(2);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        assert!(matches!(
            validate_record_set(&bytes),
            Err(BatchError::CrcMismatch { .. })
        ));
    }

    #[test]
    fn bad_magic_is_rejected() {
        let mut bytes = sample(1);
        bytes[MAGIC_POS] = 1;
        assert_eq!(validate_record_set(&bytes), Err(BatchError::BadMagic(1)));
    }

    #[test]
    fn length_that_does_not_match_is_rejected() {
        let bytes = sample(2);
        let cut = &bytes[..bytes.len() - 3];
        assert!(matches!(
            validate_record_set(cut),
            Err(BatchError::LengthMismatch { .. })
        ));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 10]);
        // Trailing garbage is a second, too-short batch.
        assert!(validate_record_set(&longer).is_err());
        assert_eq!(
            validate_record_set(&bytes[..10]),
            Err(BatchError::TooShort(10))
        );
    }

    #[test]
    fn lying_record_count_is_rejected() {
        let mut bytes = sample(3);
        bytes[RECORDS_COUNT_POS..RECORDS_COUNT_POS + 4].copy_from_slice(&4i32.to_be_bytes());
        rewrite_crc(&mut bytes);
        assert!(matches!(
            validate_record_set(&bytes),
            Err(BatchError::RecordCountMismatch { declared: 4, .. })
        ));
        // Count and lastOffsetDelta agree, but the records do not.
        bytes[LAST_OFFSET_DELTA_POS..LAST_OFFSET_DELTA_POS + 4]
            .copy_from_slice(&3i32.to_be_bytes());
        rewrite_crc(&mut bytes);
        assert_eq!(
            validate_record_set(&bytes),
            Err(BatchError::RecordCountMismatch {
                declared: 4,
                actual: 3
            })
        );
    }

    #[test]
    fn empty_record_set_is_rejected() {
        assert_eq!(validate_record_set(&[]), Err(BatchError::Empty));
    }

    #[test]
    fn iterates_concatenated_batches_and_lenient_stops_at_partial() {
        let mut buf = sample(2);
        let second = sample(3);
        buf.extend_from_slice(&second);
        assert_eq!(iter_batches(&buf).count(), 2);
        validate_record_set(&buf).unwrap();
        let partial = &buf[..buf.len() - 5];
        assert_eq!(iter_batches_lenient(partial).count(), 1);
        let strict: Vec<_> = iter_batches(partial).collect();
        assert!(strict[1].is_err());
    }

    #[test]
    fn last_sequence_wraps_like_kafka() {
        let mut b = BatchBuilder::new();
        b.base_sequence = i32::MAX - 1;
        for i in 0..4 {
            b.push(rec(i, 0, None, None));
        }
        let bytes = b.build().unwrap();
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(h.last_sequence(), 1);
    }

    #[test]
    fn varlong_len_matches_the_encoding() {
        for v in [
            0i64,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            8191,
            8192,
            i32::MIN as i64,
            i64::MIN,
            i64::MAX,
        ] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(varlong_len(v), out.len(), "{v}");
        }
    }

    fn encoded(compression: Compression, opts: CompressOptions) -> Vec<u8> {
        let mut e = BatchEncoder::with_capacity(1024);
        e.producer_id = 9;
        e.base_sequence = 4;
        let filler = vec![7u8; 92];
        for i in 0..10u64 {
            let key = format!("key-{i}");
            let key = (i % 2 == 0).then_some(key.as_bytes());
            let stamp = (1000 + i).to_be_bytes();
            e.append_parts(1_700_000_000_000 + i as i64, key, &[&stamp, &filler]);
        }
        assert_eq!(e.len(), 10);
        assert_eq!(e.payload_bytes(), 10 * 100 + 5 * 5);
        e.finish(compression, opts).unwrap()
    }

    #[test]
    fn encoder_batches_validate_and_read_back_through_every_codec() {
        for opts in [CompressOptions::KAFKA, CompressOptions::FAST] {
            for c in [
                Compression::None,
                Compression::Gzip,
                Compression::Snappy,
                Compression::Lz4,
                Compression::Zstd,
            ] {
                let bytes = encoded(c, opts);
                validate_record_set(&bytes).unwrap();
                let h = BatchHeader::parse(&bytes).unwrap();
                assert_eq!(h.compression().unwrap(), c);
                assert_eq!((h.record_count(), h.last_offset_delta()), (10, 9));
                assert_eq!((h.producer_id(), h.base_sequence()), (9, 4));
                assert_eq!(h.max_timestamp(), 1_700_000_000_009);
                let mut seen = Vec::new();
                h.for_each_record(|r| {
                    let want_key = format!("key-{}", r.offset);
                    let want_key = (r.offset % 2 == 0).then_some(want_key.as_bytes());
                    assert_eq!(r.key, want_key);
                    let v = r.value.unwrap();
                    assert_eq!(v.len(), 100);
                    assert!(v[8..].iter().all(|&b| b == 7));
                    assert_eq!(r.timestamp, 1_700_000_000_000 + r.offset);
                    seen.push((r.offset, u64::from_be_bytes(v[..8].try_into().unwrap())));
                })
                .unwrap();
                let want: Vec<(i64, u64)> = (0..10).map(|i| (i as i64, 1000 + i as u64)).collect();
                assert_eq!(seen, want, "{} {opts:?}", c.name());
                // The same records through the decoding path that copies.
                assert_eq!(h.records().unwrap().len(), 10);
            }
        }
    }

    #[test]
    fn for_each_record_checks_the_record_count() {
        let mut bytes = sample(3);
        bytes[RECORDS_COUNT_POS..RECORDS_COUNT_POS + 4].copy_from_slice(&4i32.to_be_bytes());
        let h = BatchHeader::parse(&bytes).unwrap();
        assert_eq!(
            h.for_each_record(|_| {}),
            Err(BatchError::RecordCountMismatch {
                declared: 4,
                actual: 3
            })
        );
    }

    #[test]
    fn encoder_and_builder_write_the_same_bytes() {
        let mut b = BatchBuilder::new();
        let mut e = BatchEncoder::default();
        b.producer_id = 3;
        e.producer_id = 3;
        for i in 0..5i64 {
            let v = format!("v{i}");
            b.push(rec(i, 100 + i, Some("k"), Some(&v)));
            e.append(100 + i, Some(b"k"), Some(v.as_bytes()));
        }
        assert_eq!(
            b.build().unwrap(),
            e.finish(Compression::None, CompressOptions::KAFKA).unwrap()
        );
    }

    #[test]
    fn varints_round_trip_extremes() {
        for v in [0i64, -1, 1, i64::MIN, i64::MAX, 300, -300] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_varlong(&out, &mut pos).unwrap(), v);
        }
        for v in [0i32, -1, i32::MIN, i32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos).unwrap(), v);
        }
    }

    /// Every record as both walks lend it: (offset, timestamp, key, value).
    type Lent = Vec<(i64, i64, Option<Vec<u8>>, Option<Vec<u8>>)>;

    fn both_walks(h: &BatchHeader<'_>) -> (Result<Lent, BatchError>, Result<Lent, BatchError>) {
        let lend = |r: RecordRef<'_>| {
            (
                r.offset,
                r.timestamp,
                r.key.map(<[u8]>::to_vec),
                r.value.map(<[u8]>::to_vec),
            )
        };
        let mut full = Vec::new();
        let full_r = h.for_each_record(|r| full.push(lend(r)));
        let mut fast = Vec::new();
        let fast_r = h.for_each_record_skipping_headers(|r| fast.push(lend(r)));
        (full_r.map(|()| full), fast_r.map(|()| fast))
    }

    #[test]
    fn skipping_headers_lends_what_for_each_record_lends() {
        // Headers (several, null values), null keys and values, lengths and deltas of
        // 1, 2 and 3 varint bytes, negative timestamp deltas, every codec.
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut b = BatchBuilder::new();
            b.compression = c;
            for i in 0..300i64 {
                let value =
                    vec![(i % 251) as u8; [0, 1, 63, 64, 8191, 8192, 20_000][i as usize % 7]];
                let headers = (0..(i % 4))
                    .map(|h| RecordHeader {
                        key: format!("h{h}"),
                        value: (h % 2 == 0).then(|| Bytes::from(vec![h as u8; 70])),
                    })
                    .collect();
                b.push(Record {
                    offset: i,
                    timestamp: 1_000_000 - i * 1000,
                    key: (i % 3 != 0).then(|| Bytes::from(format!("key-{i}"))),
                    value: (i % 5 != 0).then(|| Bytes::from(value)),
                    headers,
                });
            }
            let bytes = b.build().unwrap();
            let h = BatchHeader::parse(&bytes).unwrap();
            let (full, fast) = both_walks(&h);
            let full = full.unwrap();
            assert_eq!(full.len(), 300);
            assert!(full.iter().any(|r| r.2.is_none()) && full.iter().any(|r| r.3.is_none()));
            assert_eq!(fast.unwrap(), full, "{}", c.name());
        }
    }

    /// An uncompressed batch whose records section is `raw`, declaring `count` records.
    fn with_records(raw: &[u8], count: i32) -> Vec<u8> {
        let mut bytes = sample(1)[..HEADER_LEN].to_vec();
        let len = (HEADER_LEN - LOG_OVERHEAD + raw.len()) as i32;
        bytes[LENGTH_POS..LENGTH_POS + 4].copy_from_slice(&len.to_be_bytes());
        bytes[RECORDS_COUNT_POS..RECORDS_COUNT_POS + 4].copy_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(raw);
        bytes
    }

    /// One record: attributes 0, deltas 0, null key, value `abc`, then `tail`
    /// (header count and headers), its length prefix adjusted by `extra`.
    fn raw_record(tail: &[u8], extra: i32) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 1, 6, b'a', b'b', b'c'];
        body.extend_from_slice(tail);
        let mut out = Vec::new();
        put_varint(&mut out, body.len() as i32 + extra);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn skipping_headers_rejects_what_breaks_the_record_framing() {
        let good = raw_record(&[0], 0);
        let bytes = with_records(&[good.clone(), good.clone()].concat(), 2);
        let (full, fast) = both_walks(&BatchHeader::parse(&bytes).unwrap());
        assert_eq!(fast.unwrap(), full.unwrap());
        let corrupt_cases: [(&str, Vec<u8>); 6] = [
            // The last record's length runs past the batch (a truncated record).
            (
                "truncated",
                [good.clone(), good[..good.len() - 2].to_vec()].concat(),
            ),
            // A record cut inside its value.
            ("cut value", raw_record(&[], -6)),
            // A header-less record longer than its fields.
            (
                "trailing byte",
                [raw_record(&[0, 9], 0), good.clone()].concat(),
            ),
            // A negative header count.
            ("negative headers", raw_record(&[1], 0)),
            // A negative record length.
            ("negative length", vec![1]),
            // A varint that never ends.
            ("endless varint", vec![0xff; 12]),
        ];
        for (what, raw) in corrupt_cases {
            let bytes = with_records(&raw, 2);
            let h = BatchHeader::parse(&bytes).unwrap();
            let (full, fast) = both_walks(&h);
            assert!(
                matches!(full, Err(BatchError::CorruptRecord(_))),
                "{what}: {full:?}"
            );
            assert_eq!(fast, full.map(|_| unreachable!()), "{what}");
        }
        // The record count is checked as by for_each_record.
        let bytes = with_records(&good, 2);
        let (full, fast) = both_walks(&BatchHeader::parse(&bytes).unwrap());
        assert_eq!(
            full,
            Err(BatchError::RecordCountMismatch {
                declared: 2,
                actual: 1
            })
        );
        assert_eq!(fast, full);
    }

    #[test]
    fn skipping_headers_steps_over_headers_it_does_not_decode() {
        // One header (key "h", null value) is stepped over, as is a header whose
        // inner structure is broken (declared as two headers, holding one): the
        // full walk rejects that, the skipping walk lends the record.
        let one = raw_record(&[2, 2, b'h', 1], 0);
        let broken = raw_record(&[4, 2, b'h', 1], 0);
        let bytes = with_records(&[one, broken].concat(), 2);
        let h = BatchHeader::parse(&bytes).unwrap();
        let (full, fast) = both_walks(&h);
        assert!(
            matches!(full, Err(BatchError::CorruptRecord(_))),
            "{full:?}"
        );
        let fast = fast.unwrap();
        assert_eq!(fast.len(), 2);
        for r in fast {
            assert_eq!((r.2, r.3), (None, Some(b"abc".to_vec())));
        }
    }

    #[test]
    fn fast_uvarint_reads_as_the_general_one() {
        let mut cases: Vec<Vec<u8>> =
            vec![vec![0x80, 0x00], vec![0xff, 0x7f], vec![0x80, 0x80, 0x01]];
        for v in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            1 << 21,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, v);
            cases.push(out);
        }
        cases.extend([vec![], vec![0x80], vec![0xff; 11]]);
        for case in cases {
            for max in [5, 10] {
                let (mut a, mut b) = (0, 0);
                let fast = read_uvarint_fast(&case, &mut a, max);
                assert_eq!(fast, read_uvarint(&case, &mut b, max), "{case:?}");
                assert_eq!(a, b, "{case:?}");
            }
        }
    }
}
