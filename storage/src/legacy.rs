//! Message formats v0 and v1 (the `MessageSet` of Kafka 0.10 and older, which
//! Kafka 4.0 dropped with KIP-724): up-conversion of a produced message set to
//! one v2 batch, and down-conversion of stored v2 batches to a message set for
//! the fetch versions that predate v2 (Fetch v0-3).
//!
//! One message (both magics):
//! `offset i64, size i32, crc u32, magic i8, attributes i8, [timestamp i64 (v1)],
//! key bytes (i32 length, -1 = null), value bytes`. The CRC is IEEE CRC-32 over
//! everything after it. Attributes bits 0-2 name the codec; bit 3 (v1) says the
//! timestamp is LogAppendTime. A compressed message (a "wrapper") holds, as its
//! value, the compressed message set of its inner messages; its offset is the
//! last inner offset. Inner offsets are absolute in v0 and relative to the first
//! inner message in v1 (Kafka's `MemoryRecordsBuilder.toInnerOffset`).
//!
//! LZ4 in magic 0 is Kafka's `KafkaLZ4BlockOutputStream` frame with the broken
//! header checksum (computed over the frame magic too); Kafka's reader ignores
//! that byte for magic 0 and checks it for magic 1, as this module does.
//!
//! Conversion follows Kafka's `LogValidator` (produce: every message of the set
//! becomes one record of one v2 batch, compressed with the codec the producer
//! used; magic 0 has no timestamps, its records get -1) and `RecordsUtil.downConvert`
//! (fetch: control batches skipped, records below the fetch offset dropped,
//! headers dropped, a compressed batch becomes one wrapper message of the same
//! codec; zstd has no v0/v1 form).

use crate::batch::{iter_batches_lenient, BatchEncoder};
use crate::compression::{CompressOptions, Compression};
use crate::error::BatchError;

/// Bytes before a message's magic byte: offset, size, crc.
const MAGIC_POS: usize = 16;
/// offset + size.
const LOG_OVERHEAD: usize = 12;
/// crc + magic + attributes + key length + value length.
const MIN_MESSAGE_V0: usize = 4 + 1 + 1 + 4 + 4;
const CODEC_MASK: u8 = 0x07;
const TIMESTAMP_TYPE_BIT: u8 = 0x08;

/// Why a message set could not be converted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LegacyError {
    /// A message that is truncated, has a bad CRC or an impossible layout
    /// (Kafka: CORRUPT_MESSAGE).
    #[error("corrupt message: {0}")]
    Corrupt(String),
    /// zstd, which message formats v0 and v1 cannot carry (Kafka:
    /// UNSUPPORTED_COMPRESSION_TYPE).
    #[error("{0} compression is not supported by message format v0/v1")]
    UnsupportedCodec(&'static str),
    /// Compression or decompression failed.
    #[error(transparent)]
    Batch(#[from] BatchError),
}

fn corrupt(why: impl Into<String>) -> LegacyError {
    LegacyError::Corrupt(why.into())
}

/// The magic byte of the first entry of a record set, if it has one.
pub fn first_magic(buf: &[u8]) -> Option<i8> {
    buf.get(MAGIC_POS).map(|&m| m as i8)
}

/// One parsed v0/v1 message, borrowing its key and value.
#[derive(Debug, Clone, Copy)]
struct Message<'a> {
    offset: i64,
    magic: u8,
    attributes: u8,
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Read a nullable `bytes` field (i32 length) from `b` at `*pos`.
fn bytes_field<'a>(b: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, LegacyError> {
    if b.len() < *pos + 4 {
        return Err(corrupt("message ends inside a length field"));
    }
    let len = be_i32(&b[*pos..]);
    *pos += 4;
    if len < 0 {
        return Ok(None);
    }
    let end = *pos + len as usize;
    if end > b.len() {
        return Err(corrupt("message ends inside a key or value"));
    }
    let v = &b[*pos..end];
    *pos = end;
    Ok(Some(v))
}

