//! Control records: the one parser (and builder) of control batches, shared by
//! the log cleaner and the broker's transaction code.
//!
//! As Kafka lays them out (`ControlRecordType`, `EndTransactionMarker`): a
//! control record's key is `i16 version, i16 type`; type 0 is ABORT and 1 is
//! COMMIT (Kafka's other types, 2-4, are KRaft's and never appear in a data
//! log). An end-transaction marker is a control batch, transactional, holding
//! one such record whose value is `i16 version (0), i32 coordinator epoch`,
//! with the producer's id and epoch and sequence -1.
//!
//! A key shorter than 4 bytes or with a negative version is invalid (Kafka's
//! `InvalidRecordException`); a newer key version is read as version 0. A
//! control record of a type other than ABORT or COMMIT is not a marker: it ends
//! no transaction and the cleaner keeps it, as Kafka's cleaner does
//! (`CleanedTransactionMetadata.onControlBatchRead`: `default: return false`).

use crate::batch::{BatchBuilder, BatchHeader, Record};
use crate::error::BatchError;

/// Control record type of an ABORT marker.
pub const ABORT: i16 = 0;
/// Control record type of a COMMIT marker.
pub const COMMIT: i16 = 1;
/// The control record key version written (and the only one defined).
const KEY_VERSION: i16 = 0;
/// Bytes of a version-0 control record key.
const KEY_SIZE: usize = 4;
/// The end-transaction marker value version written.
const MARKER_VALUE_VERSION: i16 = 0;

/// The type of a control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlType {
    Abort,
    Commit,
    /// Any other type id: not a transaction marker (ignored, kept).
    Other(i16),
}

/// Parse a control record key (`i16 version, i16 type`).
pub fn parse_key(key: &[u8]) -> Result<ControlType, BatchError> {
    if key.len() < KEY_SIZE {
        return Err(BatchError::CorruptRecord(format!(
            "control record key has {} bytes, needs at least {KEY_SIZE}",
            key.len()
        )));
    }
    let version = i16::from_be_bytes([key[0], key[1]]);
    if version < 0 {
        return Err(BatchError::CorruptRecord(format!(
            "control record key version {version}"
        )));
    }
    Ok(match i16::from_be_bytes([key[2], key[3]]) {
        ABORT => ControlType::Abort,
        COMMIT => ControlType::Commit,
        other => ControlType::Other(other),
    })
}

/// For a transaction marker (a transactional control batch whose record is
/// ABORT or COMMIT): `Some(true)` for COMMIT, `Some(false)` for ABORT. `None`
/// for any other batch: data, a control batch of another type, or one with no
/// record (emptied by a cleaner). Errs only on a malformed control record.
pub fn end_txn_marker(batch: &BatchHeader<'_>) -> Result<Option<bool>, BatchError> {
    if !batch.is_control() || !batch.is_transactional() {
        return Ok(None);
    }
    let records = batch.records()?;
    let Some(first) = records.first() else {
        return Ok(None);
    };
    let Some(key) = first.key.as_ref() else {
        return Err(BatchError::CorruptRecord(
            "control record without a key".into(),
        ));
    };
    Ok(match parse_key(key)? {
        ControlType::Commit => Some(true),
        ControlType::Abort => Some(false),
        ControlType::Other(_) => None,
    })
}

/// The control batch ending a transaction of `producer_id` at `producer_epoch`
/// (COMMIT when `commit`, else ABORT), at base offset 0 (the log assigns it).
pub fn end_txn_marker_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    timestamp: i64,
) -> Result<Vec<u8>, BatchError> {
    let mut key = Vec::with_capacity(KEY_SIZE);
    key.extend_from_slice(&KEY_VERSION.to_be_bytes());
    key.extend_from_slice(&(if commit { COMMIT } else { ABORT }).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&MARKER_VALUE_VERSION.to_be_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn control_batch_with_key(key: Option<Vec<u8>>) -> Vec<u8> {
        let mut b = BatchBuilder::new();
        b.transactional = true;
        b.control = true;
        b.producer_id = 9;
        b.producer_epoch = 1;
        b.base_sequence = -1;
        b.push(Record {
            offset: 0,
            timestamp: 0,
            key: key.map(Into::into),
            value: Some(vec![0, 0, 0, 0, 0, 0].into()),
            headers: Vec::new(),
        });
        b.build().unwrap()
    }

    #[test]
    fn markers_round_trip_with_kafkas_layout() {
        for commit in [true, false] {
            let bytes = end_txn_marker_batch(42, 7, commit, 3, 1000).unwrap();
            let h = BatchHeader::parse(&bytes).unwrap();
            h.validate_crc().unwrap();
            assert!(h.is_control() && h.is_transactional());
            assert_eq!((h.producer_id(), h.producer_epoch()), (42, 7));
            assert_eq!(h.base_sequence(), -1);
            assert_eq!(end_txn_marker(&h), Ok(Some(commit)));
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
        assert_eq!(
            end_txn_marker(&BatchHeader::parse(&bytes).unwrap()),
            Ok(None)
        );
    }

    #[test]
    fn an_unknown_control_type_is_not_a_marker() {
        // Kafka's ControlRecordType.UNKNOWN: neither COMMIT nor ABORT.
        for ty in [2i16, 4, 7, -1, i16::MAX] {
            let mut key = 0i16.to_be_bytes().to_vec();
            key.extend_from_slice(&ty.to_be_bytes());
            assert_eq!(parse_key(&key), Ok(ControlType::Other(ty)));
            let bytes = control_batch_with_key(Some(key));
            assert_eq!(
                end_txn_marker(&BatchHeader::parse(&bytes).unwrap()),
                Ok(None),
                "type {ty}"
            );
        }
    }

    #[test]
    fn a_newer_key_version_is_read_as_version_0() {
        assert_eq!(parse_key(&[0, 3, 0, 1, 0xff]), Ok(ControlType::Commit));
        assert_eq!(parse_key(&[0, 1, 0, 0]), Ok(ControlType::Abort));
    }

    #[test]
    fn a_short_key_or_a_negative_version_is_corrupt() {
        for key in [&[][..], &[0, 0, 1][..], &[0xff, 0xff, 0, 1][..]] {
            assert!(
                matches!(parse_key(key), Err(BatchError::CorruptRecord(_))),
                "{key:?}"
            );
        }
        let keyless = control_batch_with_key(None);
        assert!(matches!(
            end_txn_marker(&BatchHeader::parse(&keyless).unwrap()),
            Err(BatchError::CorruptRecord(_))
        ));
        let short = control_batch_with_key(Some(vec![0, 0, 1]));
        assert!(end_txn_marker(&BatchHeader::parse(&short).unwrap()).is_err());
    }
}
