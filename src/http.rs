//! The HTTP endpoint (`--http HOST:PORT`, on axum): the operator's and the web
//! console's view of the broker.
//!
//! - `GET /metrics`: Prometheus text format, or OpenMetrics when the scraper
//!   asks for it ([`crate::metrics`]).
//! - `GET /health`: liveness, `ok`.
//! - `GET /ready`: 200 `ready` once storage is recovered and the Kafka listeners
//!   accept connections, 503 before.
//! - `GET /api/broker`, `/api/topics`, `/api/topics/{name}`, `/api/groups`,
//!   `/api/groups/{id}`: the JSON admin API (read-only).
//! - `GET /topics`: one `name partitions` line per topic (kept for scripts).
//! - `GET /`: the web console, and the endpoints its pages call
//!   ([`console`]).
//!
//! Anything else is 404.

use crate::metrics::{self, broker::GroupFigures, Metrics};
use crate::pipeline::ResourceType;
use crate::state::BrokerState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use console::Peer;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

pub mod console;

/// What the handlers read.
#[derive(Clone)]
pub struct HttpState {
    pub broker: Arc<BrokerState>,
    pub metrics: Arc<Metrics>,
    /// Set once the Kafka listeners accept connections.
    pub ready: Arc<AtomicBool>,
    /// The console's login (SASL listeners' users, sessions).
    pub login: Arc<console::login::Login>,
}

/// The routes, for [`serve`] and tests.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(prometheus))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .route("/topics", get(topics_text))
        .route("/api/broker", get(broker_info))
        .route("/api/topics", get(topics_json))
        .route("/api/topics/{name}", get(topic_json))
        .route("/api/groups", get(groups_json))
        .route("/api/groups/{id}", get(group_json))
        .merge(console::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::guard,
        ))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .layer(axum::middleware::map_response(close_after_response))
        .with_state(state)
}

/// One request per connection, as before axum: scripts that read to EOF
/// (`nc`, a bare socket) get their answer and the end of the stream.
async fn close_after_response(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}

/// Serve until the task is aborted.
pub async fn serve(state: HttpState, listener: TcpListener) {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("HTTP endpoint stopped: {e}");
    }
}

async fn prometheus(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = metrics::Format::from_accept(accept);
    let body = tokio::task::spawn_blocking(move || metrics::render(&s.broker, &s.metrics, format))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

async fn ready(State(s): State<HttpState>) -> Response {
    // Ready once storage is recovered, the listeners accept, and every topic
    // is built (the registry finishes loading after the listeners open).
    if s.ready.load(Ordering::Acquire) && s.broker.partitions.is_loaded() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

async fn topics_text(State(s): State<HttpState>) -> String {
    let mut topics = s.broker.partitions.topics();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    topics
        .iter()
        .map(|t| format!("{} {}\n", t.name, t.partition_count()))
        .collect()
}

#[derive(Serialize)]
struct BrokerInfo {
    node_id: i32,
    cluster_id: String,
    version: &'static str,
    advertised_host: String,
    advertised_port: i32,
    uptime_seconds: f64,
    data_dir_total_bytes: Option<i64>,
    data_dir_free_bytes: Option<i64>,
}

async fn broker_info(State(s): State<HttpState>) -> Json<BrokerInfo> {
    let b = &s.broker;
    let space = b.store.disk_space().ok();
    Json(BrokerInfo {
        node_id: b.node_id,
        cluster_id: b.cluster_id.clone(),
        version: env!("CARGO_PKG_VERSION"),
        advertised_host: b.advertised_host.clone(),
        advertised_port: b.advertised_port,
        uptime_seconds: s.metrics.uptime().as_secs_f64(),
        data_dir_total_bytes: space.map(|s| s.0),
        data_dir_free_bytes: space.map(|s| s.1),
    })
}

#[derive(Serialize)]
struct TopicInfo {
    name: String,
    topic_id: String,
    internal: bool,
    partitions: Vec<PartitionInfo>,
}

#[derive(Serialize)]
struct PartitionInfo {
    partition: i32,
    log_start_offset: i64,
    log_end_offset: i64,
    size_bytes: u64,
    segments: usize,
}

fn topic_info(t: &crate::partitions::Topic) -> TopicInfo {
    TopicInfo {
        name: t.name.clone(),
        topic_id: t.id.to_string(),
        internal: t.internal,
        partitions: t
            .partitions()
            .iter()
            .map(|p| PartitionInfo {
                partition: p.index,
                log_start_offset: p.log_start_offset(),
                log_end_offset: p.high_watermark(),
                size_bytes: p.size_bytes(),
                segments: p.segment_count(),
            })
            .collect(),
    }
}

async fn topics_json(State(s): State<HttpState>, Peer(caller): Peer) -> Json<Vec<TopicInfo>> {
    let mut topics = s.broker.partitions.topics();
    topics.retain(|t| console::may_describe(&s, &caller, ResourceType::Topic, &t.name));
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Json(topics.iter().map(|t| topic_info(t)).collect())
}

async fn topic_json(
    State(s): State<HttpState>,
    Peer(caller): Peer,
    Path(name): Path<String>,
) -> Response {
    if !console::may_describe(&s, &caller, ResourceType::Topic, &name) {
        return console::ApiError::kafka(29, None).into_response();
    }
    match s.broker.partitions.topic(&name) {
        Some(t) => Json(topic_info(&t)).into_response(),
        None => (StatusCode::NOT_FOUND, "no such topic\n").into_response(),
    }
}

/// The groups (and their partitions) the caller may describe.
async fn visible_groups(s: &HttpState, caller: &console::Caller) -> Vec<GroupFigures> {
    let b = s.broker.clone();
    let mut groups = tokio::task::spawn_blocking(move || {
        metrics::broker::groups(&b, weir_storage::clock::now_ms())
    })
    .await
    .unwrap_or_default();
    groups.extend(metrics::broker::share_groups(&s.broker));
    groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    groups.retain(|g| console::may_describe(s, caller, ResourceType::Group, &g.group_id));
    for g in &mut groups {
        g.partitions
            .retain(|p| console::may_describe(s, caller, ResourceType::Topic, &p.topic));
    }
    groups
}

async fn groups_json(State(s): State<HttpState>, Peer(caller): Peer) -> Json<Vec<GroupFigures>> {
    Json(visible_groups(&s, &caller).await)
}

async fn group_json(
    State(s): State<HttpState>,
    Peer(caller): Peer,
    Path(id): Path<String>,
) -> Response {
    if !console::may_describe(&s, &caller, ResourceType::Group, &id) {
        return console::ApiError::kafka(30, None).into_response();
    }
    match visible_groups(&s, &caller)
        .await
        .into_iter()
        .find(|g| g.group_id == id)
    {
        Some(g) => Json(g).into_response(),
        None => (StatusCode::NOT_FOUND, "no such group\n").into_response(),
    }
}