/// Parse every message of a message set; `Err` on a truncated or corrupt one.
fn parse_set(buf: &[u8]) -> Result<Vec<Message<'_>>, LegacyError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        if rest.len() < LOG_OVERHEAD {
            return Err(corrupt("message set ends inside a message header"));
        }
        let offset = be_i64(rest);
        let size = be_i32(&rest[8..]);
        if size < MIN_MESSAGE_V0 as i32 {
            return Err(corrupt(format!("message size {size} is too small")));
        }
        let end = LOG_OVERHEAD + size as usize;
        if end > rest.len() {
            return Err(corrupt("message set ends inside a message"));
        }
        let m = &rest[LOG_OVERHEAD..end];
        let stored = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
        let computed = crc32fast::hash(&m[4..]);
        if stored != computed {
            return Err(corrupt(format!(
                "CRC mismatch: message says {stored:#010x}, bytes give {computed:#010x}"
            )));
        }
        let magic = m[4];
        let attributes = m[5];
        let mut pos = 6;
        let timestamp = match magic {
            0 => -1,
            1 => {
                if m.len() < pos + 8 + 8 {
                    return Err(corrupt("v1 message too small"));
                }
                pos += 8;
                be_i64(&m[6..])
            }
            other => return Err(corrupt(format!("magic {other} in a v0/v1 message set"))),
        };
        let key = bytes_field(m, &mut pos)?;
        let value = bytes_field(m, &mut pos)?;
        if pos != m.len() {
            return Err(corrupt("bytes after a message's value"));
        }
        out.push(Message {
            offset,
            magic,
            attributes,
            timestamp,
            key,
            value,
        });
        rest = &rest[end..];
    }
    Ok(out)
}

fn codec_of(attributes: u8) -> Result<Compression, LegacyError> {
    match Compression::from_id(attributes & CODEC_MASK)? {
        Compression::Zstd => Err(LegacyError::UnsupportedCodec("zstd")),
        c => Ok(c),
    }
}

/// Position of the header checksum byte of an LZ4 frame (after magic, FLG, BD
/// and the optional content size and dictionary id).
fn lz4_hc_pos(frame: &[u8]) -> Option<usize> {
    let flg = *frame.get(4)?;
    let mut pos = 6;
    if flg & 0x08 != 0 {
        pos += 8;
    }
    if flg & 0x01 != 0 {
        pos += 4;
    }
    (frame.len() > pos).then_some(pos)
}

