//! The durable form of every share-partition (what Kafka keeps in
//! `__share_group_state`): one checkpoint file in the data dir, rewritten
//! atomically (temp file, fsync, rename) whenever a share-partition changed,
//! before the ShareFetch or ShareAcknowledge that changed it is answered.
//!
//! Layout: magic `WSHR`, version (u16), count (u32), then per share-partition
//! group id (u16 length + UTF-8), topic id (16 bytes), partition (i32) and
//! [`SharePartition::encode`]; last a CRC-32 (IEEE, `crc32fast`) of all before.

use super::partition::{Limits, SharePartition};
use super::SpKey;
use std::collections::HashMap;

/// The checkpoint's file name in the data dir.
pub const CHECKPOINT: &str = "share-group-state.checkpoint";

const MAGIC: &[u8; 4] = b"WSHR";
const VERSION: u16 = 1;

/// Why a checkpoint could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PersistError {
    #[error("checksum mismatch (got {got:#x}, expected {expected:#x})")]
    ChecksumMismatch { got: u32, expected: u32 },
    #[error("not a share-state checkpoint or unknown version")]
    BadHeader,
    #[error("truncated or malformed entry {0}")]
    Malformed(usize),
}

/// Encode every share-partition (sorted, so equal state gives equal bytes).
pub fn encode(parts: &HashMap<SpKey, SharePartition>) -> Vec<u8> {
    let mut keys: Vec<&SpKey> = parts.keys().collect();
    keys.sort();
    let mut out = Vec::with_capacity(64 + parts.len() * 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_be_bytes());
    out.extend_from_slice(&(keys.len() as u32).to_be_bytes());
    for k in keys {
        let g = k.0.as_bytes();
        out.extend_from_slice(&(g.len() as u16).to_be_bytes());
        out.extend_from_slice(g);
        out.extend_from_slice(&k.1.to_be_bytes());
        out.extend_from_slice(&k.2.to_be_bytes());
        parts[k].encode(&mut out);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Decode what [`encode`] wrote; partitions get `limits` (the current settings).
pub fn decode(data: &[u8], limits: Limits) -> Result<HashMap<SpKey, SharePartition>, PersistError> {
    if data.len() < 14 || &data[..4] != MAGIC {
        return Err(PersistError::BadHeader);
    }
    let (body, tail) = data.split_at(data.len() - 4);
    let expected = u32::from_be_bytes(tail.try_into().expect("4 bytes"));
    let got = crc32fast::hash(body);
    if got != expected {
        return Err(PersistError::ChecksumMismatch { got, expected });
    }
    if u16::from_be_bytes([body[4], body[5]]) != VERSION {
        return Err(PersistError::BadHeader);
    }
    let n = u32::from_be_bytes(body[6..10].try_into().expect("4 bytes")) as usize;
    let mut pos = 10;
    let mut out = HashMap::new();
    for i in 0..n {
        let bad = PersistError::Malformed(i);
        let glen = u16::from_be_bytes(
            body.get(pos..pos + 2)
                .ok_or(PersistError::Malformed(i))?
                .try_into()
                .expect("2 bytes"),
        ) as usize;
        pos += 2;
        let group = std::str::from_utf8(body.get(pos..pos + glen).ok_or(bad)?)
            .map_err(|_| PersistError::Malformed(i))?
            .to_string();
        pos += glen;
        let fixed = body.get(pos..pos + 20).ok_or(PersistError::Malformed(i))?;
        let topic = u128::from_be_bytes(fixed[..16].try_into().expect("16 bytes"));
        let partition = i32::from_be_bytes(fixed[16..20].try_into().expect("4 bytes"));
        pos += 20;
        let (sp, used) =
            SharePartition::decode(&body[pos..], limits).ok_or(PersistError::Malformed(i))?;
        pos += used;
        out.insert((group, topic, partition), sp);
    }
    if pos != body.len() {
        return Err(PersistError::Malformed(n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::partition::{LogBatch, RecordState};
    use std::sync::Arc;

    fn sample() -> HashMap<SpKey, SharePartition> {
        let mut a = SharePartition::new(5, Limits::default());
        let m: Arc<str> = Arc::from("m");
        a.acquire(
            &m,
            0,
            100,
            &[LogBatch {
                base_offset: 5,
                last_offset: 9,
                skip: false,
            }],
        );
        a.acknowledge("m", 6, 6, &[1], 0).unwrap();
        let b = SharePartition::new(0, Limits::default());
        let mut parts = HashMap::new();
        parts.insert(("g".to_string(), 7u128, 0), a);
        parts.insert(("other".to_string(), u128::MAX, 3), b);
        parts
    }

    #[test]
    fn round_trip() {
        let data = encode(&sample());
        let back = decode(&data, Limits::default()).unwrap();
        assert_eq!(back.len(), 2);
        let a = &back[&("g".to_string(), 7u128, 0)];
        assert_eq!(a.start_offset(), 5);
        assert_eq!(a.end_offset(), 10);
        assert_eq!(a.record(6), Some((RecordState::Acknowledged, 1)));
        assert_eq!(a.record(5), Some((RecordState::Available, 1)));
        assert_eq!(encode(&back), data);
    }

    #[test]
    fn a_damaged_checkpoint_is_refused() {
        let mut data = encode(&sample());
        data[12] ^= 1;
        assert!(matches!(
            decode(&data, Limits::default()),
            Err(PersistError::ChecksumMismatch { .. })
        ));
        assert_eq!(
            decode(b"nope", Limits::default()).unwrap_err(),
            PersistError::BadHeader
        );
    }
}
