//! Length-prefixed frames over a byte stream: a 4-byte big-endian size, then that
//! many bytes. No Kafka meaning here. A frame is handed out only once it is
//! complete; a clean end of stream between frames is `Ok(None)`; a frame larger
//! than the limit (`socket.request.max.bytes`) or a negative size is an error
//! (the caller closes the connection).
//!
//! The reader also applies the read side's limits ([`crate::limits`]): with
//! nothing to read for `connections.max.idle.ms` (between requests or in the
//! middle of one: a slowloris) the connection is closed ([`FrameError::Idle`]),
//! and with a bounded request memory (`queued.max.request.bytes`) a frame's
//! bytes are taken from the pool once its size is read, before its body is
//! read: while the pool is exhausted the socket is not read at all.
//!
//! Zero-copy sends: on a plaintext connection the session runs each request
//! inside [`with_file_regions`]; a handler offers the segment file regions
//! behind large record blocks of its response ([`offer_file_region`]) and
//! [`write_frame_with_files`] sends those parts with `sendfile(2)` (the
//! kernel copies from the page cache into the socket, nothing passes through
//! user space) while the size prefix, headers and small parts go through the
//! buffered writer. A TLS connection has no socket to `sendfile` into (rustls
//! encrypts in user space; kTLS is not available through it), so there the
//! offer is a no-op and record blocks are written from the mmap'd `Bytes`.
//!
//! A cold region (offered with `cold`: a catching-up consumer's data that was
//! not in the page cache) is sent from the cold pool ([`crate::cold_io`]), not
//! from the connection's worker: a `sendfile` of a megabyte through the
//! loopback stack is about a millisecond of kernel time the runtime cannot
//! preempt, which every tailing connection scheduled on that worker would wait
//! out. The worker only waits for the socket to take more: each round it
//! sends a first slice itself (so that a full socket is seen, and waited for,
//! through tokio's readiness), then hands the rest to the pool, which sends
//! until done or until the socket is full.

use crate::limits::{MemoryPermit, RequestMemory};
use bytes::{Buf, Bytes, BytesMut};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter, Interest};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use weir_storage::FileRegion;

/// Why a connection's framing broke.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge { size: usize, max: usize },
    #[error("negative frame size {0}")]
    NegativeSize(i32),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("idle for {0:?} (connections.max.idle.ms)")]
    Idle(Duration),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads frames from one side of a connection.
pub struct FrameReader<R> {
    inner: R,
    buf: BytesMut,
    max_frame: usize,
    idle: Option<IdleTimer>,
    memory: Option<Arc<RequestMemory>>,
    /// The pool's bytes for the frame being read.
    reading: Option<MemoryPermit>,
    /// The pool's bytes for the frame handed out last (held while it is handled:
    /// released at the next read, as requests are handled one at a time).
    handed_out: Option<MemoryPermit>,
}

