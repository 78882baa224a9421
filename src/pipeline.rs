//! The request pipeline: what every request passes through around its handler, in
//! one place. It owns the request context (connection, peer, listener,
//! principal, client id, api key/version, correlation id) and the stages, in
//! order:
//!
//! 1. [`Authentication`]: may this connection send this request; a refusal
//!    closes the connection. (The SASL exchange itself runs before the stages,
//!    per connection, in [`crate::security::sasl`], as Kafka's authenticator runs
//!    below its request handlers; requests reach the stages only once their
//!    connection is authenticated, with its principal in the context.)
//! 2. [`Authorizer`]: may this principal make this request; a refusal is answered
//!    with the API's own error response ([`crate::handler::Handler::reject`]).
//! 3. [`Quotas`]: how long the client is throttled; the value goes into the
//!    response's `throttle_time_ms`.
//! 4. [`RequestObserver`]: api key, version, outcome and timings of each request
//!    (queued, handled, sent), after its response is written.
//!
//! Today every stage is a pass-through ([`Pipeline::default`]); the security,
//! quota and metrics work plug their stages in here at start-up
//! ([`crate::server::Broker::start_with_pipeline`]) without touching handlers.
//! The per-request work is a few virtual calls and clock reads: no allocation and
//! no lock.
//!
//! The session ([`crate::session`]) drives the stages around
//! [`crate::dispatch::call`]; this module depends only on [`crate::acl`] (the
//! ACL authorizer it adapts) and [`crate::config`].

use crate::acl::{AclError, Caller, StandardAuthorizer, CLUSTER_NAME};
use crate::config::Settings;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use weir_storage::Store;

pub use crate::acl::{AclOperation, ResourceType};

/// The listener name of the one `--listen` listener (Kafka's default name).
pub const PLAINTEXT: &str = "PLAINTEXT";

/// Who sent a request, as Kafka's `KafkaPrincipal`: `User:ANONYMOUS` on
/// PLAINTEXT (and SSL without a client certificate), `User:<DN>` (mapped by
/// `ssl.principal.mapping.rules`) for a client certificate, `User:<name>` after
/// SASL. Cloning is a reference-count increment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<(String, String)>);

static ANONYMOUS: LazyLock<Principal> = LazyLock::new(|| Principal::new("User", "ANONYMOUS"));

impl Principal {
    pub fn new(principal_type: impl Into<String>, name: impl Into<String>) -> Principal {
        Principal(Arc::new((principal_type.into(), name.into())))
    }

    /// `User:ANONYMOUS`, the principal of an unauthenticated connection.
    pub fn anonymous() -> Principal {
        ANONYMOUS.clone()
    }

    /// `User` for the built-in principal builders.
    pub fn principal_type(&self) -> &str {
        &self.0 .0
    }

    pub fn name(&self) -> &str {
        &self.0 .1
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type(), self.name())
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a handler (and every stage) knows about a request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// For an API the codec crate does not know (StreamsGroupHeartbeat...),
    /// the known API standing in for it; [`RequestContext::raw_api_key`] is its key.
    pub api_key: ApiKey,
    /// The real key of such an API; `None` for every other request.
    pub raw_api_key: Option<i16>,
    pub api_version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub peer: SocketAddr,
    /// Unique per client connection for the broker's lifetime.
    pub connection_id: u64,
    /// The listener the connection came in on (e.g. `PLAINTEXT`, `SASL_SSL`).
    pub listener: Arc<str>,
    pub principal: Principal,
}

impl RequestContext {
    /// The request's api key as it came on the wire (a raw API's own).
    pub fn key(&self) -> i16 {
        self.raw_api_key.unwrap_or(self.api_key as i16)
    }
}

/// The stage that refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Authentication,
    Authorization,
}

/// A stage's typed refusal: the request does not reach its handler.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{stage:?} refused {api_key:?}: {error:?}{}", .message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
pub struct Rejection {
    pub stage: Stage,
    pub api_key: ApiKey,
    /// The Kafka error the answer carries (e.g. TOPIC_AUTHORIZATION_FAILED).
    pub error: ResponseError,
    pub message: Option<String>,
}

impl Rejection {
    pub fn new(stage: Stage, ctx: &RequestContext, error: ResponseError) -> Rejection {
        Rejection {
            stage,
            api_key: ctx.api_key,
            error,
            message: None,
        }
    }

    /// An unauthenticated request is not answered: the connection is closed (as Kafka does).
    pub fn closes_connection(&self) -> bool {
        self.stage == Stage::Authentication
    }
}

/// Stage 1: whether the connection may send this request in its current
/// authentication state.
pub trait Authentication: Send + Sync {
    fn check(&self, ctx: &RequestContext) -> Result<(), Rejection>;
}

