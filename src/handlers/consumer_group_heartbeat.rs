//! ConsumerGroupHeartbeat (key 68), v0-1: the KIP-848 consumer group protocol.
//! Joins (epoch 0), heartbeats, and leaves (epoch -1, static -2) a consumer
//! group; the broker computes the assignment and returns it by topic id. The
//! request is validated first as Kafka's GroupCoordinatorService does (its
//! INVALID_REQUEST / UNSUPPORTED_ASSIGNOR texts); errors carry member epoch 0.

use super::sb;
use crate::acl::AclOperation;
use crate::groups::assignor::ASSIGNORS;
use crate::groups::consumer::HeartbeatRequest;
use crate::groups::wiring::RegistryCatalog;
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{
    ApiKey, ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse,
};
use kafka_protocol::ResponseError as E;
use std::sync::Arc;
use uuid::Uuid;

/// The ConsumerGroupHeartbeat handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ConsumerGroupHeartbeat;
    const VERSIONS: (i16, i16) = (0, 1);
    type Request = ConsumerGroupHeartbeatRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ConsumerGroupHeartbeatRequest,
    ) -> HandlerResult<ConsumerGroupHeartbeatResponse> {
        // As Kafka: READ on the group; DESCRIBE on every subscribed topic name.
        let p = &state.pipeline;
        let denied = if !p.allows_group(&ctx, AclOperation::Read, &req.group_id) {
            Some(kafka_protocol::ResponseError::GroupAuthorizationFailed)
        } else if req.subscribed_topic_names.as_ref().is_some_and(|ts| {
            ts.iter()
                .any(|t| !p.allows_topic(&ctx, AclOperation::Describe, t))
        }) {
            Some(kafka_protocol::ResponseError::TopicAuthorizationFailed)
        } else {
            None
        };
        if let Some(e) = denied {
            return Ok(Some(
                ConsumerGroupHeartbeatResponse::default().with_error_code(e.code()),
            ));
        }
        if let Some((e, message)) = invalid(&req, ctx.api_version) {
            return Ok(Some(
                ConsumerGroupHeartbeatResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(Some(sb(message))),
            ));
        }
        state.ensure_group_log().await;
        let hb = HeartbeatRequest {
            group_id: req.group_id.to_string(),
            member_id: req.member_id.to_string(),
            member_epoch: req.member_epoch,
            instance_id: req.instance_id.as_ref().map(|s| s.to_string()),
            rack_id: req.rack_id.as_ref().map(|s| s.to_string()),
            rebalance_timeout_ms: req.rebalance_timeout_ms,
            subscribed_topic_names: req
                .subscribed_topic_names
                .as_ref()
                .map(|ts| ts.iter().map(|t| t.to_string()).collect()),
            subscribed_topic_regex: if ctx.api_version >= 1 {
                req.subscribed_topic_regex.as_ref().map(|s| s.to_string())
            } else {
                None
            },
            server_assignor: req.server_assignor.as_ref().map(|s| s.to_string()),
            owned: req.topic_partitions.as_ref().map(|tps| {
                tps.iter()
                    .map(|tp| (tp.topic_id.as_u128(), tp.partitions.clone()))
                    .collect()
            }),
            client_id: ctx.client_id.clone().unwrap_or_default(),
            client_host: super::join_group::client_host(&ctx),
        };
        let r = state
            .groups
            .consumer_heartbeat(hb, &RegistryCatalog(&state.partitions));
        let resp = ConsumerGroupHeartbeatResponse::default()
            .with_error_code(r.error)
            .with_error_message(r.error_message.map(sb))
            .with_member_id(r.member_id.map(sb))
            .with_member_epoch(r.member_epoch)
            .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
            .with_assignment(r.assignment.map(|a| {
                Assignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(t, ps)| {
                            TopicPartitions::default()
                                .with_topic_id(Uuid::from_u128(t))
                                .with_partitions(ps.into_iter().collect())
                        })
                        .collect(),
                )
            }));
        Ok(Some(resp))
    }
}

/// Kafka's `GroupCoordinatorService.throwIfConsumerGroupHeartbeatRequestIsInvalid`:
/// the checks made before the group is looked up, in its order and with its texts
/// (blank strings count as empty, as its `throwIfEmptyString` trims).
fn invalid(req: &ConsumerGroupHeartbeatRequest, version: i16) -> Option<(E, String)> {
    let blank = |s: Option<&str>| s.is_some_and(|s| s.trim().is_empty());
    let epoch = req.member_epoch;
    let bad = |m: &str| Some((E::InvalidRequest, m.to_string()));
    if (version >= 1 || epoch > 0 || epoch == -1) && blank(Some(req.member_id.as_str())) {
        return bad("MemberId can't be empty.");
    }
    if blank(Some(req.group_id.as_str())) {
        return bad("GroupId can't be empty.");
    }
    if blank(req.instance_id.as_deref()) {
        return bad("InstanceId can't be empty.");
    }
    if blank(req.rack_id.as_deref()) {
        return bad("RackId can't be empty.");
    }
    if epoch == 0 {
        if req.rebalance_timeout_ms == -1 {
            return bad("RebalanceTimeoutMs must be provided in first request.");
        }
        if req.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
            return bad("TopicPartitions must be empty when (re-)joining.");
        }
        if req.subscribed_topic_names.is_none()
            && (version < 1 || req.subscribed_topic_regex.is_none())
        {
            return bad(
                "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when \
                 (re-)joining.",
            );
        }
    } else if epoch == -2 {
        if req.instance_id.is_none() {
            return bad("InstanceId can't be null.");
        }
    } else if epoch < -2 {
        return bad("MemberEpoch is invalid.");
    }
    if let Some(a) = req.server_assignor.as_deref() {
        if !ASSIGNORS.contains(&a) {
            return Some((
                E::UnsupportedAssignor,
                format!(
                    "ServerAssignor {a} is not supported. Supported assignors: {}.",
                    ASSIGNORS.join(", ")
                ),
            ));
        }
    }
    None
}
