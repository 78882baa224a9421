//! Kafka meaning of a frame: the request header and the body by api key and
//! version (via kafka-protocol), and the encoding of responses (header v0/v1 as
//! the api version asks, then the body).
//!
//! Responses are encoded into a list of parts: large record data (fetch results)
//! can travel as its own `Bytes` part, borrowed from storage, instead of being
//! copied into the response buffer (see [`SplicingBuf`]).
//!
//! The versions Kafka 4.0 removed (KIP-896), which `kafka-protocol` does not
//! know, are read and written by [`legacy`].

pub mod flex;
pub mod legacy;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::{Decodable, Encodable};

/// The fixed start of every request header (all header versions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPrefix {
    pub api_key: i16,
    pub api_version: i16,
    pub correlation_id: i32,
}

/// Why a request could not be decoded (the connection is closed).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("request of {0} bytes is too short for a header")]
    TooShort(usize),
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("malformed {api_key:?} v{version} request: {reason}")]
    Malformed {
        api_key: ApiKey,
        version: i16,
        reason: String,
    },
}

/// Why a response could not be encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode {api_key:?} v{version} response: {reason}")]
pub struct EncodeError {
    pub api_key: ApiKey,
    pub version: i16,
    pub reason: String,
}

/// Read api key, version and correlation id without decoding anything else.
pub fn peek_header(frame: &[u8]) -> Result<HeaderPrefix, DecodeError> {
    if frame.len() < 8 {
        return Err(DecodeError::TooShort(frame.len()));
    }
    Ok(HeaderPrefix {
        api_key: i16::from_be_bytes([frame[0], frame[1]]),
        api_version: i16::from_be_bytes([frame[2], frame[3]]),
        correlation_id: i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
    })
}

/// Decode the header of a request whose key and version were checked; `frame`
/// is left at the start of the body.
pub fn decode_header(
    frame: &mut Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<RequestHeader, DecodeError> {
    let header_version = api_key.request_header_version(version);
    RequestHeader::decode(frame, header_version).map_err(|e| DecodeError::Malformed {
        api_key,
        version,
        reason: e.to_string(),
    })
}

/// Decode a request body of a known type (the rest of the frame after the header).
pub fn decode_body<R: Decodable + 'static>(
    mut body: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<R, DecodeError> {
    if legacy::is_legacy(api_key, version) {
        let malformed = |reason: String| DecodeError::Malformed {
            api_key,
            version,
            reason,
        };
        let any = legacy::decode_request(api_key, version, body).map_err(malformed)?;
        return any.downcast::<R>().map(|r| *r).map_err(|_| {
            malformed(format!(
                "{} is not the request type of {api_key:?}",
                std::any::type_name::<R>()
            ))
        });
    }
    // Counts and lengths are checked against the bytes remaining before anything
    // is allocated (the vendored kafka-protocol, see vendor/README.md), so a body
    // cannot make the decoder allocate more than the frame holds.
    R::decode(&mut body, version).map_err(|e| DecodeError::Malformed {
        api_key,
        version,
        reason: format!(
            "Failed to decode {} v{version} body: {e}",
            std::any::type_name::<R>()
        ),
    })
}

/// Decode the header and body of a request whose key and version were checked
/// (into the untyped `RequestKind`; the broker decodes typed bodies, see
/// [`decode_body`]).
pub fn decode_request(
    mut frame: Bytes,
    api_key: ApiKey,
    version: i16,
) -> Result<(RequestHeader, RequestKind), DecodeError> {
    let header = decode_header(&mut frame, api_key, version)?;
    let body =
        RequestKind::decode(api_key, &mut frame, version).map_err(|e| DecodeError::Malformed {
            api_key,
            version,
            reason: e.to_string(),
        })?;
    Ok((header, body))
}

/// Encode a response (header + body) into frame parts (without the size prefix).
pub fn encode_response(
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    body: &ResponseKind,
) -> Result<Vec<Bytes>, EncodeError> {
    let err = |reason: String| EncodeError {
        api_key,
        version,
        reason,
    };
    let mut buf = SplicingBuf::new();
    let header_version = body.header_version(version);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, header_version)
        .map_err(|e| err(e.to_string()))?;
    if legacy::is_legacy(api_key, version) {
        legacy::encode_response(api_key, version, body, &mut buf).map_err(err)?;
    } else {
        body.encode_into(&mut buf, version).map_err(err)?;
    }
    Ok(buf.finish())
}

/// Encode a request (header + body) into one buffer; used by tests and tools
/// that talk to the broker over a raw socket.
pub fn encode_request(
    header: &RequestHeader,
    body: &RequestKind,
    version: i16,
) -> Result<BytesMut, String> {
    let api_key =
        ApiKey::try_from(header.request_api_key).map_err(|_| "unknown api key".to_string())?;
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, api_key.request_header_version(version))
        .map_err(|e| e.to_string())?;
    body.encode(&mut buf, version).map_err(|e| e.to_string())?;
    Ok(buf)
}

