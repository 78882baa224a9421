//! OffsetCommit (key 8), v0-9 (v0: no generation, a standalone commit; v1: per-partition
//! commit timestamps): commits offsets for a group member (generation /
//! member epoch checked) or a standalone consumer (generation -1, no member id).
//! Metadata is kept verbatim; the answer is sent once the commit is durable.

use super::topic_name;
use crate::acl::AclOperation;
use crate::codec::legacy;
use crate::groups::wiring::partition_exists;
use crate::groups::CommitRequest;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetCommitResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The OffsetCommit handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::OffsetCommit;
    const VERSIONS: (i16, i16) = (0, 9);
    type Request = OffsetCommitRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: OffsetCommitRequest,
    ) -> HandlerResult<OffsetCommitResponse> {
        // As Kafka: READ on the group (or every partition is
        // GROUP_AUTHORIZATION_FAILED); READ on each topic (or its partitions are
        // TOPIC_AUTHORIZATION_FAILED, listed first, and not committed).
        let group_ok = state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &req.group_id);
        let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
        let mut req = req;
        req.topics.retain(|t| {
            let code = if !group_ok {
                ResponseError::GroupAuthorizationFailed
            } else if !state
                .pipeline
                .allows_topic(&ctx, AclOperation::Read, &t.name)
            {
                ResponseError::TopicAuthorizationFailed
            } else {
                return true;
            };
            topics.push(
                OffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code.code())
                            })
                            .collect(),
                    ),
            );
            false
        });
        if !group_ok || (req.topics.is_empty() && !topics.is_empty()) {
            return Ok(Some(OffsetCommitResponse::default().with_topics(topics)));
        }
        state.ensure_group_log().await;
        let commit = CommitRequest {
            api_version: ctx.api_version,
            group_id: req.group_id.to_string(),
            generation_id_or_member_epoch: req.generation_id_or_member_epoch,
            member_id: req.member_id.to_string(),
            group_instance_id: req.group_instance_id.as_ref().map(|s| s.to_string()),
            topics: req
                .topics
                .iter()
                .map(|t| {
                    let parts = t
                        .partitions
                        .iter()
                        .map(|p| {
                            (
                                p.partition_index,
                                p.committed_offset,
                                if ctx.api_version >= 6 {
                                    p.committed_leader_epoch
                                } else {
                                    -1
                                },
                                p.committed_metadata.as_ref().map(|m| m.to_string()),
                            )
                        })
                        .collect();
                    (t.name.to_string(), parts)
                })
                .collect(),
            commit_timestamps: req
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().filter_map(|p| {
                        let ts = legacy::commit_timestamp(p).filter(|ts| *ts != -1)?;
                        Some(((t.name.to_string(), p.partition_index), ts))
                    })
                })
                .collect(),
        };
        let st = state.clone();
        let exists = move |t: &str, p: i32| partition_exists(&st.partitions, t, p);
        let results = state.groups.commit_offsets(commit, &exists).await;
        // Group the per-partition results back by topic, in request order.
        for (topic, partition, code) in results {
            let part = OffsetCommitResponsePartition::default()
                .with_partition_index(partition)
                .with_error_code(code);
            match topics.last_mut() {
                Some(t) if t.name.as_str() == topic => t.partitions.push(part),
                _ => topics.push(
                    OffsetCommitResponseTopic::default()
                        .with_name(topic_name(&topic))
                        .with_partitions(vec![part]),
                ),
            }
        }
        Ok(Some(OffsetCommitResponse::default().with_topics(topics)))
    }
}
