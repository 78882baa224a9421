//! The records the group coordinator writes to its internal compacted log
//! (`__consumer_offsets`): keys and values, encoded big-endian.
//!
//! Every key starts with an i16 version saying what it is, as in Apache Kafka:
//! - 1: an offset commit `(group, topic, partition)` (Kafka's OffsetCommitKey v1
//!   layout); value = Kafka's OffsetCommitValue v3 layout (offset, leader epoch,
//!   metadata, commit timestamp).
//! - 2: a classic group's metadata `(group)`; value = weir's snapshot of the
//!   group (protocol, generation, leader, members with their assignments).
//! - 100: a KIP-848 consumer group `(group)`; value = weir's snapshot (epochs,
//!   members, target and current assignments).
//! - 101: a KIP-1071 streams group `(group)`; value = weir's snapshot (epochs,
//!   topology, members, target and current task assignments).
//!
//! A `None` value is a tombstone: the key was deleted (compaction drops it).

use bytes::{BufMut, Bytes, BytesMut};

/// Key version of an offset commit record.
pub const KEY_OFFSET: i16 = 1;
/// Key version of a classic group metadata record.
pub const KEY_CLASSIC_GROUP: i16 = 2;
/// Key version of a consumer (KIP-848) group snapshot.
pub const KEY_CONSUMER_GROUP: i16 = 100;
/// Key version of a streams (KIP-1071) group snapshot.
pub const KEY_STREAMS_GROUP: i16 = 101;

/// A record of the internal log that could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt group coordinator record: {0}")]
pub struct RecordError(pub &'static str);

/// What a key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    ClassicGroup {
        group: String,
    },
    ConsumerGroup {
        group: String,
    },
    StreamsGroup {
        group: String,
    },
}

impl RecordKey {
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        match self {
            RecordKey::Offset {
                group,
                topic,
                partition,
            } => {
                w.i16(KEY_OFFSET);
                w.string(group);
                w.string(topic);
                w.i32(*partition);
            }
            RecordKey::ClassicGroup { group } => {
                w.i16(KEY_CLASSIC_GROUP);
                w.string(group);
            }
            RecordKey::ConsumerGroup { group } => {
                w.i16(KEY_CONSUMER_GROUP);
                w.string(group);
            }
            RecordKey::StreamsGroup { group } => {
                w.i16(KEY_STREAMS_GROUP);
                w.string(group);
            }
        }
        w.finish()
    }

    /// Decode a key; `Ok(None)` for a key version this broker does not know
    /// (skipped on replay so that newer records never stop a start-up).
    pub fn decode(buf: &[u8]) -> Result<Option<RecordKey>, RecordError> {
        let mut r = Reader::new(buf);
        let key = match r.i16()? {
            KEY_OFFSET => RecordKey::Offset {
                group: r.string()?,
                topic: r.string()?,
                partition: r.i32()?,
            },
            KEY_CLASSIC_GROUP => RecordKey::ClassicGroup { group: r.string()? },
            KEY_CONSUMER_GROUP => RecordKey::ConsumerGroup { group: r.string()? },
            KEY_STREAMS_GROUP => RecordKey::StreamsGroup { group: r.string()? },
            _ => return Ok(None),
        };
        Ok(Some(key))
    }
}

/// A committed offset as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetValue {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

impl OffsetValue {
    pub fn encode(&self) -> Bytes {
        let mut w = Writer::default();
        w.i16(3);
        w.i64(self.offset);
        w.i32(self.leader_epoch);
        w.string(&self.metadata);
        w.i64(self.commit_timestamp);
        w.finish()
    }

    pub fn decode(buf: &[u8]) -> Result<OffsetValue, RecordError> {
        let mut r = Reader::new(buf);
        let version = r.i16()?;
        let offset = r.i64()?;
        let leader_epoch = if version >= 3 { r.i32()? } else { -1 };
        let metadata = r.string()?;
        let commit_timestamp = r.i64()?;
        Ok(OffsetValue {
            offset,
            leader_epoch,
            metadata,
            commit_timestamp,
        })
    }
}

/// Big-endian writer with Kafka's string encodings (i16 length, -1 for null).
#[derive(Default)]
pub struct Writer {
    buf: BytesMut,
}

impl Writer {
    pub fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    pub fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    pub fn u128(&mut self, v: u128) {
        self.buf.put_u128(v);
    }
    pub fn string(&mut self, s: &str) {
        let len = s.len().min(i16::MAX as usize);
        self.buf.put_i16(len as i16);
        self.buf.put_slice(&s.as_bytes()[..len]);
    }
    pub fn opt_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.buf.put_i16(-1),
        }
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.put_i32(b.len() as i32);
        self.buf.put_slice(b);
    }
    pub fn finish(self) -> Bytes {
        self.buf.freeze()
    }
}

/// Big-endian reader matching [`Writer`]; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.buf.len() < n {
            return Err(RecordError("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    pub fn i8(&mut self) -> Result<i8, RecordError> {
        Ok(self.take(1)?[0] as i8)
    }
    pub fn i16(&mut self) -> Result<i16, RecordError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }
    pub fn i32(&mut self) -> Result<i32, RecordError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    pub fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    pub fn u128(&mut self) -> Result<u128, RecordError> {
        Ok(u128::from_be_bytes(self.take(16)?.try_into().unwrap()))
    }
    pub fn opt_string(&mut self) -> Result<Option<String>, RecordError> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| RecordError("string is not UTF-8"))
    }
    pub fn string(&mut self) -> Result<String, RecordError> {
        self.opt_string()?.ok_or(RecordError("null string"))
    }
    pub fn bytes(&mut self) -> Result<Bytes, RecordError> {
        let len = self.i32()?;
        if len < 0 {
            return Err(RecordError("negative length"));
        }
        Ok(Bytes::copy_from_slice(self.take(len as usize)?))
    }
    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// A nullable array's count prefix (`None` for -1), checked as [`Reader::count`].
    pub fn opt_count(&mut self, min_size: usize) -> Result<Option<usize>, RecordError> {
        let n = self.i32()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 || (n as usize).saturating_mul(min_size.max(1)) > self.buf.len() {
            return Err(RecordError("bad element count"));
        }
        Ok(Some(n as usize))
    }
    /// A count prefix, checked against the bytes left (each element takes at least `min_size`).
    pub fn count(&mut self, min_size: usize) -> Result<usize, RecordError> {
        let n = self.i32()?;
        if n < 0 || (n as usize).saturating_mul(min_size.max(1)) > self.buf.len() {
            return Err(RecordError("bad element count"));
        }
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_key_and_value_round_trip() {
        let key = RecordKey::Offset {
            group: "g".into(),
            topic: "t".into(),
            partition: 7,
        };
        assert_eq!(RecordKey::decode(&key.encode()).unwrap(), Some(key));
        let value = OffsetValue {
            offset: 42,
            leader_epoch: 3,
            metadata: "m é".into(),
            commit_timestamp: 99,
        };
        assert_eq!(OffsetValue::decode(&value.encode()).unwrap(), value);
    }

    #[test]
    fn unknown_key_version_is_skipped_and_truncation_is_an_error() {
        assert_eq!(RecordKey::decode(&[0x7f, 0x7f, 0, 0]).unwrap(), None);
        let key = RecordKey::ClassicGroup {
            group: "group".into(),
        }
        .encode();
        assert!(RecordKey::decode(&key[..key.len() - 1]).is_err());
        assert!(OffsetValue::decode(&[0, 3, 1]).is_err());
    }
}