trait EncodeInto {
    fn encode_into(&self, buf: &mut SplicingBuf, version: i16) -> Result<(), String>;
}

impl EncodeInto for ResponseKind {
    fn encode_into(&self, buf: &mut SplicingBuf, version: i16) -> Result<(), String> {
        if let ResponseKind::Fetch(fetch) = self {
            // Register the record blocks so they are spliced in, not copied.
            for t in &fetch.responses {
                for p in &t.partitions {
                    if let Some(r) = &p.records {
                        buf.splice_candidate(r);
                    }
                }
            }
            return fetch.encode(buf, version).map_err(|e| e.to_string());
        }
        // The generic path: `ResponseKind::encode` wants a BytesMut.
        let mut tmp = BytesMut::new();
        self.encode(&mut tmp, version).map_err(|e| e.to_string())?;
        buf.put_slice(&tmp);
        Ok(())
    }
}

/// Minimum size of a record block worth sending as its own part.
const SPLICE_MIN: usize = 4096;

/// A response buffer that keeps registered `Bytes` blocks (fetched record data)
/// as separate parts when the encoder writes them, so they are never copied.
pub struct SplicingBuf {
    parts: Vec<Bytes>,
    current: BytesMut,
    candidates: Vec<Bytes>,
    /// Bytes in `parts` (so `offset()` spans all parts).
    flushed: usize,
}

impl SplicingBuf {
    pub fn new() -> Self {
        SplicingBuf {
            parts: Vec::new(),
            current: BytesMut::with_capacity(1024),
            candidates: Vec::new(),
            flushed: 0,
        }
    }

    /// Register a block to be spliced (by identity) when the encoder writes it.
    pub fn splice_candidate(&mut self, b: &Bytes) {
        if b.len() >= SPLICE_MIN {
            self.candidates.push(b.clone());
        }
    }

    pub fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.parts.push(self.current.freeze());
        }
        self.parts
    }

    fn take_candidate(&mut self, src: &[u8]) -> Option<Bytes> {
        let pos = self
            .candidates
            .iter()
            .position(|c| c.as_ptr() == src.as_ptr() && c.len() == src.len())?;
        Some(self.candidates.swap_remove(pos))
    }
}

impl Default for SplicingBuf {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method delegates to the inner `BytesMut`, which upholds the
// `BufMut` contract (`chunk_mut` returns uninitialised spare capacity and
// `advance_mut` is only called by callers that initialised that many bytes).
// `put_slice` is overridden to move whole registered blocks to `parts`, which
// does not touch `current`'s memory.
unsafe impl BufMut for SplicingBuf {
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: forwarded contract: the caller initialised `cnt` bytes of `chunk_mut()`.
        unsafe { self.current.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        self.current.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= SPLICE_MIN {
            if let Some(block) = self.take_candidate(src) {
                if !self.current.is_empty() {
                    let head = self.current.split().freeze();
                    self.flushed += head.len();
                    self.parts.push(head);
                }
                self.flushed += block.len();
                self.parts.push(block);
                return;
            }
        }
        self.current.extend_from_slice(src);
    }
}

impl ByteBufMut for SplicingBuf {
    fn offset(&self) -> usize {
        self.flushed + self.current.len()
    }

    fn seek(&mut self, offset: usize) {
        // Only gaps (never used by message encoders) seek; they stay within `current`.
        let local = offset
            .checked_sub(self.flushed)
            .expect("seek into a spliced part");
        self.current.seek(local)
    }

