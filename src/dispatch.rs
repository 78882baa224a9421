//! The one table of APIs this broker implements: api key -> handler and version
//! range. ApiVersions is generated from it, and a request is routed by it
//! (decode the typed body, call the handler, encode the typed response).
//!
//! To add an API: write `src/handlers/<api>.rs` with a type implementing
//! [`Handler`] and add one line to the list below. Handlers do not import this
//! module (ApiVersions gets the table as [`Table`]).

use crate::codec::{self, DecodeError};
use crate::handler::{Handler, HandlerError, ThrottleTime};
use crate::handlers;
use crate::pipeline::{Admission, Rejection, RequestContext};
use crate::quota::timing::timed;
use crate::state::BrokerState;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::protocol::Request;
use std::sync::Arc;

pub use crate::handler::{ApiSpec, ApiTable};

/// Why a request gets no answer (the connection is closed).
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("{0:?} handler failed: {1}")]
    Handler(ApiKey, HandlerError),
    #[error("{0}")]
    Rejected(Rejection),
    #[error("unsupported api {0:?}")]
    Unsupported(ApiKey),
}

/// Generates, from one list of handler types, [`API_TABLE`] (which ApiVersions
/// answers, through [`Table`]) and [`call`] (a `match` on the api key).
macro_rules! api_table {
    ($($handler:ty,)*) => {
        /// THE dispatch table.
        pub static API_TABLE: &[ApiSpec] = &[$(ApiSpec::of::<$handler>(),)*];

        /// Decode the body of a request whose key and version were checked, then
        /// answer it: its handler's response when `admission` is `Ok`, the API's
        /// rejection answer otherwise. `Ok(None)` = send no response. With
        /// the throttle time (ms) the connection is muted for.
        pub async fn call(
            state: Arc<BrokerState>,
            ctx: RequestContext,
            body: Bytes,
            admission: Result<Admission, Rejection>,
        ) -> Result<(Option<ResponseKind>, i32), DispatchError> {
            match ctx.api_key {
                $(<$handler as Handler>::KEY => {
                    call_typed::<$handler>(state, ctx, body, admission).await
                })*
                key => Err(DispatchError::Unsupported(key)),
            }
        }
    };
}

/// The dispatch table as the ApiVersions handler sees it.
pub struct Table;

impl ApiTable for Table {
    const SPECS: &'static [ApiSpec] = API_TABLE;
    const RAW: &'static [(i16, i16, i16)] = RAW_APIS;
}

/// The APIs `kafka-protocol` does not know, answered by raw handlers
/// ([`call_raw`]): (api key, min version, max version).
pub static RAW_APIS: &[(i16, i16, i16)] = &[
    (
        handlers::streams_group_heartbeat::KEY,
        handlers::streams_group_heartbeat::VERSIONS.0,
        handlers::streams_group_heartbeat::VERSIONS.1,
    ),
    (
        handlers::streams_group_describe::KEY,
        handlers::streams_group_describe::VERSIONS.0,
        handlers::streams_group_describe::VERSIONS.1,
    ),
    (
        handlers::streams_group_topology_description_update::KEY,
        handlers::streams_group_topology_description_update::VERSIONS.0,
        handlers::streams_group_topology_description_update::VERSIONS.1,
    ),
];

/// The raw API `key` at `version`, if implemented, with the known API that
/// stands in for it in its [`RequestContext`] (the quota stage, ACL denial
/// logs): the nearest KIP-848 API. The observer and the metrics see the real
/// key ([`crate::pipeline::RequestRecord::raw_api_key`]).
pub fn raw_api(key: i16, version: i16) -> Option<ApiKey> {
    RAW_APIS
        .iter()
        .find(|(k, min, max)| *k == key && (*min..=*max).contains(&version))
        .map(|(k, _, _)| match *k {
            handlers::streams_group_describe::KEY => ApiKey::ConsumerGroupDescribe,
            _ => ApiKey::ConsumerGroupHeartbeat,
        })
}

/// Whether `key` is a raw API (at any version).
pub fn is_raw_api(key: i16) -> bool {
    RAW_APIS.iter().any(|(k, _, _)| *k == key)
}

/// Answer a raw API request the stages admitted: its response body (without
/// header) and the throttle time, as [`call`] does for the known APIs (the
/// admission's throttle, the quotas after the handler; it goes into the
/// body's leading ThrottleTimeMs, which every raw API's response has).
pub async fn call_raw(
    state: Arc<BrokerState>,
    ctx: crate::handler::RawContext,
    body: Bytes,
    admission: Admission,
) -> Result<(Bytes, i32), DispatchError> {
    let quota_ctx = state.pipeline.quotas_enabled().then(|| ctx.ctx.clone());
    let measure = quota_ctx.is_some() && state.pipeline.measures_request_time();
    let (body, busy) = timed(raw_handler(state.clone(), ctx, body), measure).await;
    let body = body?;
    let mut throttle = admission.throttle_time_ms;
    if let Some(ctx) = &quota_ctx {
        throttle = throttle.max(
            state
                .pipeline
                .after_handler(ctx, admission.request_bytes, busy),
        );
    }
    if throttle == 0 || body.len() < 4 {
        return Ok((body, throttle));
    }
    let mut b = bytes::BytesMut::from(&body[..]);
    b[..4].copy_from_slice(&throttle.to_be_bytes());
    Ok((b.freeze(), throttle))
}

