//! One Kafka connection: length-prefixed framing, request headers and correlation ids,
//! ApiVersions negotiation, and a split into a writer and a reader so several requests can
//! be in flight with responses matched in order. A connection is plaintext, TLS, SASL or
//! SASL over TLS ([`ClientSecurity`]); the plaintext halves are tokio's owned TCP halves
//! behind an enum, so plaintext reads and writes cost no more than before.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::big_reads::BigReads;
use crate::error::{error_name, ClientError};
use crate::sasl::{plain_message, Mechanism, ScramClient};
use crate::security::ClientSecurity;

/// Largest response frame we accept (a fetch can be large, but not unbounded).
const MAX_FRAME: usize = 512 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most one socket read of a TLS connection takes (as the plaintext reader's buffer).
const TLS_READ_SIZE: usize = 256 * 1024;
/// The least room a response read offers: many small responses (produce acks) come
/// in one read, as through a 256 KiB read buffer.
const MIN_READ: usize = 256 * 1024;
/// Encrypted bytes rustls holds before each socket write (as the broker's).
const TLS_WRITE_BUFFER: usize = 256 * 1024;
/// Limit for control-plane calls (ApiVersions, Metadata, CreateTopics, ListOffsets).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The client id of every request (`weir bench` and the admin commands alike).
const CLIENT_ID: &str = "weir";

/// The version ranges a broker advertised in ApiVersions.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    ranges: HashMap<i16, (i16, i16)>,
}

impl Versions {
    /// Builds from (api key, min, max) triples.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (i16, i16, i16)>) -> Self {
        Versions {
            ranges: ranges.into_iter().map(|(k, a, b)| (k, (a, b))).collect(),
        }
    }

    /// The highest version both sides support, given our own range `[ours_min, ours_max]`.
    pub fn pick(&self, key: ApiKey, ours_min: i16, ours_max: i16) -> Result<i16, ClientError> {
        let (min, max) = *self.ranges.get(&(key as i16)).ok_or_else(|| {
            ClientError::Run(format!(
                "broker does not support {key:?} (api key {})",
                key as i16
            ))
        })?;
        let v = max.min(ours_max);
        if v < min.max(ours_min) {
            return Err(ClientError::Run(format!(
                "no common {key:?} version: broker {min}..={max}, ours {ours_min}..={ours_max}"
            )));
        }
        Ok(v)
    }
}

/// A connected, version-negotiated broker connection.
pub struct Conn {
    pub addr: String,
    pub versions: Versions,
    writer: RequestWriter,
    reader: ResponseReader,
}

impl Conn {
    /// Connects (TLS handshake, as `security` says), negotiates versions with ApiVersions
    /// (v3, falling back to v0), then authenticates with SASL if `security` says so.
    pub async fn connect(addr: &str, security: &ClientSecurity) -> Result<Conn, ClientError> {
        let mut conn = match Self::connect_with(addr, security, 3).await {
            Ok(c) => c,
            Err(e @ ClientError::Auth(_)) => return Err(e),
            // A broker that lacks ApiVersions v3 answers in v0 format (or hangs up).
            Err(first) => Self::connect_with(addr, security, 0)
                .await
                .map_err(|_| first)?,
        };
        if let Some(sasl) = &security.sasl {
            conn.authenticate(sasl.mechanism, &sasl.username, &sasl.password)
                .await?;
        }
        Ok(conn)
    }