    fn range(&mut self, r: std::ops::Range<usize>) -> &mut [u8] {
        let start = r
            .start
            .checked_sub(self.flushed)
            .expect("range into a spliced part");
        let end = r.end - self.flushed;
        self.current.range(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{
        FetchResponse, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::ApiVersionsResponse;

    #[test]
    fn peek_reads_fixed_prefix() {
        let frame = [0u8, 18, 0, 3, 0, 0, 0, 7, 0xff];
        assert_eq!(
            peek_header(&frame).unwrap(),
            HeaderPrefix {
                api_key: 18,
                api_version: 3,
                correlation_id: 7
            }
        );
        assert!(matches!(
            peek_header(&frame[..5]),
            Err(DecodeError::TooShort(5))
        ));
    }

    fn uvarint(mut v: u32, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn malformed_reason<R: Decodable + std::fmt::Debug + 'static>(
        body: Vec<u8>,
        api_key: ApiKey,
        version: i16,
    ) -> String {
        match decode_body::<R>(Bytes::from(body), api_key, version) {
            Err(DecodeError::Malformed { reason, .. }) => reason,
            other => panic!("expected a malformed request, got {other:?}"),
        }
    }

    #[test]
    fn array_count_beyond_the_frame_is_rejected_before_allocating() {
        use kafka_protocol::messages::ProduceRequest;
        // Produce v3: transactional_id null, acks, timeout, then two billion topics
        // in a 12-byte body (the released decoder reserved ~150 GB here).
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        let reason = malformed_reason::<ProduceRequest>(body, ApiKey::Produce, 3);
        assert!(
            reason.contains("Tried to allocate a collection of size 2147483647, but there are only 0 bytes remaining."),
            "{reason}"
        );
        // The same with a compact array (Produce v9).
        let mut body = vec![0, 0, 1, 0, 0, 0x75, 0x30];
        uvarint(u32::MAX, &mut body);
        let reason = malformed_reason::<ProduceRequest>(body, ApiKey::Produce, 9);
        assert!(
            reason.contains("Tried to allocate a collection of size 4294967294"),
            "{reason}"
        );
    }

    #[test]
    fn array_of_more_than_a_million_elements_is_rejected_as_kafka_does() {
        use kafka_protocol::messages::ProduceRequest;
        let mut body = vec![0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30];
        body.extend_from_slice(&1_000_001i32.to_be_bytes());
        body.resize(body.len() + 2_000_000, 0);
        let reason = malformed_reason::<ProduceRequest>(body, ApiKey::Produce, 3);
        assert!(
            reason.contains("Tried to read a collection of size 1000001, which exceeds the maximum allowed size of 1000000."),
            "{reason}"
        );
    }

    #[test]
    fn tagged_field_counts_are_bounded_as_kafka_bounds_them() {
        use kafka_protocol::messages::ApiVersionsRequest;
        // ApiVersions v3: two empty compact strings, then the tagged fields.
        let tagged = |count: u32, fields: u32| {
            let mut body = vec![1, 1];
            uvarint(count, &mut body);
            for tag in 0..fields {
                uvarint(tag, &mut body);
                body.push(0);
            }
            body
        };
        let reason = malformed_reason::<ApiVersionsRequest>(
            tagged(u32::MAX >> 1, 0),
            ApiKey::ApiVersions,
            3,
        );
        assert!(
            reason.contains(
                "Tried to read 2147483647 tagged fields, but there are only 0 bytes remaining."
            ),
            "{reason}"
        );
        let reason =
            malformed_reason::<ApiVersionsRequest>(tagged(10_001, 10_001), ApiKey::ApiVersions, 3);
        assert!(
            reason.contains("exceeds the maximum allowed count of 10000."),
            "{reason}"
        );
        // 10,000 is still fine.
        let ok = decode_body::<ApiVersionsRequest>(
            Bytes::from(tagged(10_000, 10_000)),
            ApiKey::ApiVersions,
            3,
        )
        .unwrap();
        assert_eq!(ok.unknown_tagged_fields.len(), 10_000);
    }

    #[test]
    fn compact_string_longer_than_kafka_reads_is_rejected() {
        use kafka_protocol::messages::ApiVersionsRequest;
        let mut body = Vec::new();
        uvarint(40_001, &mut body);
        body.resize(body.len() + 40_000, b'a');
        body.extend_from_slice(&[1, 0]);
        let reason = malformed_reason::<ApiVersionsRequest>(body, ApiKey::ApiVersions, 3);
        assert!(
            reason.contains("string field had invalid length 40000"),
            "{reason}"
        );
        // A length past the end of the frame is refused before any buffer is made.
        let mut body = Vec::new();
        uvarint(30_000, &mut body);
        let reason = malformed_reason::<ApiVersionsRequest>(body, ApiKey::ApiVersions, 3);
        assert!(reason.contains("Tried to read 29999 bytes"), "{reason}");
    }

    #[test]
    fn api_versions_response_header_is_v0_even_when_flexible() {
        let body = ResponseKind::ApiVersions(ApiVersionsResponse::default());
        let parts = encode_response(42, ApiKey::ApiVersions, 3, &body).unwrap();
        let bytes: Vec<u8> = parts.concat();
        // correlation id, then directly error_code (no tagged-field byte of header v1).
        assert_eq!(&bytes[..6], &[0, 0, 0, 42, 0, 0]);
    }

    #[test]
    fn fetch_records_are_spliced_not_copied() {
        let records = Bytes::from(vec![7u8; 10_000]);
        let resp = FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_topic(kafka_protocol::messages::TopicName(
                kafka_protocol::protocol::StrBytes::from_static_str("t"),
            ))
            .with_partitions(vec![
                PartitionData::default().with_records(Some(records.clone()))
            ])]);
        let body = ResponseKind::Fetch(resp.clone());
        let parts = encode_response(1, ApiKey::Fetch, 11, &body).unwrap();
        assert!(parts
            .iter()
            .any(|p| p.as_ptr() == records.as_ptr() && p.len() == records.len()));
        // The spliced output equals the plain encoding.
        let mut plain = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(1)
            .encode(&mut plain, 0)
            .unwrap();
        resp.encode(&mut plain, 11).unwrap();
        assert_eq!(parts.concat(), plain.to_vec());
    }
}
