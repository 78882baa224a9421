//! Compression codecs for record batches: the producer compresses the records section of a
//! batch, the consumer decompresses it to read the timestamps carried in record values.
//!
//! Formats are the ones Kafka uses on the wire: gzip, snappy (raw block on produce; raw or
//! xerial-framed accepted on consume), lz4 frame format, zstd frame.

use std::io::{Read, Write};

use crate::error::BenchError;

/// A batch compression codec (the low 3 bits of the batch attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// Parses a codec name as Kafka's `compression.type` spells it.
    pub fn parse(s: &str) -> Result<Self, BenchError> {
        match s {
            "none" => Ok(Self::None),
            "gzip" => Ok(Self::Gzip),
            "snappy" => Ok(Self::Snappy),
            "lz4" => Ok(Self::Lz4),
            "zstd" => Ok(Self::Zstd),
            other => Err(BenchError::Usage(format!(
                "--compression: unknown codec '{other}' (none, gzip, snappy, lz4, zstd)"
            ))),
        }
    }

    /// The codec id stored in the batch attributes.
    pub fn id(self) -> i16 {
        match self {
            Self::None => 0,
            Self::Gzip => 1,
            Self::Snappy => 2,
            Self::Lz4 => 3,
            Self::Zstd => 4,
        }
    }

    /// The codec for a batch attributes value.
    pub fn from_attributes(attributes: i16) -> Result<Self, BenchError> {
        match attributes & 0x7 {
            0 => Ok(Self::None),
            1 => Ok(Self::Gzip),
            2 => Ok(Self::Snappy),
            3 => Ok(Self::Lz4),
            4 => Ok(Self::Zstd),
            other => Err(BenchError::Protocol(format!(
                "unknown compression codec {other}"
            ))),
        }
    }

    /// The Kafka name of the codec.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Snappy => "snappy",
            Self::Lz4 => "lz4",
            Self::Zstd => "zstd",
        }
    }

    /// Compresses `input`, appending to `out`.
    pub fn compress(self, input: &[u8], out: &mut Vec<u8>) -> Result<(), BenchError> {
        let io = |e: std::io::Error| BenchError::Codec(format!("{}: {e}", self.name()));
        match self {
            Self::None => out.extend_from_slice(input),
            Self::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                enc.write_all(input).map_err(io)?;
                enc.finish().map_err(io)?;
            }
            Self::Snappy => {
                let compressed = snap::raw::Encoder::new()
                    .compress_vec(input)
                    .map_err(|e| BenchError::Codec(format!("snappy: {e}")))?;
                out.extend_from_slice(&compressed);
            }
            Self::Lz4 => {
                let mut enc = lz4_flex::frame::FrameEncoder::new(out);
                enc.write_all(input).map_err(io)?;
                enc.finish()
                    .map_err(|e| BenchError::Codec(format!("lz4: {e}")))?;
            }
            Self::Zstd => {
                let compressed = zstd::bulk::compress(input, 1).map_err(io)?;
                out.extend_from_slice(&compressed);
            }
        }
        Ok(())
    }

    /// Decompresses `input` into a new buffer.
    pub fn decompress(self, input: &[u8]) -> Result<Vec<u8>, BenchError> {
        let io = |e: std::io::Error| BenchError::Codec(format!("{}: {e}", self.name()));
        let mut out = Vec::with_capacity(input.len() * 4);
        match self {
            Self::None => out.extend_from_slice(input),
            Self::Gzip => {
                flate2::read::GzDecoder::new(input)
                    .read_to_end(&mut out)
                    .map_err(io)?;
            }
            Self::Snappy => return snappy_decompress(input),
            Self::Lz4 => {
                lz4_flex::frame::FrameDecoder::new(input)
                    .read_to_end(&mut out)
                    .map_err(io)?;
            }
            Self::Zstd => {
                zstd::stream::read::Decoder::new(input)
                    .map_err(io)?
                    .read_to_end(&mut out)
                    .map_err(io)?;
            }
        }
        Ok(out)
    }
}

/// The magic header of xerial snappy framing (what the Java client sends).
const XERIAL_MAGIC: &[u8] = &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

fn snappy_decompress(input: &[u8]) -> Result<Vec<u8>, BenchError> {
    let err = |e: snap::Error| BenchError::Codec(format!("snappy: {e}"));
    if input.len() >= 16 && input.starts_with(XERIAL_MAGIC) {
        // 8 magic + 4 version + 4 compatible version, then (u32 BE length, raw block)*.
        let mut out = Vec::new();
        let mut rest = &input[16..];
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(BenchError::Codec("snappy: truncated xerial chunk".into()));
            }
            let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            rest = &rest[4..];
            if rest.len() < n {
                return Err(BenchError::Codec("snappy: truncated xerial chunk".into()));
            }
            out.extend_from_slice(
                &snap::raw::Decoder::new()
                    .decompress_vec(&rest[..n])
                    .map_err(err)?,
            );
            rest = &rest[n..];
        }
        Ok(out)
    } else {
        snap::raw::Decoder::new().decompress_vec(input).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let input: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut out = Vec::new();
            c.compress(&input, &mut out).unwrap();
            assert_eq!(c.decompress(&out).unwrap(), input, "{}", c.name());
            assert_eq!(Compression::from_attributes(c.id()).unwrap(), c);
            assert_eq!(Compression::parse(c.name()).unwrap(), c);
        }
    }

    #[test]
    fn xerial_framed_snappy_is_accepted() {
        let input = b"hello hello hello hello xerial".repeat(20);
        let block = snap::raw::Encoder::new().compress_vec(&input).unwrap();
        let mut framed = XERIAL_MAGIC.to_vec();
        framed.extend_from_slice(&1u32.to_be_bytes());
        framed.extend_from_slice(&1u32.to_be_bytes());
        framed.extend_from_slice(&(block.len() as u32).to_be_bytes());
        framed.extend_from_slice(&block);
        assert_eq!(Compression::Snappy.decompress(&framed).unwrap(), input);
    }

    #[test]
    fn unknown_codec_is_a_usage_error() {
        let e = Compression::parse("brotli").unwrap_err();
        assert!(e.to_string().contains("brotli"));
    }
}
