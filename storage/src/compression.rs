//! The four record batch codecs: gzip (flate2), snappy (`snap`; raw and the
//! xerial framing the Java client sends), lz4 (frame format, `lz4_flex`), zstd.
//!
//! Compression appends in place with a choice of levels and snappy framing
//! ([`CompressOptions`]: what the broker writes, or the cheapest a client sends,
//! for the load harness). Decompression is capped at [`MAX_DECOMPRESSED`] bytes
//! so a small hostile batch cannot make the broker allocate without bound.

use crate::error::BatchError;
use std::io::{Read, Write};

/// Largest decompressed size of one batch's records we accept.
pub const MAX_DECOMPRESSED: usize = 1 << 30;

/// xerial snappy-java stream header: magic (8 bytes), version i32, compatible version i32.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Block size snappy-java's `SnappyOutputStream` uses by default (32 KiB).
const XERIAL_BLOCK: usize = 32 * 1024;

/// Compression codec ids as in the batch attributes (bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

fn dec_err(codec: &str, e: impl std::fmt::Display) -> BatchError {
    BatchError::Decompression(format!("{codec}: {e}"))
}

/// Read all of `r`, failing if it yields more than `limit` bytes.
fn read_capped(
    codec: &str,
    r: impl Read,
    hint: usize,
    limit: usize,
) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(hint.min(limit));
    r.take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| dec_err(codec, e))?;
    if out.len() > limit {
        return Err(BatchError::InflateLimit { limit });
    }
    Ok(out)
}

/// The most a snappy block can inflate (64 output bytes per 3 input bytes, rounded up).
const SNAPPY_MAX_RATIO: usize = 22;

fn snappy_raw_decompress(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), BatchError> {
    let len = snap::raw::decompress_len(block).map_err(|e| dec_err("snappy", e))?;
    // No snappy element emits more than 64 bytes for 3 bytes of input (a copy with a
    // 2-byte offset), so a block claiming more than 22x its size is corrupt: refuse it
    // before zero-filling the claimed length (a 6-byte block may claim 1 GiB).
    if len > block.len().saturating_mul(SNAPPY_MAX_RATIO) {
        return Err(dec_err(
            "snappy",
            format!("a block of {} bytes claims {len} bytes", block.len()),
        ));
    }
    if out.len() + len > limit {
        return Err(BatchError::InflateLimit { limit });
    }
    let start = out.len();
    out.resize(start + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(block, &mut out[start..])
        .map_err(|e| dec_err("snappy", e))?;
    out.truncate(start + n);
    Ok(())
}

/// Decode snappy as Kafka clients send it: xerial framing (Java client) or a raw
/// snappy block (librdkafka and others).
fn snappy_decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::new();
    if data.len() >= XERIAL_HEADER_LEN && data[..8] == XERIAL_MAGIC {
        let mut pos = XERIAL_HEADER_LEN;
        while pos < data.len() {
            if data.len() - pos < 4 {
                return Err(dec_err("snappy", "truncated xerial chunk length"));
            }
            let len = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            pos += 4;
            if len > data.len() - pos {
                return Err(dec_err("snappy", "xerial chunk runs past the data"));
            }
            snappy_raw_decompress(&data[pos..pos + len], &mut out, limit)?;
            pos += len;
        }
    } else {
        snappy_raw_decompress(data, &mut out, limit)?;
    }
    Ok(out)
}

/// Append one raw snappy block of `data` to `out`, compressed in place.
fn snappy_raw_compress(
    enc: &mut snap::raw::Encoder,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<usize, BatchError> {
    let start = out.len();
    out.resize(start + snap::raw::max_compress_len(data.len()), 0);
    let n = enc
        .compress(data, &mut out[start..])
        .map_err(|e| BatchError::Decompression(format!("snappy encode: {e}")))?;
    out.truncate(start + n);
    Ok(n)
}

/// Append `data` to `out` in snappy: xerial framing as the Java client sends it
/// (every client decodes it), or one raw block as librdkafka sends it.
fn snappy_compress(data: &[u8], out: &mut Vec<u8>, xerial: bool) -> Result<(), BatchError> {
    let mut enc = snap::raw::Encoder::new();
    if !xerial {
        return snappy_raw_compress(&mut enc, data, out).map(|_| ());
    }
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes()); // version
    out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
    for chunk in data.chunks(XERIAL_BLOCK) {
        let len_pos = out.len();
        out.extend_from_slice(&[0; 4]);
        let n = snappy_raw_compress(&mut enc, chunk, out)?;
        out[len_pos..len_pos + 4].copy_from_slice(&(n as u32).to_be_bytes());
    }
    Ok(())
}