/// `connections.max.idle.ms`: one timer per connection, armed once and moved
/// only when it fires (a read just notes the time: no timer work per read).
struct IdleTimer {
    limit: Duration,
    last_read: Instant,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// Wait until nothing was read for the limit.
    async fn expired(&mut self) {
        loop {
            (&mut self.timer).await;
            let due = self.last_read + self.limit;
            if due <= Instant::now() {
                return;
            }
            self.timer.as_mut().reset(due);
        }
    }
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R, max_frame: usize) -> Self {
        FrameReader {
            inner,
            buf: BytesMut::with_capacity(8 * 1024),
            max_frame,
            idle: None,
            memory: None,
            reading: None,
            handed_out: None,
        }
    }

    /// Close (with [`FrameError::Idle`]) after `limit` with nothing read;
    /// `None` never does.
    pub fn with_idle_timeout(mut self, limit: Option<Duration>) -> Self {
        self.idle = limit.map(|limit| IdleTimer {
            limit,
            last_read: Instant::now(),
            timer: Box::pin(tokio::time::sleep(limit)),
        });
        self
    }

    /// Take each frame's bytes from `pool` before reading its body (when the
    /// pool is bounded).
    pub fn with_memory(mut self, pool: Arc<RequestMemory>) -> Self {
        self.memory = pool.is_bounded().then_some(pool);
        self
    }

    /// Change the frame size limit (SASL connections use
    /// `sasl.server.max.receive.size` until they are authenticated).
    pub fn set_max_frame(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }

    /// The next whole frame (without its size prefix), `Ok(None)` on a clean EOF.
    pub async fn read_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        // The frame handed out last has been handled: its bytes go back.
        self.handed_out = None;
        if let Some(idle) = self.idle.as_mut() {
            // (The response was just written: that is activity too.)
            idle.last_read = Instant::now();
        }
        loop {
            if let Some(size) = self.frame_size()? {
                if self.reading.is_none() {
                    if let Some(pool) = self.memory.clone() {
                        // Nothing more is read from this socket until the pool has room.
                        self.reading = Some(pool.acquire(4 + size).await);
                    }
                }
                if let Some(frame) = self.parse_frame(size) {
                    self.handed_out = self.reading.take();
                    return Ok(Some(frame));
                }
            }
            if self.fill().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
    }

    /// Read more from the socket (0 = end of stream), within the idle limit.
    async fn fill(&mut self) -> Result<usize, FrameError> {
        let Some(idle) = self.idle.as_mut() else {
            return Ok(self.inner.read_buf(&mut self.buf).await?);
        };
        let limit = idle.limit;
        let n = tokio::select! {
            n = self.inner.read_buf(&mut self.buf) => n?,
            _ = idle.expired() => return Err(FrameError::Idle(limit)),
        };
        idle.last_read = Instant::now();
        Ok(n)
    }

    /// The size of the frame at the front of the buffer, once its prefix is there.
    fn frame_size(&self) -> Result<Option<usize>, FrameError> {
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
        Ok(Some(size))
    }

    /// The whole frame of `size` bytes, when it is all in the buffer.
    fn parse_frame(&mut self, size: usize) -> Option<Bytes> {
        if self.buf.len() < 4 + size {
            // Reserve once for the whole frame instead of growing step by step.
            self.buf.reserve(4 + size - self.buf.len());
            return None;
        }
        self.buf.advance(4);
        Some(self.buf.split_to(size).freeze())
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

/// Record blocks smaller than this are copied into the buffered writer with
/// the rest of the response: for them a `sendfile` (plus the flush of what
/// precedes it) costs more syscalls than the copy it saves.
pub const SENDFILE_MIN: usize = 32 * 1024;

/// Bytes sent with `sendfile(2)` since the process started (tests and metrics
/// check that record data takes the zero-copy path).
static SENDFILE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes sent with `sendfile(2)` since the process started.
pub fn sendfile_bytes() -> u64 {
    SENDFILE_BYTES.load(Ordering::Relaxed)
}

/// The write half of a connection, as far as zero-copy sends go.
pub trait FileSink {
    /// The socket to `sendfile(2)` into; `None` (TLS, in-memory sinks) when
    /// every byte must go through `AsyncWrite`.
    fn socket(&self) -> Option<&TcpStream> {
        None
    }
}

impl FileSink for tokio::net::tcp::OwnedWriteHalf {
    fn socket(&self) -> Option<&TcpStream> {
        Some(self.as_ref())
    }
}

impl<T> FileSink for tokio::io::WriteHalf<T> {}
impl FileSink for Vec<u8> {}
impl FileSink for tokio::io::DuplexStream {}

/// Bytes of cold regions sent from the cold pool since the process started.
static COLD_SENDFILE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Bytes of cold regions sent with `sendfile(2)` from the cold pool (off the
/// async workers) since the process started; part of [`sendfile_bytes`].
pub fn cold_sendfile_bytes() -> u64 {
    COLD_SENDFILE_BYTES.load(Ordering::Relaxed)
}

/// A file region offered for a response, and whether its data was read cold
/// (it is then sent from the cold pool).
#[derive(Debug, Clone)]
pub struct OfferedRegion {
    pub region: FileRegion,
    pub cold: bool,
}

tokio::task_local! {
    /// The file regions offered for the response of the request being handled.
    static FILE_REGIONS: RefCell<Vec<OfferedRegion>>;
}

/// Run `request` (one request's handling, on the connection's task) collecting
/// the file regions its handler offers; they go to [`write_frame_with_files`].
pub async fn with_file_regions<F: Future>(request: F) -> (F::Output, Vec<OfferedRegion>) {
    FILE_REGIONS
        .scope(RefCell::new(Vec::new()), async move {
            let out = request.await;
            let regions = FILE_REGIONS.with(|r| r.take());
            (out, regions)
        })
        .await
}

/// Offer the file region behind a block of record data the response will
/// carry (as the very `Bytes` [`FileRegion::bytes`] gave): the writer may
/// `sendfile` it instead of copying it. Returns false, doing nothing, when the
/// connection cannot (TLS) or the block is too small to be worth it. Call it on
/// the connection's task (not from the blocking pool).
pub fn offer_file_region(region: &FileRegion) -> bool {
    offer(region, false)
}

/// [`offer_file_region`] for a region a catching-up consumer reads that was not
/// in the page cache (cold data, read on the cold pool): the writer sends it
/// from the cold pool.
pub fn offer_cold_file_region(region: &FileRegion) -> bool {
    offer(region, true)
}

fn offer(region: &FileRegion, cold: bool) -> bool {
    region.len() >= SENDFILE_MIN
        && FILE_REGIONS
            .try_with(|r| {
                r.borrow_mut().push(OfferedRegion {
                    region: region.clone(),
                    cold,
                })
            })
            .is_ok()
}

/// [`write_frame`], sending the parts that are one of `regions`' bytes with
/// `sendfile(2)` when the sink is a socket. The buffered bytes before such a
/// part are flushed first, so the stream stays in order.
pub async fn write_frame_with_files<W>(
    w: &mut BufWriter<W>,
    parts: &[Bytes],
    regions: &[OfferedRegion],
) -> std::io::Result<()>
where
    W: AsyncWrite + FileSink + Unpin,
{
    if regions.is_empty() || w.get_ref().socket().is_none() {
        return write_frame(w, parts).await;
    }
    let len: usize = parts.iter().map(Bytes::len).sum();
    let len =
        i32::try_from(len).map_err(|_| std::io::Error::other("response larger than 2 GiB"))?;
    w.write_all(&len.to_be_bytes()).await?;
    let mut slice = WorkerSlice::start();
    for p in parts {
        match regions.iter().find(|r| r.region.is_same(p)) {
            Some(offered) => {
                w.flush().await?;
                let socket = w.get_ref().socket().expect("checked above");
                if offered.cold {
                    send_file_cold(socket, &offered.region).await?;
                } else {
                    send_file(socket, &offered.region, &mut slice).await?;
                }
            }
            None => w.write_all(p).await?,
        }
    }
    Ok(())
}

/// Send all of `region` into the (non-blocking) socket: wait for writability,
/// `sendfile` as much as the socket takes, at most [`COLD_STEP`] per call,
/// again until done. The kernel does not preempt a `sendfile`, so one call is
/// kept to a fraction of a millisecond; and a catching-up read's regions in
/// the page cache (up to 1 MiB each, see the fetch handler, 16 MiB in a
/// fetch of 16 partitions) are sent here, on the worker, so the task yields
/// once it has held the worker for [`WORKER_SLICE`] (`slice`: since when; a
/// wait for the socket gives the worker up and starts a new slice) and the
/// worker's other tasks (a tailing consumer's fetch) run.
async fn send_file(
    socket: &TcpStream,
    region: &FileRegion,
    slice: &mut WorkerSlice,
) -> std::io::Result<()> {
    let mut offset = region.offset();
    let end = offset + region.len() as u64;
    while offset < end {
        let step_end = end.min(offset + COLD_STEP);
        if send_slice(socket, region, &mut offset, step_end).await? {
            slice.since = Instant::now();
        }
        if offset < end && slice.since.elapsed() >= WORKER_SLICE {
            tokio::task::yield_now().await;
            slice.since = Instant::now();
            slice.yields += 1;
        }
    }
    Ok(())
}

/// Since when the task writing a response has held its worker without a
/// break, for [`send_file`]'s yields (and how many it made).
struct WorkerSlice {
    since: Instant,
    yields: u32,
}

impl WorkerSlice {
    fn start() -> WorkerSlice {
        WorkerSlice {
            since: Instant::now(),
            yields: 0,
        }
    }
}

/// How long a task sending a response's regions from a worker runs before it
/// yields. Not after every `sendfile` call: a yield wakes a parked worker
/// (tokio hands the yielded task to the run queue and notifies an idle worker
/// to steal it, an `eventfd` write and two context switches), which finds
/// nothing to do and parks again. Traced on a 16-partition catch-up from
/// memory, a yield per 256 KiB call was 48 such wake-ups per 16 MiB fetch;
/// with the steady state's calls of ~0.1 ms this is one in about five.
/// (A task woken meanwhile for another connection is not stuck behind the
/// sender: the worker that polls the I/O driver runs it, or an idle one steals
/// it.)
const WORKER_SLICE: Duration = Duration::from_micros(500);

/// What a cold send's worker sends itself each round before handing the rest
/// to the cold pool: one loopback segment's worth (tens of microseconds).
const COLD_PROBE: u64 = 64 * 1024;

/// The most a cold pool thread sends with one `sendfile` call. The kernel this
/// runs on may not preempt a system call (`preempt=none`, the default of many
/// server and VM kernels): a thread inside one `sendfile` that pushes
/// megabytes through the loopback stack (one call takes what the socket
/// buffer takes, several MB once autotuned) holds its CPU for milliseconds,
/// whatever its nice value, and a worker or a client woken on that CPU waits
/// it out. Traced during a two-consumer catch-up, the pool's `sendfile` calls
/// took 0.58 ms on average and up to 9.8 ms, and the pool threads were the
/// first holders of the CPU that the workers and the tail's client were
/// waiting for. In steps of this size the calls took 0.35-0.40 ms on average
/// in the same busy trace; between steps the thread returns to user space,
/// where the scheduler can switch to a waiting worker at once.
const COLD_STEP: u64 = 256 * 1024;

/// [`send_file`] with the bulk of the work on the cold pool: each round the
/// worker waits for writability and sends up to [`COLD_PROBE`] bytes itself
/// (a full socket is seen there, so tokio's readiness stays right), then the
/// pool sends the rest until done or until the socket is full again (it never
/// waits on the socket).
async fn send_file_cold(socket: &TcpStream, region: &FileRegion) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    let mut offset = region.offset();
    let end = offset + region.len() as u64;
    while offset < end {
        let before = offset;
        let probe_end = (offset + COLD_PROBE).min(end);
        send_slice(socket, region, &mut offset, probe_end).await?;
        if offset == before || offset >= end {
            continue; // the socket was full (wait again), or done
        }
        // The pool's own descriptor for the socket (same open socket, same
        // non-blocking flag); closed when the job is done.
        let fd = socket.as_fd().try_clone_to_owned()?;
        let file = region.clone();
        let (sent, result) = crate::cold_io::run(move || {
            let mut at = offset;
            let result = loop {
                if at >= end {
                    break Ok(());
                }
                let count = (end - at).min(COLD_STEP) as usize;
                match rustix::fs::sendfile(&fd, file.file(), Some(&mut at), count) {
                    Ok(0) => break Err(region_ended()),
                    Ok(_) => {}
                    // The socket is full: the worker waits for it.
                    Err(rustix::io::Errno::AGAIN) => break Ok(()),
                    Err(rustix::io::Errno::INTR) => {}
                    Err(e) => break Err(std::io::Error::from(e)),
                }
            };
            (at, result)
        })
        .await
        .map_err(std::io::Error::other)?;
        let n = sent - offset;
        SENDFILE_BYTES.fetch_add(n, Ordering::Relaxed);
        COLD_SENDFILE_BYTES.fetch_add(n, Ordering::Relaxed);
        offset = sent;
        result?;
    }
    Ok(())
}

/// Wait for the socket to be writable and `sendfile` what it takes of
/// `[offset, end)` (possibly nothing: tokio's readiness was stale and is now
/// cleared), advancing `offset`. True when it had to wait (the task gave its
/// worker up meanwhile).
async fn send_slice(
    socket: &TcpStream,
    region: &FileRegion,
    offset: &mut u64,
    end: u64,
) -> std::io::Result<bool> {
    let mut waited = false;
    std::future::poll_fn(|cx| {
        let ready = socket.poll_write_ready(cx);
        waited |= ready.is_pending();
        ready
    })
    .await?;
    let sent = socket.try_io(Interest::WRITABLE, || {
        let count = (end - *offset) as usize;
        rustix::fs::sendfile(socket, region.file(), Some(offset), count)
            .map_err(std::io::Error::from)
    });
    match sent {
        Ok(0) => Err(region_ended()),
        Ok(n) => {
            SENDFILE_BYTES.fetch_add(n as u64, Ordering::Relaxed);
            Ok(waited)
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(waited),
        Err(e) => Err(e),
    }
}

/// The region was validated when taken and the file is never cut under it; a
/// short file means something else changed it: the connection is given up
/// rather than send a frame shorter than announced.
fn region_ended() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "segment file ended inside a fetched region",
    )
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

    /// A region of `batches` batches of about 1 MiB each, appended to a new log
    /// in `dir` (the store must outlive the region's use).
    fn big_region(dir: &std::path::Path, batches: usize) -> (weir_storage::Store, FileRegion) {
        use weir_storage::{AppendOptions, BatchBuilder, LogConfig, Record, Store, TopicPartition};
        let store = Store::open(dir).unwrap();
        let log = store
            .open_log(&TopicPartition::new("t", 0), LogConfig::default())
            .unwrap();
        for _ in 0..batches {
            let mut b = BatchBuilder::new();
            for i in 0..1000 {
                b.push(Record {
                    offset: i,
                    timestamp: 0,
                    key: None,
                    value: Some(Bytes::from(vec![(i % 251) as u8; 1024])),
                    headers: Vec::new(),
                });
            }
            log.append(&b.build().unwrap(), AppendOptions::default())
                .unwrap();
        }
        let read = log.read(0, 64 << 20, None).unwrap();
        (store, read.region.expect("a file region"))
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_hot_send_yields_per_worker_slice_not_per_sendfile_call() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, region) = big_region(dir.path(), 16);
        let len = region.len();
        assert!(len >= 16_000_000, "{len}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let server = TcpStream::from_std(server).unwrap();
        let expect = region.bytes();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut client = client;
            let mut got = vec![0u8; len];
            client.read_exact(&mut got).unwrap();
            got
        });
        let mut slice = WorkerSlice::start();
        let t0 = std::time::Instant::now();
        send_file(&server, &region, &mut slice).await.unwrap();
        let took = t0.elapsed();
        assert!(reader.join().unwrap() == expect[..], "the bytes sent");
        // One yield per slice of the worker's time at most (a call per
        // 256 KiB would make 63 of them for these 64 calls).
        let slices = (took.as_micros() / WORKER_SLICE.as_micros()) as u32;
        assert!(
            slice.yields <= slices,
            "{} yields in {took:?}",
            slice.yields
        );
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
