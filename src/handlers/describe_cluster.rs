//! DescribeCluster (key 60), v0-2: this one broker (advertised host/port), the
//! cluster id, and this broker as the controller.

use super::sb;
use crate::acl::{ResourceType, CLUSTER_NAME};
use crate::handler::{Handler, HandlerResult, RequestContext};
use crate::handlers::metadata::CLUSTER_OPERATIONS;
use crate::state::BrokerState;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{ApiKey, BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::ResponseError;
use std::sync::Arc;

/// The DescribeCluster handler.
pub struct Api;

/// `endpoint_type` values (v1+).
const ENDPOINT_BROKERS: i8 = 1;

impl Handler for Api {
    const KEY: ApiKey = ApiKey::DescribeCluster;
    const VERSIONS: (i16, i16) = (0, 2);
    type Request = DescribeClusterRequest;

    async fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: DescribeClusterRequest,
    ) -> HandlerResult<DescribeClusterResponse> {
        let advertised = state.advertised_for(&ctx.listener);
        let mut resp = DescribeClusterResponse::default()
            .with_error_code(0)
            .with_cluster_id(sb(state.cluster_id.clone()))
            .with_controller_id(BrokerId(state.node_id))
            .with_brokers(vec![DescribeClusterBroker::default()
                .with_broker_id(BrokerId(state.node_id))
                .with_host(sb(advertised.0.to_string()))
                .with_port(advertised.1)]);
        if ctx.api_version >= 1 {
            if req.endpoint_type != ENDPOINT_BROKERS {
                resp = DescribeClusterResponse::default()
                    .with_error_code(ResponseError::UnsupportedEndpointType.code())
                    .with_error_message(Some(sb("only the brokers endpoint type is supported")))
                    .with_endpoint_type(req.endpoint_type);
                return Ok(Some(resp));
            }
            resp.endpoint_type = ENDPOINT_BROKERS;
        }
        if req.include_cluster_authorized_operations {
            resp.cluster_authorized_operations = state.pipeline.authorized_operations(
                &ctx,
                ResourceType::Cluster,
                CLUSTER_NAME,
                CLUSTER_OPERATIONS,
            );
        }
        Ok(Some(resp))
    }
}