async fn raw_handler(
    state: Arc<BrokerState>,
    ctx: crate::handler::RawContext,
    body: Bytes,
) -> Result<Bytes, DispatchError> {
    let key = ctx.api_key;
    let stand_in = ctx.ctx.api_key;
    let r = match key {
        handlers::streams_group_heartbeat::KEY => {
            handlers::streams_group_heartbeat::handle(state, ctx, body).await
        }
        handlers::streams_group_describe::KEY => {
            handlers::streams_group_describe::handle(state, ctx, body).await
        }
        handlers::streams_group_topology_description_update::KEY => {
            handlers::streams_group_topology_description_update::handle(state, ctx, body).await
        }
        _ => return Err(DispatchError::Unsupported(stand_in)),
    };
    r.map_err(|e| DispatchError::Handler(stand_in, e))
}

#[rustfmt::skip]
api_table! {
    handlers::produce::Api,
    handlers::fetch::Api,
    handlers::list_offsets::Api,
    handlers::metadata::Api,
    handlers::offset_for_leader_epoch::Api,
    handlers::api_versions::Api<Table>,
    handlers::create_topics::Api,
    handlers::delete_topics::Api,
    handlers::init_producer_id::Api,
    handlers::describe_configs::Api,
    handlers::create_partitions::Api,
    handlers::describe_cluster::Api,
    // group coordinator
    handlers::find_coordinator::Api,
    handlers::join_group::Api,
    handlers::sync_group::Api,
    handlers::heartbeat::Api,
    handlers::leave_group::Api,
    handlers::offset_commit::Api,
    handlers::offset_fetch::Api,
    handlers::offset_delete::Api,
    handlers::list_groups::Api,
    handlers::describe_groups::Api,
    handlers::delete_groups::Api,
    handlers::consumer_group_heartbeat::Api,
    handlers::consumer_group_describe::Api,
    // share groups (KIP-932)
    handlers::share_group_heartbeat::Api,
    handlers::share_group_describe::Api,
    handlers::share_fetch::Api,
    handlers::share_acknowledge::Api,
    handlers::describe_share_group_offsets::Api,
    handlers::alter_share_group_offsets::Api,
    handlers::delete_share_group_offsets::Api,
    handlers::alter_configs::Api,
    handlers::incremental_alter_configs::Api,
    handlers::delete_records::Api,
    // transaction coordinator
    handlers::add_partitions_to_txn::Api,
    handlers::add_offsets_to_txn::Api,
    handlers::end_txn::Api,
    handlers::txn_offset_commit::Api,
    handlers::describe_transactions::Api,
    handlers::list_transactions::Api,
    handlers::write_txn_markers::Api,
    // cluster administration
    handlers::describe_log_dirs::Api,
    handlers::describe_producers::Api,
    handlers::describe_topic_partitions::Api,
    handlers::elect_leaders::Api,
    handlers::alter_partition_reassignments::Api,
    handlers::list_partition_reassignments::Api,
    // ACLs
    handlers::describe_acls::Api,
    handlers::create_acls::Api,
    handlers::delete_acls::Api,
    // security (the SASL exchange itself runs below the pipeline: src/security/sasl)
    handlers::sasl_handshake::Api,
    handlers::sasl_authenticate::Api,
    handlers::describe_user_scram_credentials::Api,
    handlers::alter_user_scram_credentials::Api,
    // client quotas
    handlers::describe_client_quotas::Api,
    handlers::alter_client_quotas::Api,
}

async fn call_typed<H: Handler>(
    state: Arc<BrokerState>,
    ctx: RequestContext,
    body: Bytes,
    admission: Result<Admission, Rejection>,
) -> Result<(Option<ResponseKind>, i32), DispatchError> {
    // The handler's request type is the one for its api key.
    const { assert!(H::KEY as i16 == <H::Request as Request>::KEY) };
    let req: H::Request = codec::decode_body(body, H::KEY, ctx.api_version)?;
    let mut throttle = 0;
    let resp = match admission {
        Ok(admission) => {
            // Quotas that record after the handler keep the context (no clone otherwise).
            let quota_ctx = state.pipeline.quotas_enabled().then(|| ctx.clone());
            let measure = quota_ctx.is_some() && state.pipeline.measures_request_time();
            let (resp, busy) = timed(H::handle(state.clone(), ctx, req), measure).await;
            let mut resp = resp.map_err(|e| DispatchError::Handler(H::KEY, e))?;
            throttle = admission.throttle_time_ms;
            if let Some(ctx) = &quota_ctx {
                throttle = throttle.max(state.pipeline.after_handler(
                    ctx,
                    admission.request_bytes,
                    busy,
                ));
            }
            if let Some(r) = resp.as_mut() {
                throttle = throttle.max(r.throttle_time_ms());
                if throttle != 0 {
                    r.set_throttle_time_ms(throttle);
                }
            }
            resp
        }
        Err(why) => match H::reject(&ctx, req, &why) {
            Some(resp) => Some(resp),
            None => return Err(DispatchError::Rejected(why)),
        },
    };
    Ok((resp.map(Into::into), throttle))
}

/// The spec for `key`, if implemented.
pub fn lookup(key: ApiKey) -> Option<&'static ApiSpec> {
    API_TABLE.iter().find(|s| s.key == key)
}

/// Whether `version` of `key` is implemented.
pub fn supports(key: ApiKey, version: i16) -> bool {
    lookup(key).is_some_and(|s| (s.min_version..=s.max_version).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicate_keys_and_versions_are_within_the_codec() {
        for (i, a) in API_TABLE.iter().enumerate() {
            for b in &API_TABLE[i + 1..] {
                assert_ne!(a.key, b.key, "duplicate dispatch entry");
            }
            let codec = a.key.valid_versions();
            // Versions below the crate's are read and written by codec::legacy.
            let floor = codec::legacy::legacy_min(a.key).unwrap_or(codec.min);
            assert!(a.min_version <= a.max_version, "{a:?}");
            assert!(
                a.min_version >= floor && a.max_version <= codec.max,
                "{a:?} vs codec {codec:?}"
            );
        }
    }
}
