//! Record batch format v2 (magic 2): the builder the producers fill and the reader the
//! consumers walk.
//!
//! A batch is a 61-byte header followed by the records section (possibly compressed). The
//! CRC is CRC-32C (Castagnoli) over everything from the attributes field to the end.

use bytes::Bytes;

use crate::codec::Compression;
use crate::error::BenchError;

/// Size of the v2 batch header (base offset through record count).
pub const HEADER_LEN: usize = 61;
/// Offset of the CRC field in the header.
const CRC_OFFSET: usize = 17;
/// Offset of the attributes field: the CRC covers from here to the end.
const ATTRIBUTES_OFFSET: usize = 21;

/// Bytes needed for a zigzag varint of `v`.
pub fn varint_len(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

/// Appends `v` as a zigzag varint (Kafka's varint / varlong).
pub fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Reads a zigzag varint from the front of `buf`, advancing it.
pub fn get_varint(buf: &mut &[u8]) -> Result<i64, BenchError> {
    let mut z: u64 = 0;
    let mut shift = 0;
    loop {
        let Some((&b, rest)) = buf.split_first() else {
            return Err(BenchError::Protocol("truncated varint".into()));
        };
        *buf = rest;
        if shift > 63 {
            return Err(BenchError::Protocol("varint too long".into()));
        }
        z |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
}

/// Accumulates records for one partition and seals them into a v2 batch.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    payload_bytes: u64,
}

impl BatchBuilder {
    /// An empty batch with room for about `capacity` bytes of records.
    pub fn new(capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(HEADER_LEN + capacity);
        buf.resize(HEADER_LEN, 0);
        BatchBuilder {
            buf,
            count: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            payload_bytes: 0,
        }
    }

    /// Number of records appended so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the batch so far (header plus uncompressed records).
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Key plus value bytes appended so far.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Appends a record whose value is `stamp` (8 bytes, big-endian) followed by `filler`.
    /// `timestamp_ms` is the record's CreateTime.
    pub fn append(&mut self, timestamp_ms: i64, key: Option<&[u8]>, stamp: u64, filler: &[u8]) {
        if self.count == 0 {
            self.base_timestamp = timestamp_ms;
            self.max_timestamp = timestamp_ms;
        }
        self.max_timestamp = self.max_timestamp.max(timestamp_ms);
        let ts_delta = timestamp_ms - self.base_timestamp;
        let offset_delta = i64::from(self.count);
        let value_len = 8 + filler.len();
        let key_part = match key {
            Some(k) => varint_len(k.len() as i64) + k.len(),
            None => 1,
        };
        let body = 1
            + varint_len(ts_delta)
            + varint_len(offset_delta)
            + key_part
            + varint_len(value_len as i64)
            + value_len
            + 1;
        let buf = &mut self.buf;
        put_varint(buf, body as i64);
        buf.push(0); // record attributes
        put_varint(buf, ts_delta);
        put_varint(buf, offset_delta);
        match key {
            Some(k) => {
                put_varint(buf, k.len() as i64);
                buf.extend_from_slice(k);
            }
            None => put_varint(buf, -1),
        }
        put_varint(buf, value_len as i64);
        buf.extend_from_slice(&stamp.to_be_bytes());
        buf.extend_from_slice(filler);
        put_varint(buf, 0); // no headers
        self.count += 1;
        self.payload_bytes += (value_len + key.map_or(0, <[u8]>::len)) as u64;
    }

    /// Seals the batch: compresses the records if asked, fills the header, computes the CRC.
    pub fn finish(self, compression: Compression) -> Result<Bytes, BenchError> {
        let mut buf = if compression == Compression::None {
            self.buf
        } else {
            let mut out = Vec::with_capacity(HEADER_LEN + self.buf.len() / 2);
            out.resize(HEADER_LEN, 0);
            compression.compress(&self.buf[HEADER_LEN..], &mut out)?;
            out
        };
        let batch_len = (buf.len() - 12) as i32;
        let h = &mut buf[..HEADER_LEN];
        h[0..8].copy_from_slice(&0i64.to_be_bytes()); // base offset, assigned by the broker
        h[8..12].copy_from_slice(&batch_len.to_be_bytes());
        h[12..16].copy_from_slice(&(-1i32).to_be_bytes()); // partition leader epoch
        h[16] = 2; // magic
        h[21..23].copy_from_slice(&compression.id().to_be_bytes());
        h[23..27].copy_from_slice(&(self.count - 1).to_be_bytes());
        h[27..35].copy_from_slice(&self.base_timestamp.to_be_bytes());
        h[35..43].copy_from_slice(&self.max_timestamp.to_be_bytes());
        h[43..51].copy_from_slice(&(-1i64).to_be_bytes()); // producer id
        h[51..53].copy_from_slice(&(-1i16).to_be_bytes()); // producer epoch
        h[53..57].copy_from_slice(&(-1i32).to_be_bytes()); // base sequence
        h[57..61].copy_from_slice(&self.count.to_be_bytes());
        let crc = crc32c::crc32c(&buf[ATTRIBUTES_OFFSET..]);
        buf[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
        Ok(Bytes::from(buf))
    }
}

/// The header fields of one batch in a fetched record set.
#[derive(Debug, Clone)]
pub struct BatchView {
    /// The whole batch (header and records).
    pub bytes: Bytes,
    pub base_offset: i64,
    pub last_offset_delta: i32,
    pub attributes: i16,
    pub record_count: i32,
}

impl BatchView {
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// True for transaction markers (control batches), which carry no user records.
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }

    /// Checks the stored CRC-32C against the batch contents.
    pub fn crc_ok(&self) -> bool {
        let stored = u32::from_be_bytes(
            self.bytes[CRC_OFFSET..ATTRIBUTES_OFFSET]
                .try_into()
                .expect("4 bytes"),
        );
        stored == crc32c::crc32c(&self.bytes[ATTRIBUTES_OFFSET..])
    }

    /// Calls `f(offset, key, value)` for each record (decompressing if needed).
    /// A null key or value is passed as an empty slice.
    pub fn for_each_record(&self, mut f: impl FnMut(i64, &[u8], &[u8])) -> Result<(), BenchError> {
        let codec = Compression::from_attributes(self.attributes)?;
        let section = &self.bytes[HEADER_LEN..];
        let owned;
        let mut rest: &[u8] = if codec == Compression::None {
            section
        } else {
            owned = codec.decompress(section)?;
            &owned
        };
        let trunc = || BenchError::Protocol("truncated record".into());
        for _ in 0..self.record_count {
            let len = get_varint(&mut rest)?;
            if len < 0 || len as usize > rest.len() {
                return Err(trunc());
            }
            let (mut rec, tail) = rest.split_at(len as usize);
            rest = tail;
            rec = rec.get(1..).ok_or_else(trunc)?; // attributes
            let _ts_delta = get_varint(&mut rec)?;
            let offset_delta = get_varint(&mut rec)?;
            let key_len = get_varint(&mut rec)?;
            let mut key: &[u8] = &[];
            if key_len > 0 {
                key = rec.get(..key_len as usize).ok_or_else(trunc)?;
                rec = &rec[key_len as usize..];
            }
            let value_len = get_varint(&mut rec)?;
            let value = if value_len > 0 {
                rec.get(..value_len as usize).ok_or_else(trunc)?
            } else {
                &[]
            };
            f(self.base_offset + offset_delta, key, value);
        }
        Ok(())
    }
}

/// Splits a fetched record set into whole v2 batches; a truncated last batch (the broker
/// may cut one at the size limit) is dropped. Older magic versions are reported as errors.
pub fn split_batches(mut records: Bytes) -> Result<Vec<BatchView>, BenchError> {
    let mut out = Vec::new();
    while records.len() >= HEADER_LEN {
        let batch_len = i32::from_be_bytes(records[8..12].try_into().expect("4 bytes"));
        if batch_len < 0 {
            return Err(BenchError::Protocol(format!(
                "negative batch length {batch_len}"
            )));
        }
        let total = 12 + batch_len as usize;
        if records.len() < total {
            break;
        }
        let magic = records[16];
        if magic != 2 {
            return Err(BenchError::Protocol(format!(
                "record batch magic {magic} (only v2 is supported)"
            )));
        }
        let bytes = records.split_to(total);
        let be_i16 = |b: &[u8]| i16::from_be_bytes(b.try_into().expect("2 bytes"));
        let be_i32 = |b: &[u8]| i32::from_be_bytes(b.try_into().expect("4 bytes"));
        out.push(BatchView {
            base_offset: i64::from_be_bytes(bytes[0..8].try_into().expect("8 bytes")),
            attributes: be_i16(&bytes[21..23]),
            last_offset_delta: be_i32(&bytes[23..27]),
            record_count: be_i32(&bytes[57..61]),
            bytes,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trips_including_negative_and_large() {
        for v in [
            0i64,
            1,
            -1,
            63,
            64,
            -65,
            300,
            i32::MAX as i64,
            i64::MIN,
            i64::MAX,
        ] {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), varint_len(v), "len of {v}");
            let mut s = &buf[..];
            assert_eq!(get_varint(&mut s).unwrap(), v);
            assert!(s.is_empty());
        }
        // Known encodings from the Kafka spec: -1 -> 0x01, 1 -> 0x02, 64 -> 0x80 0x01.
        let mut buf = Vec::new();
        put_varint(&mut buf, -1);
        put_varint(&mut buf, 1);
        put_varint(&mut buf, 64);
        assert_eq!(buf, [0x01, 0x02, 0x80, 0x01]);
    }

    #[test]
    fn truncated_varint_is_an_error() {
        let mut s: &[u8] = &[0x80, 0x80];
        assert!(get_varint(&mut s).is_err());
    }

    fn sample(compression: Compression) -> Bytes {
        let mut b = BatchBuilder::new(1024);
        let filler = vec![7u8; 92];
        for i in 0..10u64 {
            let key = format!("key-{i}");
            let key = (i % 2 == 0).then_some(key.as_bytes());
            b.append(1_700_000_000_000 + i as i64, key, 1000 + i, &filler);
        }
        assert_eq!(b.len(), 10);
        b.finish(compression).unwrap()
    }

    #[test]
    fn uncompressed_batch_has_valid_header_and_crc() {
        let bytes = sample(Compression::None);
        let batches = split_batches(bytes.clone()).unwrap();
        assert_eq!(batches.len(), 1);
        let v = &batches[0];
        assert_eq!(v.bytes.len(), bytes.len());
        assert_eq!(v.record_count, 10);
        assert_eq!(v.last_offset_delta, 9);
        assert_eq!(v.attributes, 0);
        assert!(v.crc_ok());
        assert_eq!(bytes[16], 2);
        // The CRC field must match an independent CRC-32C of the covered range.
        let crc = u32::from_be_bytes(bytes[17..21].try_into().unwrap());
        assert_eq!(crc, crc32c::crc32c(&bytes[21..]));
    }

    #[test]
    fn corrupted_batch_fails_crc() {
        let mut raw = sample(Compression::None).to_vec();
        let last = raw.len() - 3;
        raw[last] ^= 0xff;
        let v = &split_batches(Bytes::from(raw)).unwrap()[0];
        assert!(!v.crc_ok());
    }

    #[test]
    fn records_round_trip_through_every_codec() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let v = &split_batches(sample(c)).unwrap()[0];
            assert!(v.crc_ok(), "{}", c.name());
            assert_eq!(Compression::from_attributes(v.attributes).unwrap(), c);
            let mut seen = Vec::new();
            v.for_each_record(|off, key, val| {
                let want_key = format!("key-{off}");
                assert_eq!(
                    key,
                    if off % 2 == 0 {
                        want_key.as_bytes()
                    } else {
                        b""
                    }
                );
                assert_eq!(val.len(), 100);
                assert!(val[8..].iter().all(|&b| b == 7));
                seen.push((off, u64::from_be_bytes(val[..8].try_into().unwrap())));
            })
            .unwrap();
            let want: Vec<(i64, u64)> = (0..10).map(|i| (i as i64, 1000 + i)).collect();
            assert_eq!(seen, want, "{}", c.name());
        }
    }

    #[test]
    fn truncated_trailing_batch_is_dropped() {
        let a = sample(Compression::None);
        let mut two = a.to_vec();
        two.extend_from_slice(&a[..a.len() - 5]);
        let batches = split_batches(Bytes::from(two)).unwrap();
        assert_eq!(batches.len(), 1);
    }

    #[test]
    fn old_magic_is_rejected() {
        let mut raw = sample(Compression::None).to_vec();
        raw[16] = 1;
        assert!(split_batches(Bytes::from(raw)).is_err());
    }
}
