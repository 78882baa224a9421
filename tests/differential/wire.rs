//! A blocking Kafka-protocol client on one TCP connection: requests encoded with the
//! kafka-protocol crate's client side (every API and version weir or Kafka knows), every
//! read bounded by a timeout so a silent broker fails the step instead of hanging the run.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long one response may take (JoinGroup rounds and Fetch waits stay well below it).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Conn {
    stream: TcpStream,
    next_correlation: i32,
    /// Requests sent and not yet answered, oldest first: (correlation, key, version).
    pending: std::collections::VecDeque<(i32, ApiKey, i16)>,
}

impl Conn {
    pub fn connect(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            next_correlation: 1,
            pending: Default::default(),
        }
    }

    /// Encode and send `body` as `key` v`version` without waiting for the answer.
    pub fn send(&mut self, key: ApiKey, version: i16, body: &RequestKind) {
        let corr = self.next_correlation;
        self.next_correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(corr)
            .with_client_id(Some(StrBytes::from_static_str("weir-differential")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, key.request_header_version(version))
            .expect("encode header");
        body.encode(&mut buf, version)
            .unwrap_or_else(|e| panic!("encode {key:?} v{version}: {e}"));
        self.send_payload(&buf);
        self.pending.push_back((corr, key, version));
    }

    fn send_payload(&mut self, payload: &[u8]) {
        let mut frame = BytesMut::with_capacity(payload.len() + 4);
        frame.put_i32(payload.len() as i32);
        frame.put_slice(payload);
        // A broker that already closed the socket shows up in the read that follows.
        let _ = self.stream.write_all(&frame);
    }

    /// The answer to the oldest request sent and not yet answered.
    /// The answer to the oldest request in flight: its key, version and response body
    /// (after the header), or why there is none (`closed`, a bad frame).
    pub fn recv(&mut self) -> (ApiKey, i16, Result<Bytes, String>) {
        let (corr, key, version) = self.pending.pop_front().expect("a request in flight");
        (key, version, self.read_reply(corr, key, version))
    }

    fn read_reply(&mut self, corr: i32, key: ApiKey, version: i16) -> Result<Bytes, String> {
        let mut len = [0u8; 4];
        if self.stream.read_exact(&mut len).is_err() {
            return Err("connection closed".into());
        }
        let len = i32::from_be_bytes(len);
        if !(0..=256 << 20).contains(&len) {
            return Err(format!("frame size {len}"));
        }
        let mut buf = vec![0u8; len as usize];
        if self.stream.read_exact(&mut buf).is_err() {
            return Err("connection closed".into());
        }
        let mut frame = Bytes::from(buf);
        let header = match ResponseHeader::decode(&mut frame, key.response_header_version(version))
        {
            Ok(h) => h,
            Err(e) => return Err(format!("header: {e}")),
        };
        if header.correlation_id != corr {
            return Err(format!(
                "correlation id {} for request {corr}",
                header.correlation_id
            ));
        }
        Ok(frame)
    }
}
