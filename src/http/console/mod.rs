//! The web console (`GET /` on the `--http` listener): its static pages
//! ([`assets`], embedded in the binary) and the JSON endpoints they call
//! besides the read-only admin API of [`crate::http`]:
//!
//! - `GET /api/console`: what the pages need to know first (read-only mode,
//!   listeners).
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
//! validation, the same ACL checks (as `User:ANONYMOUS` on the listener `HTTP`)
//! and the same error codes as a Kafka client gets. With
//! `weir.http.read.only` (`--http-read-only`) every mutating request is refused
//! with 403 ([`guard`]); requests whose `Origin` is not the console's own are
//! refused too (a web page elsewhere cannot drive a loopback broker).
//!
//! Nothing here runs unless a page asks: no background task, and the
//! throughput counters count only while an event stream is open.

mod assets;
mod groups;
mod messages;
mod stream;
mod topics;

use super::HttpState;
use crate::handler::{Handler, RequestContext, Response as KafkaResponse};
use crate::pipeline::Principal;
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

/// Refuse mutating requests when read-only, or when they come from a page of
/// another origin (CSRF: the console's own requests carry its origin, or none).
pub async fn guard(State(s): State<HttpState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if read_only(&s) {
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

/// The client's address (the listener's connect info; loopback when the
/// router runs without it, as in tests).
pub struct Peer(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0),
        ))
    }
}

/// The listener name console requests are made on (ACLs see their principal
/// `User:ANONYMOUS` and the browser's address as the host).
pub const LISTENER: &str = "HTTP";

/// The context of a console request made as Kafka API `key`.
pub fn context(s: &HttpState, peer: SocketAddr, key: ApiKey, version: i16) -> RequestContext {
    RequestContext {
        api_key: key,
        api_version: version,
        correlation_id: 0,
        client_id: Some("weir-console".into()),
        peer,
        connection_id: s.broker.next_connection_id(),
        listener: Arc::from(LISTENER),
        principal: Principal::anonymous(),
    }
}

/// Run Kafka API `H` at `version` for the console: the pipeline's
/// authorization stage, then the handler, as a request on a Kafka listener.
pub async fn call<H: Handler>(
    s: &HttpState,
    peer: SocketAddr,
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
