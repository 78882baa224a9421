//! The four record batch codecs: gzip (flate2), snappy (`snap`; raw and the
//! xerial framing the Java client sends), lz4 (frame format, `lz4_flex`), zstd.
//!
//! Decompression is capped at [`MAX_DECOMPRESSED`] bytes so a small hostile
//! batch cannot make the broker allocate without bound.

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

/// Read all of `r`, failing if it yields more than [`MAX_DECOMPRESSED`] bytes.
fn read_capped(codec: &str, r: impl Read, hint: usize) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(hint.min(MAX_DECOMPRESSED));
    r.take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| dec_err(codec, e))?;
    if out.len() > MAX_DECOMPRESSED {
        return Err(dec_err(
            codec,
            format!("more than {MAX_DECOMPRESSED} bytes"),
        ));
    }
    Ok(out)
}

fn snappy_raw_decompress(block: &[u8], out: &mut Vec<u8>) -> Result<(), BatchError> {
    let len = snap::raw::decompress_len(block).map_err(|e| dec_err("snappy", e))?;
    if out.len() + len > MAX_DECOMPRESSED {
        return Err(dec_err(
            "snappy",
            format!("more than {MAX_DECOMPRESSED} bytes"),
        ));
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
fn snappy_decompress(data: &[u8]) -> Result<Vec<u8>, BatchError> {
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
            snappy_raw_decompress(&data[pos..pos + len], &mut out)?;
            pos += len;
        }
    } else {
        snappy_raw_decompress(data, &mut out)?;
    }
    Ok(out)
}

/// Encode with xerial framing, as the Java client does (every client decodes it).
fn snappy_compress(data: &[u8]) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(data.len() / 2 + 32);
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&1i32.to_be_bytes()); // version
    out.extend_from_slice(&1i32.to_be_bytes()); // compatible version
    let mut enc = snap::raw::Encoder::new();
    for chunk in data.chunks(XERIAL_BLOCK) {
        let block = enc
            .compress_vec(chunk)
            .map_err(|e| BatchError::Decompression(format!("snappy encode: {e}")))?;
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
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
    pub fn compress(self, data: &[u8]) -> Result<Vec<u8>, BatchError> {
        let enc_err =
            |e: std::io::Error| BatchError::Decompression(format!("{} encode: {e}", self.name()));
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                enc.write_all(data).map_err(enc_err)?;
                enc.finish().map_err(enc_err)
            }
            Compression::Snappy => snappy_compress(data),
            Compression::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(Vec::new());
                enc.write_all(data).map_err(enc_err)?;
                enc.finish()
                    .map_err(|e| BatchError::Decompression(format!("lz4 encode: {e}")))
            }
            Compression::Zstd => zstd::stream::encode_all(data, 3).map_err(enc_err),
        }
    }
    pub fn decompress(self, data: &[u8]) -> Result<Vec<u8>, BatchError> {
        let hint = data.len().saturating_mul(4);
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => read_capped("gzip", flate2::read::MultiGzDecoder::new(data), hint),
            Compression::Snappy => snappy_decompress(data),
            Compression::Lz4 => read_capped("lz4", lz4_flex::frame::FrameDecoder::new(data), hint),
            Compression::Zstd => {
                let dec = zstd::stream::read::Decoder::new(data).map_err(|e| dec_err("zstd", e))?;
                read_capped("zstd", dec, hint)
            }
        }
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
    fn names_round_trip() {
        for c in ALL {
            assert_eq!(Compression::from_name(c.name()), Some(c));
            assert_eq!(Compression::from_id(c as u8).unwrap(), c);
        }
        assert_eq!(Compression::from_id(5), Err(BatchError::UnknownCodec(5)));
    }
}
