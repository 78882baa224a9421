//! Transaction markers: the control batches (COMMIT / ABORT) the coordinator
//! writes to every partition of a transaction when it ends, laid out as Kafka's
//! `EndTransactionMarker`: one control record whose key is `i16 version (0),
//! i16 type (0 = ABORT, 1 = COMMIT)` and whose value is `i16 version (0), i32
//! coordinator epoch`, in a batch with the transactional and control attribute
//! bits and the producer's id and epoch (sequence -1).
//!
//! A leaf module: the partitions use it to write and to recognise markers, and
//! the log cleaner in the storage crate reads the same key layout.

use weir_storage::{BatchBuilder, BatchError, BatchHeader, Record};

/// Control record type of an ABORT marker.
pub const ABORT: i16 = 0;
/// Control record type of a COMMIT marker.
pub const COMMIT: i16 = 1;

/// The control batch ending a transaction of `producer_id` at `epoch`.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Result<Vec<u8>, BatchError> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(if commit { COMMIT } else { ABORT }).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let mut b = BatchBuilder::new();
    b.transactional = true;
    b.control = true;
    b.producer_id = producer_id;
    b.producer_epoch = producer_epoch;
    b.base_sequence = -1;
    b.push(Record {
        offset: 0,
        timestamp,
        key: Some(key.into()),
        value: Some(value.into()),
        headers: Vec::new(),
    });
    b.build()
}

/// For a transaction marker batch: `Some(true)` for COMMIT, `Some(false)` for
/// ABORT; `None` for any other batch (data, or a control record of another type).
pub fn marker_kind(batch: &BatchHeader<'_>) -> Option<bool> {
    if !batch.is_control() || !batch.is_transactional() {
        return None;
    }
    let records = batch.records().ok()?;
    let key = records.first()?.key.as_ref()?;
    if key.len() < 4 {
        return None;
    }
    match i16::from_be_bytes([key[2], key[3]]) {
        COMMIT => Some(true),
        ABORT => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_with_kafkas_layout() {
        for commit in [true, false] {
            let bytes = control_batch(42, 7, commit, 3, 1000).unwrap();
            let h = BatchHeader::parse(&bytes).unwrap();
            h.validate_crc().unwrap();
            assert!(h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id(), h.producer_epoch()), (42, 7));
            assert_eq!(h.base_sequence(), -1);
            assert_eq!(marker_kind(&h), Some(commit));
            let recs = h.records().unwrap();
            assert_eq!(recs[0].key.as_deref(), Some(&[0u8, 0, 0, commit as u8][..]));
            assert_eq!(recs[0].value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 3][..]));
        }
    }

    #[test]
    fn a_data_batch_is_not_a_marker() {
        let mut b = BatchBuilder::new();
        b.transactional = true;
        b.producer_id = 1;
        b.producer_epoch = 0;
        b.base_sequence = 0;
        b.push(Record {
            offset: 0,
            timestamp: 0,
            key: Some(vec![0, 0, 0, 1].into()),
            value: None,
            headers: Vec::new(),
        });
        let bytes = b.build().unwrap();
        assert_eq!(marker_kind(&BatchHeader::parse(&bytes).unwrap()), None);
    }
}
