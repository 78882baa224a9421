//! The web console (`GET /` on the `--http` listener): its static pages
//! ([`assets`], embedded in the binary) and the JSON endpoints they call
//! besides the read-only admin API of [`crate::http`]:
//!
//! - `GET /api/console`: what the pages need to know first (read-only mode,
//!   listeners).
//! - `GET /api/session`, `POST /api/login`, `POST /api/logout`: the login
//!   when a SASL listener enables PLAIN or SCRAM ([`login`]).
//! - `GET /api/stream`: produce/fetch throughput once a second
//!   (server-sent events; [`stream`]).
//! - `GET|POST /api/topics/{name}/messages`: browse a partition, produce one
//!   record ([`messages`]).
//! - `POST /api/topics`, `DELETE /api/topics/{name}`,
//!   `GET|POST /api/topics/{name}/configs`: create, delete, describe and alter
//!   topics ([`topics`]).
//! - `GET /api/groups/{id}/detail`, `POST /api/groups/{id}/reset`: members and
//!   assignments, offset resets with a preview ([`groups`]).
//!
//! Every mutation runs the Kafka API's own handler (CreateTopics, DeleteTopics,
//! IncrementalAlterConfigs, Produce, OffsetCommit) through [`call`]: the same
//! validation, the same ACL checks (as the logged-in user, else
//! `User:ANONYMOUS`, on the listener `HTTP`) and the same error codes as a
//! Kafka client gets. When a login is required, every `/api/` request but the
//! login's own needs a session (401 otherwise) and the JSON admin API's topic
//! and group lists show what the user may describe. With
//! `weir.http.read.only` (`--http-read-only`) every mutating request is refused
//! with 403 ([`guard`]); requests whose `Origin` is not the console's own are
//! refused too (a web page elsewhere cannot drive a loopback broker).
//!
//! Nothing here runs unless a page asks: no background task, and the
//! throughput counters count only while an event stream is open.

mod assets;
mod groups;
pub mod login;
mod messages;
mod stream;
mod topics;

use super::HttpState;
use crate::handler::{Handler, RequestContext, Response as KafkaResponse};
use crate::pipeline::{AclOperation, Principal, ResourceType};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use kafka_protocol::messages::ApiKey;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// The setting behind `--http-read-only`.
pub const READ_ONLY: &str = "weir.http.read.only";

/// The console's routes, merged into the HTTP endpoint's router.
pub fn router() -> Router<HttpState> {
    Router::new()
        .route("/", get(assets::index))
        .route("/console/{file}", get(assets::file))
        .route("/api/console", get(console_info))
        .route("/api/session", get(login::session))
        .route("/api/login", post(login::login))
        .route("/api/logout", post(login::logout))
        .route("/api/stream", get(stream::rates))
        .route("/api/topics", post(topics::create))
        .route("/api/topics/{name}", delete(topics::delete))
        .route(
            "/api/topics/{name}/configs",
            get(topics::configs).post(topics::alter_configs),
        )
        .route(
            "/api/topics/{name}/messages",
            get(messages::browse).post(messages::produce),
        )
        .route("/api/groups/{id}/detail", get(groups::detail))
        .route("/api/groups/{id}/reset", post(groups::reset))
}

/// Whether the console may change anything.
pub fn read_only(s: &HttpState) -> bool {
    s.broker.settings.bool(READ_ONLY)
}

/// The principal console requests act as: the session's when a login is
/// required (the guard puts it into the request), else `User:ANONYMOUS`.
#[derive(Debug, Clone)]
pub struct SessionPrincipal(pub Principal);

/// Paths open without a session when a login is required.
const OPEN_PATHS: &[&str] = &["/api/session", "/api/login", "/api/logout"];

