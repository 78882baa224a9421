//! ApiVersions (key 18), v0-4: the implemented APIs and versions, generated from
//! the dispatch table (handed in as `T`), and from v3 the feature flags
//! ([`FEATURES`]: supported ranges, finalized levels and their epoch) that
//! `Admin.describeFeatures` and `kafka-features describe` show and that 4.x
//! clients read (`transaction.version` >= 2 switches the Java producer to
//! KIP-890's transaction protocol). The response header is always v0 (KIP-511).

use crate::handler::{ApiTable, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::marker::PhantomData;
use std::sync::Arc;

/// The ApiVersions handler, answering with the APIs of table `T`.
pub struct Api<T>(PhantomData<T>);

impl<T: ApiTable> Handler for Api<T> {
    const KEY: ApiKey = ApiKey::ApiVersions;
    const VERSIONS: (i16, i16) = (0, 4);
    type Request = ApiVersionsRequest;

    async fn handle(
        _state: Arc<BrokerState>,
        ctx: RequestContext,
        _req: ApiVersionsRequest,
    ) -> HandlerResult<ApiVersionsResponse> {
        let mut resp = response::<T>();
        if ctx.api_version >= 3 {
            with_features(&mut resp, ctx.api_version);
        }
        Ok(Some(resp))
    }
}

/// A feature flag: (name, supported min, supported max, finalized level).
/// Level 0 is "not enabled": Kafka lists such a feature as supported only.
pub type Feature = (&'static str, i16, i16, i16);

/// The features weir answers with, as a one-node Kafka 4.4 names them:
/// - `metadata.version` 7-33 finalized at 33 (4.4-IV2), Kafka 4.4's own range: it
///   gates nothing a client does, and weir speaks the 4.4 protocol;
/// - `kraft.version` 0-0: weir has no KRaft quorum, so none of its versions;
/// - `group.version` 0-1 finalized at 1: KIP-848 consumer groups are served;
/// - `transaction.version` 0-0: weir runs transactions as before KIP-890 part 2
///   (a finalized level 2 would switch 4.x Java producers to it).
///
/// - `streams.version` 0-1 finalized at 1: KIP-1071 streams groups are served,
///   as a Kafka 4.4 broker advertises them (its Streams client goes by the
///   StreamsGroupHeartbeat version in the api list, not by this flag; tools
///   such as `kafka-features describe` show it).
///
/// Kafka 4.4's `share.version` and `eligible.leader.replicas.version` are left
/// out: weir serves no share groups and has no replicas.
pub const FEATURES: &[Feature] = &[
    ("metadata.version", 7, 33, 33),
    ("kraft.version", 0, 0, 0),
    ("group.version", 0, 1, 1),
    ("streams.version", 0, 1, 1),
    ("transaction.version", 0, 0, 0),
];

/// The epoch of the finalized features: they never change in weir.
pub const FINALIZED_FEATURES_EPOCH: i64 = 0;

/// Add the feature flags of ApiVersions v3+ to `resp`. As Kafka 4.x does, v3
/// lists only the supported features whose minimum is above 0 (KAFKA-17011:
/// older clients reject a minimum of 0).
pub fn with_features(resp: &mut ApiVersionsResponse, version: i16) {
    resp.supported_features = FEATURES
        .iter()
        .filter(|(_, min, _, _)| version >= 4 || *min > 0)
        .map(|(name, min, max, _)| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect();
    resp.finalized_features = FEATURES
        .iter()
        .filter(|(_, _, _, level)| *level > 0)
        .map(|(name, _, _, level)| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version_level(*level)
                .with_max_version_level(*level)
        })
        .collect();
    resp.finalized_features_epoch = FINALIZED_FEATURES_EPOCH;
}

/// The supported-versions list.
pub fn api_keys<T: ApiTable>() -> Vec<ApiVersion> {
    let mut keys: Vec<ApiVersion> = T::SPECS
        .iter()
        .map(|s| {
            ApiVersion::default()
                .with_api_key(s.key as i16)
                .with_min_version(s.min_version)
                .with_max_version(s.max_version)
        })
        .collect();
    keys.extend(T::RAW.iter().map(|(key, min, max)| {
        ApiVersion::default()
            .with_api_key(*key)
            .with_min_version(*min)
            .with_max_version(*max)
    }));
    keys.sort_by_key(|k| k.api_key);
    keys
}

/// The normal ApiVersions response.
pub fn response<T: ApiTable>() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(0)
        .with_api_keys(api_keys::<T>())
}

/// The answer to an ApiVersions version we do not implement (sent as v0).
pub fn unsupported_version_response<T: ApiTable>() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys::<T>())
}