/// XXH32 (seed 0) of an input shorter than 16 bytes (an LZ4 frame descriptor).
fn xxh32_short(input: &[u8]) -> u32 {
    const P1: u32 = 2654435761;
    const P2: u32 = 2246822519;
    const P3: u32 = 3266489917;
    const P4: u32 = 668265263;
    const P5: u32 = 374761393;
    debug_assert!(input.len() < 16);
    let mut h = P5.wrapping_add(input.len() as u32);
    let mut chunks = input.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h = h
            .wrapping_add(k.wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in chunks.remainder() {
        h = h
            .wrapping_add((b as u32).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^= h >> 16;
    h
}

/// The header checksum byte over `frame[from..hc]` (from 4: LZ4's; from 0:
/// the broken one Kafka writes for magic 0).
fn lz4_hc(frame: &[u8], from: usize, hc: usize) -> u8 {
    (xxh32_short(&frame[from..hc]) >> 8) as u8
}

/// Decompress a wrapper message's value.
fn decompress(codec: Compression, magic: u8, data: &[u8]) -> Result<Vec<u8>, LegacyError> {
    if codec == Compression::Lz4 && magic == 0 {
        // Kafka ignores the (broken) header checksum of magic 0 frames: make it right.
        let mut fixed = data.to_vec();
        if let Some(hc) = lz4_hc_pos(&fixed) {
            fixed[hc] = lz4_hc(&fixed, 4, hc);
        }
        return Ok(codec.decompress(&fixed)?);
    }
    Ok(codec.decompress(data)?)
}

/// Compress an inner message set for a wrapper of `magic`.
fn compress(codec: Compression, magic: u8, data: &[u8]) -> Result<Vec<u8>, LegacyError> {
    let mut out = codec.compress(data)?;
    if codec == Compression::Lz4 && magic == 0 {
        if let Some(hc) = lz4_hc_pos(&out) {
            out[hc] = lz4_hc(&out, 0, hc);
        }
    }
    Ok(out)
}

/// Convert a produced message set (magic 0 or 1, each message compressed or
/// not) into one v2 batch with offsets 0..n-1, compressed with the producer's
/// codec. Magic 0 records get timestamp -1 (Kafka's NO_TIMESTAMP), magic 1
/// records keep theirs (a LogAppendTime wrapper's timestamp for its inner
/// messages). The batch's offsets, and LogAppendTime where the topic asks for
/// it, are assigned at append as for any produced batch.
pub fn up_convert(buf: &[u8]) -> Result<Vec<u8>, LegacyError> {
    if buf.is_empty() {
        return Err(BatchError::Empty.into());
    }
    let outer = parse_set(buf)?;
    let mut codec = Compression::None;
    let mut enc = BatchEncoder::with_capacity(buf.len());
    for m in &outer {
        let c = codec_of(m.attributes)?;
        if c == Compression::None {
            enc.append(m.timestamp, m.key, m.value);
            continue;
        }
        codec = c;
        let inner = decompress(c, m.magic, m.value.unwrap_or_default())?;
        let wrapper_lat = m.magic == 1 && m.attributes & TIMESTAMP_TYPE_BIT != 0;
        for i in parse_set(&inner)? {
            if i.magic != m.magic {
                return Err(corrupt(format!(
                    "inner message magic {} in a magic {} wrapper",
                    i.magic, m.magic
                )));
            }
            if i.attributes & CODEC_MASK != 0 {
                return Err(corrupt("compressed message inside a compressed message"));
            }
            let ts = if wrapper_lat {
                m.timestamp
            } else {
                i.timestamp
            };
            enc.append(ts, i.key, i.value);
        }
    }
    if enc.is_empty() {
        return Err(BatchError::Empty.into());
    }
    Ok(enc.finish(codec, CompressOptions::KAFKA)?)
}

/// Append one message of `magic` to `out`.
fn put_message(
    out: &mut Vec<u8>,
    magic: u8,
    offset: i64,
    attributes: u8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) {
    let body = 4
        + 1
        + 1
        + if magic >= 1 { 8 } else { 0 }
        + 4
        + key.map_or(0, <[u8]>::len)
        + 4
        + value.map_or(0, <[u8]>::len);
    out.reserve(LOG_OVERHEAD + body);
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&(body as i32).to_be_bytes());
    let crc_pos = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(magic);
    out.push(attributes);
    if magic >= 1 {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    for field in [key, value] {
        match field {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    let crc = crc32fast::hash(&out[crc_pos + 4..]);
    out[crc_pos..crc_pos + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Down-convert stored v2 batches (a fetch result, maybe ending in a partial
/// batch) to a message set of `magic` (0 or 1), appending to `out`. Records
/// below `fetch_offset` and control batches are left out; headers are dropped.
/// One batch is converted at a time (memory: one batch's records), and no
/// batch is started once `out` holds `limit` bytes (the first always is).
pub fn down_convert(
    buf: &[u8],
    magic: u8,
    fetch_offset: i64,
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<(), LegacyError> {
    debug_assert!(magic <= 1);
    let start = out.len();
    for batch in iter_batches_lenient(buf) {
        if out.len() > start && out.len() - start >= limit {
            break;
        }
        if batch.is_control() || batch.last_offset() < fetch_offset {
            continue;
        }
        let codec = batch.compression()?;
        if codec == Compression::Zstd {
            return Err(LegacyError::UnsupportedCodec("zstd"));
        }
        let lat = batch.is_log_append_time();
        let ts_attr = if lat && magic >= 1 {
            TIMESTAMP_TYPE_BIT
        } else {
            0
        };
        if codec == Compression::None {
            batch.for_each_record(|r| {
                if r.offset >= fetch_offset {
                    put_message(out, magic, r.offset, ts_attr, r.timestamp, r.key, r.value);
                }
            })?;
            continue;
        }
        let mut inner = Vec::new();
        let mut first = None;
        let mut last = 0;
        let mut max_ts = -1;
        batch.for_each_record(|r| {
            if r.offset < fetch_offset {
                return;
            }
            let base = *first.get_or_insert(r.offset);
            let inner_offset = if magic == 0 {
                r.offset
            } else {
                r.offset - base
            };
            put_message(
                &mut inner,
                magic,
                inner_offset,
                0,
                r.timestamp,
                r.key,
                r.value,
            );
            last = r.offset;
            max_ts = max_ts.max(r.timestamp);
        })?;
        if first.is_none() {
            continue;
        }
        let compressed = compress(codec, magic, &inner)?;
        put_message(
            out,
            magic,
            last,
            codec as u8 | ts_attr,
            max_ts,
            None,
            Some(&compressed),
        );
    }
    Ok(())
}

/// A record as a producer hands it over: (timestamp, key, value).
pub type PlainRecord<'a> = (i64, Option<&'a [u8]>, Option<&'a [u8]>);

/// Encode records as a message set of `magic` (a producer of Kafka 0.10 and
/// older): `(timestamp, key, value)` each, offsets 0..n-1, compressed into one
/// wrapper when `codec` is not `None`. For tests and the load harness.
pub fn encode_message_set(
    magic: u8,
    codec: Compression,
    records: &[PlainRecord<'_>],
) -> Result<Vec<u8>, LegacyError> {
    let mut plain = Vec::new();
    for (i, (ts, k, v)) in records.iter().enumerate() {
        put_message(&mut plain, magic, i as i64, 0, *ts, *k, *v);
    }
    if codec == Compression::None {
        return Ok(plain);
    }
    if codec == Compression::Zstd {
        return Err(LegacyError::UnsupportedCodec("zstd"));
    }
    let compressed = compress(codec, magic, &plain)?;
    let max_ts = records.iter().map(|r| r.0).max().unwrap_or(-1);
    let mut out = Vec::new();
    put_message(
        &mut out,
        magic,
        records.len().saturating_sub(1) as i64,
        codec as u8,
        max_ts,
        None,
        Some(&compressed),
    );
    Ok(out)
}

/// One message of a v0/v1 message set as a reader of that format sees it
/// (wrappers opened): for tests and tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRecord {
    pub offset: i64,
    pub magic: u8,
    /// `None` for magic 0.
    pub timestamp: Option<i64>,
    pub log_append_time: bool,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Decode a message set as a v0/v1 consumer does: wrappers decompressed, inner
/// offsets made absolute (v1: relative to the wrapper's offset), a trailing
/// partial message ignored (Fetch v0-3 responses may end in one).
pub fn decode_message_set(buf: &[u8]) -> Result<Vec<LegacyRecord>, LegacyError> {
    let mut whole = 0;
    let mut rest = buf;
    while rest.len() >= LOG_OVERHEAD {
        let size = be_i32(&rest[8..]).max(0) as usize;
        if rest.len() < LOG_OVERHEAD + size {
            break;
        }
        whole += LOG_OVERHEAD + size;
        rest = &rest[LOG_OVERHEAD + size..];
    }
    let mut out = Vec::new();
    for m in parse_set(&buf[..whole])? {
        let lat = m.magic == 1 && m.attributes & TIMESTAMP_TYPE_BIT != 0;
        let codec = codec_of(m.attributes)?;
        let ts = |t: i64| (m.magic == 1).then_some(t);
        if codec == Compression::None {
            out.push(LegacyRecord {
                offset: m.offset,
                magic: m.magic,
                timestamp: ts(m.timestamp),
                log_append_time: lat,
                key: m.key.map(<[u8]>::to_vec),
                value: m.value.map(<[u8]>::to_vec),
            });
            continue;
        }
        if m.magic == 1 {
            // Kafka's reader checks the LZ4 header checksum for magic 1.
            if codec == Compression::Lz4 {
                let v = m.value.unwrap_or_default();
                if let Some(hc) = lz4_hc_pos(v) {
                    if v[hc] != lz4_hc(v, 4, hc) {
                        return Err(corrupt("lz4 frame header checksum"));
                    }
                }
            }
        }
        let inner = decompress(codec, m.magic, m.value.unwrap_or_default())?;
        let inner = parse_set(&inner)?;
        let last_rel = inner.last().map_or(0, |i| i.offset);
        for i in &inner {
            let offset = if m.magic == 0 {
                i.offset
            } else {
                m.offset - last_rel + i.offset
            };
            out.push(LegacyRecord {
                offset,
                magic: i.magic,
                timestamp: ts(if lat { m.timestamp } else { i.timestamp }),
                log_append_time: lat,
                key: i.key.map(<[u8]>::to_vec),
                value: i.value.map(<[u8]>::to_vec),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{iter_batches, BatchHeader};

    const CODECS: [Compression; 4] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
    ];

    fn records() -> Vec<PlainRecord<'static>> {
        vec![
            (1000, Some(b"k1"), Some(b"v1")),
            (1001, None, Some(b"value two")),
            (1005, Some(b"k3"), None),
        ]
    }

    /// Assign `base` as the batch's base offset (what the log does at append).
    fn at(mut batch: Vec<u8>, base: i64) -> Vec<u8> {
        batch[..8].copy_from_slice(&base.to_be_bytes());
        batch
    }

    #[test]
    fn xxh32_matches_the_reference_for_short_inputs() {
        // Reference values of xxHash32 with seed 0.
        assert_eq!(xxh32_short(b""), 0x02cc5d05);
        assert_eq!(xxh32_short(b"a"), 0x550d7456);
        assert_eq!(xxh32_short(b"abc"), 0x32d153ff);
        // And the one lz4_flex writes into its frames.
        let frame = Compression::Lz4.compress(b"hello hello hello").unwrap();
        let hc = lz4_hc_pos(&frame).unwrap();
        assert_eq!(frame[hc], lz4_hc(&frame, 4, hc));
    }

    #[test]
    fn every_magic_and_codec_up_converts_to_one_v2_batch() {
        for magic in [0u8, 1] {
            for codec in CODECS {
                let set = encode_message_set(magic, codec, &records()).unwrap();
                let batch = up_convert(&set).unwrap();
                let h = BatchHeader::parse(&batch).unwrap();
                h.validate_crc().unwrap();
                assert_eq!(h.total_len(), batch.len());
                assert_eq!(h.compression().unwrap(), codec, "{magic} {codec:?}");
                let got = h.records().unwrap();
                assert_eq!(got.len(), 3);
                for (i, (r, want)) in got.iter().zip(records()).enumerate() {
                    assert_eq!(r.offset, i as i64);
                    let ts = if magic == 0 { -1 } else { want.0 };
                    assert_eq!(r.timestamp, ts, "{magic} {codec:?}");
                    assert_eq!(r.key.as_deref(), want.1);
                    assert_eq!(r.value.as_deref(), want.2);
                }
            }
        }
    }

    #[test]
    fn v2_batches_down_convert_and_read_back_as_each_magic() {
        for codec in CODECS {
            let set = encode_message_set(1, codec, &records()).unwrap();
            let stored = at(up_convert(&set).unwrap(), 40);
            for magic in [0u8, 1] {
                let mut out = Vec::new();
                down_convert(&stored, magic, 0, usize::MAX, &mut out).unwrap();
                let back = decode_message_set(&out).unwrap();
                let offsets: Vec<i64> = back.iter().map(|r| r.offset).collect();
                assert_eq!(offsets, [40, 41, 42], "{magic} {codec:?}");
                for (r, want) in back.iter().zip(records()) {
                    assert_eq!(r.magic, magic);
                    assert_eq!(r.timestamp, (magic == 1).then_some(want.0));
                    assert_eq!(r.key.as_deref(), want.1);
                    assert_eq!(r.value.as_deref(), want.2);
                }
                // And up again: the same records.
                let again = up_convert(&out).unwrap();
                assert_eq!(
                    BatchHeader::parse(&again).unwrap().records().unwrap().len(),
                    3
                );
            }
        }
    }

    #[test]
    fn down_conversion_starts_at_the_fetch_offset_and_skips_control_batches() {
        let set = encode_message_set(1, Compression::Gzip, &records()).unwrap();
        let mut stored = at(up_convert(&set).unwrap(), 10);
        let marker = crate::control::end_txn_marker_batch(1, 0, true, 1, -1).unwrap();
        stored.extend_from_slice(&at(marker, 13));
        let mut out = Vec::new();
        down_convert(&stored, 1, 11, usize::MAX, &mut out).unwrap();
        let offsets: Vec<i64> = decode_message_set(&out)
            .unwrap()
            .iter()
            .map(|r| r.offset)
            .collect();
        assert_eq!(offsets, [11, 12]);
    }

    #[test]
    fn down_conversion_stops_starting_batches_at_the_limit() {
        let mut stored = Vec::new();
        for base in [0, 3, 6] {
            let set = encode_message_set(0, Compression::None, &records()).unwrap();
            stored.extend_from_slice(&at(up_convert(&set).unwrap(), base));
        }
        let mut out = Vec::new();
        down_convert(&stored, 0, 0, 1, &mut out).unwrap();
        assert_eq!(
            decode_message_set(&out).unwrap().len(),
            3,
            "only the first batch"
        );
        out.clear();
        down_convert(&stored, 0, 0, usize::MAX, &mut out).unwrap();
        assert_eq!(decode_message_set(&out).unwrap().len(), 9);
    }

    #[test]
    fn zstd_batches_cannot_be_down_converted() {
        let mut e = BatchEncoder::with_capacity(16);
        e.append(1, None, Some(b"x"));
        let b = e.finish(Compression::Zstd, CompressOptions::KAFKA).unwrap();
        assert_eq!(
            down_convert(&b, 1, 0, usize::MAX, &mut Vec::new()),
            Err(LegacyError::UnsupportedCodec("zstd"))
        );
    }

    #[test]
    fn a_bad_crc_or_truncation_is_corrupt() {
        let mut set = encode_message_set(0, Compression::None, &records()).unwrap();
        assert!(matches!(
            up_convert(&set[..set.len() - 1]),
            Err(LegacyError::Corrupt(_))
        ));
        let last = set.len() - 1;
        set[last] ^= 0xff;
        assert!(matches!(up_convert(&set), Err(LegacyError::Corrupt(_))));
        assert!(matches!(
            up_convert(&[]),
            Err(LegacyError::Batch(BatchError::Empty))
        ));
    }

    #[test]
    fn lz4_magic_0_carries_the_broken_checksum_and_magic_1_the_right_one() {
        let v0 = encode_message_set(0, Compression::Lz4, &records()).unwrap();
        let m = &parse_set(&v0).unwrap()[0];
        let frame = m.value.unwrap();
        let hc = lz4_hc_pos(frame).unwrap();
        assert_eq!(frame[hc], lz4_hc(frame, 0, hc));
        assert_ne!(frame[hc], lz4_hc(frame, 4, hc));
        let v1 = encode_message_set(1, Compression::Lz4, &records()).unwrap();
        let m = &parse_set(&v1).unwrap()[0];
        let frame = m.value.unwrap();
        let hc = lz4_hc_pos(frame).unwrap();
        assert_eq!(frame[hc], lz4_hc(frame, 4, hc));
        // A magic 0 frame with a correct checksum is accepted too (Kafka ignores it).
        let mut plain = Vec::new();
        put_message(&mut plain, 0, 0, 0, -1, None, Some(b"x"));
        let right = Compression::Lz4.compress(&plain).unwrap();
        let mut set = Vec::new();
        put_message(
            &mut set,
            0,
            0,
            Compression::Lz4 as u8,
            -1,
            None,
            Some(&right),
        );
        assert_eq!(
            BatchHeader::parse(&up_convert(&set).unwrap())
                .unwrap()
                .record_count(),
            1
        );
    }

    #[test]
    fn a_partial_trailing_message_is_ignored_by_readers() {
        let set = encode_message_set(1, Compression::None, &records()).unwrap();
        let got = decode_message_set(&set[..set.len() - 3]).unwrap();
        assert_eq!(got.len(), 2);
        assert!(iter_batches(&set).next().unwrap().is_err());
    }
}