    async fn connect_with(
        addr: &str,
        security: &ClientSecurity,
        api_versions_version: i16,
    ) -> Result<Conn, ClientError> {
        let io = |source| ClientError::Io {
            addr: addr.to_string(),
            source,
        };
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Run(format!("{addr}: connect timed out")))?
            .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let (r, w) = match &security.tls {
            None => {
                let (r, w) = stream.into_split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            Some(config) => {
                let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let name = rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| ClientError::Usage(format!("{addr}: TLS server name: {e}")))?;
                // rustls reads at most one record per recv; one recv takes what the socket holds.
                let stream = BigReads::new(stream, TLS_READ_SIZE);
                let tls = tokio_rustls::TlsConnector::from(config.clone()).connect(name, stream);
                let mut tls = tokio::time::timeout(CONNECT_TIMEOUT, tls)
                    .await
                    .map_err(|_| ClientError::Auth(format!("{addr}: TLS handshake timed out")))?
                    .map_err(|e| ClientError::Auth(format!("{addr}: TLS handshake failed: {e}")))?;
                // A large produce request leaves in writes of 16 records, not 4 (rustls's
                // default holds 64 KiB of encrypted records before writing them out).
                tls.get_mut().1.set_buffer_limit(Some(TLS_WRITE_BUFFER));
                let (r, w) = tokio::io::split(tls);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        };
        let mut conn = Conn {
            addr: addr.to_string(),
            versions: Versions::default(),
            writer: RequestWriter {
                addr: addr.to_string(),
                w,
                buf: BytesMut::with_capacity(64 * 1024),
                next_correlation: 1,
                bytes_written: 0,
            },
            reader: ResponseReader {
                addr: addr.to_string(),
                r,
                bytes_read: 0,
                buf: BytesMut::new(),
            },
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(CLIENT_ID))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp = conn.call(&req, api_versions_version).await?;
        if resp.error_code != 0 {
            return Err(ClientError::Kafka {
                context: format!("{addr}: ApiVersions v{api_versions_version}"),
                code: resp.error_code,
            });
        }
        conn.versions = Versions::from_ranges(
            resp.api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version)),
        );
        Ok(conn)
    }

    /// SaslHandshake v1 and SaslAuthenticate rounds; a refusal is one line.
    async fn authenticate(
        &mut self,
        mechanism: Mechanism,
        username: &str,
        password: &str,
    ) -> Result<(), ClientError> {
        let addr = self.addr.clone();
        let auth_err = |msg: String| ClientError::Auth(format!("{addr}: {msg}"));
        let v = self.versions.pick(ApiKey::SaslHandshake, 1, 1)?;
        let req = SaslHandshakeRequest::default()
            .with_mechanism(StrBytes::from_static_str(mechanism.name()));
        let resp = self.call(&req, v).await?;
        if resp.error_code != 0 {
            let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(auth_err(format!(
                "SASL mechanism {} is not enabled on the broker ({}; enabled: {})",
                mechanism.name(),
                error_name(resp.error_code),
                enabled.join(",")
            )));
        }
        let v = self.versions.pick(ApiKey::SaslAuthenticate, 0, 2)?;
        let mut scram = match mechanism {
            Mechanism::Plain => None,
            _ => Some(ScramClient::new(mechanism, username, password)),
        };
        let first = match &scram {
            None => plain_message(username, password),
            Some(s) => s.client_first(),
        };
        let answer = self.sasl_round(first, v).await?;
        let Some(scram) = scram.as_mut() else {
            return Ok(());
        };
        let fin = scram.client_final(&answer).map_err(auth_err)?;
        let answer = self.sasl_round(fin, v).await?;
        scram.verify_server_final(&answer).map_err(auth_err)
    }

    async fn sasl_round(&mut self, bytes: Vec<u8>, v: i16) -> Result<Bytes, ClientError> {
        let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes));
        let resp = self.call(&req, v).await?;
        if resp.error_code != 0 {
            let msg = resp
                .error_message
                .as_ref()
                .map(|m| m.as_str())
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| error_name(resp.error_code));
            return Err(ClientError::Auth(format!(
                "{}: SASL authentication failed: {msg}",
                self.addr
            )));
        }
        Ok(resp.auth_bytes)
    }

    /// Sends one request and waits (at most [`CALL_TIMEOUT`]) for its response.
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        let corr = self.writer.send(req, version).await?;
        self.reader
            .recv_within::<R>(corr, version, CALL_TIMEOUT)
            .await
    }

    /// Sends one request that gets no response (Produce with acks=0).
    pub async fn send_only<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<(), ClientError> {
        self.writer.send(req, version).await.map(|_| ())
    }

    /// Splits into an independent writer and reader for pipelining.
    pub fn into_split(self) -> (Versions, RequestWriter, ResponseReader) {
        (self.versions, self.writer, self.reader)
    }
}

/// The sending half: encodes requests with increasing correlation ids.
pub struct RequestWriter {
    addr: String,
    w: WriteHalf,
    buf: BytesMut,
    next_correlation: i32,
    /// Total bytes written (request frames, including length prefixes).
    pub bytes_written: u64,
}

impl RequestWriter {
    /// The correlation id the next `send` will use.
    pub fn peek_correlation(&self) -> i32 {
        self.next_correlation
    }

