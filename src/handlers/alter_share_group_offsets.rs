//! AlterShareGroupOffsets (key 91), v0 (`kafka-share-groups --reset-offsets`,
//! `Admin.alterShareGroupOffsets`), as Kafka 4.4 answers it: INVALID_GROUP_ID
//! for an empty id, GROUP_ID_NOT_FOUND when the id is another kind of group,
//! GROUP_NOT_EMPTY while the share group has members (top-level errors, no
//! topics); else each partition's start offset is set (nothing in flight; a
//! negative offset leaves the partition uninitialized), an unknown group is
//! created, and partitions of unknown topics or beyond the partition count get
//! UNKNOWN_TOPIC_OR_PARTITION. Persisted before the answer.

use super::{sb, topic_name};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, ApiKey,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The AlterShareGroupOffsets handler.
pub struct Api;

/// Kafka's text for an unknown topic or partition.
pub const UNKNOWN_TP: &str = "This server does not host this topic-partition.";

/// The top-level error Kafka answers before touching a share group's state
/// (shared with DeleteShareGroupOffsets).
pub fn group_error(state: &BrokerState, group: &str) -> Option<(ResponseError, String)> {
    if group.is_empty() {
        return Some((
            ResponseError::InvalidGroupId,
            "The group id is invalid.".into(),
        ));
    }
    if !state.share.has_group(group) && state.groups.describe_group(group).is_some() {
        return Some((
            ResponseError::GroupIdNotFound,
            format!("Group {group} is not a share group."),
        ));
    }
    None
}

impl Handler for Api {
    const KEY: ApiKey = ApiKey::AlterShareGroupOffsets;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = AlterShareGroupOffsetsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: AlterShareGroupOffsetsRequest,
    ) -> HandlerResult<AlterShareGroupOffsetsResponse> {
        let group = req.group_id.to_string();
        let top = |e: ResponseError, m: String| {
            Ok(Some(
                AlterShareGroupOffsetsResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(m))),
            ))
        };
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Read, &group)
        {
            return top(
                ResponseError::GroupAuthorizationFailed,
                "Group authorization failed.".into(),
            );
        }
        if let Some((e, m)) = group_error(&state, &group) {
            return top(e, m);
        }
        let mut parts = Vec::new();
        let mut topics = Vec::new();
        for t in &req.topics {
            let name = t.topic_name.as_str();
            let allowed = state.pipeline.allows_topic(&ctx, AclOperation::Read, name);
            let topic = state.partitions.topic(name).filter(|_| allowed);
            let mut out = AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(topic_name(name))
                .with_topic_id(topic.as_ref().map(|t| t.id).unwrap_or_default());
            for p in &t.partitions {
                let mut r = AlterShareGroupOffsetsResponsePartition::default()
                    .with_partition_index(p.partition_index);
                match &topic {
                    _ if !allowed => {
                        r.error_code = ResponseError::TopicAuthorizationFailed.code();
                        r.error_message = Some(sb("Topic authorization failed."));
                    }
                    Some(tp)
                        if p.partition_index >= 0 && p.partition_index < tp.partition_count() =>
                    {
                        parts.push((tp.id.as_u128(), p.partition_index, p.start_offset));
                    }
                    _ => {
                        r.error_code = ResponseError::UnknownTopicOrPartition.code();
                        r.error_message = Some(sb(UNKNOWN_TP));
                    }
                }
                out.partitions.push(r);
            }
            topics.push(out);
        }
        if state.share.alter_start_offsets(&group, &parts).is_err() {
            return top(
                ResponseError::NonEmptyGroup,
                "The group is not empty.".into(),
            );
        }
        let st = state.clone();
        if let Err(e) = blocking(move || st.share.persist_all()).await? {
            return top(ResponseError::UnknownServerError, e);
        }
        Ok(Some(
            AlterShareGroupOffsetsResponse::default().with_responses(topics),
        ))
    }
}
