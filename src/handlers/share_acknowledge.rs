//! ShareAcknowledge (key 79), v1-v2: acknowledge records of share-partitions
//! without fetching, within the member's share session (epoch > 0; epoch -1
//! also closes the session, releasing what the member still holds). The new
//! state is persisted before the answer. v2 (KIP-1222) adds `IsRenewAck`, which
//! RENEW acknowledgements need (see [`super::share_fetch`]), and answers the
//! acquisition lock duration.

use super::sb;
use super::share_fetch::{acknowledge_partition, caller, key, resolve, session_error_code};
use crate::handler::{blocking, Handler, HandlerResult, RequestContext};
use crate::share::session::{FINAL_EPOCH, INITIAL_EPOCH};
use crate::state::BrokerState;
use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch, PartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ShareAcknowledgeRequest, ShareAcknowledgeResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The ShareAcknowledge handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ShareAcknowledge;
    const VERSIONS: (i16, i16) = (1, 2);
    type Request = ShareAcknowledgeRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: ShareAcknowledgeRequest,
    ) -> HandlerResult<ShareAcknowledgeResponse> {
        let top = |e: ResponseError, msg: Option<&str>| {
            Ok(Some(
                ShareAcknowledgeResponse::default()
                    .with_error_code(e.code())
                    .with_error_message(msg.map(sb)),
            ))
        };
        let (group, member) = match caller(&state, &ctx, &req.group_id, &req.member_id) {
            Ok(c) => c,
            Err(e) => return top(e, None),
        };
        let epoch = req.share_session_epoch;
        let renew_ack = ctx.api_version >= 2 && req.is_renew_ack;
        // As Kafka: acknowledging needs an open session.
        if epoch == INITIAL_EPOCH {
            return top(ResponseError::InvalidShareSessionEpoch, None);
        }
        let group = group.to_string();
        let member = member.to_string();
        let share = &state.share;
        let session = match share.enter_session(&group, &member, epoch, &[], &[]) {
            Ok(s) => s,
            Err(e) => return top(session_error_code(e), None),
        };
        let leader = LeaderIdAndEpoch::default()
            .with_leader_id(state.node_id)
            .with_leader_epoch(0);
        let mut responses = Vec::with_capacity(req.topics.len());
        for t in &req.topics {
            let mut parts = Vec::with_capacity(t.partitions.len());
            for p in &t.partitions {
                let target = resolve(&state, &ctx, t.topic_id, p.partition_index);
                let (code, msg) = match target.target {
                    Err(e) => (e.code(), None),
                    Ok(_) => {
                        let batches: Vec<(i64, i64, Vec<i8>)> = p
                            .acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone()))
                            .collect();
                        acknowledge_partition(
                            &state,
                            &key(&group, t.topic_id, p.partition_index),
                            &member,
                            &batches,
                            renew_ack,
                        )
                    }
                };
                parts.push(
                    PartitionData::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                        .with_error_message(msg.map(sb))
                        .with_current_leader(leader.clone()),
                );
            }
            responses.push(
                ShareAcknowledgeTopicResponse::default()
                    .with_topic_id(t.topic_id)
                    .with_partitions(parts),
            );
        }
        if epoch == FINAL_EPOCH {
            share.close_session(&group, &member, &session);
        } else {
            share.notify_available();
        }
        let st = state.clone();
        if let Err(e) = blocking(move || st.share.persist()).await? {
            tracing::error!("share-group state not persisted: {e}");
        }
        // v2 answers the lock duration (RENEW extended the locks by it).
        let lock_ms = share.settings_of(&group).limits.lock_duration_ms as i32;
        Ok(Some(
            ShareAcknowledgeResponse::default()
                .with_acquisition_lock_timeout_ms(lock_ms)
                .with_responses(responses),
        ))
    }
}
