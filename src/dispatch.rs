//! The one table of APIs this broker implements: api key -> handler and version
//! range. ApiVersions is generated from it, and a request is routed by it.
//!
//! To add an API: write `src/handlers/<api>.rs` exposing `pub const SPEC: ApiSpec`
//! and add one line to [`API_TABLE`].

use crate::handlers;
use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler knows about the request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub api_key: ApiKey,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    /// Unique per client connection for the broker's lifetime.
    pub connection_id: u64,
}

/// A failure that is not a Kafka error code in the response: the connection is
/// closed (use sparingly: per-partition and per-request errors go in the response).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("request body does not match api key {0:?}")]
    WrongBody(ApiKey),
    #[error("{0}")]
    Internal(String),
}

/// `Ok(None)` = send no response (Produce with acks=0).
pub type HandlerResult = Result<Option<ResponseKind>, HandlerError>;
pub type HandlerFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'static>>;
/// Every handler has this signature.
pub type HandlerFn = fn(Arc<BrokerState>, RequestContext, RequestKind) -> HandlerFuture;

/// One implemented API.
#[derive(Clone, Copy)]
pub struct ApiSpec {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
    pub handle: HandlerFn,
}

impl std::fmt::Debug for ApiSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} v{}-{}",
            self.key, self.min_version, self.max_version
        )
    }
}

/// THE dispatch table.
#[rustfmt::skip]
pub static API_TABLE: &[ApiSpec] = &[
    handlers::produce::SPEC,
    handlers::fetch::SPEC,
    handlers::list_offsets::SPEC,
    handlers::metadata::SPEC,
    handlers::offset_for_leader_epoch::SPEC,
    handlers::api_versions::SPEC,
    handlers::create_topics::SPEC,
    handlers::delete_topics::SPEC,
    handlers::init_producer_id::SPEC,
    handlers::describe_configs::SPEC,
    handlers::create_partitions::SPEC,
    handlers::describe_cluster::SPEC,
    // group coordinator
    handlers::find_coordinator::SPEC,
    handlers::join_group::SPEC,
    handlers::sync_group::SPEC,
    handlers::heartbeat::SPEC,
    handlers::leave_group::SPEC,
    handlers::offset_commit::SPEC,
    handlers::offset_fetch::SPEC,
    handlers::offset_delete::SPEC,
    handlers::list_groups::SPEC,
    handlers::describe_groups::SPEC,
    handlers::delete_groups::SPEC,
    handlers::consumer_group_heartbeat::SPEC,
    handlers::consumer_group_describe::SPEC,
    handlers::alter_configs::SPEC,
    handlers::incremental_alter_configs::SPEC,
    handlers::delete_records::SPEC,
    // transaction coordinator
    handlers::add_partitions_to_txn::SPEC,
    handlers::add_offsets_to_txn::SPEC,
    handlers::end_txn::SPEC,
    handlers::txn_offset_commit::SPEC,
    handlers::describe_transactions::SPEC,
    handlers::list_transactions::SPEC,
];

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
            assert!(a.min_version <= a.max_version, "{a:?}");
            assert!(
                a.min_version >= codec.min && a.max_version <= codec.max,
                "{a:?} vs codec {codec:?}"
            );
        }
    }
}
