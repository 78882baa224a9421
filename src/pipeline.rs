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
//! [`crate::dispatch::call`]; this module depends on nothing else of the broker.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

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
    pub api_key: ApiKey,
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

/// Stage 2: whether the principal may make this request.
pub trait Authorizer: Send + Sync {
    fn authorize(&self, ctx: &RequestContext) -> Result<(), Rejection>;
}

/// No ACLs: every principal may do everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _ctx: &RequestContext) -> Result<(), Rejection> {
        Ok(())
    }
}

/// Stage 3: the throttle time for this request (0 = not throttled).
pub trait Quotas: Send + Sync {
    fn throttle_time_ms(&self, ctx: &RequestContext, request_bytes: usize) -> i32;
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
    pub api_key: ApiKey,
    pub api_version: i16,
    pub outcome: RequestOutcome,
    pub timings: RequestTimings,
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

/// What the stages before the handler decided for an admitted request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    /// Goes into the response's `throttle_time_ms` when not 0.
    pub throttle_time_ms: i32,
}

/// The stages, built once at start-up and held by [`crate::state::BrokerState`].
#[derive(Clone)]
pub struct Pipeline {
    authentication: Arc<dyn Authentication>,
    authorizer: Arc<dyn Authorizer>,
    quotas: Arc<dyn Quotas>,
    observer: Arc<dyn RequestObserver>,
}

impl Default for Pipeline {
    /// Every stage a pass-through.
    fn default() -> Self {
        Pipeline {
            authentication: Arc::new(NoAuthentication),
            authorizer: Arc::new(AllowAll),
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
        self
    }

    pub fn with_quotas(mut self, stage: Arc<dyn Quotas>) -> Self {
        self.quotas = stage;
        self
    }

    pub fn with_observer(mut self, stage: Arc<dyn RequestObserver>) -> Self {
        self.observer = stage;
        self
    }

    /// The authorizer, for handlers that check resources one by one.
    pub fn authorizer(&self) -> &dyn Authorizer {
        &*self.authorizer
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
        })
    }

    /// Stage 4, after the response was written.
    pub fn observe(&self, record: &RequestRecord) {
        self.observer.observe(record);
    }
}

#[cfg(test)]
mod tests;
