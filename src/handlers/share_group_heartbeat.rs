//! ShareGroupHeartbeat (key 76), v1: KIP-932 share groups. A member joins
//! (epoch 0, with its client-generated member id and subscription),
//! heartbeats, and leaves (epoch -1); the broker assigns every partition of
//! the subscribed topics to every member ([`crate::share::group`]).

use super::sb;
use crate::acl::AclOperation;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::share::group::{Heartbeat, HeartbeatError};
use crate::share::wiring::RegistryShareCatalog;
use crate::state::BrokerState;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ApiKey, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;
use uuid::Uuid;

/// The ShareGroupHeartbeat handler.
pub struct Api;

/// Epoch of a member that leaves.
const LEAVE_EPOCH: i32 = -1;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ShareGroupHeartbeat;
    const VERSIONS: (i16, i16) = (1, 1);
    type Request = ShareGroupHeartbeatRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ShareGroupHeartbeatRequest,
    ) -> HandlerResult<ShareGroupHeartbeatResponse> {
        let error = |e: ResponseError, msg: Option<&str>| {
            Ok(Some(
                ShareGroupHeartbeatResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(msg.map(sb)),
            ))
        };
        // As Kafka: READ on the group; DESCRIBE on every subscribed topic name.
        let p = &state.pipeline;
        if !p.allows_group(&ctx, AclOperation::Read, &req.group_id) {
            return error(ResponseError::GroupAuthorizationFailed, None);
        }
        if req.subscribed_topic_names.as_ref().is_some_and(|ts| {
            ts.iter()
                .any(|t| !p.allows_topic(&ctx, AclOperation::Describe, t))
        }) {
            return error(ResponseError::TopicAuthorizationFailed, None);
        }
        // As Kafka's GroupCoordinatorService / throwIfShareGroupHeartbeatRequestIsInvalid.
        if req.group_id.is_empty() {
            return error(
                ResponseError::InvalidRequest,
                Some("GroupId can't be empty."),
            );
        }
        if req.member_id.is_empty() {
            return error(
                ResponseError::InvalidRequest,
                Some("MemberId can't be empty."),
            );
        }
        let share = &state.share;
        // As Kafka's getOrMaybeCreateShareGroup: a classic or consumer group owns the id.
        if !share.has_group(&req.group_id) && state.groups.describe_group(&req.group_id).is_some() {
            return error(
                ResponseError::GroupIdNotFound,
                Some(&format!(
                    "Group {} is not a share group.",
                    req.group_id.as_str()
                )),
            );
        }
        if req.member_epoch == LEAVE_EPOCH {
            share.leave(&req.group_id, &req.member_id);
            let st = state.clone();
            // The released records are durable before the answer.
            let _ = crate::handler::blocking(move || st.share.persist()).await?;
            return Ok(Some(
                ShareGroupHeartbeatResponse::default()
                    .with_member_id(Some(req.member_id.clone()))
                    .with_member_epoch(LEAVE_EPOCH),
            ));
        }
        let hb = Heartbeat {
            member_id: req.member_id.to_string(),
            member_epoch: req.member_epoch,
            rack_id: req.rack_id.as_ref().map(|s| s.to_string()),
            subscribed: req
                .subscribed_topic_names
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.to_string()).collect()),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: super::join_group::client_host(&ctx),
        };
        let catalog = RegistryShareCatalog(&state.partitions);
        match share.heartbeat(&req.group_id, hb, &catalog) {
            Err(HeartbeatError::InvalidRequest) => error(
                ResponseError::InvalidRequest,
                Some("SubscribedTopicNames must be set in first request."),
            ),
            Err(HeartbeatError::UnknownMemberId) => error(
                ResponseError::UnknownMemberId,
                Some(&format!(
                    "Member {} is not a member of group {}.",
                    req.member_id.as_str(),
                    req.group_id.as_str()
                )),
            ),
            Err(HeartbeatError::FencedMemberEpoch) => error(
                ResponseError::FencedMemberEpoch,
                Some(&format!(
                    "The share group member has a greater member epoch ({}) than the one known by the group coordinator.",
                    req.member_epoch
                )),
            ),
            Ok(ok) => Ok(Some(
                ShareGroupHeartbeatResponse::default()
                    .with_member_id(Some(sb(ok.member_id)))
                    .with_member_epoch(ok.member_epoch)
                    .with_heartbeat_interval_ms(share.settings_of(&req.group_id).heartbeat_interval_ms)
                    .with_assignment(ok.assignment.map(|a| {
                        Assignment::default().with_topic_partitions(
                            a.into_iter()
                                .map(|(t, ps)| {
                                    TopicPartitions::default()
                                        .with_topic_id(Uuid::from_u128(t))
                                        .with_partitions(ps)
                                })
                                .collect(),
                        )
                    })),
            )),
        }
    }
}
