//! The records of the transaction state log (`__transaction_state`), one per
//! transactional id, latest wins (the topic is compacted); a `None` value is a
//! tombstone. Big-endian, Kafka string encoding (i16 length). Kafka's own
//! schemas, so that `kafka-dump-log --transaction-log-decoder` reads them:
//!
//! - key: Kafka's TransactionLogKey v0: `i16 version (0), string transactional_id`.
//! - value: Kafka's TransactionLogValue v0 (what Kafka writes at
//!   transaction.version 0, as weir runs): `i16 version (0), i64 producer_id,
//!   i16 producer_epoch, i32 timeout_ms, i8 state (Kafka's numbering), nullable
//!   array (null in state Empty) of (string topic, array of i32 partition),
//!   i64 last_update_ms, i64 start_ms`. Then, only while a transaction holds
//!   offsets, weir's trailer, which Kafka's reader leaves unread: `i32 count of
//!   groups (string group, i32 count of offsets (string topic, i32 partition,
//!   i64 offset, i32 leader_epoch, string metadata))`. Kafka writes those
//!   offsets to `__consumer_offsets` as transactional records instead; weir
//!   keeps them here so that a transaction whose commit was prepared before a
//!   crash still applies them after it.
//!
//! Values of weir's earlier layout (version 100: the same fields, partitions
//! one by one, offsets always present) still decode, so old data dirs load; a
//! transactional id's next write is in Kafka's layout and compaction drops the
//! old one.

use super::state::{PendingOffset, TxnMetadata, TxnState};
use crate::groups::records::{Reader, RecordError, Writer};
use bytes::Bytes;
use std::collections::BTreeMap;

/// Key version of a transaction metadata record.
pub const KEY_VERSION: i16 = 0;
/// Kafka's TransactionLogValue version weir writes.
pub const VALUE_VERSION: i16 = 0;
/// weir's earlier value layout, still read.
pub const LEGACY_VALUE_VERSION: i16 = 100;

/// The key for a transactional id.
pub fn encode_key(transactional_id: &str) -> Bytes {
    let mut w = Writer::default();
    w.i16(KEY_VERSION);
    w.string(transactional_id);
    w.finish()
}

/// The transactional id of a key; `Ok(None)` for a key version this broker does
/// not know (skipped on replay).
pub fn decode_key(buf: &[u8]) -> Result<Option<String>, RecordError> {
    let mut r = Reader::new(buf);
    if r.i16()? != KEY_VERSION {
        return Ok(None);
    }
    Ok(Some(r.string()?))
}

pub fn encode_value(m: &TxnMetadata) -> Bytes {
    let mut w = Writer::default();
    w.i16(VALUE_VERSION);
    w.i64(m.producer_id);
    w.i16(m.producer_epoch);
    w.i32(m.timeout_ms);
    w.i8(m.state as i8);
    if m.state == TxnState::Empty {
        // As Kafka's TransactionLog.valueToBytes: no partition list when Empty.
        w.i32(-1);
    } else {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in &m.partitions {
            by_topic.entry(topic).or_default().push(*partition);
        }
        w.i32(by_topic.len() as i32);
        for (topic, partitions) in by_topic {
            w.string(topic);
            w.i32(partitions.len() as i32);
            for p in partitions {
                w.i32(p);
            }
        }
    }
    w.i64(m.last_update_ms);
    w.i64(m.start_ms);
    if !m.offsets.is_empty() {
        write_offsets(&mut w, m);
    }
    w.finish()
}

fn write_offsets(w: &mut Writer, m: &TxnMetadata) {
    w.i32(m.offsets.len() as i32);
    for (group, offsets) in &m.offsets {
        w.string(group);
        w.i32(offsets.len() as i32);
        for ((topic, partition), o) in offsets {
            w.string(topic);
            w.i32(*partition);
            w.i64(o.offset);
            w.i32(o.leader_epoch);
            w.string(&o.metadata);
        }
    }
}

fn read_offsets(r: &mut Reader<'_>, m: &mut TxnMetadata) -> Result<(), RecordError> {
    for _ in 0..r.count(6)? {
        let group = r.string()?;
        let offsets = m.offsets.entry(group).or_default();
        for _ in 0..r.count(20)? {
            let topic = r.string()?;
            let partition = r.i32()?;
            let offset = r.i64()?;
            let leader_epoch = r.i32()?;
            let metadata = r.string()?;
            offsets.insert(
                (topic, partition),
                PendingOffset {
                    offset,
                    leader_epoch,
                    metadata,
                },
            );
        }
    }
    Ok(())
}