/// How [`Compression::compress_into`] encodes: the levels and the snappy framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressOptions {
    /// flate2 level, 0-9.
    pub gzip_level: u32,
    /// zstd level (1-22; 0 = zstd's default).
    pub zstd_level: i32,
    /// Snappy in xerial framing (Java client) rather than one raw block (librdkafka).
    pub snappy_xerial: bool,
}

impl CompressOptions {
    /// What the broker writes ([`Compression::compress`]): the Java client's
    /// defaults (gzip 6, zstd 3, xerial-framed snappy).
    pub const KAFKA: CompressOptions = CompressOptions {
        gzip_level: 6,
        zstd_level: 3,
        snappy_xerial: true,
    };
    /// The cheapest encoding clients send (gzip 1, zstd 1, a raw snappy block as
    /// librdkafka): what a load generator uses so that compressing costs it little.
    pub const FAST: CompressOptions = CompressOptions {
        gzip_level: 1,
        zstd_level: 1,
        snappy_xerial: false,
    };
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions::KAFKA
    }
}

impl Compression {
    pub fn from_id(id: u8) -> Result<Compression, BatchError> {
        match id {
            0 => Ok(Compression::None),
            1 => Ok(Compression::Gzip),
            2 => Ok(Compression::Snappy),
            3 => Ok(Compression::Lz4),
            4 => Ok(Compression::Zstd),
            other => Err(BatchError::UnknownCodec(other)),
        }
    }
    /// Parse Kafka's name (`compression.type` values other than `producer`).
    pub fn from_name(name: &str) -> Option<Compression> {
        Some(match name {
            "none" | "uncompressed" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            _ => return None,
        })
    }
    /// Kafka's name (`compression.type` values): none, gzip, snappy, lz4, zstd.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
    /// `data` compressed as the broker writes it ([`CompressOptions::KAFKA`]).
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>, BatchError> {
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        self.compress_into(data, &mut out, CompressOptions::KAFKA)?;
        Ok(out)
    }
    /// Append `data` compressed with `opts` to `out` (no intermediate buffer:
    /// a batch encoder compresses its records right after its header).
    pub fn compress_into(
        self,
        data: &[u8],
        out: &mut Vec<u8>,
        opts: CompressOptions,
    ) -> Result<(), BatchError> {
        let enc_err =
            |e: std::io::Error| BatchError::Decompression(format!("{} encode: {e}", self.name()));
        match self {
            Compression::None => out.extend_from_slice(data),
            Compression::Gzip => {
                let level = flate2::Compression::new(opts.gzip_level);
                let mut enc = flate2::write::GzEncoder::new(out, level);
                enc.write_all(data).map_err(enc_err)?;
                enc.finish().map_err(enc_err)?;
            }
            Compression::Snappy => snappy_compress(data, out, opts.snappy_xerial)?,
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(out);
                enc.write_all(data).map_err(enc_err)?;
                enc.finish()
                    .map_err(|e| BatchError::Decompression(format!("lz4 encode: {e}")))?;
            }
            Compression::Zstd => {
                // One frame with the content size, written in place.
                let start = out.len();
                out.resize(start + zstd::zstd_safe::compress_bound(data.len()), 0);
                let n = zstd::bulk::compress_to_buffer(data, &mut out[start..], opts.zstd_level)
                    .map_err(enc_err)?;
                out.truncate(start + n);
            }
        }
        Ok(())
    }
    /// Decompress `data` (at most [`MAX_DECOMPRESSED`] bytes out).
    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>, BatchError> {
        self.decompress_limited(data, MAX_DECOMPRESSED)
    }

    /// Decompress `data`, failing (`BatchError::Decompression`) as soon as the
    /// output would exceed `limit` bytes (itself capped at [`MAX_DECOMPRESSED`]).
    pub fn decompress_limited(self, data: &[u8], limit: usize) -> Result<Vec<u8>, BatchError> {
        let limit = limit.min(MAX_DECOMPRESSED);
        let hint = data.len().saturating_mul(4);
        match self {
            Compression::None if data.len() > limit => Err(BatchError::InflateLimit { limit }),
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => {
                read_capped("gzip", flate2::read::MultiGzDecoder::new(data), hint, limit)
            }
            Compression::Snappy => snappy_decompress(data, limit),
            Compression::Lz4 => {
                read_capped("lz4", lz4_flex::frame::FrameDecoder::new(data), hint, limit)
            }
            Compression::Zstd => {
                let dec = zstd::stream::read::Decoder::new(data).map_err(|e| dec_err("zstd", e))?;
                read_capped("zstd", dec, hint, limit)
            }
        }
    }
}

