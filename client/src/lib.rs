//! weir-client: the Kafka client plumbing weir's own tools share (`weir bench`
//! and the admin commands `weir topic|group|produce|consume|cluster`), built on
//! the kafka-protocol crate and knowing nothing of the broker.
//!
//! - [`wire`]: one connection: framing, correlation ids, ApiVersions negotiation,
//!   a writer/reader split for pipelining.
//! - [`security`]: [`ClientSecurity`] from Kafka's client properties: TLS and SASL.
//! - [`sasl`]: the client side of SASL/PLAIN and SCRAM-SHA-256/512 messages.
//! - [`partitioner`]: Kafka's murmur2 partition for a keyed record.
//! - [`error`]: [`ClientError`], one clear line per failure.
//! - [`big_reads`]: large socket reads under rustls (client and broker TLS streams).

pub mod big_reads;
pub mod error;
pub mod partitioner;
pub mod sasl;
pub mod security;
pub mod wire;

pub use error::ClientError;
pub use security::ClientSecurity;
