//! StreamsGroupTopologyDescriptionUpdate (key 93), v0 (KIP-1331): a Streams
//! client pushes its topology description when a heartbeat answer asks for it
//! (`TopologyDescriptionRequired`). A Kafka 4.4 broker stores descriptions only
//! through `group.streams.topology.description.plugin.class`; without one (its
//! default) it answers READ-authorized requests UNSUPPORTED_VERSION with the
//! text below. weir has no such plugin, so it answers the same, and its
//! heartbeats never ask for a description.
//!
//! Hand-written codec ([`crate::codec::flex`]): `kafka-protocol` 0.18 does not
//! know the API. Only the group id is read (for the ACL check).

use crate::acl::AclOperation;
use crate::codec::flex::{FlexError, Reader, Writer};
use crate::handler::{HandlerError, RawContext};
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const KEY: i16 = 93;
pub const VERSIONS: (i16, i16) = (0, 0);

/// Kafka 4.4's answer when no topology description plugin is configured.
pub const NO_PLUGIN: &str =
    "The broker has no streams group topology description plugin configured.";

/// The group id of a request (the rest is not stored).
pub fn decode_group_id(body: &[u8]) -> Result<String, FlexError> {
    Reader::new(body).string()
}

pub async fn handle(
    state: Arc<BrokerState>,
    ctx: RawContext,
    body: Bytes,
) -> Result<Bytes, HandlerError> {
    let group_id = decode_group_id(&body).map_err(|e| HandlerError::Internal(e.to_string()))?;
    // As Kafka's KafkaApis: READ on the group first.
    let (error, message) = if !state
        .pipeline
        .allows_group(&ctx.ctx, AclOperation::Read, &group_id)
    {
        (ResponseError::GroupAuthorizationFailed, None)
    } else {
        (ResponseError::UnsupportedVersion, Some(NO_PLUGIN))
    };
    Ok(encode(error.code(), message))
}

/// A response body.
pub fn encode(error: i16, message: Option<&str>) -> Bytes {
    let mut w = Writer::default();
    w.i32(0);
    w.i16(error);
    w.nullable_string(message);
    w.tagged_fields();
    w.finish()
}
