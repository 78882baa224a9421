//! Request and response bodies of the versions Kafka 4.0 removed (KIP-896),
//! which the `kafka-protocol` crate no longer knows: Produce v0-2, Fetch v0-3,
//! ListOffsets v0, OffsetCommit v0-1, OffsetFetch v0, DescribeConfigs v0,
//! CreateTopics v0-1, DeleteTopics v0, OffsetForLeaderEpoch v0-1,
//! DescribeLogDirs v0 (Kafka 0.10.0 to 2.0 clients send them), and
//! CreateAcls/DescribeAcls/DeleteAcls v0 (v1 minus the resource pattern type,
//! which v0 means LITERAL; Kafka 0.11 to 1.1 clients send them).
//!
//! A request is turned into the typed request of the lowest version the crate
//! decodes (the "floor"): where the old layout is the floor's minus fields, the
//! bytes are completed with those fields' defaults and decoded at the floor;
//! otherwise it is read field by field. A response is written in the old layout
//! from the typed response the handler built. The handler sees the real
//! (old) version in its context and applies that version's semantics.
//!
//! Fields the typed structs no longer have travel in the structs'
//! `unknown_tagged_fields` under this module's private tags (non-flexible
//! versions have no tagged fields on the wire, so these never meet real ones):
//! [`MAX_NUM_OFFSETS_TAG`] (ListOffsets v0 request), [`OLD_STYLE_OFFSETS_TAG`]
//! (ListOffsets v0 response), [`COMMIT_TIMESTAMP_TAG`] (OffsetCommit v1).

use crate::codec::SplicingBuf;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};
use std::any::Any;

/// The resource pattern type ACL APIs v0 imply (`PatternType.LITERAL`).
const LITERAL: i8 = 3;

/// ListOffsets v0 request partition: `max_num_offsets` (i32, big-endian).
pub const MAX_NUM_OFFSETS_TAG: i32 = -0x1000;
/// ListOffsets v0 response partition: `old_style_offsets` (i64s, big-endian).
pub const OLD_STYLE_OFFSETS_TAG: i32 = -0x1001;
/// OffsetCommit v1 request partition: `commit_timestamp` (i64, big-endian).
pub const COMMIT_TIMESTAMP_TAG: i32 = -0x1002;

/// Whether `version` of `key` is below the versions `kafka-protocol` decodes.
pub fn is_legacy(key: ApiKey, version: i16) -> bool {
    version < key.valid_versions().min && legacy_min(key).is_some_and(|m| version >= m)
}

/// The lowest version of `key` this module serves (`None`: it serves none).
pub fn legacy_min(key: ApiKey) -> Option<i16> {
    match key {
        ApiKey::Produce
        | ApiKey::Fetch
        | ApiKey::ListOffsets
        | ApiKey::OffsetCommit
        | ApiKey::OffsetFetch
        | ApiKey::DescribeConfigs
        | ApiKey::CreateTopics
        | ApiKey::DeleteTopics
        | ApiKey::OffsetForLeaderEpoch
        | ApiKey::DescribeLogDirs
        | ApiKey::CreateAcls
        | ApiKey::DescribeAcls
        | ApiKey::DeleteAcls => Some(0),
        _ => None,
    }
}

