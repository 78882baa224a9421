//! DeleteShareGroupOffsets (key 92), v0 (`kafka-share-groups --delete-offsets`,
//! `Admin.deleteShareGroupOffsets`), as Kafka 4.4 answers it: the top-level
//! errors of AlterShareGroupOffsets (INVALID_GROUP_ID, GROUP_ID_NOT_FOUND,
//! GROUP_NOT_EMPTY); else the share state of each named topic is deleted
//! (persisted before the answer). The topics deleted come first, then those
//! refused: an unknown topic, or one without state in the group ("There is no
//! offset information to delete.", topic id zero), UNKNOWN_TOPIC_OR_PARTITION.

use super::alter_share_group_offsets::{group_error, UNKNOWN_TP};
use super::{sb, topic_name};
use crate::acl::AclOperation;
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::{
    ApiKey, DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse,
};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DeleteShareGroupOffsets handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DeleteShareGroupOffsets;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = DeleteShareGroupOffsetsRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DeleteShareGroupOffsetsRequest,
    ) -> HandlerResult<DeleteShareGroupOffsetsResponse> {
        let group = req.group_id.to_string();
        let top = |e: ResponseError, m: String| {
            Ok(Some(
                DeleteShareGroupOffsetsResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(m))),
            ))
        };
        if !state
            .pipeline
            .allows_group(&ctx, AclOperation::Delete, &group)
        {
            return top(
                ResponseError::GroupAuthorizationFailed,
                "Group authorization failed.".into(),
            );
        }
        if let Some((e, m)) = group_error(&state, &group) {
            return top(e, m);
        }
        let (mut done, mut refused) = (Vec::new(), Vec::new());
        for t in &req.topics {
            let name = t.topic_name.as_str();
            let refuse = |e: ResponseError, m: &str| {
                DeleteShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(topic_name(name))
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(m)))
            };
            if !state.pipeline.allows_topic(&ctx, AclOperation::Read, name) {
                refused.push(refuse(
                    ResponseError::TopicAuthorizationFailed,
                    "Topic authorization failed.",
                ));
                continue;
            }
            let Some(topic) = state.partitions.topic(name) else {
                refused.push(refuse(ResponseError::UnknownTopicOrPartition, UNKNOWN_TP));
                continue;
            };
            match state.share.delete_topic_state(&group, topic.id.as_u128()) {
                Err(_) => {
                    return top(
                        ResponseError::NonEmptyGroup,
                        "The group is not empty.".into(),
                    )
                }
                Ok(true) => done.push(
                    DeleteShareGroupOffsetsResponseTopic::default()
                        .with_topic_name(topic_name(name))
                        .with_topic_id(topic.id),
                ),
                Ok(false) => refused.push(refuse(
                    ResponseError::UnknownTopicOrPartition,
                    "There is no offset information to delete.",
                )),
            }
        }
        let st = state.clone();
        if let Err(e) = blocking(move || st.share.persist_all()).await? {
            return top(ResponseError::UnknownServerError, e);
        }
        done.extend(refused);
        Ok(Some(
            DeleteShareGroupOffsetsResponse::default().with_responses(done),
        ))
    }
}
