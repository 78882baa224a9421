//! Requests and responses of the versions Kafka 4.0 removed (KIP-896), written
//! and read field by field from the protocol's layouts (Kafka 2.x's JSON specs),
//! independently of the broker's codec: a test client of Kafka 0.10-2.0.

use super::{bounded, RawClient};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Big-endian request writer.
#[derive(Default)]
pub struct W(pub BytesMut);

impl W {
    pub fn new() -> W {
        W::default()
    }
    pub fn i8(mut self, v: i8) -> W {
        self.0.put_i8(v);
        self
    }
    pub fn i16(mut self, v: i16) -> W {
        self.0.put_i16(v);
        self
    }
    pub fn i32(mut self, v: i32) -> W {
        self.0.put_i32(v);
        self
    }
    pub fn i64(mut self, v: i64) -> W {
        self.0.put_i64(v);
        self
    }
    pub fn str(mut self, s: &str) -> W {
        self.0.put_i16(s.len() as i16);
        self.0.put_slice(s.as_bytes());
        self
    }
    pub fn null_str(self) -> W {
        self.i16(-1)
    }
    pub fn bytes(mut self, b: &[u8]) -> W {
        self.0.put_i32(b.len() as i32);
        self.0.put_slice(b);
        self
    }
    /// An array of `n` elements written by `f`.
    pub fn array<T>(self, items: &[T], f: impl Fn(W, &T) -> W) -> W {
        let mut w = self.i32(items.len() as i32);
        for i in items {
            w = f(w, i);
        }
        w
    }
    pub fn done(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

/// Big-endian response reader; panics on a short body.
pub struct R(pub Bytes);

impl R {
    fn need(&self, n: usize) {
        assert!(self.0.remaining() >= n, "response ends early");
    }
    pub fn i8(&mut self) -> i8 {
        self.need(1);
        self.0.get_i8()
    }
    pub fn bool(&mut self) -> bool {
        let b = self.i8();
        assert!(b == 0 || b == 1, "boolean {b}");
        b == 1
    }
    pub fn i16(&mut self) -> i16 {
        self.need(2);
        self.0.get_i16()
    }
    pub fn i32(&mut self) -> i32 {
        self.need(4);
        self.0.get_i32()
    }
    pub fn i64(&mut self) -> i64 {
        self.need(8);
        self.0.get_i64()
    }
    pub fn null_str(&mut self) -> Option<String> {
        let n = self.i16();
        if n < 0 {
            return None;
        }
        self.need(n as usize);
        let b = self.0.split_to(n as usize);
        Some(String::from_utf8(b.to_vec()).expect("utf-8"))
    }
    pub fn str(&mut self) -> String {
        self.null_str().expect("non-null string")
    }
    pub fn bytes(&mut self) -> Bytes {
        let n = self.i32();
        if n < 0 {
            return Bytes::new();
        }
        self.need(n as usize);
        self.0.split_to(n as usize)
    }
    pub fn array<T>(&mut self, mut f: impl FnMut(&mut R) -> T) -> Vec<T> {
        let n = self.i32();
        (0..n.max(0)).map(|_| f(self)).collect()
    }
    /// Assert the whole body was read.
    pub fn end(&self) {
        assert!(
            self.0.is_empty(),
            "{} trailing bytes in the response",
            self.0.len()
        );
    }
}

impl RawClient {
    /// Send a request with header v1 (key, version, correlation id, client id) and
    /// `body`; return the response body after its v0 header (correlation checked).
    pub async fn call_raw(&mut self, key: i16, version: i16, body: &[u8]) -> R {
        let correlation = 0x5eed_0000 + key as i32 * 100 + version as i32;
        let head = W::new()
            .i16(key)
            .i16(version)
            .i32(correlation)
            .str("legacy-test")
            .done();
        let mut payload = head;
        payload.extend_from_slice(body);
        self.send_raw(&payload).await;
        let frame = bounded("response", self.recv_frame())
            .await
            .unwrap_or_else(|| panic!("key {key} v{version}: connection closed"));
        let mut r = R(frame);
        assert_eq!(r.i32(), correlation, "correlation id");
        r
    }
}

// ------------------------------------------------------------- the requests

/// Produce v0-2: acks, timeout, [topic, [partition, message set]].
pub fn produce_req(topic: &str, partition: i32, set: &[u8]) -> Vec<u8> {
    W::new()
        .i16(-1)
        .i32(10_000)
        .array(&[topic], |w, t| {
            w.str(t).array(&[partition], |w, p| w.i32(*p).bytes(set))
        })
        .done()
}

/// One partition of a Produce v0-2 answer: (error, base offset, log append time (v2)).
pub fn produce_resp(mut r: R, version: i16) -> (i16, i64, i64) {
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            r.i32();
            let e = r.i16();
            let base = r.i64();
            let lat = if version >= 2 { r.i64() } else { -1 };
            (e, base, lat)
        })
    });
    if version >= 1 {
        r.i32();
    }
    r.end();
    topics[0][0]
}