/// A ListOffsets v0 partition's `max_num_offsets`.
pub fn max_num_offsets(p: &ListOffsetsPartition) -> Option<i32> {
    let b = p.unknown_tagged_fields.get(&MAX_NUM_OFFSETS_TAG)?;
    Some(i32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// Set a ListOffsets v0 answer's `old_style_offsets`.
pub fn set_old_style_offsets(p: &mut ListOffsetsPartitionResponse, offsets: &[i64]) {
    let mut b = BytesMut::with_capacity(offsets.len() * 8);
    for o in offsets {
        b.put_i64(*o);
    }
    p.unknown_tagged_fields
        .insert(OLD_STYLE_OFFSETS_TAG, b.freeze());
}

/// An OffsetCommit v1 partition's `commit_timestamp` (-1: the broker's time).
pub fn commit_timestamp(p: &OffsetCommitRequestPartition) -> Option<i64> {
    let b = p.unknown_tagged_fields.get(&COMMIT_TIMESTAMP_TAG)?;
    Some(i64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

type Result<T> = std::result::Result<T, String>;

/// Big-endian reader of a request body.
struct Reader {
    buf: Bytes,
}

impl Reader {
    fn take(&mut self, n: usize) -> Result<Bytes> {
        if self.buf.len() < n {
            return Err(format!("body ends {} bytes early", n - self.buf.len()));
        }
        Ok(self.buf.split_to(n))
    }
    fn i8(&mut self) -> Result<i8> {
        Ok(self.take(1)?[0] as i8)
    }
    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        Ok(i64::from_be_bytes(b[..].try_into().expect("8 bytes")))
    }
    fn nullable_string(&mut self) -> Result<Option<StrBytes>> {
        let n = self.i16()?;
        if n < 0 {
            return Ok(None);
        }
        let b = self.take(n as usize)?;
        StrBytes::from_utf8(b)
            .map(Some)
            .map_err(|_| "string is not UTF-8".to_string())
    }
    fn string(&mut self) -> Result<StrBytes> {
        self.nullable_string()?
            .ok_or_else(|| "null where a string is required".to_string())
    }
    /// An array of `f` (a null array reads as empty).
    fn array<T>(&mut self, mut f: impl FnMut(&mut Reader) -> Result<T>) -> Result<Vec<T>> {
        let n = self.i32()?;
        if n > 0 && n as usize > self.buf.len() {
            return Err(format!("array of {n} in {} bytes", self.buf.len()));
        }
        (0..n.max(0)).map(|_| f(self)).collect()
    }
    fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(format!("{} bytes after the body", self.buf.len()))
        }
    }
}

/// Decode at `version` with `kafka-protocol`, as a boxed typed request.
fn decode_at<R: Decodable + Send + 'static>(mut body: Bytes, version: i16) -> Result<Box<dyn Any>> {
    let r = R::decode(&mut body, version).map_err(|e| e.to_string())?;
    if !body.is_empty() {
        return Err(format!("{} bytes after the body", body.len()));
    }
    Ok(Box::new(r))
}

/// `head` + `insert` + `rest of body from head.len()` (fields added in the middle).
fn splice(body: &Bytes, at: usize, insert: &[u8]) -> Result<Bytes> {
    if body.len() < at {
        return Err("body too short".to_string());
    }
    let mut b = BytesMut::with_capacity(body.len() + insert.len());
    b.extend_from_slice(&body[..at]);
    b.extend_from_slice(insert);
    b.extend_from_slice(&body[at..]);
    Ok(b.freeze())
}

