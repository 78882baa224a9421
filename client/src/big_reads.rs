//! Large socket reads under TLS. rustls pulls ciphertext from its transport
//! into a buffer of at most one record (~16 KiB, grown 4 KiB at a time), so a
//! TLS stream straight over a socket makes one or more `recv` calls per 16 KiB
//! record, each through the runtime's readiness machinery: 60 to 120 thousand
//! system calls per gigabyte. [`BigReads`] sits between rustls and the socket:
//! it reads whatever the socket holds, up to its buffer's size, in one call and
//! hands rustls its slices from memory (one more copy, of cache-hot bytes).
//! Writes pass through untouched (rustls already writes its encrypted records
//! with one `writev`).
//!
//! The broker (its TLS listeners) and the client tools (`weir bench`, the admin
//! commands) both wrap their `TcpStream` in it before the TLS handshake.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A transport whose reads are served from a buffer filled by one large read
/// of the inner stream (see the module doc).
#[derive(Debug)]
pub struct BigReads<T> {
    inner: T,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl<T> BigReads<T> {
    /// `capacity`: the most one read of `inner` takes.
    pub fn new(inner: T, capacity: usize) -> BigReads<T> {
        BigReads {
            inner,
            buf: vec![0u8; capacity.max(1)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Bytes read from `inner` and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for BigReads<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.start == this.end {
            if out.remaining() >= this.buf.len() {
                // The caller's buffer is as large as ours: read straight into it.
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            let mut rb = ReadBuf::new(&mut this.buf);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            this.start = 0;
            this.end = rb.filled().len();
            // 0: end of stream, passed on as an empty read.
        }
        let n = out.remaining().min(this.end - this.start);
        out.put_slice(&this.buf[this.start..this.start + n]);
        this.start += n;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for BigReads<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An in-memory stream that counts the reads it serves.
    struct Counted {
        data: Vec<u8>,
        at: usize,
        reads: Arc<AtomicUsize>,
        written: Vec<u8>,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let this = self.get_mut();
            this.reads.fetch_add(1, Ordering::Relaxed);
            let n = out.remaining().min(this.data.len() - this.at);
            out.put_slice(&this.data[this.at..this.at + n]);
            this.at += n;
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn counted(len: usize) -> (Counted, Arc<AtomicUsize>, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let reads = Arc::new(AtomicUsize::new(0));
        let c = Counted {
            data: data.clone(),
            at: 0,
            reads: reads.clone(),
            written: Vec::new(),
        };
        (c, reads, data)
    }

    #[tokio::test]
    async fn small_reads_are_served_from_one_large_read() {
        let (inner, reads, data) = counted(64 * 1024);
        let mut s = BigReads::new(inner, 64 * 1024);
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, data);
        // One read for the data, one for the end of stream (not 17).
        assert_eq!(reads.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn large_reads_bypass_the_buffer_and_bytes_stay_in_order() {
        let (inner, reads, data) = counted(100_000);
        let mut s = BigReads::new(inner, 16 * 1024);
        let mut small = [0u8; 1000];
        s.read_exact(&mut small).await.unwrap();
        assert_eq!(s.buffered(), 16 * 1024 - 1000);
        let mut rest = vec![0u8; 100_000 - 1000];
        s.read_exact(&mut rest).await.unwrap();
        assert_eq!(&small[..], &data[..1000]);
        assert_eq!(rest, data[1000..]);
        assert_eq!(s.read(&mut small).await.unwrap(), 0);
        // 1 fill, the rest of the buffer handed out, then straight reads of the remainder.
        assert!(reads.load(Ordering::Relaxed) <= 4);
    }

    #[tokio::test]
    async fn writes_pass_through() {
        let (inner, _, _) = counted(0);
        let mut s = BigReads::new(inner, 1024);
        s.write_all(b"hello").await.unwrap();
        s.flush().await.unwrap();
        assert_eq!(s.get_ref().written, b"hello");
    }
}
