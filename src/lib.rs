//! weir: a Kafka-protocol-compatible log broker.
//!
//! STUB: the broker core is issue 3.

pub mod groups;
