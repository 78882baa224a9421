//! ApiVersions (key 18), v0-4: the implemented APIs and versions, generated from
//! the dispatch table. The response header is always v0 (KIP-511).

use crate::dispatch::{ApiSpec, HandlerFuture, RequestContext, API_TABLE};
use crate::state::BrokerState;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestKind, ResponseKind};
use kafka_protocol::ResponseError;
use std::sync::Arc;

pub const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::ApiVersions,
    min_version: 0,
    max_version: 4,
    handle,
};

fn handle(_state: Arc<BrokerState>, _ctx: RequestContext, req: RequestKind) -> HandlerFuture {
    Box::pin(async move {
        let _ = crate::expect_body!(req, ApiVersions);
        Ok(Some(ResponseKind::ApiVersions(response())))
    })
}

/// The supported-versions list.
pub fn api_keys() -> Vec<ApiVersion> {
    let mut keys: Vec<ApiVersion> = API_TABLE
        .iter()
        .map(|s| {
            ApiVersion::default()
                .with_api_key(s.key as i16)
                .with_min_version(s.min_version)
                .with_max_version(s.max_version)
        })
        .collect();
    keys.sort_by_key(|k| k.api_key);
    keys
}

/// The normal ApiVersions response.
pub fn response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(0)
        .with_api_keys(api_keys())
}

/// The answer to an ApiVersions version we do not implement (sent as v0).
pub fn unsupported_version_response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_keys())
}