/// The decompressed bytes of one batch's records as a stream, inflating no more
/// than a buffer's worth at a time (record-by-record decoding, as Kafka's
/// `streamingIterator`); fails with [`BatchError::InflateLimit`] past `limit`
/// bytes in all. Made by [`Compression::reader`].
pub struct Inflater<'a> {
    inner: Box<dyn Read + 'a>,
    codec: Compression,
    left: usize,
    limit: usize,
    /// Why the last read failed, as the batch error it stands for.
    failed: Option<BatchError>,
}

impl Inflater<'_> {
    /// The error behind a failed read (the limit, or the codec's complaint).
    pub fn error(&mut self, e: std::io::Error) -> BatchError {
        self.failed
            .take()
            .unwrap_or_else(|| dec_err(self.codec.name(), e))
    }
}

impl Read for Inflater<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: one more byte means the records inflate past it.
            let mut probe = [0u8; 1];
            let n = self.inner.read(&mut probe)?;
            if n > 0 {
                self.failed = Some(BatchError::InflateLimit { limit: self.limit });
                return Err(std::io::Error::other("inflate limit"));
            }
            return Ok(0);
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n;
        Ok(n)
    }
}

/// xerial-framed snappy, one 32 KiB chunk at a time.
struct XerialChunks<'a> {
    data: &'a [u8],
    pos: usize,
    chunk: Vec<u8>,
    at: usize,
    limit: usize,
}