/// Decode the body of an old `version` of `key` (see [`is_legacy`]) into the
/// typed request of `key`, boxed.
pub fn decode_request(key: ApiKey, version: i16, body: Bytes) -> Result<Box<dyn Any>> {
    match key {
        // v3 added transactional_id (nullable string) at the front.
        ApiKey::Produce => decode_at::<ProduceRequest>(splice(&body, 0, &[0xff, 0xff])?, 3),
        // v3 added max_bytes after min_bytes, v4 isolation_level after it.
        ApiKey::Fetch => {
            let b = if version < 3 {
                // Kafka's DEFAULT_RESPONSE_MAX_BYTES for versions without the field.
                splice(&body, 12, &[0x7f, 0xff, 0xff, 0xff, 0])?
            } else {
                splice(&body, 16, &[0])?
            };
            decode_at::<FetchRequest>(b, 4)
        }
        ApiKey::ListOffsets => {
            let mut r = Reader { buf: body };
            let replica_id = r.i32()?;
            let topics = r.array(|r| {
                let name = TopicName(r.string()?);
                let partitions = r.array(|r| {
                    let mut p = ListOffsetsPartition::default()
                        .with_partition_index(r.i32()?)
                        .with_timestamp(r.i64()?);
                    let max = r.take(4)?;
                    p.unknown_tagged_fields.insert(MAX_NUM_OFFSETS_TAG, max);
                    Ok(p)
                })?;
                Ok(ListOffsetsTopic::default()
                    .with_name(name)
                    .with_partitions(partitions))
            })?;
            r.finish()?;
            Ok(Box::new(
                ListOffsetsRequest::default()
                    .with_replica_id(replica_id.into())
                    .with_topics(topics),
            ))
        }
        ApiKey::OffsetCommit => {
            let mut r = Reader { buf: body };
            let mut req = OffsetCommitRequest::default()
                .with_group_id(GroupId(r.string()?))
                .with_generation_id_or_member_epoch(-1)
                .with_retention_time_ms(-1);
            if version >= 1 {
                req.generation_id_or_member_epoch = r.i32()?;
                req.member_id = r.string()?;
            }
            req.topics = r.array(|r| {
                let name = TopicName(r.string()?);
                let partitions = r.array(|r| {
                    let mut p = OffsetCommitRequestPartition::default()
                        .with_partition_index(r.i32()?)
                        .with_committed_offset(r.i64()?)
                        .with_committed_leader_epoch(-1);
                    if version >= 1 {
                        let ts = r.take(8)?;
                        p.unknown_tagged_fields.insert(COMMIT_TIMESTAMP_TAG, ts);
                    }
                    p.committed_metadata = r.nullable_string()?;
                    Ok(p)
                })?;
                Ok(OffsetCommitRequestTopic::default()
                    .with_name(name)
                    .with_partitions(partitions))
            })?;
            r.finish()?;
            Ok(Box::new(req))
        }
        // v0 and v1 share their layout (v0 read ZooKeeper-stored offsets).
        ApiKey::OffsetFetch => decode_at::<OffsetFetchRequest>(body, 1),
        // v1 added include_synonyms at the end.
        ApiKey::DescribeConfigs => {
            decode_at::<DescribeConfigsRequest>(splice(&body, body.len(), &[0])?, 1)
        }
        // v1 added validate_only at the end; v2's request is v1's.
        ApiKey::CreateTopics => {
            let b = if version == 0 {
                splice(&body, body.len(), &[0])?
            } else {
                body
            };
            decode_at::<CreateTopicsRequest>(b, 2)
        }
        ApiKey::DeleteTopics => decode_at::<DeleteTopicsRequest>(body, 1),
        // v2 added current_leader_epoch per partition.
        ApiKey::OffsetForLeaderEpoch => {
            let mut r = Reader { buf: body };
            let topics = r.array(|r| {
                let topic = TopicName(r.string()?);
                let partitions = r.array(|r| {
                    Ok(OffsetForLeaderPartition::default()
                        .with_partition(r.i32()?)
                        .with_current_leader_epoch(-1)
                        .with_leader_epoch(r.i32()?))
                })?;
                Ok(OffsetForLeaderTopic::default()
                    .with_topic(topic)
                    .with_partitions(partitions))
            })?;
            r.finish()?;
            Ok(Box::new(
                OffsetForLeaderEpochRequest::default().with_topics(topics),
            ))
        }
        ApiKey::DescribeLogDirs => decode_at::<DescribeLogDirsRequest>(body, 1),
        // v1 added the resource pattern type after the resource name (v0: LITERAL).
        ApiKey::CreateAcls => {
            use kafka_protocol::messages::create_acls_request::AclCreation;
            let mut r = Reader { buf: body };
            let creations = r.array(|r| {
                Ok(AclCreation::default()
                    .with_resource_type(r.i8()?)
                    .with_resource_name(r.string()?)
                    .with_resource_pattern_type(LITERAL)
                    .with_principal(r.string()?)
                    .with_host(r.string()?)
                    .with_operation(r.i8()?)
                    .with_permission_type(r.i8()?))
            })?;
            r.finish()?;
            Ok(Box::new(
                CreateAclsRequest::default().with_creations(creations),
            ))
        }
        ApiKey::DescribeAcls => {
            let mut r = Reader { buf: body };
            let req = DescribeAclsRequest::default()
                .with_resource_type_filter(r.i8()?)
                .with_resource_name_filter(r.nullable_string()?)
                .with_pattern_type_filter(LITERAL)
                .with_principal_filter(r.nullable_string()?)
                .with_host_filter(r.nullable_string()?)
                .with_operation(r.i8()?)
                .with_permission_type(r.i8()?);
            r.finish()?;
            Ok(Box::new(req))
        }
        ApiKey::DeleteAcls => {
            use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
            let mut r = Reader { buf: body };
            let filters = r.array(|r| {
                Ok(DeleteAclsFilter::default()
                    .with_resource_type_filter(r.i8()?)
                    .with_resource_name_filter(r.nullable_string()?)
                    .with_pattern_type_filter(LITERAL)
                    .with_principal_filter(r.nullable_string()?)
                    .with_host_filter(r.nullable_string()?)
                    .with_operation(r.i8()?)
                    .with_permission_type(r.i8()?))
            })?;
            r.finish()?;
            Ok(Box::new(DeleteAclsRequest::default().with_filters(filters)))
        }
        other => Err(format!("{other:?} v{version} is not a legacy version")),
    }
}

