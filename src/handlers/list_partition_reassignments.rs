//! ListPartitionReassignments (key 46), v0: nothing is ever being reassigned on
//! one node, so the answer lists no topics (Kafka's controller lists only
//! partitions with an ongoing reassignment), with a null error message.

use crate::handler::{Handler, HandlerResult, Rejection, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::{
    ApiKey, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};
use std::sync::Arc;

/// The ListPartitionReassignments handler.
pub struct Api;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::ListPartitionReassignments;
    const VERSIONS: (i16, i16) = (0, 0);
    type Request = ListPartitionReassignmentsRequest;

    async fn handle(
        _state: Arc<BrokerState>,
        _ctx: RequestContext,
        _req: ListPartitionReassignmentsRequest,
    ) -> HandlerResult<ListPartitionReassignmentsResponse> {
        Ok(Some(
            ListPartitionReassignmentsResponse::default()
                .with_error_code(0)
                .with_error_message(None),
        ))
    }

    fn reject(
        _ctx: &RequestContext,
        _req: ListPartitionReassignmentsRequest,
        why: &Rejection,
    ) -> Option<ListPartitionReassignmentsResponse> {
        Some(
            ListPartitionReassignmentsResponse::default()
                .with_error_code(why.error.code())
                .with_error_message(Some(super::sb(
                    why.message.clone().unwrap_or_else(|| why.error.to_string()),
                ))),
        )
    }
}