impl Read for XerialChunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.pos == self.data.len() {
                return Ok(0);
            }
            let rest = &self.data[self.pos..];
            if rest.len() < 4 {
                return Err(std::io::Error::other("truncated xerial chunk length"));
            }
            let len = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
            if len > rest.len() - 4 {
                return Err(std::io::Error::other("xerial chunk runs past the data"));
            }
            self.chunk.clear();
            self.at = 0;
            snappy_raw_decompress(&rest[4..4 + len], &mut self.chunk, self.limit)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            self.pos += 4 + len;
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Compression {
    /// `data` decompressed as a stream (see [`Inflater`]): at most `limit`
    /// bytes (itself capped at [`MAX_DECOMPRESSED`]). Memory is the codec's
    /// state (gzip's 32 KiB window, an lz4 block, a zstd window, a xerial
    /// chunk; a raw snappy block, at most 22x its size, is one piece).
    pub fn reader(self, data: &[u8], limit: usize) -> Result<Inflater<'_>, BatchError> {
        let limit = limit.min(MAX_DECOMPRESSED);
        let inner: Box<dyn Read + '_> = match self {
            Compression::None => Box::new(data),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
            Compression::Snappy if data.len() >= XERIAL_HEADER_LEN && data[..8] == XERIAL_MAGIC => {
                Box::new(XerialChunks {
                    data,
                    pos: XERIAL_HEADER_LEN,
                    chunk: Vec::new(),
                    at: 0,
                    limit,
                })
            }
            Compression::Snappy => {
                let mut out = Vec::new();
                snappy_raw_decompress(data, &mut out, limit)?;
                Box::new(std::io::Cursor::new(out))
            }
            Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(data)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(data).map_err(|e| dec_err("zstd", e))?)
            }
        };
        Ok(Inflater {
            inner,
            codec: self,
            left: limit,
            limit,
            failed: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn payload() -> Vec<u8> {
        (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect()
    }

    #[test]
    fn every_codec_round_trips() {
        let data = payload();
        for c in ALL {
            let z = c.compress(&data).unwrap();
            assert_eq!(c.decompress(&z).unwrap(), data, "{}", c.name());
            assert_eq!(
                c.decompress(&c.compress(&[]).unwrap()).unwrap(),
                Vec::<u8>::new()
            );
        }
    }

    #[test]
    fn snappy_accepts_raw_blocks_and_xerial_framing() {
        let data = payload();
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(Compression::Snappy.decompress(&raw).unwrap(), data);
        let framed = Compression::Snappy.compress(&data).unwrap();
        assert_eq!(&framed[..8], &XERIAL_MAGIC);
        assert!(framed.len() > XERIAL_HEADER_LEN + 4);
        assert_eq!(Compression::Snappy.decompress(&framed).unwrap(), data);
    }

    #[test]
    fn a_snappy_block_claiming_more_than_snappy_can_inflate_is_refused_before_allocating() {
        // Seen while writing the record_batch fuzz target: 5 bytes claiming 1 GiB were
        // zero-filled to their claimed length before the decoder failed.
        let mut block = Vec::new();
        let mut n = (1u32 << 30) - 1;
        while n >= 0x80 {
            block.push((n as u8) | 0x80);
            n >>= 7;
        }
        block.push(n as u8);
        let err = Compression::Snappy.decompress(&block).unwrap_err();
        assert!(err.to_string().contains("claims"), "{err}");
        // The bound is not below what snappy really reaches on repetitive data.
        let zeros = vec![0u8; 1 << 20];
        let packed = snap::raw::Encoder::new().compress_vec(&zeros).unwrap();
        assert!(packed.len() * SNAPPY_MAX_RATIO >= zeros.len());
        assert_eq!(Compression::Snappy.decompress(&packed).unwrap(), zeros);
    }

    #[test]
    fn garbage_is_a_decompression_error_not_a_panic() {
        let junk = b"this is not compressed data at all".to_vec();
        for c in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            assert!(
                matches!(c.decompress(&junk), Err(BatchError::Decompression(_))),
                "{}",
                c.name()
            );
        }
        let mut framed = Compression::Snappy.compress(&payload()).unwrap();
        framed.truncate(framed.len() - 10);
        assert!(Compression::Snappy.decompress(&framed).is_err());
    }

    #[test]
    fn every_option_set_round_trips_and_appends_after_existing_bytes() {
        let data = payload();
        for opts in [CompressOptions::KAFKA, CompressOptions::FAST] {
            for c in ALL {
                let mut out = b"head".to_vec();
                c.compress_into(&data, &mut out, opts).unwrap();
                assert_eq!(&out[..4], b"head");
                assert_eq!(
                    c.decompress(&out[4..]).unwrap(),
                    data,
                    "{} {opts:?}",
                    c.name()
                );
            }
        }
        // Raw snappy (librdkafka) has no xerial header; KAFKA's has.
        let mut raw = Vec::new();
        Compression::Snappy
            .compress_into(&data, &mut raw, CompressOptions::FAST)
            .unwrap();
        assert_ne!(&raw[..8], &XERIAL_MAGIC);
        assert_eq!(
            snap::raw::Decoder::new().decompress_vec(&raw).unwrap(),
            data
        );
        assert_eq!(
            Compression::Snappy.compress(&data).unwrap()[..8],
            XERIAL_MAGIC
        );
    }

    #[test]
    fn names_round_trip() {
        for c in ALL {
            assert_eq!(Compression::from_name(c.name()), Some(c));
            assert_eq!(Compression::from_id(c as u8).unwrap(), c);
        }
        assert_eq!(Compression::from_id(5), Err(BatchError::UnknownCodec(5)));
    }
}