pub fn decode_value(transactional_id: &str, buf: &[u8]) -> Result<TxnMetadata, RecordError> {
    let mut r = Reader::new(buf);
    let version = r.i16()?;
    if version != VALUE_VERSION && version != LEGACY_VALUE_VERSION {
        return Err(RecordError("unknown transaction value version"));
    }
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let state = TxnState::from_i8(r.i8()?).ok_or(RecordError("unknown transaction state"))?;
    let mut m = TxnMetadata::new(transactional_id, producer_id, timeout_ms, 0);
    m.producer_epoch = producer_epoch;
    m.state = state;
    if version == LEGACY_VALUE_VERSION {
        for _ in 0..r.count(6)? {
            let topic = r.string()?;
            m.partitions.insert((topic, r.i32()?));
        }
    } else {
        for _ in 0..r.opt_count(6)?.unwrap_or(0) {
            let topic = r.string()?;
            for _ in 0..r.count(4)? {
                m.partitions.insert((topic.clone(), r.i32()?));
            }
        }
    }
    m.last_update_ms = r.i64()?;
    m.start_ms = r.i64()?;
    if version == LEGACY_VALUE_VERSION || !r.is_empty() {
        read_offsets(&mut r, &mut m)?;
    }
    if !r.is_empty() {
        return Err(RecordError("bytes after the transaction value"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_with_partitions_and_pending_offsets() {
        let mut m = TxnMetadata::new("tx-1", 42, 30_000, 5);
        m.producer_epoch = 3;
        m.state = TxnState::PrepareCommit;
        m.start_ms = 4;
        m.partitions.insert(("a".into(), 0));
        m.partitions.insert(("b".into(), 7));
        m.offsets.entry("g".into()).or_default().insert(
            ("in".into(), 2),
            PendingOffset {
                offset: 99,
                leader_epoch: 1,
                metadata: "meta".into(),
            },
        );
        m.offsets.entry("empty".into()).or_default();
        let key = encode_key("tx-1");
        assert_eq!(decode_key(&key).unwrap().as_deref(), Some("tx-1"));
        let value = encode_value(&m);
        assert_eq!(decode_value("tx-1", &value).unwrap(), m);
        assert!(decode_value("tx-1", &value[..value.len() - 1]).is_err());
        assert_eq!(decode_key(&[0, 9, 0, 0]).unwrap(), None);
    }

    /// Kafka's TransactionLogValue v0, byte for byte (no trailer without offsets).
    #[test]
    fn values_are_kafkas_transaction_log_value_v0() {
        let mut m = TxnMetadata::new("tx", 7, 60_000, 0);
        m.producer_epoch = 2;
        m.state = TxnState::Ongoing;
        m.last_update_ms = 11;
        m.start_ms = 10;
        m.partitions.insert(("b".into(), 1));
        m.partitions.insert(("a".into(), 3));
        m.partitions.insert(("b".into(), 0));
        let mut want: Vec<u8> = Vec::new();
        want.extend(0i16.to_be_bytes());
        want.extend(7i64.to_be_bytes());
        want.extend(2i16.to_be_bytes());
        want.extend(60_000i32.to_be_bytes());
        want.push(1);
        want.extend(2i32.to_be_bytes());
        for (topic, parts) in [("a", vec![3i32]), ("b", vec![0, 1])] {
            want.extend((topic.len() as i16).to_be_bytes());
            want.extend(topic.as_bytes());
            want.extend((parts.len() as i32).to_be_bytes());
            for p in parts {
                want.extend(p.to_be_bytes());
            }
        }
        want.extend(11i64.to_be_bytes());
        want.extend(10i64.to_be_bytes());
        let value = encode_value(&m);
        assert_eq!(&value[..], &want[..]);
        assert_eq!(decode_value("tx", &value).unwrap(), m);
        // Empty: a null partition list, as Kafka writes it.
        let mut e = TxnMetadata::new("tx", 7, 60_000, 0);
        e.state = TxnState::Empty;
        let value = encode_value(&e);
        assert_eq!(&value[17..21], &(-1i32).to_be_bytes());
        assert_eq!(decode_value("tx", &value).unwrap(), e);
    }

    /// weir's earlier layout (value version 100) still loads.
    #[test]
    fn values_of_the_earlier_layout_still_decode() {
        let mut w = Writer::default();
        w.i16(LEGACY_VALUE_VERSION);
        w.i64(42);
        w.i16(3);
        w.i32(30_000);
        w.i8(TxnState::PrepareCommit as i8);
        w.i32(1);
        w.string("a");
        w.i32(0);
        w.i64(5);
        w.i64(4);
        w.i32(1);
        w.string("g");
        w.i32(1);
        w.string("in");
        w.i32(2);
        w.i64(99);
        w.i32(1);
        w.string("meta");
        let m = decode_value("tx-1", &w.finish()).unwrap();
        assert_eq!(
            (m.producer_id, m.producer_epoch, m.state),
            (42, 3, TxnState::PrepareCommit)
        );
        assert!(m.partitions.contains(&("a".to_string(), 0)));
        assert_eq!((m.last_update_ms, m.start_ms), (5, 4));
        assert_eq!(m.offsets["g"][&("in".to_string(), 2)].offset, 99);
        // Re-encoded in Kafka's layout, with the offsets in the trailer.
        let again = encode_value(&m);
        assert_eq!(i16::from_be_bytes([again[0], again[1]]), VALUE_VERSION);
        assert_eq!(decode_value("tx-1", &again).unwrap(), m);
    }
}