/// PLAINTEXT: the connection is `User:ANONYMOUS` from the start; everything is allowed.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAuthentication;

impl Authentication for NoAuthentication {
    fn check(&self, _ctx: &RequestContext) -> Result<(), Rejection> {
        Ok(())
    }
}

/// Stage 2: whether the principal may make this request ([`Authorizer::authorize`],
/// before the handler) and, asked by the handlers as Kafka's `KafkaApis` asks its
/// authorizer, whether it may do an operation on a resource
/// ([`Authorizer::allows`]; [`Pipeline::allows`] and friends are the short forms).
pub trait Authorizer: Send + Sync {
    /// The whole request, before its handler. Default: admitted.
    fn authorize(&self, _ctx: &RequestContext) -> Result<(), Rejection> {
        Ok(())
    }

    /// May the principal do `op` on the resource `rt`/`name`? A denial is
    /// logged when `log_denial` (a resource the client asked for by name; not
    /// when filtering what to show). Default: yes.
    fn allows(
        &self,
        _ctx: &RequestContext,
        _op: AclOperation,
        _rt: ResourceType,
        _name: &str,
        _log_denial: bool,
    ) -> bool {
        true
    }

    /// May the principal do `op` on some resource of type `rt` (Kafka's
    /// `authorizeByResourceType`)? Default: yes.
    fn allows_any(&self, _ctx: &RequestContext, _op: AclOperation, _rt: ResourceType) -> bool {
        true
    }

    /// The ACLs the ACL APIs manage; `None` when no authorizer is configured
    /// (they answer SECURITY_DISABLED). Default: none.
    fn acls(&self) -> Option<&StandardAuthorizer> {
        None
    }
}

/// No ACLs: every principal may do everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {}

/// The ACL authorizer ([`crate::acl`]) as the pipeline's stage: the request's
/// principal and client address are who asks.
impl Authorizer for StandardAuthorizer {
    /// The APIs that need one cluster operation and answer a refusal through
    /// their handler's `reject` (CLUSTER_AUTHORIZATION_FAILED).
    fn authorize(&self, ctx: &RequestContext) -> Result<(), Rejection> {
        let op = match ctx.api_key {
            ApiKey::ElectLeaders | ApiKey::AlterPartitionReassignments => AclOperation::Alter,
            ApiKey::ListPartitionReassignments => AclOperation::Describe,
            _ => return Ok(()),
        };
        if self.authorize(&caller(ctx), op, ResourceType::Cluster, CLUSTER_NAME, true) {
            return Ok(());
        }
        let mut why = Rejection::new(
            Stage::Authorization,
            ctx,
            ResponseError::ClusterAuthorizationFailed,
        );
        why.message = Some("Cluster authorization failed.".into());
        Err(why)
    }

    fn allows(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
        log_denial: bool,
    ) -> bool {
        self.authorize(&caller(ctx), op, rt, name, log_denial)
    }

    fn allows_any(&self, ctx: &RequestContext, op: AclOperation, rt: ResourceType) -> bool {
        self.authorize_any(&caller(ctx), op, rt)
    }

    fn acls(&self) -> Option<&StandardAuthorizer> {
        Some(self)
    }
}

fn caller(ctx: &RequestContext) -> Caller<'_> {
    Caller {
        principal_type: ctx.principal.principal_type(),
        principal_name: ctx.principal.name(),
        host: ctx.peer.ip(),
        api: ctx.key(),
    }
}

/// Stage 3: the throttle time for this request (0 = not throttled), decided
/// before the handler ([`Quotas::throttle_time_ms`]) and after it, from what the
/// request cost ([`Quotas::after_handler`]); the larger goes into the response
/// and the connection is muted for that long (KIP-219).
pub trait Quotas: Send + Sync {
    fn throttle_time_ms(&self, ctx: &RequestContext, request_bytes: usize) -> i32;

    /// Whether [`Quotas::after_handler`] has anything to record (when not,
    /// the request's context is not kept for it). Default: no.
    fn enabled(&self) -> bool {
        false
    }

    /// Whether the handler's running time must be measured
    /// ([`crate::quota::timing`]). Default: no.
    fn measures_request_time(&self) -> bool {
        false
    }

    /// After the handler: record the request's size and running time; the
    /// throttle time. Default: 0.
    fn after_handler(&self, _ctx: &RequestContext, _request_bytes: usize, _busy: Duration) -> i32 {
        0
    }
}

/// Two quota stages: the larger throttle time wins.
struct MaxOf(Arc<dyn Quotas>, Arc<dyn Quotas>);

