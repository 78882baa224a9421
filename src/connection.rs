//! Length-prefixed frames over a byte stream: a 4-byte big-endian size, then that
//! many bytes. No Kafka meaning here. A frame is handed out only once it is
//! complete; a clean end of stream between frames is `Ok(None)`; a frame larger
//! than the limit (`socket.request.max.bytes`) or a negative size is an error
//! (the caller closes the connection).

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a connection's framing broke.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("negative frame size {0}")]
    NegativeSize(i32),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads frames from one side of a connection.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max_frame: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(8 * 1024),
            max_frame,
        }
    }

    /// Change the frame size limit (SASL connections use
    /// `sasl.server.max.receive.size` until they are authenticated).
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }

    /// The next whole frame (without its size prefix), `Ok(None)` on a clean EOF.
    pub async fn read_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        loop {
            if let Some(frame) = self.parse_frame()? {
                return Ok(Some(frame));
            }
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
    }

    fn parse_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if size < 0 {
            return Err(FrameError::NegativeSize(size));
        }
        let size = size as usize;
        if size > self.max_frame {
            return Err(FrameError::TooLarge {
                size,
                max: self.max_frame,
            });
        }
        if self.buf.len() < 4 + size {
            // Reserve once for the whole frame instead of growing step by step.
            self.buf.reserve(4 + size - self.buf.len());
            return Ok(None);
        }
        self.buf.advance(4);
        Ok(Some(self.buf.split_to(size).freeze()))
    }
}

/// Write one frame made of several parts (so large record data can be written
/// from its own buffer without copying it into the response buffer).
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, parts: &[Bytes]) -> std::io::Result<()> {
    let len: usize = parts.iter().map(Bytes::len).sum();
    let len =
        i32::try_from(len).map_err(|_| std::io::Error::other("response larger than 2 GiB"))?;
    w.write_all(&len.to_be_bytes()).await?;
    for p in parts {
        w.write_all(p).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for p in payloads {
            v.extend_from_slice(&(p.len() as i32).to_be_bytes());
            v.extend_from_slice(p);
        }
        v
    }

    #[tokio::test]
    async fn reads_frames_then_clean_eof() {
        let data = framed(&[b"hello", b"", b"world!"]);
        let mut r = FrameReader::new(&data[..], 100);
        assert_eq!(r.read_frame().await.unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(r.read_frame().await.unwrap().unwrap(), &b""[..]);
        assert_eq!(r.read_frame().await.unwrap().unwrap(), &b"world!"[..]);
        assert!(r.read_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn frame_split_across_reads_is_reassembled() {
        let data = framed(&[b"abcdefgh"]);
        let (client, server) = tokio::io::duplex(3);
        let writer = tokio::spawn(async move {
            let mut client = client;
            for chunk in data.chunks(2) {
                client.write_all(chunk).await.unwrap();
            }
        });
        let mut r = FrameReader::new(server, 100);
        assert_eq!(r.read_frame().await.unwrap().unwrap(), &b"abcdefgh"[..]);
        writer.await.unwrap();
        assert!(r.read_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_negative_and_truncated_frames_are_errors() {
        let data = framed(&[&[0u8; 11]]);
        let mut r = FrameReader::new(&data[..], 10);
        assert!(matches!(
            r.read_frame().await,
            Err(FrameError::TooLarge { size: 11, max: 10 })
        ));

        let data = (-5i32).to_be_bytes();
        let mut r = FrameReader::new(&data[..], 10);
        assert!(matches!(
            r.read_frame().await,
            Err(FrameError::NegativeSize(-5))
        ));

        let mut data = framed(&[b"abcdef"]);
        data.truncate(7);
        let mut r = FrameReader::new(&data[..], 10);
        assert!(matches!(r.read_frame().await, Err(FrameError::Truncated)));
    }

    #[tokio::test]
    async fn large_parts_are_written_whole_and_in_order() {
        let big: Vec<u8> = (0..3 * 256 * 1024 + 17).map(|i| (i % 251) as u8).collect();
        let parts = [
            Bytes::from_static(b"head"),
            Bytes::from(big.clone()),
            Bytes::from_static(b"tail"),
        ];
        let mut out = Vec::new();
        write_frame(&mut out, &parts).await.unwrap();
        let mut expect = b"head".to_vec();
        expect.extend_from_slice(&big);
        expect.extend_from_slice(b"tail");
        assert_eq!(out, framed(&[&expect]));
    }

    #[tokio::test]
    async fn write_frame_prefixes_total_length() {
        let mut out = Vec::new();
        write_frame(
            &mut out,
            &[Bytes::from_static(b"ab"), Bytes::from_static(b"cde")],
        )
        .await
        .unwrap();
        assert_eq!(out, framed(&[b"abcde"]));
    }
}