    /// Encodes and writes one request; returns its correlation id.
    pub async fn send<R: Request>(&mut self, req: &R, version: i16) -> Result<i32, ClientError> {
        let key = api_key::<R>()?;
        let corr = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(corr)
            .with_client_id(Some(StrBytes::from_static_str(CLIENT_ID)));
        self.buf.clear();
        self.buf.put_i32(0);
        header
            .encode(&mut self.buf, key.request_header_version(version))
            .map_err(|e| ClientError::Protocol(format!("encoding header: {e}")))?;
        req.encode(&mut self.buf, version)
            .map_err(|e| ClientError::Protocol(format!("encoding {key:?} v{version}: {e}")))?;
        let len = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&len.to_be_bytes());
        let io = |source| ClientError::Io {
            addr: self.addr.clone(),
            source,
        };
        self.w.write_all(&self.buf).await.map_err(io)?;
        if let WriteHalf::Tls(w) = &mut self.w {
            // rustls may hold encrypted records back until flushed.
            w.flush().await.map_err(io)?;
        }
        self.bytes_written += self.buf.len() as u64;
        Ok(corr)
    }
}

/// The receiving half: reads response frames in order.
///
/// Reads go straight into one [`BytesMut`] (no read buffer in between, so no
/// frame byte is copied twice in user space); each frame leaves it as a `Bytes`
/// slice (the decoded response borrows from it), and once those are dropped the
/// next frame reuses the same memory, so a steady consume faults no new pages.
/// Bytes read past a frame (the next responses) stay in the buffer.
pub struct ResponseReader {
    addr: String,
    r: ReadHalf,
    /// Total bytes read (response frames, including length prefixes).
    pub bytes_read: u64,
    /// Bytes read and not yet handed out as frames.
    buf: BytesMut,
}

impl ResponseReader {
    /// Reads the next response frame and checks that it answers `correlation`.
    pub async fn recv<R: Request>(
        &mut self,
        correlation: i32,
        version: i16,
    ) -> Result<R::Response, ClientError> {
        let key = api_key::<R>()?;
        let mut frame = self.read_frame().await?;
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .map_err(|e| ClientError::Protocol(format!("{key:?} response header: {e}")))?;
        if header.correlation_id != correlation {
            return Err(ClientError::Protocol(format!(
                "{}: response correlation id {} where {} was expected",
                self.addr, header.correlation_id, correlation
            )));
        }
        R::Response::decode(&mut frame, version)
            .map_err(|e| ClientError::Protocol(format!("{key:?} v{version} response: {e}")))
    }

    /// Like [`ResponseReader::recv`], but fails if no response arrives within `limit`.
    pub async fn recv_within<R: Request>(
        &mut self,
        correlation: i32,
        version: i16,
        limit: Duration,
    ) -> Result<R::Response, ClientError> {
        match tokio::time::timeout(limit, self.recv::<R>(correlation, version)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Run(format!(
                "{}: no response to request {correlation} within {} ms",
                self.addr,
                limit.as_millis()
            ))),
        }
    }

    async fn read_frame(&mut self) -> Result<Bytes, ClientError> {
        self.fill(4).await?;
        let len = i32::from_be_bytes(self.buf[..4].try_into().expect("4 bytes"));
        if len < 4 || len as usize > MAX_FRAME {
            return Err(ClientError::Protocol(format!(
                "{}: response frame length {len}",
                self.addr
            )));
        }
        let len = len as usize;
        self.fill(4 + len).await?;
        self.buf.advance(4);
        self.bytes_read += 4 + len as u64;
        Ok(self.buf.split_to(len).freeze())
    }

    /// Reads until the buffer holds at least `want` bytes. Each read offers all the
    /// room there is: at least [`MIN_READ`] for a length prefix or a small frame,
    /// exactly the rest of a larger frame (so the buffer is not doubled for its last
    /// bytes). When the previous frames' `Bytes` are gone, `reserve` takes the buffer
    /// back (moving leftover bytes to its front) instead of allocating and faulting
    /// in a new one.
    async fn fill(&mut self, want: usize) -> Result<(), ClientError> {
        while self.buf.len() < want {
            let need = want - self.buf.len();
            self.buf
                .reserve(if want <= MIN_READ { MIN_READ } else { need });
            let n = self
                .r
                .read_buf(&mut self.buf)
                .await
                .map_err(|source| ClientError::Io {
                    addr: self.addr.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(ClientError::Io {
                    addr: self.addr.clone(),
                    source: std::io::ErrorKind::UnexpectedEof.into(),
                });
            }
        }
        Ok(())
    }
}

/// The reading half of a plaintext or TLS connection.
enum ReadHalf {
    Plain(OwnedReadHalf),
    Tls(tokio::io::ReadHalf<TlsStream<BigReads<TcpStream>>>),
}