impl Quotas for MaxOf {
    fn throttle_time_ms(&self, ctx: &RequestContext, request_bytes: usize) -> i32 {
        self.0
            .throttle_time_ms(ctx, request_bytes)
            .max(self.1.throttle_time_ms(ctx, request_bytes))
    }

    fn enabled(&self) -> bool {
        self.0.enabled() || self.1.enabled()
    }

    fn measures_request_time(&self) -> bool {
        self.0.measures_request_time() || self.1.measures_request_time()
    }

    fn after_handler(&self, ctx: &RequestContext, request_bytes: usize, busy: Duration) -> i32 {
        self.0
            .after_handler(ctx, request_bytes, busy)
            .max(self.1.after_handler(ctx, request_bytes, busy))
    }
}

/// No quotas: nobody is throttled.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoQuotas;

impl Quotas for NoQuotas {
    fn throttle_time_ms(&self, _ctx: &RequestContext, _request_bytes: usize) -> i32 {
        0
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Answered by its handler (or, Produce with acks=0, deliberately not answered).
    Ok,
    /// Refused by a stage with this error.
    Rejected(ResponseError),
    /// No answer could be given: the connection was closed.
    Failed,
}

/// Where the time of one request went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestTimings {
    /// From the whole frame being read to the handler starting (header decoding, stages).
    pub queued: Duration,
    /// The handler, with decoding its body and encoding its response.
    pub handled: Duration,
    /// Writing the response to the socket.
    pub sent: Duration,
}

/// What the observer is told about each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord {
    /// For an API the codec crate does not know (StreamsGroupHeartbeat...),
    /// the known API standing in for it; [`RequestRecord::raw_api_key`] is its key.
    pub api_key: ApiKey,
    /// The real key of such an API; `None` for every other request.
    pub raw_api_key: Option<i16>,
    pub api_version: i16,
    pub outcome: RequestOutcome,
    pub timings: RequestTimings,
}

impl RequestRecord {
    /// The request's api key as it came on the wire.
    pub fn key(&self) -> i16 {
        self.raw_api_key.unwrap_or(self.api_key as i16)
    }
}

/// Stage 4: sees every request that reached the pipeline, after its response was
/// sent (or the connection closed). Runs on the connection's task: keep it cheap.
pub trait RequestObserver: Send + Sync {
    fn observe(&self, record: &RequestRecord);
}

/// No metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl RequestObserver for NoObserver {
    fn observe(&self, _record: &RequestRecord) {}
}

/// Two observers, in order.
struct Both(Arc<dyn RequestObserver>, Arc<dyn RequestObserver>);

impl RequestObserver for Both {
    fn observe(&self, record: &RequestRecord) {
        self.0.observe(record);
        self.1.observe(record);
    }
}

/// What the stages before the handler decided for an admitted request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    /// Goes into the response's `throttle_time_ms` when not 0.
    pub throttle_time_ms: i32,
    /// The request's size (header and body), for the quotas after the handler.
    pub request_bytes: usize,
}

/// The stages, built once at start-up and held by [`crate::state::BrokerState`].
#[derive(Clone)]
pub struct Pipeline {
    authentication: Arc<dyn Authentication>,
    authorizer: Arc<dyn Authorizer>,
    /// Whether `authorizer` was given ([`Pipeline::with_authorizer`]) rather
    /// than the default (which `authorizer.class.name` may replace).
    authorizer_given: bool,
    quotas: Arc<dyn Quotas>,
    observer: Arc<dyn RequestObserver>,
}

impl Default for Pipeline {
    /// Every stage a pass-through.
    fn default() -> Self {
        Pipeline {
            authentication: Arc::new(NoAuthentication),
            authorizer: Arc::new(AllowAll),
            authorizer_given: false,
            quotas: Arc::new(NoQuotas),
            observer: Arc::new(NoObserver),
        }
    }
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pipeline")
    }
}

impl Pipeline {
    pub fn with_authentication(mut self, stage: Arc<dyn Authentication>) -> Self {
        self.authentication = stage;
        self
    }

    pub fn with_authorizer(mut self, stage: Arc<dyn Authorizer>) -> Self {
        self.authorizer = stage;
        self.authorizer_given = true;
        self
    }

    pub fn with_quotas(mut self, stage: Arc<dyn Quotas>) -> Self {
        self.quotas = stage;
        self
    }

    /// Keep the current quota stage and add `stage` beside it (the larger
    /// throttle time wins): the broker's client quotas ride beside an
    /// embedder's stage.
    pub fn also_throttle(mut self, stage: Arc<dyn Quotas>) -> Self {
        self.quotas = Arc::new(MaxOf(self.quotas, stage));
        self
    }

    pub fn with_observer(mut self, stage: Arc<dyn RequestObserver>) -> Self {
        self.observer = stage;
        self
    }