/// Fetch v0-3 of one partition from `offset`.
pub fn fetch_req(topic: &str, partition: i32, offset: i64, version: i16, max: i32) -> Vec<u8> {
    let mut w = W::new().i32(-1).i32(0).i32(0);
    if version >= 3 {
        w = w.i32(max);
    }
    w.array(&[topic], |w, t| {
        w.str(t)
            .array(&[partition], |w, p| w.i32(*p).i64(offset).i32(max))
    })
    .done()
}

/// One partition of a Fetch v0-3 answer: (error, high watermark, message set).
pub fn fetch_resp(mut r: R, version: i16) -> (i16, i64, Bytes) {
    if version >= 1 {
        r.i32();
    }
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            r.i32();
            (r.i16(), r.i64(), r.bytes())
        })
    });
    r.end();
    topics[0][0].clone()
}

/// ListOffsets v0 of one partition.
pub fn list_offsets_req(topic: &str, partition: i32, timestamp: i64, max: i32) -> Vec<u8> {
    W::new()
        .i32(-1)
        .array(&[topic], |w, t| {
            w.str(t)
                .array(&[partition], |w, p| w.i32(*p).i64(timestamp).i32(max))
        })
        .done()
}

/// One partition of a ListOffsets v0 answer: (error, offsets).
pub fn list_offsets_resp(mut r: R) -> (i16, Vec<i64>) {
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            r.i32();
            (r.i16(), r.array(|r| r.i64()))
        })
    });
    r.end();
    topics[0][0].clone()
}

/// OffsetCommit v0 (group, [topic, [partition, offset, metadata]]) or v1
/// (group, generation, member, [topic, [partition, offset, timestamp, metadata]]).
pub fn offset_commit_req(
    group: &str,
    version: i16,
    topic: &str,
    partition: i32,
    offset: i64,
    timestamp: i64,
    metadata: &str,
) -> Vec<u8> {
    let mut w = W::new().str(group);
    if version >= 1 {
        w = w.i32(-1).str("");
    }
    w.array(&[topic], |w, t| {
        w.str(t).array(&[partition], |w, p| {
            let w = w.i32(*p).i64(offset);
            let w = if version >= 1 { w.i64(timestamp) } else { w };
            w.str(metadata)
        })
    })
    .done()
}

/// Errors of an OffsetCommit v0-2 answer.
pub fn offset_commit_resp(mut r: R) -> Vec<i16> {
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            r.i32();
            r.i16()
        })
    });
    r.end();
    topics.concat()
}

/// OffsetFetch v0-1 of one partition.
pub fn offset_fetch_req(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    W::new()
        .str(group)
        .array(&[topic], |w, t| {
            w.str(t).array(&[partition], |w, p| w.i32(*p))
        })
        .done()
}

/// One partition of an OffsetFetch v0-1 answer: (offset, metadata, error).
pub fn offset_fetch_resp(mut r: R) -> (i64, Option<String>, i16) {
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            r.i32();
            (r.i64(), r.null_str(), r.i16())
        })
    });
    r.end();
    topics[0][0].clone()
}

