//! Decrypting ahead of the reader. Over TLS, reading is the expensive half of
//! a connection's work (a recv, AES-GCM over every byte, rustls's copies), and
//! a connection that reads, then handles what it read, then reads again does
//! it on one core while the other waits. [`ReadAhead`] moves the reading to a
//! task of its own: it reads (decrypts) the next bytes while the connection's
//! task is still busy with the last ones, and hands them over in chunks
//! through a bounded channel (at most `depth` chunks of at most `chunk` bytes
//! wait; beyond that the socket is not read, so TCP pushes back as before).
//!
//! Used on TLS connections only: the broker's TLS listeners (a produce request
//! is decrypted while the one before it is appended) and the client tools'
//! TLS connections (a fetch response is decrypted while the one before it is
//! decoded). A plaintext read is one kernel copy, not worth a task hop.
//!
//! Dropping a [`ReadAhead`] aborts its task, which drops the read half it owns:
//! the connection closes when its owner lets go, as without read-ahead.

use bytes::{Buf, Bytes, BytesMut};
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;

/// What the reading task hands over: bytes in stream order, an empty chunk at
/// the end of the stream, or the read error (after the bytes read before it).
type Chunk = io::Result<Bytes>;

/// The read side of a stream, read ahead by a task of its own (see the module doc).
#[derive(Debug)]
pub struct ReadAhead {
    rx: mpsc::Receiver<Chunk>,
    chunk: Bytes,
    done: bool,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    /// Spawn the reading task for `rd` on the current runtime. `chunk`: the most
    /// one hand-over carries; `depth`: how many hand-overs may wait.
    pub fn spawn<R>(rd: R, chunk: usize, depth: usize) -> ReadAhead
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(depth.max(1));
        let task = tokio::spawn(read_loop(rd, tx, chunk.max(1)));
        ReadAhead {
            rx,
            chunk: Bytes::new(),
            done: false,
            task,
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut rd: R, tx: mpsc::Sender<Chunk>, chunk: usize) {
    let mut buf = BytesMut::new();
    loop {
        // Room in the channel first: while `depth` chunks wait, nothing is read.
        let Ok(permit) = tx.reserve().await else {
            return; // the reader is gone
        };
        buf.reserve(chunk);
        let (n, end) = poll_fn(|cx| fill(&mut rd, &mut buf, chunk, cx)).await;
        if n > 0 {
            permit.send(Ok(buf.split().freeze()));
        } else {
            // Nothing read: `end` is the end of the stream or an error.
            permit.send(end.unwrap_or(Ok(())).map(|()| Bytes::new()));
            return;
        }
        if let Some(end) = end {
            // Bytes, then the end or the error that followed them.
            if let Ok(permit) = tx.reserve().await {
                permit.send(end.map(|()| Bytes::new()));
            }
            return;
        }
    }
}

/// Read into `buf` until `chunk` bytes are in or `rd` has nothing more for now.
/// Pending only while nothing was read. The second value is set when the
/// stream ended (`Ok`) or failed (`Err`) after the bytes counted.
fn fill<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    chunk: usize,
    cx: &mut Context<'_>,
) -> Poll<(usize, Option<io::Result<()>>)> {
    let mut got = 0;
    while got < chunk {
        let read = std::pin::pin!(rd.read_buf(buf)).poll(cx);
        match read {
            Poll::Ready(Ok(0)) => return Poll::Ready((got, Some(Ok(())))),
            Poll::Ready(Ok(n)) => got += n,
            Poll::Ready(Err(e)) => return Poll::Ready((got, Some(Err(e)))),
            Poll::Pending if got == 0 => return Poll::Pending,
            Poll::Pending => break,
        }
    }
    Poll::Ready((got, None))
}

impl AsyncRead for ReadAhead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.chunk.is_empty() {
            if this.done {
                return Poll::Ready(Ok(()));
            }
            match ready!(this.rx.poll_recv(cx)) {
                Some(Ok(c)) if c.is_empty() => this.done = true,
                Some(Ok(c)) => this.chunk = c,
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Err(e));
                }
                // The task ended without a word (it panicked): the end of the stream.
                None => this.done = true,
            }
        }
        let n = out.remaining().min(this.chunk.len());
        out.put_slice(&this.chunk[..n]);
        this.chunk.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn bytes_arrive_in_order_then_the_end() {
        let (mut a, b) = tokio::io::duplex(8 * 1024);
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let sent = data.clone();
        let writer = tokio::spawn(async move {
            for part in sent.chunks(7_000) {
                a.write_all(part).await.unwrap();
            }
        });
        let mut r = ReadAhead::spawn(b, 64 * 1024, 2);
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        writer.await.unwrap();
        assert_eq!(got, data);
        // The end stays the end.
        let mut one = [0u8; 1];
        assert_eq!(r.read(&mut one).await.unwrap(), 0);
    }

    /// A stream that yields some bytes, then fails.
    struct Failing(Option<Vec<u8>>);

    impl AsyncRead for Failing {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.get_mut().0.take() {
                Some(b) => {
                    out.put_slice(&b);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad record",
                ))),
            }
        }
    }

    #[tokio::test]
    async fn an_error_comes_after_the_bytes_read_before_it() {
        let mut r = ReadAhead::spawn(Failing(Some(b"hello".to_vec())), 1024, 1);
        let mut five = [0u8; 5];
        r.read_exact(&mut five).await.unwrap();
        assert_eq!(&five, b"hello");
        let err = r.read(&mut five).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// A stream with no end that counts the bytes read from it.
    struct Endless(Arc<AtomicUsize>);

    impl AsyncRead for Endless {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = out.remaining().min(4096);
            out.put_slice(&[7u8; 4096][..n]);
            self.0.fetch_add(n, Ordering::Relaxed);
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn reading_stops_while_the_channel_is_full() {
        let count = Arc::new(AtomicUsize::new(0));
        let mut r = ReadAhead::spawn(Endless(count.clone()), 1000, 2);
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        // Two chunks of about 1000 bytes wait; nothing more is read.
        let stopped = count.load(Ordering::Relaxed);
        assert!((2000..=3 * 4096).contains(&stopped), "{stopped}");
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert_eq!(count.load(Ordering::Relaxed), stopped);
        // Taking a chunk makes room for one more.
        let mut one = vec![0u8; 5000];
        let n = r.read(&mut one).await.unwrap();
        assert!(n >= 1000);
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert!(count.load(Ordering::Relaxed) > stopped);
    }

    #[tokio::test]
    async fn dropping_the_reader_closes_the_stream() {
        let (mut a, b) = tokio::io::duplex(1024);
        let r = ReadAhead::spawn(b, 1024, 1);
        tokio::task::yield_now().await;
        drop(r);
        // The task is aborted and drops its half: the other side sees the close.
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                if a.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(closed.is_ok());
    }
}