    /// Keep the current observer and add `stage` after it (the broker's own
    /// metrics ride beside an embedder's observer).
    pub fn also_observe(mut self, stage: Arc<dyn RequestObserver>) -> Self {
        self.observer = Arc::new(Both(self.observer, stage));
        self
    }

    /// Whether every principal may do everything (no authorizer given or
    /// configured): handlers may skip per-resource checks.
    pub fn authorizes_all(&self) -> bool {
        !self.authorizer_given && self.authorizer.acls().is_none()
    }

    /// The authorizer, for handlers that check resources one by one.
    pub fn authorizer(&self) -> &dyn Authorizer {
        &*self.authorizer
    }

    /// With the ACL authorizer `authorizer.class.name` asks for (unless an
    /// authorizer was given), its ACLs loaded from (and saved to) `store`.
    pub fn with_configured_authorizer(
        self,
        settings: &Settings,
        store: &Arc<Store>,
    ) -> Result<Pipeline, AclError> {
        let configured = StandardAuthorizer::from_settings(settings)?;
        let pipeline = match configured {
            Some(acls) if !self.authorizer_given => self.with_authorizer(Arc::new(acls)),
            _ => self,
        };
        if let Some(acls) = pipeline.authorizer.acls() {
            acls.attach(store.clone())?;
        }
        Ok(pipeline)
    }

    /// May the principal do `op` on the resource `rt`/`name` (a denial is logged)?
    pub fn allows(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
    ) -> bool {
        self.authorizer.allows(ctx, op, rt, name, true)
    }

    /// [`Pipeline::allows`] for filtering what to show: a denial is not logged.
    pub fn allows_quietly(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        rt: ResourceType,
        name: &str,
    ) -> bool {
        self.authorizer.allows(ctx, op, rt, name, false)
    }

    /// May the principal do `op` on the cluster?
    pub fn allows_cluster(&self, ctx: &RequestContext, op: AclOperation) -> bool {
        self.authorizer
            .allows(ctx, op, ResourceType::Cluster, CLUSTER_NAME, true)
    }

    /// May the principal do `op` on topic `name`?
    pub fn allows_topic(&self, ctx: &RequestContext, op: AclOperation, name: &str) -> bool {
        self.authorizer
            .allows(ctx, op, ResourceType::Topic, name, true)
    }

    /// May the principal do `op` on group `name`?
    pub fn allows_group(&self, ctx: &RequestContext, op: AclOperation, name: &str) -> bool {
        self.authorizer
            .allows(ctx, op, ResourceType::Group, name, true)
    }

    /// May the principal do `op` on transactional id `id`?
    pub fn allows_transactional_id(
        &self,
        ctx: &RequestContext,
        op: AclOperation,
        id: &str,
    ) -> bool {
        self.authorizer
            .allows(ctx, op, ResourceType::TransactionalId, id, true)
    }

    /// The `authorized_operations` bit set (bit = operation code) of the
    /// resource for the operations in `ops`, as Metadata and the describe APIs
    /// report them; `ops` itself when no ACL authorizer is configured.
    pub fn authorized_operations(
        &self,
        ctx: &RequestContext,
        rt: ResourceType,
        name: &str,
        ops: i32,
    ) -> i32 {
        if self.authorizer.acls().is_none() {
            return ops;
        }
        AclOperation::ALL_VALUES
            .iter()
            .filter(|op| ops & (1 << op.code()) != 0)
            .filter(|op| self.authorizer.allows(ctx, **op, rt, name, false))
            .fold(0, |acc, op| acc | (1 << op.code()))
    }

    /// Stages 1-3, in order, before the handler: the first refusal wins.
    pub fn admit(
        &self,
        ctx: &RequestContext,
        request_bytes: usize,
    ) -> Result<Admission, Rejection> {
        self.authentication.check(ctx)?;
        self.authorizer.authorize(ctx)?;
        Ok(Admission {
            throttle_time_ms: self.quotas.throttle_time_ms(ctx, request_bytes),
            request_bytes,
        })
    }

    /// Whether the quota stage records anything after the handler.
    pub fn quotas_enabled(&self) -> bool {
        self.quotas.enabled()
    }

    /// Whether the handler's running time must be measured.
    pub fn measures_request_time(&self) -> bool {
        self.quotas.measures_request_time()
    }

    /// Stage 3 after the handler: the throttle time from what the request cost.
    pub fn after_handler(&self, ctx: &RequestContext, request_bytes: usize, busy: Duration) -> i32 {
        self.quotas.after_handler(ctx, request_bytes, busy)
    }

    /// Stage 4, after the response was written.
    pub fn observe(&self, record: &RequestRecord) {
        self.observer.observe(record);
    }
}

#[cfg(test)]
mod tests;
