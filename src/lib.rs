//! weir: a Kafka-protocol-compatible log broker.
//!
//! Start one in-process with [`Broker::start`]: the embedded broker for tests,
//! here and in other Rust projects ([`BrokerConfig::ephemeral`] on 127.0.0.1:0
//! with a temp dir; stopped by [`Broker::shutdown`] or drop; see [`Broker`] for
//! an example). The `weir` binary is a thin wrapper ([`cli`] +
//! [`server::run_until_signal`]; `weir bench` needs the default `bench` feature).
//!
//! # Layout
//! Requests flow down the list; dependencies point down only.
//! - [`cli`]: `weir serve` flags -> [`BrokerConfig`].
//! - [`config`]: broker settings by Kafka names (sources and precedence) and the
//!   typed topic-config model.
//! - [`server`]: start-up, accept loop, graceful shutdown; [`error`]: start-up errors.
//! - [`session`]: one client connection: frames in, responses out, in order.
//! - [`connection`]: length-prefixed framing (no Kafka meaning).
//! - [`codec`]: request header + body decoding, response encoding (kafka-protocol).
//! - [`pipeline`]: the request context and the stages around every handler
//!   (authentication, authorization, quotas, request observer).
//! - [`security`]: listeners, TLS, SASL and SCRAM credentials: who the principal
//!   of a connection is.
//! - [`dispatch`]: THE table api key -> handler + versions (ApiVersions and routing
//!   generated from it).
//! - [`handler`]: the `Handler` trait, handler errors, shared handler helpers.
//! - [`handlers`]: one file per API.
//! - [`state`]: `BrokerState`, shared by all handlers (store, registry, settings).
//! - [`partitions`]: topic registry, partitions, appends, fetch wake-ups.
//! - [`groups`]: the group coordinator (consumer groups, committed offsets).
//! - [`share`]: share groups (KIP-932): membership, share-partitions, sessions.
//! - [`txn`]: the transaction coordinator (transactional ids, COMMIT/ABORT markers).
//! - [`producer_state`]: idempotent-producer sequence/epoch checks, ongoing and
//!   aborted transactions per partition.
//! - [`log_manager`]: background retention and log cleaner (own thread).
//! - [`fetch_sessions`]: KIP-227 incremental fetch sessions (the session cache).
//! - [`flusher`], [`ids`]: background flush policy, random ids.
//! - [`limits`]: connection and request-memory limits of the accept and read side.
//! - [`http`]: the HTTP endpoint (metrics, health, readiness, JSON admin API);
//!   [`metrics`]: request metrics (fed by the pipeline) and scrape-time figures.
//! - [`telemetry`]: live counters the request paths feed (connections, traffic,
//!   waiting fetches, authentication failures); a leaf that `metrics` reads.
//! - [`quota`]: client quotas (byte rates, request time, controller mutations),
//!   their configs (AlterClientQuotas / DescribeClientQuotas) and throttling.
//! - [`acl`]: ACLs and the authorizer on them (Kafka's StandardAuthorizer), persisted.
//! - [`fuzzing`]: entry points of the fuzz targets (`fuzz/`) and their corpus replay.

pub mod acl;
pub mod api_names;
pub mod cli;
pub mod codec;
pub mod cold_io;
pub mod config;
pub mod connection;
pub mod dispatch;
pub mod error;
pub mod fetch_sessions;
pub mod flusher;
pub mod fuzzing;
pub mod groups;
pub mod handler;
pub mod handlers;
pub mod http;
pub mod ids;
pub mod limits;
pub mod log_manager;
pub mod metrics;
pub mod partitions;
pub mod pipeline;
pub mod producer_state;
pub mod quota;
pub mod security;
pub mod server;
pub mod session;
pub mod share;
pub mod state;
pub mod telemetry;
pub mod txn;

pub use error::StartError;
pub use server::{Broker, BrokerConfig};
pub use state::BrokerState;