/// Big-endian writer of a response body.
struct Writer<'a> {
    buf: &'a mut SplicingBuf,
}

impl Writer<'_> {
    fn i8(&mut self, v: i8) {
        self.buf.put_i8(v);
    }
    fn bool(&mut self, v: bool) {
        self.buf.put_u8(v as u8);
    }
    fn i16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }
    fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }
    fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }
    fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            None => self.i16(-1),
            Some(s) => self.string(s),
        }
    }
    fn string(&mut self, s: &str) {
        self.i16(s.len() as i16);
        self.buf.put_slice(s.as_bytes());
    }
    fn array<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        self.i32(items.len() as i32);
        for i in items {
            f(self, i);
        }
    }
}

/// Encode with `kafka-protocol` at `version` (a layout the crate still knows).
fn encode_at(body: &ResponseKind, version: i16, buf: &mut SplicingBuf) -> Result<()> {
    let mut tmp = BytesMut::new();
    body.encode(&mut tmp, version).map_err(|e| e.to_string())?;
    buf.put_slice(&tmp);
    Ok(())
}

/// Write the body of an old `version` response (see [`is_legacy`]).
pub fn encode_response(
    key: ApiKey,
    version: i16,
    body: &ResponseKind,
    buf: &mut SplicingBuf,
) -> Result<()> {
    let mut w = Writer { buf };
    match body {
        ResponseKind::Produce(r) => {
            w.array(&r.responses, |w, t| {
                w.string(&t.name);
                w.array(&t.partition_responses, |w, p| {
                    w.i32(p.index);
                    w.i16(p.error_code);
                    w.i64(p.base_offset);
                    if version >= 2 {
                        w.i64(p.log_append_time_ms);
                    }
                });
            });
            if version >= 1 {
                w.i32(r.throttle_time_ms);
            }
        }
        ResponseKind::Fetch(r) => {
            if version >= 1 {
                w.i32(r.throttle_time_ms);
            }
            for t in &r.responses {
                for p in &t.partitions {
                    if let Some(rec) = &p.records {
                        w.buf.splice_candidate(rec);
                    }
                }
            }
            w.array(&r.responses, |w, t| {
                w.string(&t.topic);
                w.array(&t.partitions, |w, p| {
                    w.i32(p.partition_index);
                    w.i16(p.error_code);
                    w.i64(p.high_watermark);
                    let rec = p.records.as_deref().unwrap_or_default();
                    w.i32(rec.len() as i32);
                    w.buf.put_slice(rec);
                });
            });
        }
        ResponseKind::ListOffsets(r) => {
            w.array(&r.topics, |w, t| {
                w.string(&t.name);
                w.array(&t.partitions, |w, p| {
                    w.i32(p.partition_index);
                    w.i16(p.error_code);
                    match p.unknown_tagged_fields.get(&OLD_STYLE_OFFSETS_TAG) {
                        Some(b) => {
                            w.i32((b.len() / 8) as i32);
                            w.buf.put_slice(b);
                        }
                        None if p.error_code != 0 || p.offset < 0 => w.i32(0),
                        None => {
                            w.i32(1);
                            w.i64(p.offset);
                        }
                    }
                });
            });
        }
        // v0-1 answers are v2's (v3 added throttle_time_ms).
        ResponseKind::OffsetCommit(_) => return encode_at(body, 2, w.buf),
        ResponseKind::OffsetFetch(_) => return encode_at(body, 1, w.buf),
        ResponseKind::DescribeLogDirs(_) => return encode_at(body, 1, w.buf),
        // v0's answer is v1's.
        ResponseKind::CreateAcls(_) => return encode_at(body, 1, w.buf),
        // v0 is v1 without each resource's pattern type.
        ResponseKind::DescribeAcls(r) => {
            w.i32(r.throttle_time_ms);
            w.i16(r.error_code);
            w.nullable_string(r.error_message.as_deref());
            w.array(&r.resources, |w, res| {
                w.i8(res.resource_type);
                w.string(&res.resource_name);
                w.array(&res.acls, |w, a| {
                    w.string(&a.principal);
                    w.string(&a.host);
                    w.i8(a.operation);
                    w.i8(a.permission_type);
                });
            });
        }
        ResponseKind::DeleteAcls(r) => {
            w.i32(r.throttle_time_ms);
            w.array(&r.filter_results, |w, f| {
                w.i16(f.error_code);
                w.nullable_string(f.error_message.as_deref());
                w.array(&f.matching_acls, |w, m| {
                    w.i16(m.error_code);
                    w.nullable_string(m.error_message.as_deref());
                    w.i8(m.resource_type);
                    w.string(&m.resource_name);
                    w.string(&m.principal);
                    w.string(&m.host);
                    w.i8(m.operation);
                    w.i8(m.permission_type);
                });
            });
        }
        ResponseKind::DescribeConfigs(r) => {
            w.i32(r.throttle_time_ms);
            w.array(&r.results, |w, res| {
                w.i16(res.error_code);
                w.nullable_string(res.error_message.as_deref());
                w.i8(res.resource_type);
                w.string(&res.resource_name);
                w.array(&res.configs, |w, c| {
                    w.string(&c.name);
                    w.nullable_string(c.value.as_deref());
                    w.bool(c.read_only);
                    // v0's is_default: the value is the default (source DEFAULT_CONFIG).
                    w.bool(c.config_source == 5);
                    w.bool(c.is_sensitive);
                });
            });
        }
        ResponseKind::CreateTopics(r) => {
            w.array(&r.topics, |w, t: &CreatableTopicResult| {
                w.string(&t.name);
                w.i16(t.error_code);
                if version >= 1 {
                    w.nullable_string(t.error_message.as_deref());
                }
            });
        }
        ResponseKind::DeleteTopics(r) => {
            w.array(&r.responses, |w, t| {
                w.nullable_string(t.name.as_deref().map(|n| n.as_str()));
                w.i16(t.error_code);
            });
        }
        ResponseKind::OffsetForLeaderEpoch(r) => {
            w.array(&r.topics, |w, t| {
                w.string(&t.topic);
                w.array(&t.partitions, |w, p| {
                    w.i16(p.error_code);
                    w.i32(p.partition);
                    if version >= 1 {
                        w.i32(p.leader_epoch);
                    }
                    w.i64(p.end_offset);
                });
            });
        }
        _ => return Err(format!("{key:?} v{version} is not a legacy version")),
    }
    Ok(())
}
