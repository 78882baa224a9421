//! The records of the transaction state log (`__transaction_state`), one per
//! transactional id, latest wins (the topic is compacted); a `None` value is a
//! tombstone. Big-endian, Kafka string encoding (i16 length).
//!
//! - key: `i16 version (0), string transactional_id` — Kafka's TransactionLogKey v0.
//! - value: `i16 version (100 = weir's layout), i64 producer_id, i16 epoch,
//!   i32 timeout_ms, i8 state (Kafka's numbering), i32 count of partitions
//!   (string topic, i32 partition), i64 last_update_ms, i64 start_ms, i32 count
//!   of groups (string group, i32 count of offsets (string topic, i32
//!   partition, i64 offset, i32 leader_epoch, string metadata))`. Kafka's own
//!   value has no pending offsets (it writes them to `__consumer_offsets` as
//!   transactional records); weir keeps them here so that a transaction whose
//!   commit was prepared before a crash still applies them after it.

use super::state::{PendingOffset, TxnMetadata, TxnState};
use crate::groups::records::{Reader, RecordError, Writer};
use bytes::Bytes;

/// Key version of a transaction metadata record.
pub const KEY_VERSION: i16 = 0;
/// Value version of weir's layout.
pub const VALUE_VERSION: i16 = 100;

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
    w.i32(m.partitions.len() as i32);
    for (topic, partition) in &m.partitions {
        w.string(topic);
        w.i32(*partition);
    }
    w.i64(m.last_update_ms);
    w.i64(m.start_ms);
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
    w.finish()
}

pub fn decode_value(transactional_id: &str, buf: &[u8]) -> Result<TxnMetadata, RecordError> {
    let mut r = Reader::new(buf);
    if r.i16()? != VALUE_VERSION {
        return Err(RecordError("unknown transaction value version"));
    }
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let state = TxnState::from_i8(r.i8()?).ok_or(RecordError("unknown transaction state"))?;
    let mut m = TxnMetadata::new(transactional_id, producer_id, timeout_ms, 0);
    m.producer_epoch = producer_epoch;
    m.state = state;
    for _ in 0..r.count(6)? {
        let topic = r.string()?;
        m.partitions.insert((topic, r.i32()?));
    }
    m.last_update_ms = r.i64()?;
    m.start_ms = r.i64()?;
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
}
