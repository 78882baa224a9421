//! ApiVersions (key 18), v0-4: the implemented APIs and versions, generated from
//! the dispatch table (handed in as `T`). The response header is always v0 (KIP-511).

use crate::handler::{ApiTable, Handler, HandlerResult, RequestContext};
use crate::state::BrokerState;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
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
        _ctx: RequestContext,
        _req: ApiVersionsRequest,
    ) -> HandlerResult<ApiVersionsResponse> {
        Ok(Some(response::<T>()))
    }
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