/// When a login is required, let `/api/` requests through only with a session
/// (and hand its principal on). Refuse mutating requests when read-only (but
/// logging in and out), or when they come from a page of another origin
/// (CSRF: the console's own requests carry its origin, or none).
pub async fn guard(State(s): State<HttpState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let open = OPEN_PATHS.contains(&path);
    if s.login.required() && path.starts_with("/api/") && !open {
        match s.login.principal(req.headers(), &s.broker.scram) {
            Some(p) => {
                req.extensions_mut().insert(SessionPrincipal(p));
            }
            None => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "log in with a SASL user of the broker",
                )
                .into_response()
            }
        }
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if read_only(&s) && !open {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "READ_ONLY",
            format!("the console is read-only ({READ_ONLY})"),
        )
        .into_response();
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if let Some(origin) = origin {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if Some(origin_host) != host {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "FOREIGN_ORIGIN",
                format!("requests from {origin} are not accepted"),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// A failed console request: HTTP status, Kafka error name (or a console
/// reason) and message, as JSON `{"error": ..., "message": ...}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: String,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.to_string(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }

    /// A Kafka error code from a handler's answer (`code` != 0), with the
    /// handler's message or the error's own description.
    pub fn kafka(code: i16, message: Option<&str>) -> ApiError {
        let name = crate::metrics::error_name(code);
        let status = match name.as_str() {
            "TOPIC_AUTHORIZATION_FAILED"
            | "GROUP_AUTHORIZATION_FAILED"
            | "CLUSTER_AUTHORIZATION_FAILED" => StatusCode::FORBIDDEN,
            "UNKNOWN_TOPIC_OR_PARTITION" | "GROUP_ID_NOT_FOUND" => StatusCode::NOT_FOUND,
            "TOPIC_ALREADY_EXISTS" | "NON_EMPTY_GROUP" | "UNKNOWN_MEMBER_ID" => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let message = match message.filter(|m| !m.is_empty()) {
            Some(m) => m.to_string(),
            None => kafka_protocol::ResponseError::try_from_code(code)
                .map_or_else(|| name.clone(), |e| e.to_string()),
        };
        ApiError {
            status,
            error: name,
            message,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
            message: String,
        }
        (
            self.status,
            Json(Body {
                error: self.error,
                message: self.message,
            }),
        )
            .into_response()
    }
}

/// Who makes a console request: the client's address and the principal.
#[derive(Debug, Clone)]
pub struct Caller {
    pub addr: SocketAddr,
    pub principal: Principal,
}

/// The caller of a request: the listener's connect info (loopback when the
/// router runs without it, as in tests) and the session's principal (else
/// `User:ANONYMOUS`).
pub struct Peer(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(Caller {
            addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0),
            principal: parts
                .extensions
                .get::<SessionPrincipal>()
                .map_or_else(Principal::anonymous, |p| p.0.clone()),
        }))
    }
}

/// The listener name console requests are made on (ACLs see the session's
/// principal, else `User:ANONYMOUS`, and the browser's address as the host).
pub const LISTENER: &str = "HTTP";

/// The context of a console request made as Kafka API `key`.
pub fn context(s: &HttpState, peer: &Caller, key: ApiKey, version: i16) -> RequestContext {
    RequestContext {
        api_key: key,
        raw_api_key: None,
        api_version: version,
        correlation_id: 0,
        client_id: Some("weir-console".into()),
        peer: peer.addr,
        connection_id: s.broker.next_connection_id(),
        listener: Arc::from(LISTENER),
        principal: peer.principal.clone(),
    }
}

/// Run Kafka API `H` at `version` for the console: the pipeline's
/// authorization stage, then the handler, as a request on a Kafka listener.
pub async fn call<H: Handler>(
    s: &HttpState,
    peer: &Caller,
    version: i16,
    req: H::Request,
) -> Result<KafkaResponse<H>, ApiError> {
    let ctx = context(s, peer, H::KEY, version);
    if let Err(r) = s.broker.pipeline.authorizer().authorize(&ctx) {
        return Err(ApiError::kafka(r.error.code(), r.message.as_deref()));
    }
    match H::handle(s.broker.clone(), ctx, req).await {
        Ok(Some(resp)) => Ok(resp),
        Ok(None) => Err(ApiError::internal("no answer")),
        Err(e) => Err(ApiError::internal(e.to_string())),
    }
}

/// Whether the JSON admin API shows resource `rt`/`name` to `caller`: when a
/// login is required, only what the session's principal may describe (as
/// Kafka's Metadata and ListGroups filter); else everything.
pub fn may_describe(s: &HttpState, caller: &Caller, rt: ResourceType, name: &str) -> bool {
    if !s.login.required() {
        return true;
    }
    let ctx = context(s, caller, ApiKey::Metadata, 12);
    s.broker
        .pipeline
        .authorizer()
        .allows(&ctx, AclOperation::Describe, rt, name, false)
}

#[derive(Serialize)]
struct ConsoleInfo {
    read_only: bool,
    listeners: Vec<ListenerInfo>,
    data_dir: String,
}

#[derive(Serialize)]
struct ListenerInfo {
    name: String,
    host: String,
    port: i32,
}

async fn console_info(State(s): State<HttpState>) -> Json<ConsoleInfo> {
    let b = &s.broker;
    let mut listeners: Vec<ListenerInfo> = b
        .advertised_listeners
        .iter()
        .map(|l| ListenerInfo {
            name: l.name.to_string(),
            host: l.host.clone(),
            port: l.port,
        })
        .collect();
    if listeners.is_empty() {
        listeners.push(ListenerInfo {
            name: crate::pipeline::PLAINTEXT.into(),
            host: b.advertised_host.clone(),
            port: b.advertised_port,
        });
    }
    Json(ConsoleInfo {
        read_only: read_only(&s),
        listeners,
        data_dir: b.store.dir().display().to_string(),
    })
}
