//! What an API handler is: the [`Handler`] trait (api key, version range, typed
//! request and response, async `handle`), the errors that close a connection
//! ([`HandlerError`]), and the helpers every handler shares ([`blocking`]).
//!
//! Handlers live in [`crate::handlers`], one file per API; the dispatch table
//! ([`crate::dispatch`]) lists them and is the only module that knows them all.

use crate::state::BrokerState;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kafka_protocol::protocol::Request;
use std::future::Future;
use std::sync::Arc;

pub use crate::pipeline::{Rejection, RequestContext};

/// A failure that is not a Kafka error code in the response: the connection is
/// closed (use sparingly: per-partition and per-request errors go in the response).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("{0}")]
    Internal(String),
}

/// `Ok(None)` = send no response (Produce with acks=0).
pub type HandlerResult<R> = Result<Option<R>, HandlerError>;

/// The response type of handler `H`.
pub type Response<H> = <<H as Handler>::Request as Request>::Response;

/// One implemented API. The dispatch table decodes the body for `KEY` into
/// `Request` (the compiler checks they match), runs the pipeline's stages, calls
/// `handle`, and encodes the typed response.
pub trait Handler {
    const KEY: ApiKey;
    /// Lowest and highest implemented version (ApiVersions advertises them).
    const VERSIONS: (i16, i16);
    type Request: Request<Response: ThrottleTime + Into<ResponseKind>> + Send + 'static;

    fn handle(
        state: Arc<BrokerState>,
        ctx: RequestContext,
        req: Self::Request,
    ) -> impl Future<Output = HandlerResult<Response<Self>>> + Send;

    /// The answer to a request a pipeline stage refused (`why.error` in the
    /// API's own error fields, as Kafka's `getErrorResponse`). `None` (the
    /// default, for APIs that have not written one yet) closes the connection.
    fn reject(
        _ctx: &RequestContext,
        _req: Self::Request,
        _why: &Rejection,
    ) -> Option<Response<Self>> {
        None
    }
}

/// What a raw handler knows about its request: an API the `kafka-protocol`
/// crate does not know (its body is read and written by hand). `ctx` carries
/// the connection's identity for ACL checks; its `api_key` is the nearest API
/// the crate knows (`ctx.api_version` is the real version), `api_key` here the real key.
#[derive(Debug, Clone)]
pub struct RawContext {
    pub api_key: i16,
    pub ctx: RequestContext,
}

/// One implemented API's key and version range.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ApiSpec {
    pub key: ApiKey,
    pub min_version: i16,
    pub max_version: i16,
}

impl ApiSpec {
    pub const fn of<H: Handler>() -> ApiSpec {
        ApiSpec {
            key: H::KEY,
            min_version: H::VERSIONS.0,
            max_version: H::VERSIONS.1,
        }
    }
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

/// The list of implemented APIs, as ApiVersions answers it. The dispatch table
/// implements it and hands itself to the ApiVersions handler, so that handler
/// does not import the table.
pub trait ApiTable {
    const SPECS: &'static [ApiSpec];
    /// APIs the codec crate does not know: (api key, min version, max version).
    const RAW: &'static [(i16, i16, i16)] = &[];
}

/// Run blocking work (disk, fsync, file creation) off the async workers; a
/// panic there closes the connection.
pub async fn blocking<T, F>(f: F) -> Result<T, HandlerError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // a request under a `request_percentage` quota counts this time too
    let meter = crate::quota::timing::blocking_meter();
    tokio::task::spawn_blocking(move || crate::quota::timing::metered(meter, f))
        .await
        .map_err(|e| HandlerError::Internal(format!("blocking task failed: {e}")))
}

/// [`blocking`] on the cold pool ([`crate::cold_io`]): for the disk reads of
/// consumers that are catching up, so they neither run on the async workers
/// nor multiply threads.
pub async fn cold<T, F>(f: F) -> Result<T, HandlerError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let meter = crate::quota::timing::blocking_meter();
    crate::cold_io::run(move || crate::quota::timing::metered(meter, f))
        .await
        .map_err(|e| HandlerError::Internal(e.to_string()))
}

/// A response whose `throttle_time_ms` the quota stage sets.
pub trait ThrottleTime {
    fn set_throttle_time_ms(&mut self, ms: i32);

    /// What the handler put there (a fetch or topic mutation over its quota).
    fn throttle_time_ms(&self) -> i32 {
        0
    }
}

macro_rules! throttle_time {
    ($($t:ident),* $(,)?) => {
        $(impl ThrottleTime for kafka_protocol::messages::$t {
            fn set_throttle_time_ms(&mut self, ms: i32) {
                self.throttle_time_ms = ms;
            }

            fn throttle_time_ms(&self) -> i32 {
                self.throttle_time_ms
            }
        })*
    };
}

throttle_time!(
    AddOffsetsToTxnResponse,
    AddPartitionsToTxnResponse,
    AlterConfigsResponse,
    ApiVersionsResponse,
    ConsumerGroupDescribeResponse,
    ConsumerGroupHeartbeatResponse,
    CreatePartitionsResponse,
    CreateTopicsResponse,
    DeleteGroupsResponse,
    DeleteRecordsResponse,
    DeleteTopicsResponse,
    DescribeClusterResponse,
    DescribeConfigsResponse,
    DescribeGroupsResponse,
    DescribeTransactionsResponse,
    EndTxnResponse,
    FetchResponse,
    FindCoordinatorResponse,
    HeartbeatResponse,
    IncrementalAlterConfigsResponse,
    InitProducerIdResponse,
    JoinGroupResponse,
    LeaveGroupResponse,
    ListGroupsResponse,
    ListOffsetsResponse,
    ListTransactionsResponse,
    MetadataResponse,
    OffsetCommitResponse,
    OffsetDeleteResponse,
    OffsetFetchResponse,
    OffsetForLeaderEpochResponse,
    ProduceResponse,
    SyncGroupResponse,
    TxnOffsetCommitResponse,
    // cluster administration
    AlterPartitionReassignmentsResponse,
    DescribeLogDirsResponse,
    DescribeProducersResponse,
    DescribeTopicPartitionsResponse,
    ElectLeadersResponse,
    ListPartitionReassignmentsResponse,
    // ACLs
    CreateAclsResponse,
    DeleteAclsResponse,
    DescribeAclsResponse,
    // security
    AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsResponse,
    // share groups
    DescribeShareGroupOffsetsResponse,
    AlterShareGroupOffsetsResponse,
    DeleteShareGroupOffsetsResponse,
    ShareAcknowledgeResponse,
    ShareFetchResponse,
    ShareGroupDescribeResponse,
    ShareGroupHeartbeatResponse,
    // quotas
    AlterClientQuotasResponse,
    DescribeClientQuotasResponse,
);

/// SaslHandshake and SaslAuthenticate responses have no `throttle_time_ms`.
macro_rules! no_throttle_time {
    ($($t:ident),* $(,)?) => {
        $(impl ThrottleTime for kafka_protocol::messages::$t {
            fn set_throttle_time_ms(&mut self, _ms: i32) {}
        })*
    };
}

no_throttle_time!(SaslHandshakeResponse, SaslAuthenticateResponse);