/// DescribeConfigs v0 of a topic (all its configs).
pub fn describe_configs_req(resource_type: i8, name: &str) -> Vec<u8> {
    W::new()
        .array(&[name], |w, n| w.i8(resource_type).str(n).i32(-1))
        .done()
}

/// A DescribeConfigs v0 answer: per resource (error, [(name, value, read only,
/// is default, is sensitive)]).
#[allow(clippy::type_complexity)]
pub fn describe_configs_resp(
    mut r: R,
) -> Vec<(i16, Vec<(String, Option<String>, bool, bool, bool)>)> {
    r.i32();
    let out = r.array(|r| {
        let e = r.i16();
        r.null_str();
        r.i8();
        r.str();
        let configs = r.array(|r| (r.str(), r.null_str(), r.bool(), r.bool(), r.bool()));
        (e, configs)
    });
    r.end();
    out
}

/// CreateTopics v0-1 of one topic (v1: validate_only false).
pub fn create_topics_req(name: &str, partitions: i32, version: i16) -> Vec<u8> {
    let w = W::new()
        .array(&[name], |w, n| {
            w.str(n)
                .i32(partitions)
                .i16(1)
                .i32(0) // no replica assignment
                .i32(0) // no configs
        })
        .i32(10_000);
    if version >= 1 { w.i8(0) } else { w }.done()
}

/// A CreateTopics v0-1 answer: (name, error, message (v1)).
pub fn create_topics_resp(mut r: R, version: i16) -> Vec<(String, i16, Option<String>)> {
    let out = r.array(|r| {
        let name = r.str();
        let e = r.i16();
        let msg = if version >= 1 { r.null_str() } else { None };
        (name, e, msg)
    });
    r.end();
    out
}

/// DeleteTopics v0.
pub fn delete_topics_req(name: &str) -> Vec<u8> {
    W::new().array(&[name], |w, n| w.str(n)).i32(10_000).done()
}

/// A DeleteTopics v0 answer: (name, error).
pub fn delete_topics_resp(mut r: R) -> Vec<(String, i16)> {
    let out = r.array(|r| (r.str(), r.i16()));
    r.end();
    out
}

/// OffsetForLeaderEpoch v0-1 of one partition.
pub fn offset_for_leader_epoch_req(topic: &str, partition: i32, epoch: i32) -> Vec<u8> {
    W::new()
        .array(&[topic], |w, t| {
            w.str(t).array(&[partition], |w, p| w.i32(*p).i32(epoch))
        })
        .done()
}

/// One partition of an OffsetForLeaderEpoch v0-1 answer: (error, leader epoch
/// (v1, else -1), end offset).
pub fn offset_for_leader_epoch_resp(mut r: R, version: i16) -> (i16, i32, i64) {
    let topics = r.array(|r| {
        r.str();
        r.array(|r| {
            let e = r.i16();
            r.i32();
            let epoch = if version >= 1 { r.i32() } else { -1 };
            (e, epoch, r.i64())
        })
    });
    r.end();
    topics[0][0]
}

/// DescribeLogDirs v0 (all dirs).
pub fn describe_log_dirs_req() -> Vec<u8> {
    W::new().i32(-1).done()
}

/// A DescribeLogDirs v0 answer: [(error, dir, [(topic, [(partition, size)])])].
#[allow(clippy::type_complexity)]
pub fn describe_log_dirs_resp(mut r: R) -> Vec<(i16, String, Vec<(String, Vec<(i32, i64)>)>)> {
    r.i32();
    let out = r.array(|r| {
        let e = r.i16();
        let dir = r.str();
        let topics = r.array(|r| {
            let t = r.str();
            let parts = r.array(|r| {
                let p = r.i32();
                let size = r.i64();
                r.i64(); // offset lag
                r.bool(); // is future
                (p, size)
            });
            (t, parts)
        });
        (e, dir, topics)
    });
    r.end();
    out
}
