//! ListOffsets (key 2), v0-10: earliest (-2), latest (-1), max timestamp (-3),
//! earliest-local (-4, = earliest: no tiered storage), latest-tiered (-5: none
//! without tiered storage, offset -1 as Kafka), earliest-pending-upload (-6:
//! UNSUPPORTED_VERSION, it needs v11), and by timestamp (the first offset whose timestamp is >= it).
//! With `isolation_level = 1` (read_committed, v2+) latest is the last stable
//! offset (the first offset of the earliest ongoing transaction), and a lookup
//! by timestamp finds nothing at or past it.
//! Leader epoch 0, consistent with Metadata.
//!
//! v0 answers a list of at most `max_num_offsets` offsets, newest first, as
//! Kafka's `legacyFetchOffsetsBefore` does for a log of one segment: latest is
//! `[high watermark, log start offset]` (the start only when the log is not
//! empty), earliest `[log start offset]`. A v0 lookup by timestamp answers the
//! offset v1 would (Kafka 2.x answered segment start offsets by file
//! modification time, which weir does not keep): `[offset]`, or `[]` if none.

use crate::acl::AclOperation;
use crate::codec::legacy;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::partitions::OffsetSpec;
use crate::state::BrokerState;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The ListOffsets handler.
pub struct Api;

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;
/// KIP-1023, ListOffsets v11+ (not served here).
pub const EARLIEST_PENDING_UPLOAD: i64 = -6;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ListOffsets;
    const VERSIONS: (i16, i16) = (0, 10);
    type Request = ListOffsetsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ListOffsetsRequest,
    ) -> HandlerResult<ListOffsetsResponse> {
        let version = ctx.api_version;
        let read_committed = version >= 2 && req.isolation_level == 1;
        // Timestamp lookups read indexes and maybe data: off the async workers.
        let topics = blocking(move || {
            req.topics
                .into_iter()
                .map(|t| {
                    let topic = state.partitions.topic(t.name.0.as_str());
                    let allowed =
                        state
                            .pipeline
                            .allows_topic(&ctx, AclOperation::Describe, &t.name.0);
                    let partitions = t
                        .partitions
                        .into_iter()
                        .map(|p| {
                            let mut r = ListOffsetsPartitionResponse::default()
                                .with_partition_index(p.partition_index)
                                .with_timestamp(-1)
                                .with_offset(-1);
                            if !allowed {
                                return r.with_error_code(
                                    ResponseError::TopicAuthorizationFailed.code(),
                                );
                            }
                            let Some(part) =
                                topic.as_ref().and_then(|t| t.partition(p.partition_index))
                            else {
                                return r.with_error_code(
                                    ResponseError::UnknownTopicOrPartition.code(),
                                );
                            };
                            if p.current_leader_epoch > 0 {
                                return r.with_error_code(ResponseError::UnknownLeaderEpoch.code());
                            }
                            // read_committed: nothing at or past the LSO (as Kafka).
                            let spec = match p.timestamp {
                                // Kafka without remote storage: no tiered offset (-1, -1)
                                LATEST_TIERED => return r.with_error_code(0),
                                // earliest-pending-upload (KIP-1023) is ListOffsets v11+
                                EARLIEST_PENDING_UPLOAD => {
                                    return r
                                        .with_error_code(ResponseError::UnsupportedVersion.code());
                                }
                                LATEST => OffsetSpec::Latest,
                                EARLIEST | EARLIEST_LOCAL => OffsetSpec::Earliest,
                                MAX_TIMESTAMP => OffsetSpec::MaxTimestamp,
                                ts if ts >= 0 => OffsetSpec::Timestamp(ts),
                                _ => {
                                    return r.with_error_code(ResponseError::InvalidRequest.code());
                                }
                            };
                            let found = part.list_offset(spec, read_committed);
                            match found {
                                Ok(Some((offset, ts))) => {
                                    r = r.with_error_code(0).with_offset(offset).with_timestamp(ts);
                                    if version >= 4 {
                                        r.leader_epoch = 0;
                                    }
                                    if version == 0 {
                                        let mut old = vec![offset];
                                        let start = part.log_start_offset();
                                        if p.timestamp == LATEST && start < offset {
                                            old.push(start);
                                        }
                                        let max = legacy::max_num_offsets(&p).unwrap_or(1);
                                        old.truncate(max.max(0) as usize);
                                        legacy::set_old_style_offsets(&mut r, &old);
                                    }
                                    r
                                }
                                Ok(None) => r.with_error_code(0),
                                Err(e) => r.with_error_code(super::storage_error_code(&e).code()),
                            }
                        })
                        .collect();
                    ListOffsetsTopicResponse::default()
                        .with_name(t.name)
                        .with_partitions(partitions)
                })
                .collect::<Vec<_>>()
        })
        .await?;
        Ok(Some(ListOffsetsResponse::default().with_topics(topics)))
    }
}