/// The writing half of a plaintext or TLS connection.
enum WriteHalf {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream<BigReads<TcpStream>>>),
}

impl AsyncRead for ReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Plain(r) => Pin::new(r).poll_read(cx, buf),
            ReadHalf::Tls(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write(cx, buf),
            WriteHalf::Tls(w) => Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_write_vectored(cx, bufs),
            WriteHalf::Tls(w) => Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Plain(w) => w.is_write_vectored(),
            WriteHalf::Tls(w) => w.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_flush(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Plain(w) => Pin::new(w).poll_shutdown(cx),
            WriteHalf::Tls(w) => Pin::new(w).poll_shutdown(cx),
        }
    }
}

fn api_key<R: Request>() -> Result<ApiKey, ClientError> {
    ApiKey::try_from(R::KEY)
        .map_err(|_| ClientError::Protocol(format!("unknown api key {}", R::KEY)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_pick_takes_highest_common() {
        let v = Versions::from_ranges([(0, 3, 11), (1, 4, 17)]);
        assert_eq!(v.pick(ApiKey::Produce, 3, 12).unwrap(), 11);
        assert_eq!(v.pick(ApiKey::Fetch, 4, 12).unwrap(), 12);
        assert!(v.pick(ApiKey::Metadata, 0, 12).is_err());
        let old = Versions::from_ranges([(0, 0, 2)]);
        assert!(old.pick(ApiKey::Produce, 3, 12).is_err());
    }

    /// A reader over a loopback connection whose peer writes `chunks` (with a pause
    /// between them, so they arrive in separate reads), then hangs up.
    async fn reader_of(chunks: Vec<Vec<u8>>) -> ResponseReader {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut peer, _) = listener.accept().await.unwrap();
            for c in chunks {
                peer.write_all(&c).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (r, _w) = stream.into_split();
        ResponseReader {
            addr: addr.to_string(),
            r: ReadHalf::Plain(r),
            bytes_read: 0,
            buf: BytesMut::new(),
        }
    }

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    #[tokio::test]
    async fn frames_split_and_packed_across_reads_come_out_whole() {
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let (a, b, c) = (frame(b"first"), frame(&big), frame(b"third"));
        // `a` and the start of `b` in one write, the rest of `b` split at an odd
        // place, `c` with the last of `b`, and `c`'s length prefix split in two.
        let cut = 4 + 1_234_567;
        let mut one = a.clone();
        one.extend_from_slice(&b[..cut]);
        let mut three = b[cut + 1_000_001..].to_vec();
        three.extend_from_slice(&c[..2]);
        let chunks = vec![
            one,
            b[cut..cut + 1_000_001].to_vec(),
            three,
            c[2..].to_vec(),
        ];
        let mut r = reader_of(chunks).await;
        assert_eq!(&r.read_frame().await.unwrap()[..], b"first");
        assert_eq!(r.read_frame().await.unwrap()[..], big[..]);
        assert_eq!(&r.read_frame().await.unwrap()[..], b"third");
        assert_eq!(r.bytes_read, (a.len() + b.len() + c.len()) as u64);
        // The peer has hung up: a clean end is an error for the next frame.
        assert!(matches!(r.read_frame().await, Err(ClientError::Io { .. })));
    }

    #[tokio::test]
    async fn a_steady_stream_of_frames_reuses_one_buffer() {
        let body = vec![7u8; 1 << 20];
        let mut r = reader_of(vec![frame(&body), frame(&body), frame(&body)]).await;
        let first = r.read_frame().await.unwrap();
        let at = first.as_ptr();
        drop(first);
        for _ in 0..2 {
            let f = r.read_frame().await.unwrap();
            assert_eq!(f.len(), body.len());
            // The same memory (pages already faulted in), not a new allocation.
            assert_eq!(f.as_ptr(), at);
        }
    }

    #[tokio::test]
    async fn a_frame_cut_short_or_of_a_bad_length_is_an_error() {
        let mut cut = frame(&[1u8; 1000]);
        cut.truncate(600);
        let mut r = reader_of(vec![cut]).await;
        match r.read_frame().await {
            Err(ClientError::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof)
            }
            other => panic!("{other:?}"),
        }
        let mut r = reader_of(vec![(-5i32).to_be_bytes().to_vec()]).await;
        assert!(matches!(
            r.read_frame().await,
            Err(ClientError::Protocol(_))
        ));
        assert_eq!(r.bytes_read, 0);
    }
}
